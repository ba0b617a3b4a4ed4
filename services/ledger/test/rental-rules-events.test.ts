// Rental's facts booked by the ledger, delivered through the kit's inbox on a
// real database: invoices from completions, cancellations and no-shows,
// usage facts, mirrored payments and deposits, redeliveries and a replay of
// every event that must change no balance. Serial: balances are compared
// across the whole journal.
import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import anyTest, { type TestFn } from "ava";
import { testCaller } from "../../platform/src/testing/fakes.js";
import { PermanentEventError } from "../../platform/src/events/failures.js";
import { InvoiceStatus } from "../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import { GetCustomerCreditRequestSchema, GetInvoiceRequestSchema } from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import {
  RentalCancelledSchema,
  RentalCompletedSchema,
  RentalExtendedSchema,
  RentalMarkedNoShowSchema,
  RentalPaymentRecordedSchema,
  RentalPaymentStatusChangedSchema,
} from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { PaymentProvider, RentalChargeType, RentalPaymentKind, RentalPaymentStatus } from "../../../gen/fleetmesh/rental/v1/rental_pb.js";
import { capturedLogger } from "../../platform/src/testing/captured-logger.js";
import { createBillingStore } from "../src/adapters/db/billing-store.js";
import { createEventOutbox } from "../src/adapters/db/event-outbox.js";
import { rentalEventHandlers } from "../src/adapters/kafka/rental-events.js";
import { createBillingUseCases } from "../src/app/billing-use-cases.js";
import { eur, startBillingWorld, type BillingWorld } from "./billing-support.js";

interface Ctx { world: BillingWorld; history: Array<{ schema: DescMessage; init: unknown }> }
const test = anyTest as TestFn<Ctx>;
test.before(async (t) => { t.context = { world: await startBillingWorld({ poolMax: 20, invoiceDueDays: 14 }), history: [] }; });
test.after.always(async (t) => { await t.context?.world?.stop(); });

const DAY = 86_400_000;
const ts = (iso: string) => timestampFromDate(new Date(iso));

/** Delivers through the inbox and keeps the event for the replay test. */
const deliver = async <D extends DescMessage>(t: { context: Ctx }, schema: D, init: MessageInitShape<D>, messageId?: string) => {
  t.context.history.push({ schema, init });
  return t.context.world.deliver(schema, init, messageId);
};

const charge = (rentalId: string, type: RentalChargeType, amount: bigint, quantity = 1) => ({
  id: randomUUID(), rentalId, type, description: RentalChargeType[type], quantity, unitPrice: eur(amount / BigInt(quantity)), amount: eur(amount),
});

const completedEvent = (r: { rentalId: string; customerId: string; vehicleId: string; returnTime: string; charges: ReturnType<typeof charge>[] }) => ({
  rentalId: r.rentalId, customerId: r.customerId, vehicleId: r.vehicleId,
  pickupTime: timestampFromDate(new Date(Date.parse(r.returnTime) - 3 * DAY)), returnTime: ts(r.returnTime), charges: r.charges,
});

const payment = (p: {
  id: string; rentalId: string; amount: bigint; status: RentalPaymentStatus; kind?: RentalPaymentKind; provider?: PaymentProvider;
  refunded?: bigint; applied?: bigint; at?: string;
}) => ({
  id: p.id, rentalId: p.rentalId, provider: p.provider ?? PaymentProvider.CARD, amount: eur(p.amount), status: p.status,
  kind: p.kind ?? RentalPaymentKind.PAYMENT, refundedAmount: eur(p.refunded ?? 0n), appliedAmount: eur(p.applied ?? 0n),
  updateTime: ts(p.at ?? "2026-11-20T10:00:00Z"), externalReference: `ref-${p.id.slice(0, 8)}`,
});

const invoiceOfRental = async (w: BillingWorld, rentalId: string, type = "rental_completed") => {
  const { rows } = await w.testDb.admin.query("SELECT id FROM invoices WHERE external_ref_type = $1 AND external_ref_id = $2", [type, rentalId]);
  return rows[0] ? (await w.call("getInvoice", GetInvoiceRequestSchema, { invoiceId: rows[0].id })) : null;
};

