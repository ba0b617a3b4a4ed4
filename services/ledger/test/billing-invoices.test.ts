// Invoices and credit notes through the handlers, on a real ledger database:
// issuing (checks, idempotency, gapless numbers), reading, own invoices,
// voiding, credit notes and the CREDITED status.
import { randomUUID } from "node:crypto";
import anyTest, { type TestFn } from "ava";
import { DomainError } from "../../platform/src/errors.js";
import { testCaller } from "../../platform/src/testing/fakes.js";
import { readOutboxRows } from "../../platform/src/testing/outbox.js";
import { InvoiceStatus } from "../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import {
  GetCustomerCreditRequestSchema,
  GetInvoiceRequestSchema,
  GetOwnInvoiceRequestSchema,
  IssueCreditNoteRequestSchema,
  IssueInvoiceRequestSchema,
  ListCreditNotesRequestSchema,
  ListInvoicesRequestSchema,
  ListOwnInvoicesRequestSchema,
  VoidInvoiceRequestSchema,
} from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { ACCOUNTS } from "../src/domain/model.js";
import { eur, startBillingWorld, type BillingWorld } from "./billing-support.js";

const test = anyTest as TestFn<BillingWorld>;
test.before(async (t) => { t.context = await startBillingWorld(); });
test.after.always(async (t) => { await t.context?.stop(); });

const VEHICLE = "00000000-0000-4000-8000-00000000ca75";
const issueRequest = (customerId: string, extra: Record<string, unknown> = {}) => ({
  customerId, currencyCode: "EUR", issueDate: "2026-12-01", dueDate: "2026-12-15",
  lines: [
    { description: "Base rate", quantity: 3, unitPrice: eur(10_000), vehicleId: VEHICLE },
    { description: "Loyalty discount", unitPrice: eur(-2_000), vehicleId: VEHICLE },
    { description: "Late return", unitPrice: eur(1_500), revenueAccountId: ACCOUNTS.REVENUE_LATE_FEES, vehicleId: VEHICLE },
  ],
  ...extra,
});

const rejects = async (t: { throwsAsync: Function; is: Function }, p: Promise<unknown>, kind: string, reason: string): Promise<DomainError> => {
  const err = (await (t as any).throwsAsync(p, { instanceOf: DomainError })) as DomainError;
  (t as any).is(`${err?.kind}/${err?.reason}`, `${kind}/${reason}`, err?.message);
  return err;
};

test("IssueInvoice posts receivable against revenue (discount netted, dimensions set) and numbers it", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const { invoice } = await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, { notes: "thanks" }));
  t.regex(invoice.number, /^INV-2026-\d{6}$/);
  t.is(invoice.status, InvoiceStatus.ISSUED);
  t.is(invoice.total.amountMinor, 29_500n);
  t.is(invoice.amountDue.amountMinor, 29_500n);
  t.is(invoice.amountPaid.amountMinor, 0n);
  t.is(invoice.lines.length, 3);
  t.is(invoice.lines[0].amount.amountMinor, 30_000n);
  t.is(invoice.lines[1].revenueAccountId, ACCOUNTS.REVENUE_RENTAL, "default revenue account");
  t.is(invoice.createdBy, (await import("./billing-support.js")).ADMIN);
  const { rows } = await w.testDb.admin.query(
    `SELECT a.code, l.direction, l.amount_minor::text AS amount, l.vehicle_id, l.invoice_id FROM journal_lines l JOIN accounts a ON a.id = l.account_id
      WHERE l.entry_id = $1 ORDER BY l.line_no`, [invoice.journalEntryId]);
  t.deepEqual(rows.map((r) => [r.code, r.direction, r.amount, r.vehicle_id, r.invoice_id]), [
    ["ACCOUNTS_RECEIVABLE", "D", "29500", null, invoice.id],
    ["REVENUE_RENTAL", "C", "28000", VEHICLE, invoice.id],
    ["REVENUE_LATE_FEES", "C", "1500", VEHICLE, invoice.id],
  ]);
  const events = (await readOutboxRows(w.testDb.admin, invoice.id)).map((r) => r.event_type);
  t.true(events.includes("fleetmesh.ledger.v1.InvoiceIssued"));
  const got = await w.call("getInvoice", GetInvoiceRequestSchema, { invoiceId: invoice.id });
  t.is(got.invoice.number, invoice.number);
  t.true(got.ledgerPosition > 0n);
});

