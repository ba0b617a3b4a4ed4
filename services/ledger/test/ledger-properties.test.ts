// Property-based (fast-check) over random histories of rentals (with
// extensions, discounts and fees), payments with partial refunds, deposits,
// cancellations, no-shows and maintenance, delivered through the kit's inbox
// into a real ledger database. After every history, and again after every
// event of all histories was delivered a second time (a replay from offset
// 0: new message ids), the books must hold:
//   - debits equal credits per entry and globally, per currency;
//   - receivables equal invoiced minus paid minus credited;
//   - revenue per vehicle equals the rental charges invoiced;
//   - the trial balance from checkpoints equals the one from raw lines;
//   - invoices and payments derived from the journal at the head equal
//     their rows (what "as of a position" reads);
//   - a replay changes no balance, no position and no report hash.
import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import anyTest, { type TestFn } from "ava";
import fc from "fast-check";
import { MaintenanceCompletedSchema, PartStockConsumedSchema, PartStockReceivedSchema } from "../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { StockMovement_Kind } from "../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import {
  RentalCancelledSchema,
  RentalCompletedSchema,
  RentalExtendedSchema,
  RentalMarkedNoShowSchema,
  RentalPaymentRecordedSchema,
  RentalPaymentStatusChangedSchema,
} from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { PaymentProvider, RentalChargeType, RentalPaymentKind, RentalPaymentStatus } from "../../../gen/fleetmesh/rental/v1/rental_pb.js";
import type { ConsumedEvent, EventHandler } from "../../platform/src/events/consumer.js";
import { createInbox } from "../../platform/src/events/consumer/inbox.js";
import { capturedLogger } from "../../platform/src/testing/captured-logger.js";
import { createMaintenanceFactStore } from "../src/adapters/db/fact-store.js";
import { maintenanceEventHandlers } from "../src/adapters/kafka/maintenance-events.js";
import { createMaintenanceFacts } from "../src/app/maintenance-facts.js";
import { createReportingUseCases, type ReportingUseCases } from "../src/app/reporting-use-cases.js";
import { startBillingWorld, type BillingWorld } from "./billing-support.js";

interface Ctx {
  world: BillingWorld;
  reporting: ReportingUseCases;
  handlers: EventHandler[];
  /** Every event delivered, in order, for the replay. */
  delivered: Array<{ schema: DescMessage; init: unknown; topic: string }>;
  /** What the histories invoiced: per vehicle and currency, the sum of the charges. */
  invoicedCharges: Map<string, bigint>;
}
const test = anyTest.serial as TestFn<Ctx>;

test.before(async (t) => {
  const world = await startBillingWorld({ poolMax: 10 });
  const { log } = capturedLogger();
  const facts = createMaintenanceFacts({ db: world.db, posting: world.journal.posting, facts: createMaintenanceFactStore(world.db) });
  t.context = {
    world,
    reporting: createReportingUseCases({ db: world.db, clock: { now: () => new Date() }, ids: { newId: randomUUID }, reportingTimeZone: "UTC" }),
    handlers: [...world.handlers, ...maintenanceEventHandlers(facts, log)],
    delivered: [],
    invoicedCharges: new Map(),
  };
});
test.after.always(async (t) => {
  await t.context?.world?.stop();
});

const VEHICLES = Array.from({ length: 4 }, () => randomUUID());
const CUSTOMERS = Array.from({ length: 3 }, () => randomUUID());
const DAY = 86_400_000;
const money = (amountMinor: bigint, currencyCode: string) => ({ amountMinor, currencyCode });

interface ChargeSpec { readonly type: RentalChargeType; readonly amount: bigint }
interface PaymentSpec {
  readonly kind: "PAYMENT" | "DEPOSIT";
  readonly amount: bigint;
  readonly provider: PaymentProvider;
  /** PAYMENT: captured before the rental ends (held on deposits) or after. */
  readonly early: boolean;
  /** Refunded afterwards, in per mille of what can be refunded (0: none). */
  readonly refundPerMille: number;
}
interface RentalSpec {
  readonly currency: "EUR" | "USD";
  readonly vehicle: number;
  readonly customer: number;
  readonly outcome: "completed" | "cancelled" | "no_show";
  readonly days: number;
  readonly dailyRate: bigint;
  readonly extras: readonly ChargeSpec[];
  readonly discountPerMille: number;
  readonly extended: boolean;
  readonly fee: bigint;
  readonly payments: readonly PaymentSpec[];
  readonly dayOffset: number;
}
interface MaintenanceSpec { readonly vehicle: number; readonly receipt: bigint; readonly consumed: bigint; readonly labor: bigint; readonly dayOffset: number }

