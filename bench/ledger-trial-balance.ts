// Benchmark: the trial balance from checkpoints (the reporting use case)
// next to the baseline of a raw SUM ... GROUP BY over journal_lines, in the
// same run, at 10k, 100k and 1M journal lines.
//
// The journal grows in one database: bulk-loaded as the superuser (balanced
// two-line entries, triggers off), dated over two years in posting order
// with 2 % of the entries back-dated up to 60 days, 12 accounts, EUR and
// USD. A checkpoint is built after every CHECKPOINT_EVERY lines, as the
// every-minute job would, and a tail of raw lines is left after the last one
// (TAIL_LINES, about what the job leaves). Each size is measured as of the
// latest date and as of a date in the middle of the history; medians over
// BENCH_ROUNDS rounds, alternating which of the two goes first.
//
//   npm run bench -- ledger-reports
//   BENCH_ROUNDS=9 BENCH_MAX_LINES=100000 npm run bench -- ledger-reports
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createDatabase } from "../services/platform/src/db.js";
import { createTestDatabase } from "../services/platform/src/testing/harness.js";
import { createReportStore } from "../services/ledger/src/adapters/db/report-store.js";
import { createReportingUseCases } from "../services/ledger/src/app/reporting-use-cases.js";
import { coresAndModel } from "./lib/machine.js";
import { fmt, markdownTable, median } from "./lib/stats.js";

const rounds = Number(process.env["BENCH_ROUNDS"] ?? 7);
/** Rows of the large snapshot phase (revenue by vehicle by DAY over 2027); 0 skips it. */
const snapshotRows = Number(process.env["BENCH_SNAPSHOT_ROWS"] ?? 1_000_000);
const maxLines = Number(process.env["BENCH_MAX_LINES"] ?? 1_000_000);
const SIZES = [10_000, 100_000, 1_000_000].filter((n) => n <= maxLines);
const CHECKPOINT_EVERY = 50_000;
const TAIL_LINES = 2_000;
const LOAD_BATCH_ENTRIES = 50_000;
/** Entries of the largest size span two years of entry dates. */
const DAYS = 730;
const FINAL_ENTRIES = Math.max(...SIZES) / 2;
const ACCOUNTS = [
  "00000000-0000-4000-8000-000000001000", "00000000-0000-4000-8000-000000001010", "00000000-0000-4000-8000-000000001100",
  "00000000-0000-4000-8000-000000001200", "00000000-0000-4000-8000-000000002000", "00000000-0000-4000-8000-000000002100",
  "00000000-0000-4000-8000-000000003000", "00000000-0000-4000-8000-000000004000", "00000000-0000-4000-8000-000000004100",
  "00000000-0000-4000-8000-000000005000", "00000000-0000-4000-8000-000000005010", "00000000-0000-4000-8000-000000005100",
];

async function main(): Promise<void> {
  const testDb = await createTestDatabase("ledger", "migrations/ledger");
  try {
    await measure(testDb);
  } finally {
    await testDb.drop();
  }
}

