// GET /v1/reports/snapshots/{id}.csv through the gateway, against a real
// ReportingService (the ledger's binding on the kit's gRPC server over a
// migrated test database): the download is the snapshot's canonical CSV
// byte for byte, authenticated with the caller's own token; errors before
// the first byte are HTTP statuses with a JSON body; pages are fetched only
// as fast as the client reads.
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { ReportingService } from "../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import { createTokenVerifier } from "../../services/platform/src/auth.js";
import { createServiceClient } from "../../services/platform/src/grpc/client.js";
import { createGrpcServer, type GrpcServer } from "../../services/platform/src/grpc/server.js";
import { createMetrics } from "../../services/platform/src/metrics.js";
import { createTestKeys, type TestKeys } from "../../services/platform/src/testing/harness.js";
import { reportingServiceBinding } from "../../services/ledger/src/adapters/grpc/reporting-handlers.js";
import type { ReportingUseCases } from "../../services/ledger/src/app/reporting-use-cases.js";
import type { SnapshotRecord } from "../../services/ledger/src/app/reporting-ports.js";
import { bulkRevenue, startReportWorld, type ReportWorld } from "../../services/ledger/test/report-support.js";
import { gatewayConfigSchema } from "../src/config.js";
import { build, type RunningGateway } from "../src/main.js";
import { createReportCsvEndpoint } from "../src/report-csv.js";

interface Fixture {
  world: ReportWorld;
  keys: TestKeys;
  ledger: GrpcServer;
  ledgerPort: number;
  gateway: RunningGateway;
  baseUrl: string;
  snapshot: SnapshotRecord;
  exportCalls: { n: number };
}
const test = anyTest as TestFn<Fixture>;
const silent = pino({ level: "silent" });

test.before(async (t) => {
  const world = await startReportWorld();
  await bulkRevenue(world.testDb.admin, 70, 366);
  const snapshot = await world.useCases.generateSnapshot({
    type: "REVENUE", period: { start: "2025-01-01", end: "2026-01-01" }, vehicleIds: [], granularity: "DAY", cutoffTime: null, asOfPosition: null,
  }, "auditor");
  const keys = createTestKeys();
  const exportCalls = { n: 0 };
  const counted: ReportingUseCases = {
    ...world.useCases,
    exportCsv: (q) => {
      exportCalls.n += 1;
      return world.useCases.exportCsv(q);
    },
  };
  const ledger = createGrpcServer({ bindings: [reportingServiceBinding(counted)], log: silent, metrics: createMetrics("ledger-test"), verifier: createTokenVerifier(keys.auth) });
  const ledgerPort = await ledger.listen("127.0.0.1", 0);
  const config = gatewayConfigSchema.parse({
    service: { name: "gateway" },
    http: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    auth: keys.auth,
    cors: { allowedOrigins: [] },
    upstreams: { ledger: { address: `127.0.0.1:${ledgerPort}`, deadlineMs: 5_000, services: [ReportingService.typeName] } },
    log: { level: "silent" },
    shutdown: { graceMs: 1_000 },
  });
  const gateway = await build(config, { log: silent });
  t.context = { world, keys, ledger, ledgerPort, gateway, baseUrl: `http://127.0.0.1:${gateway.port}`, snapshot, exportCalls };
});
test.after.always(async (t) => {
  await t.context.gateway?.stop();
  await t.context.ledger?.shutdown(500);
  await t.context.world?.stop();
});

const reader = (keys: TestKeys) => ({ authorization: `Bearer ${keys.token({ roles: [], permissions: ["reports.read"] })}` });

test.serial("the download is the snapshot's CSV, byte for byte, as an attachment", async (t) => {
  const { baseUrl, snapshot, keys } = t.context;
  const res = await fetch(`${baseUrl}/v1/reports/snapshots/${snapshot.id}.csv`, { headers: reader(keys) });
  t.is(res.status, 200);
  t.is(res.headers.get("content-type"), "text/csv; charset=utf-8");
  t.is(res.headers.get("content-disposition"), `attachment; filename="report-${snapshot.id}.csv"`);
  t.is(res.headers.get("transfer-encoding"), "chunked");
  t.is(res.headers.get("x-content-sha256"), snapshot.metadata.contentSha256);
  const body = Buffer.from(await res.arrayBuffer());
  t.is(body.length, snapshot.byteCount);
  t.true(body.length > 1024 * 1024, "more than one 1 MiB page");
  t.is(createHash("sha256").update(body).digest("hex"), snapshot.metadata.contentSha256);
  t.true(body.toString("utf8", 0, 5) === "line,");
});