const amount = (min: number, max: number) => fc.integer({ min, max }).map(BigInt);
const paymentArb: fc.Arbitrary<PaymentSpec> = fc.record({
  kind: fc.constantFrom("PAYMENT" as const, "DEPOSIT" as const),
  amount: amount(100, 60_000),
  provider: fc.constantFrom(PaymentProvider.CASH, PaymentProvider.CARD, PaymentProvider.TRANSFER),
  early: fc.boolean(),
  refundPerMille: fc.constantFrom(0, 0, 250, 1000),
});
const rentalArb: fc.Arbitrary<RentalSpec> = fc.record({
  currency: fc.constantFrom("EUR" as const, "USD" as const),
  vehicle: fc.integer({ min: 0, max: VEHICLES.length - 1 }),
  customer: fc.integer({ min: 0, max: CUSTOMERS.length - 1 }),
  outcome: fc.constantFrom("completed" as const, "completed" as const, "cancelled" as const, "no_show" as const),
  days: fc.integer({ min: 1, max: 5 }),
  dailyRate: amount(1_000, 9_000),
  extras: fc.array(fc.record({
    type: fc.constantFrom(RentalChargeType.EXTRA_DAY, RentalChargeType.DISTANCE, RentalChargeType.LATE_FEE, RentalChargeType.DAMAGE, RentalChargeType.FUEL),
    amount: amount(1, 20_000),
  }), { maxLength: 3 }),
  discountPerMille: fc.constantFrom(0, 0, 100, 500),
  extended: fc.boolean(),
  fee: fc.constantFrom(0n, 1_500n, 4_000n),
  payments: fc.array(paymentArb, { maxLength: 2 }),
  dayOffset: fc.integer({ min: 0, max: 40 }),
});
const maintenanceArb: fc.Arbitrary<MaintenanceSpec> = fc.record({
  vehicle: fc.integer({ min: 0, max: VEHICLES.length - 1 }),
  receipt: amount(0, 50_000),
  consumed: amount(0, 20_000),
  labor: amount(0, 30_000),
  dayOffset: fc.integer({ min: 0, max: 40 }),
});
const historyArb = fc.record({
  rentals: fc.array(rentalArb, { minLength: 1, maxLength: 5 }),
  maintenance: fc.array(maintenanceArb, { maxLength: 2 }),
});

async function deliver(c: Ctx, topic: string, schema: DescMessage, init: unknown, record = true): Promise<void> {
  const handler = c.handlers.find((h) => h.schema.typeName === schema.typeName)!;
  const event: ConsumedEvent = {
    messageId: randomUUID(), eventType: schema.typeName, aggregateId: undefined, occurredAt: new Date(), requestId: undefined,
    topic, partition: 0, offset: String(c.delivered.length),
  };
  const inbox = createInbox(c.world.db, { groupId: "ledger-properties", retentionDays: 7, log: capturedLogger().log });
  await inbox.apply(handler, create(schema, init as MessageInitShape<DescMessage>) as never, event, false);
  if (record) c.delivered.push({ schema, init, topic });
}

const base = Date.parse("2026-06-01T10:00:00Z");
const at = (dayOffset: number, hours = 0) => timestampFromDate(new Date(base + dayOffset * DAY + hours * 3_600_000));

