// Payments, refunds and customer credit through the handlers, on a real
// ledger database: capture checks and concurrency, refunds moving the
// invoice back, rental-owned payments refused, overpayment credit used by
// the next invoice.
import { randomUUID } from "node:crypto";
import anyTest, { type TestFn } from "ava";
import { DomainError } from "../../platform/src/errors.js";
import { readOutboxRows } from "../../platform/src/testing/outbox.js";
import { InvoiceStatus } from "../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import { PaymentProvider, PaymentStatus } from "../../../gen/fleetmesh/ledger/v1/payment_pb.js";
import {
  CapturePaymentRequestSchema,
  GetCustomerCreditRequestSchema,
  GetInvoiceRequestSchema,
  GetPaymentRequestSchema,
  IssueInvoiceRequestSchema,
  ListCreditNotesRequestSchema,
  ListPaymentsRequestSchema,
  RefundPaymentRequestSchema,
  VoidInvoiceRequestSchema,
} from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { RentalPaymentStatusChangedSchema, RentalCompletedSchema } from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { PaymentProvider as RentalProvider, RentalChargeType, RentalPaymentKind, RentalPaymentStatus } from "../../../gen/fleetmesh/rental/v1/rental_pb.js";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { eur, startBillingWorld, type BillingWorld } from "./billing-support.js";

const test = anyTest as TestFn<BillingWorld>;
test.before(async (t) => { t.context = await startBillingWorld({ poolMax: 20 }); });
test.after.always(async (t) => { await t.context?.stop(); });

const rejects = async (t: any, p: Promise<unknown>, kind: string, reason: string): Promise<DomainError> => {
  const err = (await t.throwsAsync(p, { instanceOf: DomainError })) as DomainError;
  t.is(`${err?.kind}/${err?.reason}`, `${kind}/${reason}`, err?.message);
  return err;
};

const issue = async (w: BillingWorld, customerId: string, amount: bigint) =>
  (await w.call("issueInvoice", IssueInvoiceRequestSchema, { customerId, currencyCode: "EUR", lines: [{ description: "Rental", unitPrice: eur(amount) }] })).invoice;

const invoiceNet = async (w: BillingWorld, invoiceId: string, code: string): Promise<bigint> => {
  const { rows } = await w.testDb.admin.query(
    `SELECT coalesce(sum(CASE l.direction WHEN 'D' THEN l.amount_minor ELSE -l.amount_minor END), 0)::text AS net
       FROM journal_lines l JOIN accounts a ON a.id = l.account_id WHERE l.invoice_id = $1 AND a.code = $2`, [invoiceId, code]);
  return BigInt(rows[0].net);
};

test("CapturePayment: cash and bank against the receivable; status follows; checks", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const invoice = await issue(w, customer, 10_000n);
  const first = await w.call("capturePayment", CapturePaymentRequestSchema, {
    invoiceId: invoice.id, amount: eur(4_000), provider: PaymentProvider.CASH, externalReference: "receipt 1",
  });
  t.is(first.invoice.status, InvoiceStatus.PARTIALLY_PAID);
  t.is(first.invoice.amountDue.amountMinor, 6_000n);
  t.is(first.payment.status, PaymentStatus.CAPTURED);
  const lines = await w.testDb.admin.query(
    `SELECT a.code, l.direction FROM journal_lines l JOIN accounts a ON a.id = l.account_id WHERE l.entry_id = $1 ORDER BY l.line_no`, [first.payment.journalEntryId]);
  t.deepEqual(lines.rows.map((r) => `${r.direction} ${r.code}`), ["D CASH", "C ACCOUNTS_RECEIVABLE"]);
  await rejects(t, w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: invoice.id, amount: eur(6_001), provider: PaymentProvider.CARD }),
    "failed_precondition", "PAYMENT_EXCEEDS_BALANCE");
  await rejects(t, w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: invoice.id, amount: { amountMinor: 100n, currencyCode: "USD" }, provider: PaymentProvider.CARD }),
    "invalid_argument", "CURRENCY_MISMATCH");
  await rejects(t, w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: randomUUID(), amount: eur(1), provider: PaymentProvider.CARD }),
    "not_found", "INVOICE_NOT_FOUND");
  await rejects(t, w.call("capturePayment", CapturePaymentRequestSchema, {
    invoiceId: invoice.id, amount: eur(1), provider: PaymentProvider.CARD, captureTime: timestampFromDate(new Date(Date.now() + 3_600_000)),
  }), "invalid_argument", "INVALID_ARGUMENT");
  const bad = await rejects(t, w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: invoice.id, amount: eur(0) }), "invalid_argument", "INVALID_ARGUMENT");
  t.deepEqual(bad.fieldViolations.map((v) => v.field).sort(), ["amount.amount_minor", "provider"]);
  const second = await w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: invoice.id, amount: eur(6_000), provider: PaymentProvider.TRANSFER });
  t.is(second.invoice.status, InvoiceStatus.PAID);
  const bank = await w.testDb.admin.query(`SELECT a.code FROM journal_lines l JOIN accounts a ON a.id = l.account_id WHERE l.entry_id = $1 AND l.direction = 'D'`, [second.payment.journalEntryId]);
  t.is(bank.rows[0].code, "BANK");
  t.is(await invoiceNet(w, invoice.id, "ACCOUNTS_RECEIVABLE"), 0n);
  await rejects(t, w.call("voidInvoice", VoidInvoiceRequestSchema, { invoiceId: invoice.id, reason: "paid" }), "failed_precondition", "INVALID_INVOICE_TRANSITION");
  const got = await w.call("getInvoice", GetInvoiceRequestSchema, { invoiceId: invoice.id });
  t.deepEqual(got.payments.map((p: any) => p.id), [first.payment.id, second.payment.id]);
  const events = (await readOutboxRows(w.testDb.admin, first.payment.id)).map((r) => r.event_type);
  t.deepEqual(events, ["fleetmesh.ledger.v1.PaymentCaptured"]);
  const listed = await w.call("listPayments", ListPaymentsRequestSchema, { invoiceId: invoice.id, statuses: [PaymentStatus.CAPTURED] });
  t.is(listed.payments.length, 2);
});