test("IssueInvoice checks: unknown customer, currency mismatch, negative total, bad fields", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  await rejects(t, w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(randomUUID())), "not_found", "USER_NOT_FOUND");
  const mismatch = await rejects(t, w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, {
    lines: [{ description: "x", unitPrice: { amountMinor: 100n, currencyCode: "USD" } }],
  })), "invalid_argument", "INVALID_ARGUMENT");
  t.is(mismatch.fieldViolations[0]?.reason, "CURRENCY_MISMATCH");
  const negative = await rejects(t, w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, {
    lines: [{ description: "credit", unitPrice: eur(-100) }],
  })), "invalid_argument", "INVALID_ARGUMENT");
  t.is(negative.fieldViolations[0]?.reason, "NEGATIVE_TOTAL");
  const bad = await rejects(t, w.call("issueInvoice", IssueInvoiceRequestSchema, {
    customerId: "nope", currencyCode: "EURO", lines: [], issueDate: "2026-13-01", externalRefType: "x",
  }), "invalid_argument", "INVALID_ARGUMENT");
  t.deepEqual(bad.fieldViolations.map((v) => v.field).sort(), ["currency_code", "customer_id", "external_ref_id", "issue_date", "lines"]);
  await rejects(t, w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, {
    lines: [{ description: "x", unitPrice: eur(100), revenueAccountId: ACCOUNTS.CASH }],
  })), "invalid_argument", "INVALID_ARGUMENT");
});

test("IssueInvoice is idempotent on its external reference", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const ref = { externalRefType: "booking", externalRefId: randomUUID() };
  const first = await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, ref));
  const again = await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, ref));
  t.is(again.invoice.id, first.invoice.id);
  t.is(again.invoice.number, first.invoice.number);
  await rejects(t, w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, { ...ref, notes: "other" })), "already_exists", "INVOICE_ALREADY_ISSUED");
  const { rows } = await w.testDb.admin.query("SELECT count(*)::int AS n FROM invoices WHERE external_ref_id = $1", [ref.externalRefId]);
  t.is(rows[0].n, 1);
});

test("numbers are gapless per series and year: a failed issue in the middle returns its number", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const year = { issueDate: "2031-03-01", dueDate: "" };
  const a = await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, year));
  // Fails after taking its number: 2031-02 is closed (posting refuses a closed month), so the transaction rolls back.
  await w.journal.closePeriod("2031-02", "closed", testCaller(randomUUID()));
  await rejects(t, w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, { issueDate: "2031-02-10", dueDate: "" })), "failed_precondition", "PERIOD_CLOSED");
  const b = await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, year));
  t.is(a.invoice.number, "INV-2031-000001");
  t.is(b.invoice.number, "INV-2031-000002");
  // Concurrent issues in one year: still 1..n without gaps or duplicates.
  const many = await Promise.all(Array.from({ length: 12 }, () => w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(w.newCustomer(), { issueDate: "2032-01-05", dueDate: "" }))));
  t.deepEqual(many.map((r) => r.invoice.number).sort(), Array.from({ length: 12 }, (_, i) => `INV-2032-${String(i + 1).padStart(6, "0")}`));
});

test("ListInvoices filters and pages; own invoices are the caller's only", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const other = w.newCustomer();
  const mine = [];
  for (let i = 0; i < 3; i++) mine.push((await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer, { issueDate: `2026-11-0${i + 1}`, dueDate: "" }))).invoice);
  const theirs = (await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(other))).invoice;
  const page1 = await w.call("listInvoices", ListInvoicesRequestSchema, { customerId: customer, page: { pageSize: 2 } });
  t.deepEqual(page1.invoices.map((i: any) => i.id), [mine[2].id, mine[1].id], "newest issue date first");
  const page2 = await w.call("listInvoices", ListInvoicesRequestSchema, { customerId: customer, page: { pageSize: 2, pageToken: page1.page.nextPageToken } });
  t.deepEqual(page2.invoices.map((i: any) => i.id), [mine[0].id]);
  t.is(page2.page.nextPageToken, "");
  const byNumber = await w.call("listInvoices", ListInvoicesRequestSchema, { number: theirs.number });
  t.deepEqual(byNumber.invoices.map((i: any) => i.id), [theirs.id]);
  const within = await w.call("listInvoices", ListInvoicesRequestSchema, { customerId: customer, issuedWithin: { startDate: "2026-11-02", endDate: "2026-11-03" } });
  t.deepEqual(within.invoices.map((i: any) => i.id), [mine[1].id]);

  const me = testCaller(customer, ["invoices.read_own"]);
  const own = await w.call("getOwnInvoice", GetOwnInvoiceRequestSchema, { invoiceId: mine[0].id }, me);
  t.is(own.invoice.id, mine[0].id);
  await rejects(t, w.call("getOwnInvoice", GetOwnInvoiceRequestSchema, { invoiceId: theirs.id }, me), "not_found", "INVOICE_NOT_FOUND");
  const ownList = await w.call("listOwnInvoices", ListOwnInvoicesRequestSchema, { statuses: [InvoiceStatus.ISSUED] }, me);
  t.deepEqual(ownList.invoices.map((i: any) => i.id).sort(), mine.map((i) => i.id).sort());
  await rejects(t, w.call("getInvoice", GetInvoiceRequestSchema, { invoiceId: randomUUID() }), "not_found", "INVOICE_NOT_FOUND");
});

