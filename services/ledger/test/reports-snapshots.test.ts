// Snapshots: stored append-only (the app role cannot change them, nor can
// the owner), returned exactly as generated, listed newest first; their CSV
// exported in pages cut at line ends that join to the whole CSV and hash to
// content_sha256; a result too large for a message is CSV only.
import { createHash } from "node:crypto";
import anyTest, { type TestFn } from "ava";
import { DomainError } from "../../platform/src/errors.js";
import { MAX_RESULT_ROWS } from "../src/app/reporting-use-cases.js";
import { renderCsv, type ReportParams } from "../src/domain/reports/model.js";
import { bulkRevenue, CUSTOMER_1, HUGE, issueInvoice, post, startReportWorld, type ReportWorld } from "./report-support.js";

const test = anyTest as TestFn<{ world: ReportWorld }>;

test.before(async (t) => {
  const world = await startReportWorld();
  t.context = { world };
  await post(world.db, "2025-01-02", [
    { account: "BANK", direction: "D", amount: HUGE, currency: "EUR" },
    { account: "OWNER_EQUITY", direction: "C", amount: HUGE, currency: "EUR" },
  ]);
  await issueInvoice(world.db, { customerId: CUSTOMER_1, currency: "EUR", amount: 1_234n, issueDate: "2025-01-03", dueDate: "2025-01-10" });
});
test.after.always(async (t) => {
  await t.context.world?.stop();
});

const TB: ReportParams = { type: "TRIAL_BALANCE", asOfDate: "2025-12-31", cutoffTime: null, asOfPosition: null };

async function exportAll(world: ReportWorld, id: string, maxBytes: number): Promise<{ pages: Buffer[]; sha: string }> {
  const pages: Buffer[] = [];
  let token = "";
  let sha = "";
  do {
    const page = await world.useCases.exportCsv({ snapshotId: id, pageToken: token, maxBytes });
    pages.push(Buffer.from(page.csv));
    token = page.nextPageToken;
    sha = page.metadata.contentSha256;
  } while (token !== "");
  return { pages, sha };
}

test.serial("a snapshot is stored with its result and metadata, and equals the live report", async (t) => {
  const { world } = t.context;
  const snap = await world.useCases.generateSnapshot(TB, "auditor");
  const live = await world.useCases.report({ ...TB, asOfPosition: snap.metadata.ledgerPosition, cutoffTime: snap.params.cutoffTime }, "someone");
  t.is(snap.metadata.contentSha256, live.metadata.contentSha256);
  t.is(snap.metadata.rowCount, live.metadata.rowCount);
  t.is(snap.metadata.generatedBy, "auditor");
  t.is(snap.metadata.snapshotId, snap.id);
  const got = await world.useCases.getSnapshot(snap.id);
  t.deepEqual(got.result, live.result);
  t.deepEqual(got.params, snap.params);
  t.is(got.metadata.contentSha256, snap.metadata.contentSha256);
  const { pages, sha } = await exportAll(world, snap.id, 0);
  t.is(pages.length, 1);
  t.is(Buffer.concat(pages).toString("utf8"), renderCsv(live.result));
  t.is(createHash("sha256").update(Buffer.concat(pages)).digest("hex"), sha);
});

test.serial("small pages are cut at line ends and join to the whole CSV", async (t) => {
  const { world } = t.context;
  const snap = await world.useCases.generateSnapshot(TB, "auditor");
  const whole = Buffer.concat((await exportAll(world, snap.id, 0)).pages);
  const { pages } = await exportAll(world, snap.id, 120);
  t.true(pages.length > 3);
  for (const p of pages) {
    t.true(p.toString("utf8").endsWith("\r\n"));
    t.true(p.length <= 120 || p.toString("utf8").indexOf("\r\n") === p.length - 2, "over max_bytes only for a single longer line");
  }
  t.true(pages[0]!.toString("utf8").startsWith("line,"));
  t.deepEqual(Buffer.concat(pages), whole);
});

test.serial("snapshots are append-only for the app role and for the owner", async (t) => {
  const { world } = t.context;
  const snap = await world.useCases.generateSnapshot(TB, "auditor");
  await world.useCases.buildCheckpoint(0);
  for (const sql of [
    "UPDATE report_snapshots SET generated_by = 'mallory'",
    "DELETE FROM report_snapshots",
    "UPDATE report_snapshot_chunks SET content = 'x'",
    "DELETE FROM report_snapshot_chunks",
    "DELETE FROM report_checkpoint_balances",
    "UPDATE report_checkpoints SET line_count = 0",
    "TRUNCATE report_snapshots CASCADE",
  ]) {
    const err = await t.throwsAsync(world.db.knex.raw(sql), undefined, sql);
    t.is((err as { code?: string } | undefined)?.code, "42501", `${sql}: permission denied`);
    const admin = await t.throwsAsync(world.testDb.admin.query(sql), undefined, `${sql} as superuser`);
    t.regex(admin?.message ?? "", /append-only/);
  }
  t.is((await world.useCases.getSnapshot(snap.id)).metadata.generatedBy, "auditor");
});