const entryLines = async (w: BillingWorld, refType: string, refId: string) => {
  const { rows } = await w.testDb.admin.query(
    `SELECT l.direction, a.code, l.amount_minor::text AS amount FROM journal_lines l JOIN accounts a ON a.id = l.account_id
       JOIN journal_entries e ON e.id = l.entry_id WHERE e.external_ref_type = $1 AND e.external_ref_id = $2 ORDER BY l.line_no`, [refType, refId]);
  return rows.map((r) => `${r.direction} ${r.code} ${r.amount}`);
};

test.serial("RentalCompleted issues the rental's invoice from its charges and records its usage", async (t) => {
  const w = t.context.world;
  const rentalId = randomUUID();
  const customerId = randomUUID();
  const vehicleId = randomUUID();
  const event = completedEvent({
    rentalId, customerId, vehicleId, returnTime: "2026-11-20T23:30:00Z",
    charges: [
      charge(rentalId, RentalChargeType.BASE, 30_000n, 3), charge(rentalId, RentalChargeType.DISCOUNT, -3_000n),
      charge(rentalId, RentalChargeType.DISTANCE, 1_200n), charge(rentalId, RentalChargeType.LATE_FEE, 2_000n),
      charge(rentalId, RentalChargeType.FUEL, 800n),
    ],
  });
  t.is(await deliver(t, RentalCompletedSchema, event), "applied");
  const got = (await invoiceOfRental(w, rentalId))!;
  const invoice = got.invoice;
  t.is(invoice.total.amountMinor, 31_000n);
  t.is(invoice.issueDate, "2026-11-20", "the accounting date of return_time (UTC)");
  t.is(invoice.dueDate, "2026-12-04");
  t.is(invoice.rentalId, rentalId);
  t.is(invoice.createdBy, "");
  t.true(invoice.lines.every((l: any) => l.vehicleId === vehicleId && l.rentalChargeId !== ""));
  t.deepEqual(await entryLines(w, "invoice", invoice.id), [
    "D ACCOUNTS_RECEIVABLE 31000", "C REVENUE_RENTAL 27800", "C REVENUE_EXTRA_KM 1200", "C REVENUE_LATE_FEES 2000",
  ]);
  const usage = await w.testDb.admin.query("SELECT vehicle_id, position FROM rental_usage_facts WHERE rental_id = $1", [rentalId]);
  t.is(usage.rows[0]?.vehicle_id, vehicleId);
  // Redelivered (same message id, or a new one): nothing new.
  const before = await w.balances();
  t.is(await w.deliver(RentalCompletedSchema, event), "applied", "a new message id runs the handler again");
  t.deepEqual(await w.balances(), before);
  const count = await w.testDb.admin.query("SELECT count(*)::int AS n FROM invoices WHERE rental_id = $1", [rentalId]);
  t.is(count.rows[0].n, 1);
});

test.serial("64 concurrent deliveries of one rental event post once; positions stay gapless", async (t) => {
  const w = t.context.world;
  const rentalId = randomUUID();
  const event = completedEvent({
    rentalId, customerId: randomUUID(), vehicleId: randomUUID(), returnTime: "2026-11-21T10:00:00Z", charges: [charge(rentalId, RentalChargeType.BASE, 9_900n)],
  });
  t.context.history.push({ schema: RentalCompletedSchema, init: event });
  const sameId = randomUUID();
  const outcomes = await Promise.all(Array.from({ length: 64 }, (_, i) => w.deliver(RentalCompletedSchema, event, i % 2 === 0 ? sameId : undefined)));
  t.is(outcomes.filter((o) => o === "duplicate").length, 31, "the inbox lets one of the 32 same-id deliveries through");
  const { rows } = await w.testDb.admin.query(
    `SELECT (SELECT count(*) FROM invoices WHERE rental_id = $1)::int AS invoices,
            (SELECT count(*) FROM journal_entries e JOIN invoices i ON e.external_ref_type = 'invoice' AND e.external_ref_id = i.id::text WHERE i.rental_id = $1)::int AS entries,
            (SELECT count(*) FROM rental_usage_facts WHERE rental_id = $1)::int AS usage`, [rentalId]);
  t.deepEqual(rows[0], { invoices: 1, entries: 1, usage: 1 });
  const gaps = await w.testDb.admin.query(
    `SELECT (SELECT position FROM ledger_head) AS head,
            (SELECT count(*) FROM (SELECT position FROM journal_entries UNION ALL SELECT position FROM rental_usage_facts UNION ALL SELECT position FROM maintenance_facts) p) AS facts`);
  t.is(String(gaps.rows[0].head), String(gaps.rows[0].facts), "every position is one fact");
});