test("VoidInvoice reverses the posting; stale row version, second void and paid invoices are refused", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const { invoice } = await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer));
  await rejects(t, w.call("voidInvoice", VoidInvoiceRequestSchema, { invoiceId: invoice.id, expectedRowVersion: 7n, reason: "typo" }), "aborted", "ROW_VERSION_MISMATCH");
  const voided = (await w.call("voidInvoice", VoidInvoiceRequestSchema, { invoiceId: invoice.id, expectedRowVersion: invoice.rowVersion, reason: "typo" })).invoice;
  t.is(voided.status, InvoiceStatus.VOID);
  t.is(voided.voidReason, "typo");
  t.is(voided.rowVersion, invoice.rowVersion + 1n);
  // Everything the invoice posted nets to zero once voided.
  const net = await w.testDb.admin.query(
    `SELECT a.code, sum(CASE l.direction WHEN 'D' THEN l.amount_minor ELSE -l.amount_minor END)::text AS net
       FROM journal_lines l JOIN accounts a ON a.id = l.account_id WHERE l.invoice_id = $1 GROUP BY a.code ORDER BY a.code`, [invoice.id]);
  t.deepEqual(net.rows.map((r) => [r.code, r.net]), [["ACCOUNTS_RECEIVABLE", "0"], ["REVENUE_LATE_FEES", "0"], ["REVENUE_RENTAL", "0"]]);
  const { rows } = await w.testDb.admin.query("SELECT reverses_entry_id FROM journal_entries WHERE external_ref_type = 'invoice_void' AND external_ref_id = $1", [invoice.id]);
  t.is(rows[0]?.reverses_entry_id, invoice.journalEntryId);
  await rejects(t, w.call("voidInvoice", VoidInvoiceRequestSchema, { invoiceId: invoice.id, reason: "again" }), "failed_precondition", "INVALID_INVOICE_TRANSITION");
  await rejects(t, w.call("issueCreditNote", IssueCreditNoteRequestSchema, { invoiceId: invoice.id, reason: "x" }), "failed_precondition", "INVALID_INVOICE_TRANSITION");
  const events = (await readOutboxRows(w.testDb.admin, invoice.id)).map((r) => r.event_type);
  t.true(events.includes("fleetmesh.ledger.v1.InvoiceVoided"));
});