/** The rental's events in the order rental publishes them; the invoiced charges are added to the model. */
async function playRental(c: Ctx, r: RentalSpec): Promise<void> {
  const rentalId = randomUUID();
  const vehicleId = VEHICLES[r.vehicle]!;
  const customerId = CUSTOMERS[r.customer]!;
  const cur = r.currency;
  const charge = (type: RentalChargeType, value: bigint) => ({
    id: randomUUID(), rentalId, type, description: RentalChargeType[type], quantity: 1, unitPrice: money(value, cur), amount: money(value, cur),
  });
  const baseAmount = r.dailyRate * BigInt(r.days);
  const charges = [charge(RentalChargeType.BASE, baseAmount), ...r.extras.map((e) => charge(e.type, e.amount))];
  const discount = (baseAmount * BigInt(r.discountPerMille)) / 1000n;
  if (discount > 0n) charges.push(charge(RentalChargeType.DISCOUNT, -discount));
  const end = r.dayOffset + r.days;
  const paymentIds = r.payments.map(() => randomUUID());
  const pay = (i: number, status: RentalPaymentStatus, extra: { refunded?: bigint; applied?: bigint } = {}) => ({
    id: paymentIds[i]!, rentalId, provider: r.payments[i]!.provider, amount: money(r.payments[i]!.amount, cur), status,
    kind: r.payments[i]!.kind === "DEPOSIT" ? RentalPaymentKind.DEPOSIT : RentalPaymentKind.PAYMENT,
    refundedAmount: money(extra.refunded ?? 0n, cur), appliedAmount: money(extra.applied ?? 0n, cur), updateTime: at(end),
  });
  const rentalTopic = "rental.rental.v1";
  // Deposits are held then captured at pickup; early payments are taken before the end.
  for (const [i, p] of r.payments.entries()) {
    if (p.kind === "DEPOSIT") {
      await deliver(c, rentalTopic, RentalPaymentRecordedSchema, { customerId, vehicleId, payment: pay(i, RentalPaymentStatus.HELD) });
      await deliver(c, rentalTopic, RentalPaymentStatusChangedSchema, {
        customerId, previousStatus: RentalPaymentStatus.HELD, changeAmount: money(p.amount, cur), payment: pay(i, RentalPaymentStatus.CAPTURED),
      });
    } else if (p.early) {
      await deliver(c, rentalTopic, RentalPaymentRecordedSchema, { customerId, vehicleId, payment: pay(i, RentalPaymentStatus.CAPTURED) });
    }
  }
  let invoiced: Array<ReturnType<typeof charge>> = [];
  if (r.outcome === "completed") {
    if (r.extended) await deliver(c, rentalTopic, RentalExtendedSchema, { rentalId, vehicleId, customerId, charges: [charge(RentalChargeType.BASE, r.dailyRate)] });
    await deliver(c, rentalTopic, RentalCompletedSchema, {
      rentalId, vehicleId, customerId, pickupTime: at(r.dayOffset), returnTime: at(end), charges,
      chargesTotal: money(charges.reduce((s, ch) => s + ch.amount.amountMinor, 0n), cur),
    });
    invoiced = charges;
  } else {
    const fees = r.fee > 0n ? [charge(r.outcome === "cancelled" ? RentalChargeType.CANCELLATION_FEE : RentalChargeType.NO_SHOW_FEE, r.fee)] : [];
    if (r.outcome === "cancelled") await deliver(c, rentalTopic, RentalCancelledSchema, { rentalId, vehicleId, customerId, cancelTime: at(r.dayOffset), charges: fees });
    else await deliver(c, rentalTopic, RentalMarkedNoShowSchema, { rentalId, vehicleId, customerId, noShowTime: at(r.dayOffset), charges: fees });
    invoiced = fees;
  }
  const total = invoiced.reduce((s, ch) => s + ch.amount.amountMinor, 0n);
  for (const ch of invoiced) {
    const key = `${vehicleId}/${cur}`;
    c.invoicedCharges.set(key, (c.invoicedCharges.get(key) ?? 0n) + ch.amount.amountMinor);
  }
  // Late payments, deposit settlement, refunds.
  let owed = total;
  for (const [i, p] of r.payments.entries()) {
    if (p.kind === "DEPOSIT") {
      const applied = p.amount < owed ? p.amount : owed;
      owed -= applied;
      const rest = p.amount - applied;
      await deliver(c, rentalTopic, RentalPaymentStatusChangedSchema, {
        customerId, previousStatus: RentalPaymentStatus.CAPTURED, changeAmount: money(applied, cur), refundedAmount: money(rest, cur),
        payment: pay(i, RentalPaymentStatus.SETTLED, { applied, refunded: rest }),
      });
      continue;
    }
    if (!p.early) await deliver(c, rentalTopic, RentalPaymentRecordedSchema, { customerId, vehicleId, payment: pay(i, RentalPaymentStatus.CAPTURED) });
    const refund = (p.amount * BigInt(p.refundPerMille)) / 1000n;
    if (refund > 0n) {
      await deliver(c, rentalTopic, RentalPaymentStatusChangedSchema, {
        customerId, previousStatus: RentalPaymentStatus.CAPTURED, changeAmount: money(refund, cur), refundedAmount: money(refund, cur),
        payment: pay(i, refund === p.amount ? RentalPaymentStatus.REFUNDED : RentalPaymentStatus.CAPTURED, { refunded: refund }),
      });
    }
  }
}

