// Every report's figures on one hand-checked scenario: two currencies, an
// amount of 2^53 + 1 (bigint end to end: SQL, domain, CSV, proto), ISO week
// buckets clipped to the period, utilization with maintenance downtime.
import anyTest, { type TestFn } from "ava";
import { renderCsv, type ReportParams } from "../src/domain/reports/model.js";
import { trialBalanceToProto } from "../src/adapters/proto/report-proto.js";
import {
  CUSTOMER_1,
  CUSTOMER_2,
  HUGE,
  issueInvoice,
  payInvoice,
  post,
  recordMaintenance,
  recordRental,
  startReportWorld,
  VEHICLE_A,
  VEHICLE_B,
  type ReportWorld,
} from "./report-support.js";

const test = anyTest as TestFn<{ world: ReportWorld }>;
const ACC = {
  AR: "00000000-0000-4000-8000-000000001100",
  BANK: "00000000-0000-4000-8000-000000001010",
  CASH: "00000000-0000-4000-8000-000000001000",
};

test.before(async (t) => {
  const world = await startReportWorld();
  t.context = { world };
  const { db } = world;
  await post(db, "2025-01-02", [
    { account: "BANK", direction: "D", amount: 1_000_000n, currency: "EUR" },
    { account: "OWNER_EQUITY", direction: "C", amount: 1_000_000n, currency: "EUR" },
  ]);
  await issueInvoice(db, { customerId: CUSTOMER_1, rentalId: "a1000000-0000-4000-8000-000000000001", vehicleId: VEHICLE_A, currency: "EUR", amount: 50_000n, issueDate: "2025-01-05", dueDate: "2025-01-15" });
  const inv2 = await issueInvoice(db, { customerId: CUSTOMER_1, rentalId: "a1000000-0000-4000-8000-000000000002", vehicleId: VEHICLE_A, currency: "EUR", amount: 30_000n, issueDate: "2025-01-06" });
  await payInvoice(db, inv2.invoiceId, 30_000n, "EUR", "2025-01-10");
  await post(db, "2025-01-12", [
    { account: "EXP_MAINTENANCE_PARTS", direction: "D", amount: 8_000n, currency: "EUR" },
    { account: "BANK", direction: "C", amount: 8_000n, currency: "EUR" },
  ]);
  await issueInvoice(db, { customerId: CUSTOMER_2, rentalId: "a1000000-0000-4000-8000-000000000003", vehicleId: VEHICLE_B, currency: "EUR", amount: 20_000n, issueDate: "2025-02-03", dueDate: "2025-02-10" });
  await issueInvoice(db, { customerId: CUSTOMER_2, rentalId: "a1000000-0000-4000-8000-000000000004", vehicleId: VEHICLE_B, currency: "USD", amount: HUGE, issueDate: "2025-01-07", dueDate: "2025-01-07" });
  await post(db, "2025-01-20", [
    { account: "CASH", direction: "D", amount: 500n, currency: "USD" },
    { account: "REVENUE_LATE_FEES", direction: "C", amount: 500n, currency: "USD" },
  ]);
  await recordMaintenance(db, { vehicleId: VEHICLE_A, start: "2025-01-10T08:00:00Z", complete: "2025-01-10T20:00:00Z", currency: "EUR", labor: 3_000n, parts: 8_000n });
  await recordMaintenance(db, { vehicleId: VEHICLE_B, start: "2025-01-10T12:00:00Z", complete: "2025-01-11T06:00:00Z", currency: "USD", labor: 1_000n, parts: HUGE });
  await recordRental(db, VEHICLE_A, "2025-01-09T12:00:00Z", "2025-01-10T06:00:00Z");
  await recordRental(db, VEHICLE_B, "2025-01-11T12:00:00Z", "2025-01-13T00:00:00Z");
});
test.after.always(async (t) => {
  await t.context.world?.stop();
});

const knowledge = { cutoffTime: null, asOfPosition: null } as const;
const run = (t: { context: { world: ReportWorld } }, params: ReportParams) => t.context.world.useCases.report(params, "accountant");

