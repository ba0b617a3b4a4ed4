import { create } from "@bufbuild/protobuf";
import { LedgerPostedSchema } from "../../../../../gen/fleetmesh/ledger/v1/events_pb.js";
import type { Database } from "../../../../platform/src/db.js";
import { appendToOutbox, outboxMessage, type OutboxMessage } from "../../../../platform/src/events/outbox.js";
import type { Outbox } from "../../app/ports-outbox.js";
import type { LedgerEvent } from "../../domain/events.js";
import { journalEntryToProto } from "../proto/journal-proto.js";

/**
 * The contract message of a ledger event (proto/fleetmesh/ledger/v1/events.proto):
 * LedgerPosted keyed by the entry id; invoice events by the invoice id;
 * payment events by the payment id.
 */
export function toEventMessage(event: LedgerEvent): OutboxMessage {
  switch (event.type) {
    case "LedgerPosted":
      return outboxMessage(LedgerPostedSchema, create(LedgerPostedSchema, { entry: journalEntryToProto(event.entry) }), event.entry.id);
  }
}

/** The ledger's outbox on its own database: the row joins the use case's transaction. */
export const createEventOutbox = (db: Database): Outbox => ({
  async append(event) {
    await appendToOutbox(db.executor(), toEventMessage(event));
  },
});