async function playMaintenance(c: Ctx, m: MaintenanceSpec): Promise<void> {
  const vehicleId = VEHICLES[m.vehicle]!;
  const partId = randomUUID();
  const jobId = randomUUID();
  const part = { id: partId, partNumber: `P-${partId.slice(0, 6)}`, name: "Part", unitCost: money(100n, "EUR") };
  const topic = "maintenance";
  if (m.receipt > 0n) {
    await deliver(c, topic, PartStockReceivedSchema, { part, movement: {
      id: randomUUID(), partId, kind: StockMovement_Kind.RECEIPT, quantityDelta: 5, totalCost: money(m.receipt, "EUR"), createTime: at(m.dayOffset) } });
  }
  if (m.consumed > 0n) {
    await deliver(c, topic, PartStockConsumedSchema, { part, vehicleId, movement: {
      id: randomUUID(), partId, kind: StockMovement_Kind.CONSUMPTION, quantityDelta: -1, totalCost: money(m.consumed, "EUR"), maintenanceJobId: jobId,
      createTime: at(m.dayOffset) } });
  }
  await deliver(c, topic, MaintenanceCompletedSchema, {
    maintenanceJobId: jobId, vehicleId, startTime: at(m.dayOffset), completeTime: at(m.dayOffset, 6),
    laborCost: money(m.labor, "EUR"), partsCost: money(m.consumed, "EUR"), totalCost: money(m.labor + m.consumed, "EUR"),
  });
}

interface Books {
  readonly unbalancedEntries: number;
  readonly netPerCurrency: Record<string, string>;
  readonly receivable: Record<string, string>;
  readonly documentsOwed: Record<string, string>;
  readonly revenueByVehicle: Record<string, string>;
  readonly balances: Record<string, string>;
  readonly position: string;
}

async function books(c: Ctx): Promise<Books> {
  const q = async (sql: string) => (await c.world.testDb.admin.query(sql)).rows;
  const map = (rows: Array<Record<string, string>>) => Object.fromEntries(rows.map((r) => [r["k"]!, r["v"]!]));
  const signed = "CASE l.direction WHEN 'D' THEN l.amount_minor::numeric ELSE -l.amount_minor::numeric END";
  return {
    unbalancedEntries: Number((await q(`SELECT count(*) AS n FROM (SELECT l.entry_id FROM journal_lines l GROUP BY l.entry_id, l.currency HAVING sum(${signed}) <> 0) u`))[0].n),
    netPerCurrency: map(await q(`SELECT l.currency AS k, sum(${signed})::text AS v FROM journal_lines l GROUP BY 1 ORDER BY 1`)),
    receivable: map(await q(`SELECT l.currency AS k, sum(${signed})::text AS v FROM journal_lines l
      WHERE l.account_id = '00000000-0000-4000-8000-000000001100' GROUP BY 1 ORDER BY 1`)),
    documentsOwed: map(await q(`SELECT currency AS k, sum(total_minor - paid_minor - credited_minor)::text AS v FROM invoices
      WHERE status <> 'VOID' GROUP BY 1 ORDER BY 1`)),
    revenueByVehicle: map(await q(`SELECT l.vehicle_id || '/' || l.currency AS k, (-sum(${signed}))::text AS v FROM journal_lines l
      JOIN accounts a ON a.id = l.account_id WHERE a.type = 'REVENUE' AND l.vehicle_id IS NOT NULL GROUP BY 1 ORDER BY 1`)),
    balances: map(await q(`SELECT l.account_id || '/' || l.currency AS k, sum(${signed})::text AS v FROM journal_lines l GROUP BY 1 ORDER BY 1`)),
    position: String((await q("SELECT position FROM ledger_head"))[0].position),
  };
}

