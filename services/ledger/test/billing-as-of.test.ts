// Invoices and payments "as of" a ledger position, through the handlers on a
// real ledger database: the state then, derived from the journal (issued or
// not, paid, credited, refunded, void), while the rows move on.
import anyTest, { type TestFn } from "ava";
import { DomainError } from "../../platform/src/errors.js";
import { InvoiceStatus } from "../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import { PaymentProvider, PaymentStatus } from "../../../gen/fleetmesh/ledger/v1/payment_pb.js";
import {
  CapturePaymentRequestSchema,
  GetInvoiceRequestSchema,
  GetPaymentRequestSchema,
  IssueCreditNoteRequestSchema,
  IssueInvoiceRequestSchema,
  ListInvoicesRequestSchema,
  ListPaymentsRequestSchema,
  RefundPaymentRequestSchema,
} from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { eur, startBillingWorld, type BillingWorld } from "./billing-support.js";

const test = anyTest.serial as TestFn<BillingWorld>;
test.before(async (t) => { t.context = await startBillingWorld(); });
test.after.always(async (t) => { await t.context?.stop(); });

const position = async (w: BillingWorld): Promise<bigint> => w.journal.position();

test("an invoice and its payment read as they stood at each position", async (t) => {
  const w = t.context;
  const customerId = w.newCustomer();
  // Something posted first: position 0 would mean "now".
  await w.call("issueInvoice", IssueInvoiceRequestSchema, { customerId: w.newCustomer(), currencyCode: "EUR", lines: [{ description: "Other", unitPrice: eur(100) }] });
  const before = await position(w);
  const { invoice } = await w.call("issueInvoice", IssueInvoiceRequestSchema, { customerId, currencyCode: "EUR", lines: [{ description: "Rental", unitPrice: eur(10_000) }] });
  const issued = await position(w);
  const { payment } = await w.call("capturePayment", CapturePaymentRequestSchema, { invoiceId: invoice.id, amount: eur(6_000), provider: PaymentProvider.CARD });
  const paid = await position(w);
  await w.call("refundPayment", RefundPaymentRequestSchema, { paymentId: payment.id, amount: eur(1_000), reason: "goodwill" });
  const refunded = await position(w);
  await w.call("issueCreditNote", IssueCreditNoteRequestSchema, { invoiceId: invoice.id, reason: "rest waived" });

  const at = async (asOfPosition: bigint) => w.call("getInvoice", GetInvoiceRequestSchema, { invoiceId: invoice.id, asOfPosition });
  const now = await at(0n);
  t.is(now.invoice.status, InvoiceStatus.CREDITED);
  t.is(now.invoice.amountCredited.amountMinor, 5_000n);
  t.is(now.ledgerPosition, await position(w));

  const atIssue = await at(issued);
  t.is(atIssue.invoice.status, InvoiceStatus.ISSUED);
  t.is(atIssue.invoice.amountPaid.amountMinor, 0n);
  t.deepEqual(atIssue.payments, []);
  t.deepEqual(atIssue.creditNotes, []);
  t.is(atIssue.ledgerPosition, issued);

  const atPaid = await at(paid);
  t.is(atPaid.invoice.status, InvoiceStatus.PARTIALLY_PAID);
  t.is(atPaid.invoice.amountDue.amountMinor, 4_000n);
  t.is(atPaid.payments[0].status, PaymentStatus.CAPTURED);

  const atRefund = await at(refunded);
  t.is(atRefund.invoice.amountPaid.amountMinor, 5_000n);
  t.is(atRefund.payments[0].status, PaymentStatus.PARTIALLY_REFUNDED);
  t.is(atRefund.payments[0].refunds.length, 1);
  t.deepEqual(atRefund.creditNotes, []);

  // Before it was issued, the invoice did not exist.
  const err = await t.throwsAsync(at(before), { instanceOf: DomainError });
  t.is((err as DomainError).reason, "INVOICE_NOT_FOUND");
  // Lists filter by the state then: at `paid`, the invoice is PARTIALLY_PAID, not CREDITED.
  const listed = await w.call("listInvoices", ListInvoicesRequestSchema, { customerId, statuses: [InvoiceStatus.PARTIALLY_PAID], asOfPosition: paid });
  t.deepEqual(listed.invoices.map((i: { id: string }) => i.id), [invoice.id]);
  t.is(listed.ledgerPosition, paid);
  t.deepEqual((await w.call("listInvoices", ListInvoicesRequestSchema, { customerId, statuses: [InvoiceStatus.PARTIALLY_PAID] })).invoices, []);
  t.is((await w.call("getPayment", GetPaymentRequestSchema, { paymentId: payment.id, asOfPosition: paid })).payment.status, PaymentStatus.CAPTURED);
  t.deepEqual((await w.call("listPayments", ListPaymentsRequestSchema, { invoiceId: invoice.id, asOfPosition: issued })).payments, []);

  const ahead = await t.throwsAsync(at((await position(w)) + 1n), { instanceOf: DomainError });
  t.is(`${(ahead as DomainError).kind}/${(ahead as DomainError).reason}`, "out_of_range/LEDGER_POSITION_AHEAD");
});