test("trial balance per account and currency, totals balance, bigint intact", async (t) => {
  const r = await run(t, { type: "TRIAL_BALANCE", asOfDate: "2025-01-31", ...knowledge });
  if (r.result.type !== "TRIAL_BALANCE") throw new Error("wrong type");
  const rows = r.result.trialBalance.rows.map((x) => [x.accountCode, x.currency, x.debitBalance, x.creditBalance]);
  t.deepEqual(rows, [
    ["ACCOUNTS_RECEIVABLE", "EUR", 50_000n, 0n],
    ["ACCOUNTS_RECEIVABLE", "USD", HUGE, 0n],
    ["BANK", "EUR", 1_022_000n, 0n],
    ["CASH", "USD", 500n, 0n],
    ["EXP_MAINTENANCE_PARTS", "EUR", 8_000n, 0n],
    ["OWNER_EQUITY", "EUR", 0n, 1_000_000n],
    ["REVENUE_LATE_FEES", "USD", 0n, 500n],
    ["REVENUE_RENTAL", "EUR", 0n, 80_000n],
    ["REVENUE_RENTAL", "USD", 0n, HUGE],
  ]);
  t.deepEqual(r.result.trialBalance.totals, [
    { currency: "EUR", debitTotal: 1_080_000n, creditTotal: 1_080_000n },
    { currency: "USD", debitTotal: HUGE + 500n, creditTotal: HUGE + 500n },
  ]);
  t.is(r.metadata.rowCount, 11n);
  t.is(r.metadata.ledgerPosition, 12n);
  t.is(r.metadata.generatedBy, "accountant");
  t.regex(r.metadata.contentSha256, /^[0-9a-f]{64}$/);
  const csv = renderCsv(r.result);
  t.true(csv.startsWith("line,account_code,account_id,account_name,account_type,currency,debit_minor,credit_minor\r\n"));
  t.true(csv.includes(`ACCOUNT,ACCOUNTS_RECEIVABLE,${ACC.AR},Accounts receivable,ASSET,USD,9007199254740993,0\r\n`));
  t.true(csv.endsWith("TOTAL,,,,,USD,9007199254740993500,9007199254740993500\r\n".replace("9007199254740993500", (HUGE + 500n).toString()).replace("9007199254740993500", (HUGE + 500n).toString())));
  const proto = trialBalanceToProto(r.result.trialBalance);
  t.is(proto.rows[1]?.debitBalance?.amountMinor, HUGE);
  t.is(proto.rows[1]?.debitBalance?.currencyCode, "USD");
});

test("income statement per currency over the period", async (t) => {
  const r = await run(t, { type: "INCOME_STATEMENT", period: { start: "2025-01-01", end: "2025-02-01" }, ...knowledge });
  if (r.result.type !== "INCOME_STATEMENT") throw new Error("wrong type");
  const [eur, usd] = r.result.incomeStatement.sections;
  t.is(eur?.currency, "EUR");
  t.deepEqual(eur?.revenue.map((l) => [l.accountCode, l.amount]), [["REVENUE_RENTAL", 80_000n]]);
  t.deepEqual(eur?.expenses.map((l) => [l.accountCode, l.amount]), [["EXP_MAINTENANCE_PARTS", 8_000n]]);
  t.is(eur?.netIncome, 72_000n);
  t.deepEqual(usd?.revenue.map((l) => [l.accountCode, l.amount]), [["REVENUE_LATE_FEES", 500n], ["REVENUE_RENTAL", HUGE]]);
  t.is(usd?.totalExpenses, 0n);
  t.is(usd?.netIncome, HUGE + 500n);
});

test("balance sheet: assets = liabilities + equity + current earnings per currency", async (t) => {
  const r = await run(t, { type: "BALANCE_SHEET", asOfDate: "2025-01-31", ...knowledge });
  if (r.result.type !== "BALANCE_SHEET") throw new Error("wrong type");
  const [eur, usd] = r.result.balanceSheet.sections;
  t.deepEqual(eur?.assets.map((l) => [l.accountCode, l.amount]), [["ACCOUNTS_RECEIVABLE", 50_000n], ["BANK", 1_022_000n]]);
  t.is(eur?.totalAssets, 1_072_000n);
  t.is(eur?.totalEquity, 1_000_000n);
  t.is(eur?.currentEarnings, 72_000n);
  t.is(usd?.totalAssets, HUGE + 500n);
  t.is(usd?.currentEarnings, HUGE + 500n);
  for (const s of r.result.balanceSheet.sections) t.is(s.totalAssets, s.totalLiabilities + s.totalEquity + s.currentEarnings, s.currency);
});

test("revenue by vehicle and ISO week, clipped to the period, with distinct rentals", async (t) => {
  const r = await run(t, { type: "REVENUE", period: { start: "2025-01-01", end: "2025-02-01" }, vehicleIds: [], granularity: "WEEK", ...knowledge });
  if (r.result.type !== "REVENUE") throw new Error("wrong type");
  t.deepEqual(r.result.revenue.rows.map((x) => [x.vehicleId, x.bucketStart, x.currency, x.revenue, x.rentalCount]), [
    [null, "2025-01-20", "USD", 500n, 0],
    [VEHICLE_A, "2025-01-01", "EUR", 50_000n, 1],
    [VEHICLE_A, "2025-01-06", "EUR", 30_000n, 1],
    [VEHICLE_B, "2025-01-06", "USD", HUGE, 1],
  ]);
  t.deepEqual(r.result.revenue.totals, [{ currency: "EUR", amount: 80_000n }, { currency: "USD", amount: HUGE + 500n }]);
  const onlyB = await run(t, { type: "REVENUE", period: { start: "2025-01-01", end: "2025-03-01" }, vehicleIds: [VEHICLE_B], granularity: "MONTH", ...knowledge });
  if (onlyB.result.type !== "REVENUE") throw new Error("wrong type");
  t.deepEqual(onlyB.result.revenue.rows.map((x) => [x.vehicleId, x.bucketStart, x.currency, x.revenue]), [
    [VEHICLE_B, "2025-01-01", "USD", HUGE],
    [VEHICLE_B, "2025-02-01", "EUR", 20_000n],
  ]);
});

