import type { RentalEvent } from "../domain/events.js";

/**
 * Rental's transactional outbox. append() must run inside the use case's
 * transaction, after the aggregate (rental, payment's rental, or block) is
 * locked or inserted: the event then commits with the state change it
 * announces, or not at all, and is published afterwards.
 */
export interface Outbox {
  append(event: RentalEvent): Promise<void>;
}