test.serial("a payment captured before the invoice is held, then applied when the rental is invoiced; the excess becomes credit", async (t) => {
  const w = t.context.world;
  const rentalId = randomUUID();
  const customerId = randomUUID();
  const paymentId = randomUUID();
  await deliver(t, RentalPaymentRecordedSchema, { customerId, payment: payment({ id: paymentId, rentalId, amount: 12_000n, status: RentalPaymentStatus.CAPTURED, provider: PaymentProvider.CASH }) });
  t.deepEqual(await entryLines(w, "rental_payment_capture", paymentId), ["D CASH 12000", "C CUSTOMER_DEPOSITS 12000"]);
  await deliver(t, RentalCompletedSchema, completedEvent({ rentalId, customerId, vehicleId: randomUUID(), returnTime: "2026-11-22T10:00:00Z", charges: [charge(rentalId, RentalChargeType.BASE, 10_000n)] }));
  const { invoice, payments } = (await invoiceOfRental(w, rentalId))!;
  t.is(invoice.status, InvoiceStatus.PAID);
  t.is(invoice.amountPaid.amountMinor, 10_000n);
  t.is(payments.length, 1);
  const applied = await w.testDb.admin.query("SELECT external_ref_id FROM journal_entries WHERE external_ref_type = 'payment_apply' AND external_ref_id LIKE $1", [`%:${invoice.id}`]);
  t.deepEqual(await entryLines(w, "payment_apply", applied.rows[0].external_ref_id), ["D CUSTOMER_DEPOSITS 12000", "C ACCOUNTS_RECEIVABLE 10000", "C CUSTOMER_CREDIT 2000"]);
  const credit = await w.call("getCustomerCredit", GetCustomerCreditRequestSchema, { customerId });
  t.deepEqual(credit.available.map((m: any) => m.amountMinor), [2_000n]);
  // Rental refunds the overpaid 2000: it comes out of customer credit.
  await deliver(t, RentalPaymentStatusChangedSchema, {
    customerId, previousStatus: RentalPaymentStatus.CAPTURED, changeAmount: eur(2_000n), refundedAmount: eur(2_000n),
    payment: payment({ id: paymentId, rentalId, amount: 12_000n, status: RentalPaymentStatus.CAPTURED, provider: PaymentProvider.CASH, refunded: 2_000n }),
  });
  t.deepEqual(await entryLines(w, "rental_payment_refund", `${paymentId}:2000`), ["D CUSTOMER_CREDIT 2000", "C CASH 2000"]);
  t.deepEqual((await w.call("getCustomerCredit", GetCustomerCreditRequestSchema, { customerId })).available, []);
  t.is((await invoiceOfRental(w, rentalId))!.invoice.status, InvoiceStatus.PAID);
});

