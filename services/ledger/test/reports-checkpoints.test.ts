// Checkpoints are exact: balances from the latest usable checkpoint plus the
// raw lines after it equal the sums straight from journal_lines, for random
// postings, random as-of positions (before, at and after checkpoints), dates
// and cutoff times. And reports are reproducible: the same parameters and
// position give the same bytes, whatever was posted or summarised since.
import anyTest, { type TestFn } from "ava";
import fc from "fast-check";
import type { BalanceQuery } from "../src/app/reporting-ports.js";
import { createReportStore } from "../src/adapters/db/report-store.js";
import { trialBalanceOf } from "../src/domain/reports/balances.js";
import { DomainError } from "../../platform/src/errors.js";
import { post, startReportWorld, type ReportWorld } from "./report-support.js";

const test = anyTest as TestFn<{ world: ReportWorld; postTimes: Date[] }>;

test.before(async (t) => {
  t.context = { world: await startReportWorld(), postTimes: [] };
});
test.after.always(async (t) => {
  await t.context.world?.stop();
});

const ACCOUNTS = ["CASH", "BANK", "ACCOUNTS_RECEIVABLE", "OWNER_EQUITY", "REVENUE_RENTAL", "REVENUE_LATE_FEES", "EXP_STAFF", "ACCOUNTS_PAYABLE"];
const BASE_DAY = Date.UTC(2025, 0, 1);
const dateOf = (offset: number) => new Date(BASE_DAY + offset * 86_400_000).toISOString().slice(0, 10);