test("credit notes: pro rata debit of revenue, gapless CN numbers, CREDITED when nothing is due, limits and idempotency", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const { invoice } = await w.call("issueInvoice", IssueInvoiceRequestSchema, issueRequest(customer));
  const first = await w.call("issueCreditNote", IssueCreditNoteRequestSchema, {
    invoiceId: invoice.id, amount: eur(9_500), reason: "goodwill", issueDate: "2027-01-02", externalRefType: "complaint", externalRefId: "c-1",
  });
  t.is(first.creditNote.number, "CN-2027-000001");
  t.is(first.invoice.amountCredited.amountMinor, 9_500n);
  t.is(first.invoice.amountDue.amountMinor, 20_000n);
  t.is(first.invoice.status, InvoiceStatus.ISSUED);
  const { rows } = await w.testDb.admin.query(
    `SELECT a.code, l.direction, l.amount_minor::text AS amount, l.vehicle_id FROM journal_lines l JOIN accounts a ON a.id = l.account_id
      WHERE l.entry_id = $1 ORDER BY l.line_no`, [first.creditNote.journalEntryId]);
  t.deepEqual(rows.map((r) => [r.code, r.direction, r.amount, r.vehicle_id]), [
    ["REVENUE_RENTAL", "D", "9017", VEHICLE], ["REVENUE_LATE_FEES", "D", "483", VEHICLE], ["ACCOUNTS_RECEIVABLE", "C", "9500", null],
  ]);
  const repeat = await w.call("issueCreditNote", IssueCreditNoteRequestSchema, {
    invoiceId: invoice.id, amount: eur(9_500), reason: "goodwill", issueDate: "2027-01-02", externalRefType: "complaint", externalRefId: "c-1",
  });
  t.is(repeat.creditNote.id, first.creditNote.id);
  await rejects(t, w.call("issueCreditNote", IssueCreditNoteRequestSchema, {
    invoiceId: invoice.id, amount: eur(1), reason: "other", externalRefType: "complaint", externalRefId: "c-1",
  }), "already_exists", "INVOICE_ALREADY_ISSUED");
  await rejects(t, w.call("issueCreditNote", IssueCreditNoteRequestSchema, { invoiceId: invoice.id, amount: eur(20_001), reason: "too much" }),
    "failed_precondition", "CREDIT_EXCEEDS_INVOICE");
  await rejects(t, w.call("issueCreditNote", IssueCreditNoteRequestSchema, { invoiceId: invoice.id, amount: { amountMinor: 5n, currencyCode: "USD" }, reason: "usd" }),
    "invalid_argument", "CURRENCY_MISMATCH");
  const rest = await w.call("issueCreditNote", IssueCreditNoteRequestSchema, { invoiceId: invoice.id, reason: "the rest", issueDate: "2027-01-03" });
  t.is(rest.creditNote.number, "CN-2027-000002");
  t.is(rest.creditNote.amount.amountMinor, 20_000n);
  t.is(rest.invoice.status, InvoiceStatus.CREDITED);
  t.is(rest.invoice.amountDue.amountMinor, 0n);
  await rejects(t, w.call("issueCreditNote", IssueCreditNoteRequestSchema, { invoiceId: invoice.id, reason: "nothing left" }), "failed_precondition", "CREDIT_EXCEEDS_INVOICE");
  await rejects(t, w.call("voidInvoice", VoidInvoiceRequestSchema, { invoiceId: invoice.id, reason: "x" }), "failed_precondition", "INVALID_INVOICE_TRANSITION");
  const list = await w.call("listCreditNotes", ListCreditNotesRequestSchema, { invoiceId: invoice.id });
  t.deepEqual(list.creditNotes.map((n: any) => n.number), ["CN-2027-000001", "CN-2027-000002"]);
  const got = await w.call("getInvoice", GetInvoiceRequestSchema, { invoiceId: invoice.id });
  t.is(got.creditNotes.length, 2);
  // AR of the invoice is zero: the invoice dimension on AR lines sums to amount_due.
  const ar = await w.testDb.admin.query(
    `SELECT sum(CASE direction WHEN 'D' THEN amount_minor ELSE -amount_minor END)::text AS net FROM journal_lines WHERE account_id = $1 AND invoice_id = $2`,
    [ACCOUNTS.ACCOUNTS_RECEIVABLE, invoice.id]);
  t.is(ar.rows[0].net, "0");
});

test("amounts beyond 2^53 survive issue, read and credit (bigint end to end)", async (t) => {
  const w = t.context;
  const customer = w.newCustomer();
  const big = 2n ** 53n + 1n;
  const { invoice } = await w.call("issueInvoice", IssueInvoiceRequestSchema, {
    customerId: customer, currencyCode: "EUR", lines: [{ description: "Fleet lease", quantity: 2, unitPrice: eur(big) }],
  });
  t.is(invoice.total.amountMinor, big * 2n);
  const credited = await w.call("issueCreditNote", IssueCreditNoteRequestSchema, { invoiceId: invoice.id, amount: eur(big), reason: "half" });
  t.is(credited.invoice.amountDue.amountMinor, big);
  const got = await w.call("getInvoice", GetInvoiceRequestSchema, { invoiceId: invoice.id });
  t.is(got.invoice.amountCredited.amountMinor, big);
  const { rows } = await w.testDb.admin.query("SELECT total_minor::text AS t FROM invoices WHERE id = $1", [invoice.id]);
  t.is(rows[0].t, (big * 2n).toString());
  const overflow = await rejects(t, w.call("issueInvoice", IssueInvoiceRequestSchema, {
    customerId: customer, currencyCode: "EUR", lines: [{ description: "Too much", quantity: 2, unitPrice: eur(2n ** 62n) }],
  }), "invalid_argument", "INVALID_ARGUMENT");
  t.is(overflow.fieldViolations[0]?.reason, "OUT_OF_RANGE");
  const credit = await w.call("getCustomerCredit", GetCustomerCreditRequestSchema, { customerId: customer });
  t.deepEqual(credit.available, []);
});