test("a VOID invoice takes no payment", async (t) => {
  const w = t.context;
  const invoice = await issue(w, w.newCustomer(), 500n);
  await w.call("voidInvoice", VoidInvoiceRequestSchema, { invoiceId: invoice.id, reason: "duplicate" });
  await rejects(t, w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: invoice.id, amount: eur(1), provider: PaymentProvider.CASH }),
    "failed_precondition", "INVALID_INVOICE_TRANSITION");
});

test("16 concurrent captures on one invoice never exceed its total", async (t) => {
  const w = t.context;
  const invoice = await issue(w, w.newCustomer(), 10_000n);
  const results = await Promise.allSettled(Array.from({ length: 16 }, () =>
    w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: invoice.id, amount: eur(1_500), provider: PaymentProvider.CARD })));
  const ok = results.filter((r) => r.status === "fulfilled").length;
  const refused = results.filter((r) => r.status === "rejected").map((r) => ((r as PromiseRejectedResult).reason as DomainError).reason);
  t.is(ok, 6);
  t.deepEqual([...new Set(refused)], ["PAYMENT_EXCEEDS_BALANCE"]);
  const got = await w.call("getInvoice", GetInvoiceRequestSchema, { invoiceId: invoice.id });
  t.is(got.invoice.amountPaid.amountMinor, 9_000n);
  t.is(got.invoice.amountDue.amountMinor, 1_000n);
  t.is(await invoiceNet(w, invoice.id, "ACCOUNTS_RECEIVABLE"), 1_000n);
});

test("RefundPayment: partial then the rest; the invoice moves back; limits", async (t) => {
  const w = t.context;
  const invoice = await issue(w, w.newCustomer(), 8_000n);
  const { payment } = await w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: invoice.id, amount: eur(8_000), provider: PaymentProvider.CARD });
  const part = await w.call("refundPayment", RefundPaymentRequestSchema, { paymentId: payment.id, amount: eur(3_000), reason: "damaged seat", externalReference: "rf-1" });
  t.is(part.payment.status, PaymentStatus.PARTIALLY_REFUNDED);
  t.is(part.payment.refundedAmount.amountMinor, 3_000n);
  t.is(part.invoice.status, InvoiceStatus.PARTIALLY_PAID);
  t.is(part.invoice.amountDue.amountMinor, 3_000n);
  const lines = await w.testDb.admin.query(
    `SELECT a.code, l.direction FROM journal_lines l JOIN accounts a ON a.id = l.account_id WHERE l.entry_id = $1 ORDER BY l.line_no`, [part.refund.journalEntryId]);
  t.deepEqual(lines.rows.map((r) => `${r.direction} ${r.code}`), ["D ACCOUNTS_RECEIVABLE", "C BANK"]);
  await rejects(t, w.call("refundPayment", RefundPaymentRequestSchema, { paymentId: payment.id, amount: eur(5_001), reason: "too much" }), "failed_precondition", "REFUND_EXCEEDS_PAYMENT");
  await rejects(t, w.call("refundPayment", RefundPaymentRequestSchema, { paymentId: randomUUID(), reason: "x" }), "not_found", "PAYMENT_NOT_FOUND");
  const rest = await w.call("refundPayment", RefundPaymentRequestSchema, { paymentId: payment.id, reason: "cancelled" });
  t.is(rest.refund.amount.amountMinor, 5_000n);
  t.is(rest.payment.status, PaymentStatus.REFUNDED);
  t.is(rest.invoice.status, InvoiceStatus.ISSUED);
  t.is(rest.invoice.amountDue.amountMinor, 8_000n);
  await rejects(t, w.call("refundPayment", RefundPaymentRequestSchema, { paymentId: payment.id, reason: "again" }), "failed_precondition", "REFUND_EXCEEDS_PAYMENT");
  await rejects(t, w.call("getPayment", GetPaymentRequestSchema, { paymentId: randomUUID() }), "not_found", "PAYMENT_NOT_FOUND");
  await rejects(t, w.call("listCreditNotes", ListCreditNotesRequestSchema, { invoiceId: randomUUID() }), "not_found", "INVOICE_NOT_FOUND");
  const got = await w.call("getPayment", GetPaymentRequestSchema, { paymentId: payment.id });
  t.is(got.payment.refunds.length, 2);
  t.true(got.ledgerPosition > 0n);
  const events = (await readOutboxRows(w.testDb.admin, payment.id)).map((r) => r.event_type);
  t.deepEqual(events, ["fleetmesh.ledger.v1.PaymentCaptured", "fleetmesh.ledger.v1.PaymentRefunded", "fleetmesh.ledger.v1.PaymentRefunded"]);
});