const entryArb = fc.record({
  day: fc.integer({ min: 0, max: 89 }),
  pairs: fc.array(
    fc.record({
      debit: fc.constantFrom(...ACCOUNTS),
      credit: fc.constantFrom(...ACCOUNTS),
      currency: fc.constantFrom("EUR", "USD"),
      amount: fc.bigInt({ min: 1n, max: 2n ** 62n }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  checkpointAfter: fc.boolean(),
});

let clockMinutes = 0;

test.serial("balances from checkpoints equal balances from raw lines (property)", async (t) => {
  const { world } = t.context;
  const store = createReportStore(world.db);
  let checkpoints = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(entryArb, { minLength: 1, maxLength: 12 }),
      fc.array(fc.record({ position: fc.double({ min: 0, max: 1, noNaN: true }), day: fc.integer({ min: -1, max: 95 }), from: fc.option(fc.integer({ min: 0, max: 95 })), cutoff: fc.option(fc.double({ min: 0, max: 1, noNaN: true })) }), { minLength: 3, maxLength: 6 }),
      async (entries, queries) => {
        for (const e of entries) {
          const postTime = new Date(Date.UTC(2025, 5, 1) + clockMinutes++ * 60_000);
          t.context.postTimes.push(postTime);
          await post(world.db, dateOf(e.day), e.pairs.flatMap((p) => [
            { account: p.debit, direction: "D" as const, amount: p.amount, currency: p.currency },
            { account: p.credit, direction: "C" as const, amount: p.amount, currency: p.currency },
          ]), postTime);
          if (e.checkpointAfter && (await world.useCases.buildCheckpoint(0)) !== null) checkpoints += 1;
        }
        await store.inSnapshot(async (reader) => {
          const head = await reader.readablePosition();
          for (const q of queries) {
            const times = t.context.postTimes;
            const query: BalanceQuery = {
              fromDate: q.from === null ? null : dateOf(q.from),
              toDate: dateOf(q.day + 1),
              position: BigInt(Math.floor(q.position * Number(head))),
              cutoff: q.cutoff === null ? null : times[Math.floor(q.cutoff * (times.length - 1))] ?? null,
            };
            const viaCheckpoint = await reader.accountBalances(query);
            const raw = await reader.accountBalancesRaw(query);
            if (JSON.stringify(viaCheckpoint.balances, big) !== JSON.stringify(raw, big)) {
              throw new Error(`mismatch for ${JSON.stringify(query, big)} (checkpoint ${viaCheckpoint.checkpoint})`);
            }
          }
        }, { write: false });
      },
    ),
    { numRuns: 12 },
  );
  t.true(checkpoints > 0, "some checkpoints were built");
  const latest = await store.inSnapshot((r) => r.accountBalances({ fromDate: null, toDate: "2026-01-01", position: 10_000_000n, cutoff: null }), { write: false });
  t.true(latest.checkpoint > 0n);
});

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

test.serial("the trial balance use case equals the trial balance of the raw lines, before and after a new checkpoint", async (t) => {
  const { world } = t.context;
  const store = createReportStore(world.db);
  const params = { type: "TRIAL_BALANCE" as const, asOfDate: "2025-02-15", cutoffTime: null, asOfPosition: null };
  const first = await world.useCases.report(params, "a");
  const raw = await store.inSnapshot(
    (r) => r.accountBalancesRaw({ fromDate: null, toDate: "2025-02-16", position: first.metadata.ledgerPosition, cutoff: first.params.cutoffTime }),
    { write: false },
  );
  if (first.result.type !== "TRIAL_BALANCE") throw new Error("wrong type");
  t.deepEqual(first.result.trialBalance, trialBalanceOf("2025-02-15", raw));
  await post(world.db, "2025-01-03", [
    { account: "CASH", direction: "D", amount: 7n, currency: "EUR" },
    { account: "OWNER_EQUITY", direction: "C", amount: 7n, currency: "EUR" },
  ]);
  t.not(await world.useCases.buildCheckpoint(0), null);
  const again = await world.useCases.report({ ...params, asOfPosition: first.metadata.ledgerPosition, cutoffTime: first.params.cutoffTime }, "b");
  t.is(again.metadata.contentSha256, first.metadata.contentSha256, "a later checkpoint changes nothing as of the earlier position");
  t.deepEqual(again.result, first.result);
  const now = await world.useCases.report(params, "c");
  t.not(now.metadata.contentSha256, first.metadata.contentSha256, "the new entry shows at the new position");
});

test.serial("reports as of P are byte-identical while postings commit concurrently", async (t) => {
  const { world } = t.context;
  const head = (await world.useCases.report({ type: "TRIAL_BALANCE", asOfDate: "2025-12-31", cutoffTime: null, asOfPosition: null }, "x")).metadata;
  const P = head.ledgerPosition;
  const paramsOf = (type: "TRIAL_BALANCE" | "BALANCE_SHEET") => ({ type, asOfDate: "2025-12-31", cutoffTime: head.cutoffTime, asOfPosition: P });
  const postings = Array.from({ length: 20 }, (_, i) => post(world.db, dateOf(i), [
    { account: "BANK", direction: "D" as const, amount: BigInt(i + 1), currency: "EUR" },
    { account: "REVENUE_RENTAL", direction: "C" as const, amount: BigInt(i + 1), currency: "EUR" },
  ]));
  const during = await Promise.all([
    world.useCases.report(paramsOf("TRIAL_BALANCE"), "x"),
    world.useCases.report(paramsOf("BALANCE_SHEET"), "x"),
    world.useCases.report({ type: "INCOME_STATEMENT", period: { start: "2025-01-01", end: "2026-01-01" }, cutoffTime: head.cutoffTime, asOfPosition: P }, "x"),
    ...postings,
  ]);
  await world.useCases.buildCheckpoint(0);
  const after = await Promise.all([
    world.useCases.report(paramsOf("TRIAL_BALANCE"), "y"),
    world.useCases.report(paramsOf("BALANCE_SHEET"), "y"),
    world.useCases.report({ type: "INCOME_STATEMENT", period: { start: "2025-01-01", end: "2026-01-01" }, cutoffTime: head.cutoffTime, asOfPosition: P }, "y"),
  ]);
  for (let i = 0; i < 3; i++) {
    const d = during[i] as Awaited<ReturnType<typeof world.useCases.report>>;
    t.is(after[i]!.metadata.contentSha256, d.metadata.contentSha256);
    t.is(after[i]!.metadata.ledgerPosition, P);
  }
  t.is(during[0] && (during[0] as { metadata: { contentSha256: string } }).metadata.contentSha256, head.contentSha256);
});

test.serial("as_of_position beyond the readable position is LEDGER_POSITION_AHEAD", async (t) => {
  const { world } = t.context;
  const head = (await world.useCases.report({ type: "TRIAL_BALANCE", asOfDate: "2025-12-31", cutoffTime: null, asOfPosition: null }, "x")).metadata.ledgerPosition;
  const err = await t.throwsAsync(
    world.useCases.report({ type: "RECEIVABLES_AGING", asOfDate: "2025-12-31", cutoffTime: null, asOfPosition: head + 1n }, "x"),
    { instanceOf: DomainError },
  );
  t.is(err?.reason, "LEDGER_POSITION_AHEAD");
  await t.notThrowsAsync(world.useCases.report({ type: "RECEIVABLES_AGING", asOfDate: "2025-12-31", cutoffTime: null, asOfPosition: head }, "x"));
});

test.serial("a checkpoint is built from the previous one plus the new lines only", async (t) => {
  const { world } = t.context;
  await post(world.db, "2025-03-01", [
    { account: "CASH", direction: "D", amount: 1n, currency: "EUR" },
    { account: "OWNER_EQUITY", direction: "C", amount: 1n, currency: "EUR" },
  ]);
  t.is(await world.useCases.buildCheckpoint(1_000_000), null, "below the threshold nothing is built");
  const built = await world.useCases.buildCheckpoint(0);
  t.truthy(built);
  t.is(built!.lineCount, 2n);
  const rows = await world.testDb.admin.query("SELECT count(*)::int AS n FROM report_checkpoint_balances WHERE checkpoint_position = $1", [built!.position.toString()]);
  t.is(rows.rows[0].n, 2, "only the new lines' (account, currency, date) groups");
  t.is(await world.useCases.buildCheckpoint(0), null, "nothing new");
});
