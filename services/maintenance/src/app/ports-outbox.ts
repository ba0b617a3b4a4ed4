import type { MaintenanceEvent } from "../domain/events.js";

/**
 * Maintenance's transactional outbox. append() must run inside the use
 * case's transaction, after the aggregate (job, part, or the plan's due
 * point) is locked or inserted: the event then commits with the state
 * change it announces, or not at all, and is published afterwards.
 */
export interface Outbox {
  append(event: MaintenanceEvent): Promise<void>;
}
