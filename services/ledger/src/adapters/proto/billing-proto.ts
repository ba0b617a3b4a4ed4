// Invoice, credit note, payment and refund messages <-> domain types.
import { create } from "@bufbuild/protobuf";
import {
  CreditNoteSchema,
  InvoiceLineSchema,
  InvoiceSchema,
  InvoiceStatus as ProtoInvoiceStatus,
  type CreditNote as ProtoCreditNote,
  type Invoice as ProtoInvoice,
} from "../../../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import {
  PaymentProvider as ProtoPaymentProvider,
  PaymentSchema,
  PaymentStatus as ProtoPaymentStatus,
  RefundSchema,
  type Payment as ProtoPayment,
  type Refund as ProtoRefund,
} from "../../../../../gen/fleetmesh/ledger/v1/payment_pb.js";
import { money } from "../../../../platform/src/money.js";
import { enumFromProto, moneyToProto, optionalTimeToProto, textOrEmpty, timeToProto } from "../../../../platform/src/proto-common.js";
import type { CreditNote, Invoice, InvoiceStatus, Payment, PaymentProvider, PaymentStatus, Refund } from "../../domain/billing-model.js";
import { amountDue } from "../../domain/billing.js";

export const INVOICE_STATUS_TO_PROTO: Readonly<Record<InvoiceStatus, ProtoInvoiceStatus>> = {
  ISSUED: ProtoInvoiceStatus.ISSUED,
  PARTIALLY_PAID: ProtoInvoiceStatus.PARTIALLY_PAID,
  PAID: ProtoInvoiceStatus.PAID,
  VOID: ProtoInvoiceStatus.VOID,
  CREDITED: ProtoInvoiceStatus.CREDITED,
};
export const invoiceStatusFromProto = enumFromProto(INVOICE_STATUS_TO_PROTO);

export const PAYMENT_STATUS_TO_PROTO: Readonly<Record<PaymentStatus, ProtoPaymentStatus>> = {
  CAPTURED: ProtoPaymentStatus.CAPTURED,
  PARTIALLY_REFUNDED: ProtoPaymentStatus.PARTIALLY_REFUNDED,
  REFUNDED: ProtoPaymentStatus.REFUNDED,
};
export const paymentStatusFromProto = enumFromProto(PAYMENT_STATUS_TO_PROTO);

export const PAYMENT_PROVIDER_TO_PROTO: Readonly<Record<PaymentProvider, ProtoPaymentProvider>> = {
  CASH: ProtoPaymentProvider.CASH,
  CARD: ProtoPaymentProvider.CARD,
  TRANSFER: ProtoPaymentProvider.TRANSFER,
};
export const paymentProviderFromProto = enumFromProto(PAYMENT_PROVIDER_TO_PROTO);

export const invoiceToProto = (i: Invoice): ProtoInvoice => {
  const m = (amount: bigint) => moneyToProto(money(amount, i.currency));
  return create(InvoiceSchema, {
    id: i.id, number: i.number, customerId: i.customerId, rentalId: textOrEmpty(i.rentalId),
    externalRefType: i.externalRef?.type ?? "", externalRefId: i.externalRef?.id ?? "",
    status: INVOICE_STATUS_TO_PROTO[i.status], currencyCode: i.currency,
    lines: i.lines.map((l) => create(InvoiceLineSchema, {
      id: l.id, description: l.description, quantity: l.quantity, unitPrice: moneyToProto(l.unitPrice), amount: moneyToProto(l.amount),
      revenueAccountId: l.revenueAccountId, vehicleId: textOrEmpty(l.vehicleId), rentalChargeId: textOrEmpty(l.rentalChargeId),
    })),
    total: m(i.total), amountPaid: m(i.paid), amountDue: m(amountDue(i)), amountCredited: m(i.credited), creditApplied: m(i.creditApplied),
    issueDate: i.issueDate, dueDate: textOrEmpty(i.dueDate), notes: i.notes, journalEntryId: i.journalEntryId,
    voidReason: textOrEmpty(i.voidReason), voidTime: optionalTimeToProto(i.voidTime), rowVersion: i.rowVersion,
    createTime: timeToProto(i.createTime), updateTime: timeToProto(i.updateTime), createdBy: i.createdBy, updatedBy: i.updatedBy,
  });
};

export const creditNoteToProto = (n: CreditNote): ProtoCreditNote => create(CreditNoteSchema, {
  id: n.id, number: n.number, invoiceId: n.invoiceId, customerId: n.customerId, amount: moneyToProto(n.amount), reason: n.reason,
  issueDate: n.issueDate, journalEntryId: n.journalEntryId, createTime: timeToProto(n.createTime), createdBy: n.createdBy,
  externalRefType: n.externalRef?.type ?? "", externalRefId: n.externalRef?.id ?? "",
});

export const refundToProto = (r: Refund): ProtoRefund => create(RefundSchema, {
  id: r.id, paymentId: r.paymentId, amount: moneyToProto(r.amount), reason: r.reason, externalReference: r.externalReference,
  refundTime: timeToProto(r.refundTime), journalEntryId: r.journalEntryId, createdBy: r.createdBy,
});

export const paymentToProto = (p: Payment): ProtoPayment => create(PaymentSchema, {
  id: p.id, invoiceId: textOrEmpty(p.invoiceId), customerId: p.customerId, rentalId: textOrEmpty(p.rentalId),
  rentalPaymentId: textOrEmpty(p.rentalPaymentId), provider: PAYMENT_PROVIDER_TO_PROTO[p.provider], amount: moneyToProto(p.amount),
  status: PAYMENT_STATUS_TO_PROTO[p.status], refundedAmount: moneyToProto(money(p.refunded, p.amount.currency)),
  refunds: p.refunds.map(refundToProto), externalReference: p.externalReference, captureTime: timeToProto(p.captureTime),
  journalEntryId: p.journalEntryId, rowVersion: p.rowVersion, createTime: timeToProto(p.createTime), updateTime: timeToProto(p.updateTime),
  createdBy: p.createdBy,
});
