import { create } from "@bufbuild/protobuf";
import {
  InvoiceIssuedSchema,
  InvoiceVoidedSchema,
  LedgerPostedSchema,
  PaymentCapturedSchema,
  PaymentRefundedSchema,
} from "../../../../../gen/fleetmesh/ledger/v1/events_pb.js";
import { money } from "../../../../platform/src/money.js";
import { moneyToProto, optionalTimeToProto, textOrEmpty } from "../../../../platform/src/proto-common.js";
import { amountDue } from "../../domain/billing.js";
import { INVOICE_STATUS_TO_PROTO, invoiceToProto, PAYMENT_STATUS_TO_PROTO, paymentToProto, refundToProto } from "../proto/billing-proto.js";
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
    case "InvoiceIssued":
      return outboxMessage(InvoiceIssuedSchema, create(InvoiceIssuedSchema, { invoice: invoiceToProto(event.invoice) }), event.invoice.id);
    case "InvoiceVoided": {
      const i = event.invoice;
      return outboxMessage(InvoiceVoidedSchema, create(InvoiceVoidedSchema, {
        invoiceId: i.id, number: i.number, customerId: i.customerId, rentalId: textOrEmpty(i.rentalId), total: moneyToProto(money(i.total, i.currency)),
        reason: i.voidReason ?? "", voidTime: optionalTimeToProto(i.voidTime), journalEntryId: event.journalEntryId, rowVersion: i.rowVersion,
      }), i.id);
    }
    case "PaymentCaptured": {
      const i = event.invoice;
      return outboxMessage(PaymentCapturedSchema, create(PaymentCapturedSchema, {
        payment: paymentToProto(event.payment),
        ...(i === null ? {} : { invoiceStatus: INVOICE_STATUS_TO_PROTO[i.status], invoiceAmountDue: moneyToProto(money(amountDue(i), i.currency)) }),
      }), event.payment.id);
    }
    case "PaymentRefunded": {
      const p = event.payment;
      return outboxMessage(PaymentRefundedSchema, create(PaymentRefundedSchema, {
        paymentId: p.id, invoiceId: textOrEmpty(p.invoiceId), customerId: p.customerId, rentalId: textOrEmpty(p.rentalId),
        refund: refundToProto(event.refund), paymentStatus: PAYMENT_STATUS_TO_PROTO[p.status], refundedAmount: moneyToProto(money(p.refunded, p.amount.currency)),
      }), p.id);
    }
  }
}

/** The ledger's outbox on its own database: the row joins the use case's transaction. */
export const createEventOutbox = (db: Database): Outbox => ({
  async append(event) {
    await appendToOutbox(db.executor(), toEventMessage(event));
  },
});
