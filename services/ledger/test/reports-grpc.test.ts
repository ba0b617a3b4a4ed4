// The ReportingService over the kit's gRPC server (auth from the token, the
// error table), against a real database: results and metadata on the wire,
// generated_by from the caller's token, error codes and reasons.
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { ReportType } from "../../../gen/fleetmesh/ledger/v1/report_pb.js";
import { ReportingService } from "../../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import { createTokenVerifier } from "../../platform/src/auth.js";
import { createServiceClient, type ServiceClient } from "../../platform/src/grpc/client.js";
import { createGrpcServer, type GrpcServer } from "../../platform/src/grpc/server.js";
import { createMetrics } from "../../platform/src/metrics.js";
import { rejectsWith, violatedFields } from "../../platform/src/testing/assertions.js";
import { createTestKeys, type TestKeys } from "../../platform/src/testing/harness.js";
import { reportingServiceBinding } from "../src/adapters/grpc/reporting-handlers.js";
import { HUGE, post, startReportWorld, type ReportWorld } from "./report-support.js";

interface Fixture {
  world: ReportWorld;
  keys: TestKeys;
  server: GrpcServer;
  client: ServiceClient<typeof ReportingService>;
}
const test = anyTest as TestFn<Fixture>;
const ACCOUNTANT = "00000000-0000-4000-8000-0000000000ac";

test.before(async (t) => {
  const world = await startReportWorld();
  await post(world.db, "2025-01-02", [
    { account: "BANK", direction: "D", amount: HUGE, currency: "EUR" },
    { account: "OWNER_EQUITY", direction: "C", amount: HUGE, currency: "EUR" },
  ]);
  const keys = createTestKeys();
  const server = createGrpcServer({
    bindings: [reportingServiceBinding(world.useCases)],
    log: pino({ level: "silent" }),
    metrics: createMetrics("ledger-reports-grpc-test"),
    verifier: createTokenVerifier(keys.auth),
  });
  const port = await server.listen("127.0.0.1", 0);
  const client = createServiceClient(ReportingService, { address: `127.0.0.1:${port}`, deadlineMs: 10_000 } as never);
  t.context = { world, keys, server, client };
});
test.after.always(async (t) => {
  t.context.client?.close();
  await t.context.server?.shutdown(500);
  await t.context.world?.stop();
});

const as = (keys: TestKeys, permissions: string[]) => ({
  headers: { authorization: `Bearer ${keys.token({ sub: ACCOUNTANT, roles: [], permissions })}` },
});

test("GetTrialBalance: rows, totals and metadata on the wire; generated_by is the caller", async (t) => {
  const { client, keys } = t.context;
  const res = await client.getTrialBalance({ parameters: { asOfDate: "2025-01-31" } }, as(keys, ["reports.read"]));
  t.deepEqual(res.trialBalance?.rows.map((r) => [r.accountCode, r.debitBalance?.amountMinor, r.creditBalance?.amountMinor]), [
    ["BANK", HUGE, 0n],
    ["OWNER_EQUITY", 0n, HUGE],
  ]);
  t.is(res.trialBalance?.totals[0]?.debitTotal?.amountMinor, HUGE);
  t.is(res.metadata?.generatedBy, ACCOUNTANT);
  t.is(res.metadata?.ledgerPosition, 1n);
  t.is(res.metadata?.rowCount, 3n);
  t.is(res.metadata?.reportType, ReportType.TRIAL_BALANCE);
  t.regex(res.metadata?.contentSha256 ?? "", /^[0-9a-f]{64}$/);
  t.truthy(res.metadata?.cutoffTime);
});

test("GenerateReportSnapshot needs reports.generate; the snapshot reads back and exports", async (t) => {
  const { client, keys } = t.context;
  const parameters = { parameters: { case: "balanceSheet" as const, value: { asOfDate: "2025-01-31" } } };
  await rejectsWith(t, client.generateReportSnapshot({ parameters }, as(keys, ["reports.read"])), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  const generated = await client.generateReportSnapshot({ parameters }, as(keys, ["reports.generate"]));
  const snap = generated.snapshot!;
  t.is(snap.result.case, "balanceSheet");
  t.is(snap.parameters?.parameters.case, "balanceSheet");
  t.is(snap.parameters?.parameters.value?.asOfPosition, 1n, "the resolved position is stored");
  const got = await client.getReportSnapshot({ snapshotId: snap.id }, as(keys, ["reports.read"]));
  t.deepEqual(got.snapshot?.result, snap.result);
  t.is(got.snapshot?.metadata?.contentSha256, snap.metadata?.contentSha256);
  const csv = await client.exportReportSnapshotCsv({ snapshotId: snap.id }, as(keys, ["reports.read"]));
  t.is(csv.nextPageToken, "");
  t.true(Buffer.from(csv.csv).toString("utf8").includes(`TOTAL_ASSETS,EUR,,,,${HUGE}\r\n`));
  const list = await client.listReportSnapshots({ reportType: ReportType.BALANCE_SHEET }, as(keys, ["reports.read"]));
  t.deepEqual(list.snapshots.map((s) => s.id), [snap.id]);
});

test("errors: not found, position ahead, invalid arguments, no token", async (t) => {
  const { client, keys } = t.context;
  await rejectsWith(t, client.getReportSnapshot({ snapshotId: "00000000-0000-4000-8000-00000000dead" }, as(keys, ["reports.read"])),
    GrpcStatus.NOT_FOUND, "REPORT_SNAPSHOT_NOT_FOUND");
  await rejectsWith(t, client.getBalanceSheet({ parameters: { asOfDate: "2025-01-31", asOfPosition: 99n } }, as(keys, ["reports.read"])),
    GrpcStatus.OUT_OF_RANGE, "LEDGER_POSITION_AHEAD");
  const bad = await rejectsWith(t, client.getRevenueReport({ parameters: { period: { startDate: "2025-01-01", endDate: "2024-01-01" }, vehicleIds: ["x"] } },
    as(keys, ["reports.read"])), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(bad), ["parameters.period.end_date", "parameters.vehicle_ids[0]"]);
  await rejectsWith(t, client.getTrialBalance({ parameters: { asOfDate: "2025-01-31" } }), GrpcStatus.UNAUTHENTICATED, "UNAUTHENTICATED");
});
