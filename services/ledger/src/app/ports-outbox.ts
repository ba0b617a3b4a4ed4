import type { LedgerEvent } from "../domain/events.js";

/**
 * The ledger's transactional outbox. append() must run inside the use case's
 * transaction: the event commits with the posting it announces, or not at
 * all, and is published afterwards.
 */
export interface Outbox {
  append(event: LedgerEvent): Promise<void>;
}