test.serial("a payment captured after the invoice pays it; partial and full refunds move the invoice back", async (t) => {
  const w = t.context.world;
  const rentalId = randomUUID();
  const customerId = randomUUID();
  const paymentId = randomUUID();
  await deliver(t, RentalCompletedSchema, completedEvent({ rentalId, customerId, vehicleId: randomUUID(), returnTime: "2026-11-23T10:00:00Z", charges: [charge(rentalId, RentalChargeType.BASE, 5_000n)] }));
  await deliver(t, RentalPaymentRecordedSchema, { customerId, payment: payment({ id: paymentId, rentalId, amount: 5_000n, status: RentalPaymentStatus.PENDING }) });
  t.deepEqual(await entryLines(w, "rental_payment_capture", paymentId), [], "pending: no money yet");
  await deliver(t, RentalPaymentStatusChangedSchema, {
    customerId, previousStatus: RentalPaymentStatus.PENDING, changeAmount: eur(5_000n),
    payment: payment({ id: paymentId, rentalId, amount: 5_000n, status: RentalPaymentStatus.CAPTURED }),
  });
  t.deepEqual(await entryLines(w, "rental_payment_capture", paymentId), ["D BANK 5000", "C ACCOUNTS_RECEIVABLE 5000"]);
  t.is((await invoiceOfRental(w, rentalId))!.invoice.status, InvoiceStatus.PAID);
  await deliver(t, RentalPaymentStatusChangedSchema, {
    customerId, previousStatus: RentalPaymentStatus.CAPTURED, changeAmount: eur(1_500n), refundedAmount: eur(1_500n),
    payment: payment({ id: paymentId, rentalId, amount: 5_000n, status: RentalPaymentStatus.CAPTURED, refunded: 1_500n }),
  });
  let got = (await invoiceOfRental(w, rentalId))!;
  t.is(got.invoice.status, InvoiceStatus.PARTIALLY_PAID);
  t.is(got.invoice.amountDue.amountMinor, 1_500n);
  await deliver(t, RentalPaymentStatusChangedSchema, {
    customerId, previousStatus: RentalPaymentStatus.CAPTURED, changeAmount: eur(3_500n), refundedAmount: eur(3_500n),
    payment: payment({ id: paymentId, rentalId, amount: 5_000n, status: RentalPaymentStatus.REFUNDED, refunded: 5_000n }),
  });
  got = (await invoiceOfRental(w, rentalId))!;
  t.is(got.invoice.status, InvoiceStatus.ISSUED);
  t.is(got.payments[0].refunds.length, 2);
  t.deepEqual(await entryLines(w, "rental_payment_refund", `${paymentId}:5000`), ["D ACCOUNTS_RECEIVABLE 3500", "C BANK 3500"]);
});