const completed = (rentalId: string, customerId: string, amount: bigint) => ({
  rentalId, customerId, vehicleId: randomUUID(), pickupTime: timestampFromDate(new Date(Date.now() - 86_400_000)), returnTime: timestampFromDate(new Date()),
  charges: [{ id: randomUUID(), rentalId, type: RentalChargeType.BASE, description: "Base", quantity: 1, unitPrice: eur(amount), amount: eur(amount) }],
});

test("a payment mirrored from rental cannot be refunded here (PAYMENT_OWNED_BY_RENTAL)", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const rentalId = randomUUID();
  await w.deliver(RentalCompletedSchema, completed(rentalId, customer, 5_000n));
  const rentalPaymentId = randomUUID();
  await w.deliver(RentalPaymentStatusChangedSchema, {
    customerId: customer, previousStatus: RentalPaymentStatus.PENDING,
    payment: { id: rentalPaymentId, rentalId, provider: RentalProvider.CARD, amount: eur(5_000), status: RentalPaymentStatus.CAPTURED, kind: RentalPaymentKind.PAYMENT },
  });
  const { rows } = await w.testDb.admin.query("SELECT id FROM payments WHERE rental_payment_id = $1", [rentalPaymentId]);
  const err = await rejects(t, w.call("refundPayment", RefundPaymentRequestSchema, { paymentId: rows[0].id, reason: "x" }), "failed_precondition", "PAYMENT_OWNED_BY_RENTAL");
  t.regex(err.message, /RentalService\.UpdateRentalPaymentStatus/);
});

test("overpayment becomes customer credit and is applied to the next invoice", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const rentalId = randomUUID();
  await w.deliver(RentalCompletedSchema, completed(rentalId, customer, 7_000n));
  await w.deliver(RentalPaymentStatusChangedSchema, {
    customerId: customer, previousStatus: RentalPaymentStatus.PENDING,
    payment: { id: randomUUID(), rentalId, provider: RentalProvider.CASH, amount: eur(10_000), status: RentalPaymentStatus.CAPTURED, kind: RentalPaymentKind.PAYMENT },
  });
  const credit = await w.call("getCustomerCredit", GetCustomerCreditRequestSchema, { customerId: customer });
  t.deepEqual(credit.available.map((m: any) => [m.currencyCode, m.amountMinor]), [["EUR", 3_000n]]);
  const next = await issue(w, customer, 5_000n);
  t.is(next.amountPaid.amountMinor, 3_000n);
  t.is(next.creditApplied.amountMinor, 3_000n);
  t.is(next.amountDue.amountMinor, 2_000n);
  t.is(next.status, InvoiceStatus.PARTIALLY_PAID);
  const after = await w.call("getCustomerCredit", GetCustomerCreditRequestSchema, { customerId: customer });
  t.deepEqual(after.available, []);
  const movements = await w.testDb.admin.query("SELECT amount_minor::text AS a FROM customer_credit_movements WHERE customer_id = $1 ORDER BY create_time", [customer]);
  t.deepEqual(movements.rows.map((r) => r.a), ["3000", "-3000"]);
  const { rows } = await w.testDb.admin.query(
    `SELECT coalesce(sum(CASE l.direction WHEN 'D' THEN -l.amount_minor ELSE l.amount_minor END), 0)::text AS credit
       FROM journal_lines l JOIN accounts a ON a.id = l.account_id JOIN customer_credit_movements m ON m.journal_entry_id = l.entry_id
      WHERE a.code = 'CUSTOMER_CREDIT' AND m.customer_id = $1`, [customer]);
  t.is(rows[0].credit, "0", "the CUSTOMER_CREDIT postings of the customer's movements net to zero");
  // The next invoice after that finds no credit: nothing applied.
  const third = await issue(w, customer, 1_000n);
  t.is(third.amountPaid.amountMinor, 0n);
});