test.serial("unknown snapshots are REPORT_SNAPSHOT_NOT_FOUND; foreign page tokens are refused", async (t) => {
  const { world } = t.context;
  const missing = "00000000-0000-4000-8000-00000000dead";
  t.is((await t.throwsAsync(world.useCases.getSnapshot(missing), { instanceOf: DomainError }))?.reason, "REPORT_SNAPSHOT_NOT_FOUND");
  t.is((await t.throwsAsync(world.useCases.exportCsv({ snapshotId: missing, pageToken: "", maxBytes: 0 }), { instanceOf: DomainError }))?.reason, "REPORT_SNAPSHOT_NOT_FOUND");
  const a = await world.useCases.generateSnapshot(TB, "x");
  const b = await world.useCases.generateSnapshot(TB, "x");
  const page = await world.useCases.exportCsv({ snapshotId: a.id, pageToken: "", maxBytes: 100 });
  t.not(page.nextPageToken, "");
  const err = await t.throwsAsync(world.useCases.exportCsv({ snapshotId: b.id, pageToken: page.nextPageToken, maxBytes: 100 }), { instanceOf: DomainError });
  t.is(err?.reason, "INVALID_PAGE_TOKEN");
});

test.serial("snapshots list newest first, by type, in pages", async (t) => {
  const { world } = t.context;
  world.clock.set(new Date("2031-01-01T00:00:00Z"));
  const aging = await world.useCases.generateSnapshot({ type: "RECEIVABLES_AGING", asOfDate: "2025-02-01", cutoffTime: null, asOfPosition: null }, "x");
  world.clock.set(new Date("2031-01-02T00:00:00Z"));
  const tb = await world.useCases.generateSnapshot(TB, "x");
  const first = await world.useCases.listSnapshots({ type: null, pageSize: 1, pageToken: "" });
  t.deepEqual(first.items.map((s) => s.id), [tb.id]);
  const second = await world.useCases.listSnapshots({ type: null, pageSize: 1, pageToken: first.nextPageToken });
  t.deepEqual(second.items.map((s) => s.id), [aging.id]);
  const onlyAging = await world.useCases.listSnapshots({ type: "RECEIVABLES_AGING", pageSize: 10, pageToken: "" });
  t.deepEqual(onlyAging.items.map((s) => s.id), [aging.id]);
  t.is(onlyAging.items[0]!.result, null);
});

test.serial("a large report streams into a CSV-only snapshot; its pages hash to content_sha256", async (t) => {
  const { world } = t.context;
  await bulkRevenue(world.testDb.admin, 70, 366);
  const params: ReportParams = {
    type: "REVENUE", period: { start: "2025-01-01", end: "2026-01-01" }, vehicleIds: [], granularity: "DAY", cutoffTime: null, asOfPosition: null,
  };
  const live = await t.throwsAsync(world.useCases.report(params, "x"), { instanceOf: DomainError });
  t.is(live?.reason, "REPORT_TOO_LARGE");
  const snap = await world.useCases.generateSnapshot(params, "x");
  t.is(snap.result, null);
  t.is(snap.metadata.rowCount, BigInt(70 * 365 + 2), "one row per vehicle and day of 2025, the unattributed invoice, the EUR total");
  t.true(snap.metadata.rowCount > BigInt(MAX_RESULT_ROWS));
  t.true(snap.chunkCount > 1);
  const tooLarge = await t.throwsAsync(world.useCases.getSnapshot(snap.id), { instanceOf: DomainError });
  t.is(tooLarge?.reason, "REPORT_TOO_LARGE");
  const { pages, sha } = await exportAll(world, snap.id, 300_000);
  const whole = Buffer.concat(pages);
  t.true(pages.length >= 2);
  for (const p of pages) t.true(p.length <= 300_000);
  t.is(createHash("sha256").update(whole).digest("hex"), sha);
  t.is(sha, snap.metadata.contentSha256);
  t.is(whole.toString("utf8").split("\r\n").length - 2, Number(snap.metadata.rowCount));
  const again = await world.useCases.generateSnapshot({ ...params, asOfPosition: snap.metadata.ledgerPosition, cutoffTime: snap.params.cutoffTime }, "y");
  t.is(again.metadata.contentSha256, snap.metadata.contentSha256, "regenerated as of the same position: same bytes");
});
