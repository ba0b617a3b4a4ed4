import type { RentalEvent } from "../domain/events.js";

/**
 * Rental's transactional outbox: append() runs inside the use case's unit of
 * work, so an event commits with the change it announces or not at all.
 */
export interface Outbox {
  append(event: RentalEvent): Promise<void>;
}