test.serial("deposits: held nothing, captured on deposits, settled against the invoice with the rest refunded; released nothing", async (t) => {
  const w = t.context.world;
  const rentalId = randomUUID();
  const customerId = randomUUID();
  const depositId = randomUUID();
  const deposit = (status: RentalPaymentStatus, extra: { refunded?: bigint; applied?: bigint } = {}) =>
    payment({ id: depositId, rentalId, amount: 30_000n, status, kind: RentalPaymentKind.DEPOSIT, ...extra });
  const before = await w.balances();
  await deliver(t, RentalPaymentRecordedSchema, { customerId, payment: deposit(RentalPaymentStatus.HELD) });
  t.deepEqual(await w.balances(), before, "a hold moves no money");
  await deliver(t, RentalPaymentStatusChangedSchema, { customerId, previousStatus: RentalPaymentStatus.HELD, changeAmount: eur(30_000n), payment: deposit(RentalPaymentStatus.CAPTURED) });
  t.deepEqual(await entryLines(w, "rental_payment_capture", depositId), ["D BANK 30000", "C CUSTOMER_DEPOSITS 30000"]);
  await deliver(t, RentalCompletedSchema, completedEvent({
    rentalId, customerId, vehicleId: randomUUID(), returnTime: "2026-11-24T10:00:00Z",
    charges: [charge(rentalId, RentalChargeType.BASE, 20_000n), charge(rentalId, RentalChargeType.DAMAGE, 4_000n)],
  }));
  let got = (await invoiceOfRental(w, rentalId))!;
  t.is(got.invoice.amountPaid.amountMinor, 0n, "a deposit is not applied until rental settles it");
  await deliver(t, RentalPaymentStatusChangedSchema, {
    customerId, previousStatus: RentalPaymentStatus.CAPTURED, changeAmount: eur(24_000n), refundedAmount: eur(6_000n),
    payment: deposit(RentalPaymentStatus.SETTLED, { applied: 24_000n, refunded: 6_000n }),
  });
  t.deepEqual(await entryLines(w, "rental_deposit_apply", `${depositId}:24000`), ["D CUSTOMER_DEPOSITS 24000", "C ACCOUNTS_RECEIVABLE 24000"]);
  t.deepEqual(await entryLines(w, "rental_payment_refund", `${depositId}:6000`), ["D CUSTOMER_DEPOSITS 6000", "C BANK 6000"]);
  got = (await invoiceOfRental(w, rentalId))!;
  t.is(got.invoice.status, InvoiceStatus.PAID);
  const { rows } = await w.testDb.admin.query(
    `SELECT sum(CASE l.direction WHEN 'D' THEN l.amount_minor ELSE -l.amount_minor END)::text AS net FROM journal_lines l
       JOIN journal_entries e ON e.id = l.entry_id WHERE l.account_id = '00000000-0000-4000-8000-000000002100' AND e.external_ref_id LIKE $1`, [`${depositId}%`]);
  t.is(rows[0].net, "0", "nothing of the deposit stays on CUSTOMER_DEPOSITS");

  // A deposit settled before its rental is invoiced: applied when the invoice comes.
  const rental2 = randomUUID();
  const deposit2 = randomUUID();
  const d2 = (status: RentalPaymentStatus, extra: { refunded?: bigint; applied?: bigint } = {}) =>
    payment({ id: deposit2, rentalId: rental2, amount: 10_000n, status, kind: RentalPaymentKind.DEPOSIT, provider: PaymentProvider.CASH, ...extra });
  await deliver(t, RentalPaymentRecordedSchema, { customerId, payment: d2(RentalPaymentStatus.CAPTURED) });
  await deliver(t, RentalPaymentStatusChangedSchema, {
    customerId, previousStatus: RentalPaymentStatus.CAPTURED, changeAmount: eur(7_000n), refundedAmount: eur(3_000n),
    payment: d2(RentalPaymentStatus.SETTLED, { applied: 7_000n, refunded: 3_000n }),
  });
  await deliver(t, RentalCompletedSchema, completedEvent({ rentalId: rental2, customerId, vehicleId: randomUUID(), returnTime: "2026-11-25T10:00:00Z", charges: [charge(rental2, RentalChargeType.BASE, 9_000n)] }));
  got = (await invoiceOfRental(w, rental2))!;
  t.is(got.invoice.amountPaid.amountMinor, 7_000n);
  t.is(got.invoice.amountDue.amountMinor, 2_000n);

  // Released: never captured, nothing posted.
  const released = randomUUID();
  const mid = await w.balances();
  await deliver(t, RentalPaymentRecordedSchema, { customerId, payment: payment({ id: released, rentalId: rental2, amount: 5_000n, status: RentalPaymentStatus.HELD, kind: RentalPaymentKind.DEPOSIT }) });
  await deliver(t, RentalPaymentStatusChangedSchema, { customerId, previousStatus: RentalPaymentStatus.HELD, payment: payment({ id: released, rentalId: rental2, amount: 5_000n, status: RentalPaymentStatus.RELEASED, kind: RentalPaymentKind.DEPOSIT }) });
  t.deepEqual(await w.balances(), mid);
});

