// The ledger's domain events; adapters/db/event-outbox.ts turns them into the
// contract's messages (proto/fleetmesh/ledger/v1/events.proto).
import type { JournalEntry } from "./model.js";
import type { BillingEvent } from "./billing-events.js";

export type LedgerEvent =
  | { readonly type: "LedgerPosted"; readonly entry: JournalEntry }
  | BillingEvent;