test.serial("errors before the first byte are HTTP statuses with a JSON body", async (t) => {
  const { baseUrl, snapshot, keys } = t.context;
  const url = `${baseUrl}/v1/reports/snapshots/${snapshot.id}.csv`;
  const noToken = await fetch(url);
  t.is(noToken.status, 401);
  t.is(((await noToken.json()) as { code: string }).code, "UNAUTHENTICATED");
  const noPermission = await fetch(url, { headers: { authorization: `Bearer ${keys.token({ roles: [], permissions: ["vehicles.read"] })}` } });
  t.is(noPermission.status, 403);
  t.is(((await noPermission.json()) as { reason: string }).reason, "PERMISSION_DENIED");
  const missing = await fetch(`${baseUrl}/v1/reports/snapshots/00000000-0000-4000-8000-00000000dead.csv`, { headers: reader(keys) });
  t.is(missing.status, 404);
  t.is(((await missing.json()) as { reason: string }).reason, "REPORT_SNAPSHOT_NOT_FOUND");
  const malformed = await fetch(`${baseUrl}/v1/reports/snapshots/not-a-uuid.csv`, { headers: reader(keys) });
  t.is(malformed.status, 400);
  const post = await fetch(url, { method: "POST", headers: reader(keys) });
  t.is(post.status, 405);
});

test.serial("an unreachable ledger is 503", async (t) => {
  const { keys, snapshot } = t.context;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const config = gatewayConfigSchema.parse({
    service: { name: "gateway" },
    http: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    auth: keys.auth,
    upstreams: { ledger: { address: `127.0.0.1:${port}`, deadlineMs: 1_000, services: [ReportingService.typeName] } },
    log: { level: "silent" },
    shutdown: { graceMs: 500 },
    cors: { allowedOrigins: [] },
  });
  const gateway = await build(config, { log: silent });
  try {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/reports/snapshots/${snapshot.id}.csv`, { headers: reader(keys) });
    t.is(res.status, 503);
    t.is(((await res.json()) as { reason: string }).reason, "DEPENDENCY_UNAVAILABLE");
  } finally {
    await gateway.stop();
  }
});

test.serial("pages are fetched only as fast as the client reads (backpressure)", async (t) => {
  const { keys, snapshot, ledgerPort, exportCalls } = t.context;
  const client = createServiceClient(ReportingService, { address: `127.0.0.1:${ledgerPort}`, deadlineMs: 5_000 } as never);
  const endpoint = createReportCsvEndpoint(client, silent, { pageBytes: 64 * 1024 });
  // A response whose buffer is always full: every write asks the writer to wait for "drain".
  const written: Buffer[] = [];
  let ended = false;
  const res = Object.assign(new EventEmitter(), {
    statusCode: 0,
    headersSent: false,
    headers: {} as Record<string, unknown>,
    setHeader(name: string, value: unknown) { this.headers[name.toLowerCase()] = value; },
    write(chunk: Uint8Array) { written.push(Buffer.from(chunk)); this.headersSent = true; return false; },
    end() { ended = true; },
    destroy() { ended = true; },
  });
  const req = { url: `/v1/reports/snapshots/${snapshot.id}.csv`, method: "GET", headers: reader(keys) };
  try {
    exportCalls.n = 0;
    t.true(endpoint(req as never, res as never));
    const settle = () => sleep(150);
    // A page may take longer than a settle on a loaded machine: wait for it,
    // then give the endpoint a settle more in which it must not fetch ahead.
    const pageWritten = async (n: number) => {
      for (const deadline = Date.now() + 10_000; written.length < n && Date.now() < deadline;) await sleep(10);
      await settle();
    };
    for (let i = 1; i <= 3; i++) {
      await pageWritten(i);
      t.is(written.length, i, "one page written");
      t.is(exportCalls.n, i, "the next page is not fetched before the client drained the last one");
      res.emit("drain");
    }
    while (!ended) {
      await settle();
      res.emit("drain");
    }
    t.is(res.statusCode, 200);
    t.is(createHash("sha256").update(Buffer.concat(written)).digest("hex"), snapshot.metadata.contentSha256);
    t.is(exportCalls.n, written.length);
  } finally {
    client.close();
  }
});
