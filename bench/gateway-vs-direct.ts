// Benchmark: GetVehicle through the gateway, per protocol (Connect JSON and
// Connect binary over HTTP/1.1, gRPC over HTTP/2, gRPC-web binary and text
// over HTTP/1.1), next to a direct grpc-js call to fleet, in the same run,
// against the same processes and database.
//
// Fleet and the gateway run as separate processes from the compiled output,
// with authentication on; the load generator runs here. Phases alternate
// (direct, gateway paths, direct, gateway paths, ...) so that drift on a noisy
// machine hits every path alike; each path's ratio to direct is taken against
// the direct phase of the same round, and the tables report medians over rounds.
//
//   npm run bench            (scripts/bench.sh starts what it needs)
//   BENCH_SECONDS=3 BENCH_ROUNDS=4 BENCH_CONCURRENCY=32 npm run bench
//   BENCH_PATHS=gRPC,text npm run bench     (the baseline and matching paths only)
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { FleetService } from "../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { createGrpcWebTextClient, envelope, parseFrames } from "../gateway/test/grpc-web-text-client.js";
import { repoRoot } from "../services/platform/src/db.js";
import { createServiceClient } from "../services/platform/src/grpc/client.js";
import { createTestDatabase, createTestKeys } from "../services/platform/src/testing/harness.js";
import { browserLikeClient, waitReady } from "./lib/http.js";
import { cpuSecondsOf } from "./lib/machine.js";
import { median, tableRow as line } from "./lib/stats.js";

const seconds = Number(process.env["BENCH_SECONDS"] ?? 3);
const rounds = Number(process.env["BENCH_ROUNDS"] ?? 4);
const concurrency = Number(process.env["BENCH_CONCURRENCY"] ?? 32);
const FLEET_PORT = 50_161;
const FLEET_OPS = 9_561;
const GATEWAY_PORT = 8_180;
const GATEWAY_OPS = 9_560;

/** CPU seconds of each PostgreSQL backend connected to the benchmark's database. */
type BackendCpu = ReadonlyMap<number, number>;

/**
 * CPU of the PostgreSQL backends serving the benchmark's database only: the
 * server is shared, and other users' queries must not count. A backend that
 * connected during the phase counts whole.
 */
const postgresCpuSeconds = (before: BackendCpu, after: BackendCpu): number =>
  [...after].reduce((sum, [pid, cpu]) => sum + cpu - (before.get(pid) ?? 0), 0);

interface CpuSample {
  readonly bench: number;
  readonly gateway: number;
  readonly fleet: number;
  readonly postgres: number;
}

interface Pids {
  readonly fleet: number;
  readonly gateway: number;
  /** The PostgreSQL backends connected to the benchmark's database now, with their CPU seconds. */
  readonly backends: () => Promise<BackendCpu>;
}

interface ProcessCpu {
  readonly bench: number;
  readonly gateway: number;
  readonly fleet: number;
  readonly backends: BackendCpu;
}

const sampleCpu = async (processes: Pids): Promise<ProcessCpu> => ({
  bench: cpuSecondsOf(process.pid),
  gateway: cpuSecondsOf(processes.gateway),
  fleet: cpuSecondsOf(processes.fleet),
  backends: await processes.backends(),
});

interface PhaseResult {
  /** CPU microseconds per request, by process. */
  readonly cpuPerRequest: CpuSample;
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

async function runPhase(call: () => Promise<unknown>, pids: Pids): Promise<PhaseResult> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        await call();
        latencies.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  const cpuBefore = await sampleCpu(pids);
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = await sampleCpu(pids);
  const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(1, latencies.length);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  return {
    qps: latencies.length / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    errors,
    cpuPerRequest: {
      bench: perRequest(cpuAfter.bench - cpuBefore.bench),
      gateway: perRequest(cpuAfter.gateway - cpuBefore.gateway),
      fleet: perRequest(cpuAfter.fleet - cpuBefore.fleet),
      postgres: perRequest(postgresCpuSeconds(cpuBefore.backends, cpuAfter.backends)),
    },
  };
}

function start(name: string, entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [resolve(repoRoot, entry)], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  child.once("exit", (code) => {
    if (code !== null && code !== 0) process.stderr.write(`${name} exited with ${code}\n`);
  });
  return child;
}