async function measure(testDb: Awaited<ReturnType<typeof createTestDatabase>>): Promise<void> {
  const db = createDatabase({ ...testDb.config, statementTimeoutMs: 60_000 }, "bench-ledger-reports");
  const useCases = createReportingUseCases({ db, clock: { now: () => new Date() }, ids: { newId: randomUUID }, reportingTimeZone: "UTC" });
  const store = createReportStore(db);
  const admin = testDb.admin;
  const accounts = `ARRAY[${ACCOUNTS.map((a) => `'${a}'`).join(",")}]::uuid[]`;

  /** Loads `entries` balanced two-line entries after the head. */
  const load = async (entries: number): Promise<void> => {
    await admin.query("BEGIN");
    await admin.query("SET LOCAL session_replication_role = replica");
    const p0 = Number((await admin.query<{ p: string }>("SELECT position::text AS p FROM ledger_head FOR UPDATE")).rows[0]!.p);
    await admin.query(
      `INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, description)
       SELECT gen_random_uuid(), p, 'bench', 'bench-' || p, 'x',
              date '2025-01-01' + (p * ${DAYS} / ${FINAL_ENTRIES})::int - CASE WHEN p % 50 = 0 THEN (p % 60)::int ELSE 0 END, 'bench'
         FROM generate_series($1::bigint + 1, $1::bigint + $2) p`,
      [p0, entries],
    );
    await admin.query(
      `INSERT INTO journal_lines (id, entry_id, line_no, position, entry_date, account_id, direction, amount_minor, currency)
       SELECT gen_random_uuid(), e.id, k.no, e.position, e.entry_date,
              CASE k.no WHEN 1 THEN (${accounts})[1 + (e.position * 7 % 12)] ELSE (${accounts})[1 + ((e.position * 13 + 5) % 12)] END,
              k.dir, 100 + (e.position * 7919 % 100000), CASE WHEN e.position % 10 = 0 THEN 'USD' ELSE 'EUR' END
         FROM journal_entries e CROSS JOIN (VALUES (1::smallint, 'D'), (2::smallint, 'C')) k(no, dir)
        WHERE e.position > $1`,
      [p0],
    );
    await admin.query("UPDATE ledger_head SET position = position + $1", [entries]);
    await admin.query("COMMIT");
  };
  const lineCount = async (): Promise<number> => Number((await admin.query<{ n: string }>("SELECT count(*)::text AS n FROM journal_lines")).rows[0]!.n);

  const time = async (work: () => Promise<unknown>): Promise<number> => {
    const start = performance.now();
    await work();
    return performance.now() - start;
  };

  const rows: string[][] = [];
  let loaded = 0;
  let sinceCheckpoint = 0;
  for (const size of SIZES) {
    const target = size - TAIL_LINES;
    while (loaded < target) {
      const entries = Math.min(LOAD_BATCH_ENTRIES, (target - loaded) / 2, (CHECKPOINT_EVERY - sinceCheckpoint) / 2);
      await load(entries);
      loaded += entries * 2;
      sinceCheckpoint += entries * 2;
      if (sinceCheckpoint >= CHECKPOINT_EVERY || loaded >= target) {
        await useCases.buildCheckpoint(0);
        sinceCheckpoint = 0;
      }
    }
    await load(TAIL_LINES / 2);
    loaded += TAIL_LINES;
    // A steady-state ledger has been vacuumed (visibility map set, statistics fresh): so has the baseline.
    for (const table of ["journal_lines", "journal_entries", "report_checkpoint_balances"]) await admin.query(`VACUUM ANALYZE ${table}`);
    const lines = await lineCount();
    const cps = (await admin.query<{ n: string; s: string }>("SELECT (SELECT count(*) FROM report_checkpoints)::text AS n, (SELECT count(*) FROM report_checkpoint_balances)::text AS s")).rows[0]!;
    const lastDate = (await admin.query<{ d: string }>("SELECT max(entry_date)::text AS d FROM journal_lines")).rows[0]!.d;
    const midDate = (await admin.query<{ d: string }>("SELECT (date '2025-01-01' + (max(entry_date) - date '2025-01-01') / 2)::text AS d FROM journal_lines")).rows[0]!.d;
    for (const [label, asOfDate] of [["latest date", lastDate], ["mid-history date", midDate]] as const) {
      const viaUseCase: number[] = [];
      const raw: number[] = [];
      // Warm-up: the first run of each pays the cold cache.
      const warm = await useCases.report({ type: "TRIAL_BALANCE", asOfDate, cutoffTime: null, asOfPosition: null }, "bench");
      const position = warm.metadata.ledgerPosition;
      const toDate = new Date(Date.parse(`${asOfDate}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const rawOnce = () => store.inSnapshot((r) => r.accountBalancesRaw({ fromDate: null, toDate, position, cutoff: null }), { write: false });
      await rawOnce();
      for (let round = 0; round < rounds; round++) {
        const a = () => time(() => useCases.report({ type: "TRIAL_BALANCE", asOfDate, cutoffTime: null, asOfPosition: position }, "bench"));
        const b = () => time(rawOnce);
        if (round % 2 === 0) {
          viaUseCase.push(await a());
          raw.push(await b());
        } else {
          raw.push(await b());
          viaUseCase.push(await a());
        }
      }
      const m = median(viaUseCase);
      const r = median(raw);
      rows.push([String(lines), label, cps.n, cps.s, fmt(m), fmt(r), `${fmt(r / m)}x`]);
      console.error(`${lines} lines, ${label}: use case ${fmt(m)} ms, raw ${fmt(r)} ms`);
    }
  }
  console.log(`## Trial balance: checkpoints vs raw SUM (${coresAndModel()}, ${rounds} rounds, medians)\n`);
  console.log(markdownTable(["journal lines", "as of", "checkpoints", "summary rows", "use case (ms)", "raw SUM GROUP BY (ms)", "raw / use case"], rows));
  if (snapshotRows > 0) await largeSnapshot(admin, useCases);
  await db.close();
}

/**
 * A revenue-by-vehicle-by-DAY snapshot of `snapshotRows` rows (one entry per
 * vehicle and day of 2027), generated and exported through the use cases
 * while the heap is sampled: the CSV streams through, it is never held whole.
 */
async function largeSnapshot(admin: import("pg").Client, useCases: ReturnType<typeof createReportingUseCases>): Promise<void> {
  const days = 365;
  const vehicles = Math.ceil(snapshotRows / days);
  const entries = vehicles * days;
  await admin.query("BEGIN");
  await admin.query("SET LOCAL session_replication_role = replica");
  const p0 = Number((await admin.query<{ p: string }>("SELECT position::text AS p FROM ledger_head FOR UPDATE")).rows[0]!.p);
  await admin.query(
    `INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, description)
     SELECT gen_random_uuid(), $1::bigint + i, 'bench', 'bench-' || ($1::bigint + i), 'x', date '2027-01-01' + ((i - 1) / $2)::int, 'bench'
       FROM generate_series(1, $3::int) i`,
    [p0, vehicles, entries],
  );
  await admin.query(
    `INSERT INTO journal_lines (id, entry_id, line_no, position, entry_date, account_id, direction, amount_minor, currency, vehicle_id)
     SELECT gen_random_uuid(), e.id, k.no, e.position, e.entry_date, k.account_id::uuid, k.dir, 100 + (e.position % 997), 'EUR',
            CASE WHEN k.no = 2 THEN ('00000000-0000-4000-8000-' || lpad(to_hex(((e.position - $1::bigint - 1) % $2)::int), 12, '0'))::uuid END
       FROM journal_entries e
      CROSS JOIN (VALUES (1::smallint, '00000000-0000-4000-8000-000000001100', 'D'), (2::smallint, '00000000-0000-4000-8000-000000004000', 'C')) k(no, account_id, dir)
      WHERE e.position > $1`,
    [p0, vehicles],
  );
  await admin.query("UPDATE ledger_head SET position = position + $1", [entries]);
  await admin.query("COMMIT");
  for (const table of ["journal_lines", "journal_entries"]) await admin.query(`VACUUM ANALYZE ${table}`);
  global.gc?.();
  const baseHeap = process.memoryUsage().heapUsed;
  let peakHeap = baseHeap;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 50);
  const mb = (b: number) => fmt(b / 1024 / 1024);
  try {
    const t0 = performance.now();
    const snap = await useCases.generateSnapshot({
      type: "REVENUE", period: { start: "2027-01-01", end: "2028-01-01" }, vehicleIds: [], granularity: "DAY", cutoffTime: null, asOfPosition: null,
    }, "bench");
    const generateMs = performance.now() - t0;
    const generatePeak = peakHeap;
    peakHeap = process.memoryUsage().heapUsed;
    const t1 = performance.now();
    const hash = (await import("node:crypto")).createHash("sha256");
    let token = "";
    let pages = 0;
    let bytes = 0;
    do {
      const page = await useCases.exportCsv({ snapshotId: snap.id, pageToken: token, maxBytes: 0 });
      hash.update(page.csv);
      bytes += page.csv.length;
      pages += 1;
      token = page.nextPageToken;
    } while (token !== "");
    const exportMs = performance.now() - t1;
    const ok = hash.digest("hex") === snap.metadata.contentSha256;
    console.log(`\n## Large snapshot: revenue by vehicle by DAY (${vehicles} vehicles x ${days} days)\n`);
    console.log(markdownTable(["step", "rows", "CSV MiB", "time (s)", "peak heap above start (MiB)"], [
      ["GenerateReportSnapshot", String(snap.metadata.rowCount), mb(snap.byteCount), fmt(generateMs / 1000), mb(generatePeak - baseHeap)],
      [`export, ${pages} pages of 1 MiB${ok ? ", hash matches" : ", HASH MISMATCH"}`, String(snap.metadata.rowCount), mb(bytes), fmt(exportMs / 1000), mb(peakHeap - baseHeap)],
    ]));
  } finally {
    clearInterval(sampler);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