/** The trial balance as the report computes it (checkpoints + tail) next to one summed from raw lines, as of today. */
async function trialBalances(c: Ctx): Promise<{ report: string[]; raw: string[]; sha256: string; position: bigint }> {
  const today = "2027-12-31";
  const report = await c.reporting.report({ type: "TRIAL_BALANCE", asOfDate: today, cutoffTime: null, asOfPosition: null }, "properties");
  if (report.result.type !== "TRIAL_BALANCE") throw new Error("not a trial balance");
  const rows = report.result.trialBalance.rows.map((r) => `${r.accountId}/${r.currency}/${r.debitBalance - r.creditBalance}`);
  const raw = (await c.world.testDb.admin.query(
    `SELECT l.account_id || '/' || l.currency || '/' || sum(CASE l.direction WHEN 'D' THEN l.amount_minor::numeric ELSE -l.amount_minor::numeric END)::text AS r
       FROM journal_lines l WHERE l.position <= $1 AND l.entry_date <= $2 GROUP BY l.account_id, l.currency ORDER BY l.account_id, l.currency`,
    [report.metadata.ledgerPosition.toString(), today])).rows.map((r) => r.r as string);
  return { report: rows.sort(), raw: raw.sort(), sha256: report.metadata.contentSha256, position: report.metadata.ledgerPosition };
}

/** Invoices and payments derived from the journal at the readable position, next to their rows: they must agree. */
async function asOfAgreesWithRows(c: Ctx): Promise<{ invoices: [unknown[], unknown[]]; payments: [unknown[], unknown[]] }> {
  const q = async (sql: string) => (await c.world.testDb.admin.query(sql)).rows;
  const head = "(SELECT position FROM ledger_head)";
  const invoiceCols = "id, status, paid_minor::text, credited_minor::text, credit_applied_minor::text, void_reason";
  const paymentCols = "id, status, refunded_minor::text";
  return {
    invoices: [await q(`SELECT ${invoiceCols} FROM invoices ORDER BY id`), await q(`SELECT ${invoiceCols} FROM invoices_as_of(${head}) ORDER BY id`)],
    payments: [await q(`SELECT ${paymentCols} FROM payments ORDER BY id`), await q(`SELECT ${paymentCols} FROM payments_as_of(${head}) ORDER BY id`)],
  };
}

function assertInvariants(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void; is: (a: unknown, b: unknown, m?: string) => void }, c: Ctx, b: Books): void {
  t.is(b.unbalancedEntries, 0, "every entry balances per currency");
  for (const [cur, net] of Object.entries(b.netPerCurrency)) t.is(net, "0", `the journal balances in ${cur}`);
  const nonZero = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== "0"));
  t.deepEqual(nonZero(b.receivable), nonZero(b.documentsOwed), "receivables = invoiced - paid - credited");
  const expected = Object.fromEntries([...c.invoicedCharges].filter(([, v]) => v !== 0n).map(([k, v]) => [k, v.toString()]));
  t.deepEqual(nonZero(b.revenueByVehicle), expected, "revenue per vehicle = the rental charges invoiced");
}

test("random histories keep the books whole, and a replay of every event changes nothing", async (t) => {
  const c = t.context;
  let runs = 0;
  await fc.assert(fc.asyncProperty(historyArb, async (history) => {
    runs += 1;
    for (const r of history.rentals) await playRental(c, r);
    for (const m of history.maintenance) await playMaintenance(c, m);
    // A checkpoint every other history: the trial balance then reads summaries plus a tail.
    if (runs % 2 === 0) await c.reporting.buildCheckpoint(0);
    const b = await books(c);
    assertInvariants(t, c, b);
    const tb = await trialBalances(c);
    t.deepEqual(tb.report, tb.raw, "the trial balance from checkpoints equals the one from raw lines");
    const asOf = await asOfAgreesWithRows(c);
    t.deepEqual(asOf.invoices[1], asOf.invoices[0], "invoices derived from the journal at the head equal their rows");
    t.deepEqual(asOf.payments[1], asOf.payments[0], "payments derived from the journal at the head equal their rows");
    return b.unbalancedEntries === 0;
  }), { numRuns: 25, seed: Number(process.env["FLEET_PROPERTY_SEED"] ?? Date.now() % 2 ** 31), endOnFailure: true });

  // Replay every event of every history (new message ids, as from offset 0).
  const before = await books(c);
  const tbBefore = await trialBalances(c);
  for (const e of [...c.delivered]) await deliver(c, e.topic, e.schema, e.init, false);
  const after = await books(c);
  t.deepEqual(after, before, "a replay changes no balance and no position");
  assertInvariants(t, c, after);
  const tbAfter = await trialBalances(c);
  t.is(tbAfter.sha256, tbBefore.sha256, "nor the trial balance's hash");
  t.is(tbAfter.position, tbBefore.position);
  t.log(`${runs} histories, ${c.delivered.length} events delivered twice, position ${after.position}`);
});