test("maintenance cost by vehicle and month", async (t) => {
  const r = await run(t, { type: "MAINTENANCE_COST", period: { start: "2025-01-01", end: "2025-02-01" }, vehicleIds: [], granularity: "MONTH", ...knowledge });
  if (r.result.type !== "MAINTENANCE_COST") throw new Error("wrong type");
  t.deepEqual(r.result.maintenanceCost.rows.map((x) => [x.vehicleId, x.bucketStart, x.currency, x.labor, x.parts, x.total, x.jobCount]), [
    [VEHICLE_A, "2025-01-01", "EUR", 3_000n, 8_000n, 11_000n, 1],
    [VEHICLE_B, "2025-01-01", "USD", 1_000n, HUGE, HUGE + 1_000n, 1],
  ]);
  t.deepEqual(r.result.maintenanceCost.totals, [{ currency: "EUR", amount: 11_000n }, { currency: "USD", amount: HUGE + 1_000n }]);
});

test("fleet utilization: rentals clipped to days, downtime off the available time, basis points", async (t) => {
  const r = await run(t, { type: "FLEET_UTILIZATION", period: { start: "2025-01-10", end: "2025-01-12" }, vehicleIds: [], granularity: "DAY", ...knowledge });
  if (r.result.type !== "FLEET_UTILIZATION") throw new Error("wrong type");
  t.deepEqual(r.result.fleetUtilization.rows.map((x) => [x.vehicleId, x.bucketStart, x.rentedSeconds, x.availableSeconds, x.basisPoints]), [
    [VEHICLE_A, "2025-01-10", 21_600n, 43_200n, 5000],
    [VEHICLE_A, "2025-01-11", 0n, 86_400n, 0],
    [VEHICLE_B, "2025-01-10", 0n, 43_200n, 0],
    [VEHICLE_B, "2025-01-11", 43_200n, 64_800n, 6667],
  ]);
});

test("receivables aging by customer and currency", async (t) => {
  const jan = await run(t, { type: "RECEIVABLES_AGING", asOfDate: "2025-01-31", ...knowledge });
  if (jan.result.type !== "RECEIVABLES_AGING") throw new Error("wrong type");
  t.deepEqual(jan.result.receivablesAging.rows.map((x) => [x.customerId, x.currency, x.current, x.days1To30, x.days31To60, x.days61To90, x.over90, x.total]), [
    [CUSTOMER_1, "EUR", 0n, 50_000n, 0n, 0n, 0n, 50_000n],
    [CUSTOMER_2, "USD", 0n, HUGE, 0n, 0n, 0n, HUGE],
  ]);
  const april = await run(t, { type: "RECEIVABLES_AGING", asOfDate: "2025-04-20", ...knowledge });
  if (april.result.type !== "RECEIVABLES_AGING") throw new Error("wrong type");
  t.deepEqual(april.result.receivablesAging.rows.map((x) => [x.customerId, x.currency, x.days61To90, x.over90, x.total]), [
    [CUSTOMER_1, "EUR", 0n, 50_000n, 50_000n],
    [CUSTOMER_2, "EUR", 20_000n, 0n, 20_000n],
    [CUSTOMER_2, "USD", 0n, HUGE, HUGE],
  ]);
  t.deepEqual(april.result.receivablesAging.totals, [{ currency: "EUR", amount: 70_000n }, { currency: "USD", amount: HUGE }]);
});

test("the same report as of an earlier position excludes later facts", async (t) => {
  const r = await run(t, { type: "TRIAL_BALANCE", asOfDate: "2025-12-31", cutoffTime: null, asOfPosition: 1n });
  if (r.result.type !== "TRIAL_BALANCE") throw new Error("wrong type");
  t.deepEqual(r.result.trialBalance.rows.map((x) => [x.accountCode, x.debitBalance, x.creditBalance]), [
    ["BANK", 1_000_000n, 0n],
    ["OWNER_EQUITY", 0n, 1_000_000n],
  ]);
  t.is(r.metadata.ledgerPosition, 1n);
});