test.serial("cancellation and no-show fees are invoiced; a cancellation without charges is not; extensions wait for completion", async (t) => {
  const w = t.context.world;
  const customerId = randomUUID();
  const cancelled = randomUUID();
  await deliver(t, RentalCancelledSchema, { rentalId: cancelled, customerId, vehicleId: randomUUID(), cancelTime: ts("2026-11-26T08:00:00Z"), charges: [charge(cancelled, RentalChargeType.CANCELLATION_FEE, 2_500n)] });
  const c = (await invoiceOfRental(w, cancelled, "rental_cancelled"))!;
  t.deepEqual(await entryLines(w, "invoice", c.invoice.id), ["D ACCOUNTS_RECEIVABLE 2500", "C REVENUE_CANCELLATION_FEES 2500"]);
  const noShow = randomUUID();
  await deliver(t, RentalMarkedNoShowSchema, { rentalId: noShow, customerId, vehicleId: randomUUID(), noShowTime: ts("2026-11-26T09:00:00Z"), charges: [charge(noShow, RentalChargeType.NO_SHOW_FEE, 4_000n)] });
  const n = (await invoiceOfRental(w, noShow, "rental_no_show"))!;
  t.deepEqual(await entryLines(w, "invoice", n.invoice.id), ["D ACCOUNTS_RECEIVABLE 4000", "C REVENUE_NO_SHOW_FEES 4000"]);
  const free = randomUUID();
  const before = await w.balances();
  await deliver(t, RentalCancelledSchema, { rentalId: free, customerId, vehicleId: randomUUID(), cancelTime: ts("2026-11-26T10:00:00Z"), charges: [] });
  await deliver(t, RentalExtendedSchema, { rentalId: free, customerId, charges: [charge(free, RentalChargeType.EXTRA_DAY, 1_000n)] });
  t.deepEqual(await w.balances(), before);
  t.is(await invoiceOfRental(w, free, "rental_cancelled"), null);
});

test.serial("an event dated in a closed month posts in the first open month with its fact date", async (t) => {
  const w = t.context.world;
  await w.journal.closePeriod("2026-10", "October closed", testCaller(randomUUID()));
  const rentalId = randomUUID();
  const customerId = randomUUID();
  await deliver(t, RentalCompletedSchema, completedEvent({ rentalId, customerId, vehicleId: randomUUID(), returnTime: "2026-10-30T10:00:00Z", charges: [charge(rentalId, RentalChargeType.BASE, 3_000n)] }));
  const { invoice } = (await invoiceOfRental(w, rentalId))!;
  t.is(invoice.issueDate, "2026-11-01");
  t.is(invoice.dueDate, "2026-11-15");
  const { rows } = await w.testDb.admin.query("SELECT entry_date, fact_date FROM journal_entries WHERE id = $1", [invoice.journalEntryId]);
  t.deepEqual(rows[0], { entry_date: "2026-11-01", fact_date: "2026-10-30" });
});

test.serial("malformed rental events are refused permanently (dead-lettered, never retried)", async (t) => {
  const w = t.context.world;
  await t.throwsAsync(w.deliver(RentalCompletedSchema, { rentalId: "not-a-uuid", customerId: randomUUID(), vehicleId: randomUUID() }), { instanceOf: PermanentEventError });
  await t.throwsAsync(w.deliver(RentalPaymentRecordedSchema, { customerId: randomUUID(), payment: { id: randomUUID(), rentalId: randomUUID(), amount: eur(0n), status: RentalPaymentStatus.CAPTURED, provider: PaymentProvider.CASH } }),
    { instanceOf: PermanentEventError });
});

test.serial("replaying every rental event again changes no balance", async (t) => {
  const w = t.context.world;
  t.true(t.context.history.length > 15);
  const before = await w.balances();
  const rows = async () => (await w.testDb.admin.query(
    `SELECT (SELECT count(*) FROM invoices)::int AS invoices, (SELECT count(*) FROM payments)::int AS payments, (SELECT count(*) FROM refunds)::int AS refunds,
            (SELECT count(*) FROM customer_credit_movements)::int AS movements, (SELECT count(*) FROM journal_entries)::int AS entries,
            (SELECT position FROM ledger_head)::text AS head`)).rows[0];
  const counts = await rows();
  // New message ids: the inbox does not know them, so every handler runs again.
  for (const { schema, init } of t.context.history) await w.deliver(schema, create(schema, init as never) as never);
  t.deepEqual(await w.balances(), before);
  t.deepEqual(await rows(), counts);
  // And out of order (all payment events first, then the rest): still nothing.
  const payments = t.context.history.filter((h) => h.schema.typeName.includes("Payment"));
  const others = t.context.history.filter((h) => !h.schema.typeName.includes("Payment"));
  for (const { schema, init } of [...payments, ...others]) await w.deliver(schema, create(schema, init as never) as never);
  t.deepEqual(await w.balances(), before);
  t.deepEqual(await rows(), counts);
  // Replayed by a ledger configured otherwise (another due term): the same invoices, nothing posted, nothing refused.
  const other = createBillingUseCases({
    db: w.db, posting: w.journal.posting, store: createBillingStore(w.db), outbox: createEventOutbox(w.db),
    customers: { exists: async () => true }, clock: { now: () => new Date() }, ids: { newId: () => randomUUID() }, invoiceDueDays: 30,
  });
  const handlers = rentalEventHandlers(other, capturedLogger().log);
  for (const { schema, init } of t.context.history) {
    const handler = handlers.find((h) => h.schema.typeName === schema.typeName)!;
    await db(w).transaction(() => handler.handle(create(schema, init as never) as never, { messageId: randomUUID(), eventType: schema.typeName } as never));
  }
  t.deepEqual(await w.balances(), before);
  t.deepEqual(await rows(), counts);
});