async function main(): Promise<void> {
  const db = await createTestDatabase("fleet", "migrations/fleet");
  const keys = createTestKeys();
  const authEnv = {
    FLEETMESH__AUTH__ISSUER: keys.auth.issuer,
    FLEETMESH__AUTH__AUDIENCE: keys.auth.audience,
    FLEETMESH__AUTH__JWKS_FILE: keys.auth.jwksFile,
    FLEETMESH__LOG__LEVEL: "warn",
  };
  const fleet = start("fleet", "dist/services/fleet/src/main.js", {
    ...authEnv,
    FLEETMESH__GRPC__PORT: String(FLEET_PORT),
    FLEETMESH__OPS__PORT: String(FLEET_OPS),
    FLEETMESH__DATABASE__HOST: db.config.host,
    FLEETMESH__DATABASE__PORT: String(db.config.port),
    FLEETMESH__DATABASE__DATABASE: db.config.database,
    FLEETMESH__DATABASE__USER: db.config.user,
    FLEETMESH__DATABASE__PASSWORD: db.config.password,
    FLEETMESH__DATABASE__POOL_MAX: "16",
    // Connections stay open between phases: a reconnect (SCRAM) would be charged to the next phase.
    FLEETMESH__DATABASE__POOL_MIN: "16",
  });
  const gateway = start("gateway", "dist/gateway/src/main.js", {
    ...authEnv,
    FLEETMESH__HTTP__PORT: String(GATEWAY_PORT),
    FLEETMESH__OPS__PORT: String(GATEWAY_OPS),
    FLEETMESH__UPSTREAMS__FLEET__ADDRESS: `127.0.0.1:${FLEET_PORT}`,
    FLEETMESH__UPSTREAMS__IDENTITY__ENABLED: "false",
  });
  // The same pair with authentication and authorization off, for the cost of auth.
  const noAuth = { FLEETMESH__AUTH__ENABLED: "false" };
  const fleetNoAuth = start("fleet (auth off)", "dist/services/fleet/src/main.js", {
    ...authEnv,
    ...noAuth,
    FLEETMESH__GRPC__PORT: String(FLEET_PORT + 10),
    FLEETMESH__OPS__PORT: String(FLEET_OPS + 10),
    FLEETMESH__DATABASE__HOST: db.config.host,
    FLEETMESH__DATABASE__PORT: String(db.config.port),
    FLEETMESH__DATABASE__DATABASE: db.config.database,
    FLEETMESH__DATABASE__USER: db.config.user,
    FLEETMESH__DATABASE__PASSWORD: db.config.password,
    FLEETMESH__DATABASE__POOL_MAX: "16",
    // Connections stay open between phases: a reconnect (SCRAM) would be charged to the next phase.
    FLEETMESH__DATABASE__POOL_MIN: "16",
  });
  const gatewayNoAuth = start("gateway (auth off)", "dist/gateway/src/main.js", {
    ...authEnv,
    ...noAuth,
    FLEETMESH__HTTP__PORT: String(GATEWAY_PORT + 10),
    FLEETMESH__OPS__PORT: String(GATEWAY_OPS + 10),
    FLEETMESH__UPSTREAMS__FLEET__ADDRESS: `127.0.0.1:${FLEET_PORT + 10}`,
    FLEETMESH__UPSTREAMS__IDENTITY__ENABLED: "false",
  });
  // The sampling query's own backend is left out.
  const backends = async (): Promise<BackendCpu> => {
    const { rows } = await db.admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [db.config.database]);
    return new Map(rows.map((r) => [r.pid, cpuSecondsOf(r.pid)]));
  };
  const withAuth: Pids = { fleet: fleet.pid ?? 0, gateway: gateway.pid ?? 0, backends };
  const withoutAuth: Pids = { fleet: fleetNoAuth.pid ?? 0, gateway: gatewayNoAuth.pid ?? 0, backends };
  try {
    for (const port of [FLEET_OPS, GATEWAY_OPS, FLEET_OPS + 10, GATEWAY_OPS + 10]) await waitReady(port);
    const token = keys.token({ permissions: ["vehicles.read", "vehicles.register"] }, { expiresIn: 3600 });
    const headers = { authorization: `Bearer ${token}` };
    const direct = createServiceClient(FleetService, { address: `127.0.0.1:${FLEET_PORT}`, deadlineMs: 5_000 });
    const { vehicle } = await direct.registerVehicle({ plateNumber: "BENCH-1", attributes: { make: "Bench", model: "Mark" } }, { headers });
    const vehicleId = vehicle!.id;
    const gatewayUrl = `http://127.0.0.1:${GATEWAY_PORT}`;
    const via = (transport: Parameters<typeof createClient>[1]): Client<typeof FleetService> => createClient(FleetService, transport);
    const getVehicle = FleetService.method.getVehicle;
    const getVehiclePath = `/${FleetService.typeName}/${getVehicle.name}`;
    const browser = browserLikeClient(gatewayUrl, concurrency);
    const refuse = (what: string, status: number): never => {
      throw new Error(`${what}: HTTP ${status}`);
    };
    // Each client encodes the request and decodes the response, as a real one would.
    const connectJson = async () => {
      const res = await browser.post(getVehiclePath, "application/json", toJsonString(getVehicle.input, create(getVehicle.input, { vehicleId })), headers);
      return res.status === 200 ? fromJsonString(getVehicle.output, res.body.toString("utf8")) : refuse("Connect JSON", res.status);
    };
    const connectBinary = async () => {
      const res = await browser.post(getVehiclePath, "application/proto", toBinary(getVehicle.input, create(getVehicle.input, { vehicleId })), headers);
      return res.status === 200 ? fromBinary(getVehicle.output, res.body) : refuse("Connect binary", res.status);
    };
    const grpcWeb = async () => {
      const res = await browser.post(getVehiclePath, "application/grpc-web+proto", envelope(0, toBinary(getVehicle.input, create(getVehicle.input, { vehicleId }))), headers);
      const { messages, trailer } = parseFrames(res.body);
      return trailer.get("grpc-status") === "0" && messages.length === 1 ? fromBinary(getVehicle.output, messages[0]!) : refuse(`gRPC-web ${trailer.get("grpc-status")}`, res.status);
    };
    const grpcWebText = createGrpcWebTextClient(gatewayUrl);
    // The same grpc-js client as the baseline, pointed at the gateway.
    const grpcJsViaGateway = createServiceClient(FleetService, { address: `127.0.0.1:${GATEWAY_PORT}`, deadlineMs: 5_000 });
    // connect-node's transports, as the earlier runs of this benchmark used them.
    const connectNodeJson = via(createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1", useBinaryFormat: false }));
    const connectNodeGrpc = via(createGrpcTransport({ baseUrl: gatewayUrl }));
    const connectJsonNoAuth = via(createConnectTransport({ baseUrl: `http://127.0.0.1:${GATEWAY_PORT + 10}`, httpVersion: "1.1", useBinaryFormat: false }));
    const allPaths: Array<[string, () => Promise<unknown>, Pids]> = [
      ["direct grpc-js -> fleet (baseline)", () => direct.getVehicle({ vehicleId }, { headers }), withAuth],
      ["gateway, Connect JSON over HTTP/1.1", connectJson, withAuth],
      ["gateway, Connect binary over HTTP/1.1", connectBinary, withAuth],
      ["gateway, gRPC over HTTP/2 (grpc-js client)", () => grpcJsViaGateway.getVehicle({ vehicleId }, { headers }), withAuth],
      ["gateway, gRPC-web binary over HTTP/1.1", grpcWeb, withAuth],
      ["gateway, gRPC-web text over HTTP/1.1", () => grpcWebText.unary(getVehicle, { vehicleId }, headers), withAuth],
      ["gateway, Connect JSON, connect-node client", () => connectNodeJson.getVehicle({ vehicleId }, { headers }), withAuth],
      ["gateway, gRPC, connect-node client", () => connectNodeGrpc.getVehicle({ vehicleId }, { headers }), withAuth],
      ["gateway, Connect JSON, connect-node client, auth off", () => connectJsonNoAuth.getVehicle({ vehicleId }), withoutAuth],
    ];
    // BENCH_PATHS=gRPC,text runs the baseline and the paths whose names contain one of the words.
    const only = process.env["BENCH_PATHS"]?.split(",").filter(Boolean);
    const paths = only ? allPaths.filter(([name], i) => i === 0 || only.some((w) => name.includes(w))) : allPaths;
    // Warm-up: JIT, pools, connections.
    for (const [, call] of paths) for (let i = 0; i < 300; i++) await call();

    // Each gateway phase sits between two direct phases, and its ratio is
    // taken against their mean: on a shared machine the load drifts within
    // seconds, so a baseline measured a minute earlier would not do.
    const [baselineName, directCall, directPids] = paths[0]!;
    const results = new Map<string, PhaseResult[]>(paths.map(([name]) => [name, []]));
    const ratios = new Map<string, number[]>(paths.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      let before = await runPhase(directCall, directPids);
      results.get(baselineName)!.push(before);
      for (const [name, call, pids] of paths.slice(1)) {
        const result = await runPhase(call, pids);
        const after = await runPhase(directCall, directPids);
        results.get(name)!.push(result);
        results.get(baselineName)!.push(after);
        ratios.get(name)!.push(result.qps / ((before.qps + after.qps) / 2));
        before = after;
      }
    }
    const rows = paths.map(([name], i) => {
      const rs = results.get(name)!;
      return {
        name,
        qps: median(rs.map((r) => r.qps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        errors: rs.reduce((n, r) => n + r.errors, 0),
        ratio: i === 0 ? 1 : median(ratios.get(name)!),
        cpu: (["bench", "gateway", "fleet", "postgres"] as const).map((k) => median(rs.map((r) => r.cpuPerRequest[k]))),
      };
    });
    console.log(`\nGetVehicle, ${concurrency} concurrent callers, ${rounds} rounds x ${seconds}s per path, direct between every two (medians), auth on, node ${process.version}\n`);
    console.log(line(["path", "QPS", "p50 ms", "p99 ms", "errors", "QPS vs direct"]));
    console.log(line(["---", "---:", "---:", "---:", "---:", "---:"]));
    for (const r of rows) {
      console.log(line([r.name, r.qps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), String(r.errors), `${(r.ratio * 100).toFixed(0)}%`]));
    }
    console.log(`\nCPU per request (microseconds, median over rounds; the machine has ${(await import("node:os")).availableParallelism()} cores):\n`);
    // If these four processes had the cores to themselves and kept them busy,
    // QPS would be inversely proportional to the CPU per request: the last
    // column is the QPS ratio a quiet machine would show, whatever else runs here.
    const totalCpu = (cpu: readonly number[]) => cpu.reduce((a, b) => a + b, 0);
    const directCpu = totalCpu(rows[0]!.cpu);
    console.log(line(["path", "load generator", "gateway", "fleet", "postgres", "total", "CPU per request, direct / path"]));
    console.log(line(["---", "---:", "---:", "---:", "---:", "---:", "---:"]));
    for (const r of rows) {
      console.log(line([r.name, ...r.cpu.map((c) => c.toFixed(0)), totalCpu(r.cpu).toFixed(0), `${((directCpu / totalCpu(r.cpu)) * 100).toFixed(0)}%`]));
    }
    const protocols = rows.slice(1).filter((r) => !r.name.includes("auth off"));
    console.log(`\nGateway CPU per request (microseconds, median over rounds), by protocol:\n`);
    const cpuRatio = (r: (typeof rows)[number]) => directCpu / totalCpu(r.cpu);
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    console.log(line(["protocol", "gateway CPU us/request", "QPS vs direct", "CPU per request, direct / path"]));
    console.log(line(["---", "---:", "---:", "---:"]));
    for (const r of protocols) console.log(line([r.name.replace(/^gateway, /, ""), r.cpu[1]!.toFixed(0), pct(r.ratio), pct(cpuRatio(r))]));
    console.log("");
    const verdict = (x: number) => (x >= 0.5 ? "MET" : `NOT MET (short by ${((0.5 - x) * 100).toFixed(0)} points)`);
    for (const r of protocols) {
      console.log(`Goal: ${r.name} >= 50% of direct -> QPS ${pct(r.ratio)} ${verdict(r.ratio)}; CPU ${pct(cpuRatio(r))} ${verdict(cpuRatio(r))}`);
    }
    const withAuthJson = rows.find((r) => r.name === "gateway, Connect JSON, connect-node client");
    const withoutAuthJson = rows.find((r) => r.name.includes("auth off"));
    if (withAuthJson && withoutAuthJson) {
      const authCost = 1 - withAuthJson.qps / withoutAuthJson.qps;
      console.log(`Goal: authentication + authorization cost <= 10% of gateway QPS -> ${(authCost * 100).toFixed(1)}% ${authCost <= 0.1 ? "MET" : "NOT MET"}`);
    }
    grpcWebText.close();
    browser.close();
    grpcJsViaGateway.close();
    direct.close();
  } finally {
    for (const child of [gateway, fleet, gatewayNoAuth, fleetNoAuth]) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await db.drop();
  }
}

await main();