const db = (w: BillingWorld) => w.db;

test.serial("completions and captures of the same rentals racing each other: every invoice ends PAID, no deadlock", async (t) => {
  const w = t.context.world;
  const rentals = Array.from({ length: 12 }, () => ({ rentalId: randomUUID(), customerId: randomUUID(), paymentId: randomUUID() }));
  await Promise.all(rentals.flatMap((r) => [
    deliver(t, RentalCompletedSchema, completedEvent({ ...r, vehicleId: randomUUID(), returnTime: "2026-11-27T10:00:00Z", charges: [charge(r.rentalId, RentalChargeType.BASE, 6_000n)] })),
    deliver(t, RentalPaymentRecordedSchema, { customerId: r.customerId, payment: payment({ id: r.paymentId, rentalId: r.rentalId, amount: 6_000n, status: RentalPaymentStatus.CAPTURED }) }),
  ]));
  for (const r of rentals) t.is((await invoiceOfRental(w, r.rentalId))!.invoice.status, InvoiceStatus.PAID, r.rentalId);
});

test.serial("the books agree with the documents: receivable per invoice, deposits held, customer credit", async (t) => {
  const { admin } = t.context.world.testDb;
  const ar = await admin.query(
    `SELECT i.number FROM invoices i LEFT JOIN (
       SELECT invoice_id, sum(CASE direction WHEN 'D' THEN amount_minor ELSE -amount_minor END) AS net FROM journal_lines
        WHERE account_id = '00000000-0000-4000-8000-000000001100' GROUP BY invoice_id) l ON l.invoice_id = i.id
      WHERE coalesce(l.net, 0) <> CASE WHEN i.status = 'VOID' THEN 0 ELSE i.total_minor - i.paid_minor - i.credited_minor END`);
  t.deepEqual(ar.rows, [], "AR of every invoice equals its amount due");
  const held = await admin.query(
    `SELECT (SELECT coalesce(sum(CASE direction WHEN 'C' THEN amount_minor ELSE -amount_minor END), 0) FROM journal_lines WHERE account_id = '00000000-0000-4000-8000-000000002100')::text AS books,
            (SELECT coalesce(sum(amount_minor - applied_minor - credit_minor - refunded_minor), 0) FROM payments)::text AS documents`);
  t.is(held.rows[0].books, held.rows[0].documents, "CUSTOMER_DEPOSITS holds what payments hold");
  const credit = await admin.query(
    `SELECT (SELECT coalesce(sum(CASE direction WHEN 'C' THEN amount_minor ELSE -amount_minor END), 0) FROM journal_lines WHERE account_id = '00000000-0000-4000-8000-000000002200')::text AS books,
            (SELECT coalesce(sum(amount_minor), 0) FROM customer_credit_movements)::text AS documents`);
  t.is(credit.rows[0].books, credit.rows[0].documents, "CUSTOMER_CREDIT equals the movements");
  const paid = await admin.query(
    `SELECT i.number FROM invoices i WHERE i.paid_minor <> i.credit_applied_minor + coalesce((SELECT sum(applied_minor) FROM payments p WHERE p.invoice_id = i.id), 0)`);
  t.deepEqual(paid.rows, [], "paid = credit applied + payments applied");
});
