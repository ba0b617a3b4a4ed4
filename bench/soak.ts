// Soak benchmark: a bounded, paced mixed load through the gateway, with the
// processes' own memory and event-loop figures per sample window next to the
// throughput and latency the clients see.
//
// Fleet and the gateway run as separate processes from the compiled output
// (authentication on, on free ports, a database of their own); the load
// generator runs here. First a short unpaced phase measures peak QPS; then
// the load runs at SOAK_LOAD (0.7) of that peak for SOAK_MINUTES, and at the
// end the peak is measured again (the machine is shared: a lower peak at the
// end shows outside load). Each window reports, per process, what it exposes
// on its ops port /metrics (prom-client defaults): process_resident_memory_bytes,
// nodejs_heap_size_used_bytes / _total_bytes, nodejs_eventloop_lag_p50/p99_seconds
// (prom-client resets the event-loop histogram on every scrape, and only this
// benchmark scrapes, so each window's figures cover that window only).
//
// Mix (16 callers, half Connect JSON over HTTP/1.1, half gRPC over HTTP/2):
// 60 % GetVehicle, 25 % ListVehicles (20 per page), 15 % RecordOdometerReading.
//
//   npm run bench -- soak
//   SOAK_MINUTES=20 SOAK_WARMUP_MINUTES=3 SOAK_LOAD=0.7 npm run bench -- soak
//   SOAK_NODE_OPTIONS="--max-old-space-size=256" SOAK_MALLOC_ARENA_MAX=2 npm run bench -- soak
//
// Settings (environment):
//   SOAK_MINUTES (20)           windows at the paced load
//   SOAK_WINDOW_SECONDS (60)    length of a window ("minute"); shorter for quick comparisons
//   SOAK_WARMUP_MINUTES (3)     windows excluded from the RSS-growth and p99-drift goals
//   SOAK_LOAD (0.7)             share of the measured peak QPS
//   SOAK_RATE                   a fixed QPS instead (comparing settings side by side)
//   SOAK_PEAK_SECONDS (20)      length of each peak measurement
//   SOAK_CONCURRENCY (16)       concurrent callers
//   SOAK_NODE_OPTIONS           Node flags of both processes (e.g. heap limits);
//   SOAK_GATEWAY_NODE_OPTIONS,  ... or per process (these win)
//   SOAK_FLEET_NODE_OPTIONS
//   SOAK_MALLOC_ARENA_MAX       glibc malloc arenas of both processes (unset = glibc's default, 8 x cores)
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { FleetService } from "../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { repoRoot } from "../services/platform/src/db.js";
import { createTestDatabase, createTestKeys } from "../services/platform/src/testing/harness.js";

const num = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const minutes = num("SOAK_MINUTES", 20);
const windowSeconds = num("SOAK_WINDOW_SECONDS", 60);
const warmupMinutes = Math.min(num("SOAK_WARMUP_MINUTES", 3), minutes - 1);
const loadShare = num("SOAK_LOAD", 0.7);
const peakSeconds = num("SOAK_PEAK_SECONDS", 20);
const concurrency = num("SOAK_CONCURRENCY", 16);
const fixedRate = process.env["SOAK_RATE"] === undefined ? undefined : num("SOAK_RATE", 1);
const VEHICLES = 256;
const GOAL_RSS_GROWTH = 0.1;
const GOAL_P99_DRIFT = 0.2;

const nodeOptionsOf = (proc: "GATEWAY" | "FLEET"): string =>
  process.env[`SOAK_${proc}_NODE_OPTIONS`] ?? process.env["SOAK_NODE_OPTIONS"] ?? "";
const arenas = process.env["SOAK_MALLOC_ARENA_MAX"];

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function start(name: string, entry: string, nodeOptions: string, env: Record<string, string>): ChildProcess {
  // NODE_OPTIONS and MALLOC_ARENA_MAX as the chart sets them in the container's environment.
  const own: Record<string, string> = { ...env, NODE_OPTIONS: nodeOptions };
  if (arenas !== undefined) own["MALLOC_ARENA_MAX"] = arenas;
  const child = spawn(process.execPath, [resolve(repoRoot, entry)], {
    cwd: repoRoot,
    env: { ...process.env, ...own },
    stdio: ["ignore", "ignore", "inherit"],
  });
  child.once("exit", (code) => {
    if (code !== null && code !== 0) process.stderr.write(`${name} exited with ${code}\n`);
  });
  return child;
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never became ready`);
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

interface ProcessSample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly lagP50: number;
  readonly lagP99: number;
  /** CPU milliseconds per request in the window (from /proc: robust to the machine's other load, unlike QPS). */
  cpuPerRequest: number;
}

/** The process's own figures from its ops port /metrics (bytes, seconds). */
async function scrape(opsPort: number): Promise<ProcessSample> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  const value = (name: string, label = ""): number => {
    const line = text.split("\n").find((l) => l.startsWith(name) && (l[name.length] === " " || l[name.length] === "{") && l.includes(label));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : Number.NaN;
  };
  return {
    rss: value("process_resident_memory_bytes"),
    heapUsed: value("nodejs_heap_size_used_bytes"),
    heapTotal: value("nodejs_heap_size_total_bytes"),
    lagP50: value("nodejs_eventloop_lag_p50_seconds"),
    lagP99: value("nodejs_eventloop_lag_p99_seconds"),
    cpuPerRequest: Number.NaN,
  };
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

type Call = (worker: number) => Promise<unknown>;

interface LoadResult {
  readonly requests: number;
  readonly qps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly firstError?: string;
}

/**
 * Runs the callers for `seconds`; with `rate`, requests are paced to that many
 * per second overall (a shared schedule; a caller behind schedule does not
 * wait, so a slow window shows as lower QPS, not as hidden queueing).
 */
async function load(call: Call, seconds: number, rate?: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let slot = 0;
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      if (rate !== undefined) {
        const due = started + (slot++ * 1000) / rate;
        if (due >= deadline) return;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      } else if (performance.now() >= deadline) return;
      const t0 = performance.now();
      try {
        await call(w);
        latencies.push(performance.now() - t0);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, qps: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors, ...(firstError ? { firstError } : {}) };
}

interface Window {
  readonly minute: number;
  readonly load: LoadResult;
  readonly gateway: ProcessSample;
  readonly fleet: ProcessSample;
  readonly loadAvg: number;
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);
const ms = (seconds: number): string => (seconds * 1000).toFixed(1);
const pct = (x: number): string => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
const row = (cells: readonly (string | number)[]): string => `| ${cells.join(" | ")} |`;

function printWindow(w: Window, header: boolean): void {
  if (header) {
    console.log(row(["min", "QPS", "p50 ms", "p99 ms", "errors", "gw RSS MB", "gw heap used/total MB", "gw loop p50/p99 ms", "gw CPU ms/req", "fleet RSS MB", "fleet heap used/total MB", "fleet loop p50/p99 ms", "fleet CPU ms/req", "load avg 1m"]));
    console.log(row(["---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]));
  }
  const proc = (s: ProcessSample) => [mb(s.rss), `${mb(s.heapUsed)}/${mb(s.heapTotal)}`, `${ms(s.lagP50)}/${ms(s.lagP99)}`, s.cpuPerRequest.toFixed(2)];
  console.log(row([w.minute, w.load.qps.toFixed(0), w.load.p50.toFixed(1), w.load.p99.toFixed(1), w.load.errors, ...proc(w.gateway), ...proc(w.fleet), w.loadAvg.toFixed(2)]));
}

async function main(): Promise<void> {
  const db = await createTestDatabase("fleet", "migrations/fleet");
  // A PostgreSQL restart must not end a 20-minute run: the harness's idle admin
  // connection is not used after the set-up (fleet itself reconnects).
  db.admin.on("error", (err) => process.stderr.write(`soak: the test database's admin connection: ${err.message}\n`));
  const keys = createTestKeys();
  const [fleetPort, fleetOps, gatewayPort, gatewayOps] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const common = {
    FLEETMESH__AUTH__ISSUER: keys.auth.issuer,
    FLEETMESH__AUTH__AUDIENCE: keys.auth.audience,
    FLEETMESH__AUTH__JWKS_FILE: keys.auth.jwksFile,
    FLEETMESH__LOG__LEVEL: "warn",
  };
  const fleet = start("fleet", "dist/services/fleet/src/main.js", nodeOptionsOf("FLEET"), {
    ...common,
    FLEETMESH__GRPC__PORT: String(fleetPort),
    FLEETMESH__OPS__PORT: String(fleetOps),
    FLEETMESH__DATABASE__HOST: db.config.host,
    FLEETMESH__DATABASE__PORT: String(db.config.port),
    FLEETMESH__DATABASE__DATABASE: db.config.database,
    FLEETMESH__DATABASE__USER: db.config.user,
    FLEETMESH__DATABASE__PASSWORD: db.config.password,
    // Events stay in the outbox: the benchmark must not publish to the shared Kafka.
    FLEETMESH__KAFKA__ENABLED: "false",
  });
  const gateway = start("gateway", "dist/gateway/src/main.js", nodeOptionsOf("GATEWAY"), {
    ...common,
    FLEETMESH__HTTP__PORT: String(gatewayPort),
    FLEETMESH__OPS__PORT: String(gatewayOps),
    FLEETMESH__UPSTREAMS__FLEET__ADDRESS: `127.0.0.1:${fleetPort}`,
    FLEETMESH__UPSTREAMS__IDENTITY__ENABLED: "false",
  });
  // Never leave the two processes behind, whatever ends this one.
  const stopChildren = () => { for (const child of [gateway, fleet]) child.kill("SIGTERM"); };
  process.once("exit", stopChildren);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => { stopChildren(); process.exit(130); });
  try {
    await waitReady(fleetOps);
    await waitReady(gatewayOps);
    const token = keys.token({ permissions: ["vehicles.read", "vehicles.register", "vehicles.record_odometer"] }, { expiresIn: 6 * 3600 });
    const headers = { authorization: `Bearer ${token}` };
    const baseUrl = `http://127.0.0.1:${gatewayPort}`;
    const clients: Array<Client<typeof FleetService>> = [
      createClient(FleetService, createConnectTransport({ baseUrl, httpVersion: "1.1" })),
      createClient(FleetService, createGrpcTransport({ baseUrl })),
    ];
    const ids: string[] = [];
    for (let i = 0; i < VEHICLES; i++) {
      const { vehicle } = await clients[0]!.registerVehicle({ plateNumber: `SOAK-${i}`, attributes: { make: "Soak", model: "Mark" } }, { headers });
      ids.push(vehicle!.id);
    }
    // Each caller writes only its own vehicles, in order, so readings never decrease.
    const odometer = new Map<string, number>(ids.map((id) => [id, 0]));
    const ownOf = Array.from({ length: concurrency }, (_, w) => ids.filter((_, i) => i % concurrency === w));
    let n = 0;
    const call: Call = (w) => {
      const client = clients[w % 2]!;
      const k = n++;
      const pick = k % 20;
      if (pick < 12) return client.getVehicle({ vehicleId: ids[k % VEHICLES]! }, { headers });
      if (pick < 17) return client.listVehicles({ page: { pageSize: 20 } }, { headers });
      const own = ownOf[w]!;
      const id = own[k % own.length]!;
      const km = odometer.get(id)! + 1;
      odometer.set(id, km);
      return client.recordOdometerReading({ vehicleId: id, readingKm: km }, { headers });
    };

    console.log(`\nSoak through the gateway: ${concurrency} callers (half Connect JSON/HTTP 1.1, half gRPC), 60% GetVehicle, 25% ListVehicles, 15% RecordOdometerReading; node ${process.version}`);
    console.log(`memory settings: gateway NODE_OPTIONS="${nodeOptionsOf("GATEWAY")}", fleet NODE_OPTIONS="${nodeOptionsOf("FLEET")}", MALLOC_ARENA_MAX=${arenas ?? "unset"}`);
    // Warm-up of JIT, pools and connections, then the peak.
    await load(call, 5);
    const peak = await load(call, peakSeconds);
    const rate = fixedRate ?? peak.qps * loadShare;
    if (peak.firstError) console.log(`first error at peak: ${peak.firstError}`);
    console.log(`peak: ${peak.qps.toFixed(0)} QPS (p99 ${peak.p99.toFixed(1)} ms, ${peak.errors} errors) over ${peakSeconds}s -> paced at ${rate.toFixed(0)} QPS (${fixedRate === undefined ? `${(loadShare * 100).toFixed(0)}%` : "SOAK_RATE"}) for ${minutes} x ${windowSeconds}s\n`);

    await Promise.all([scrape(gatewayOps), scrape(fleetOps)]); // resets the event-loop histograms
    const windows: Window[] = [];
    for (let minute = 1; minute <= minutes; minute++) {
      const cpuBefore = [cpuSecondsOf(gateway.pid), cpuSecondsOf(fleet.pid)];
      const result = await load(call, windowSeconds, rate);
      const [g, f] = await Promise.all([scrape(gatewayOps), scrape(fleetOps)]);
      g.cpuPerRequest = ((cpuSecondsOf(gateway.pid) - cpuBefore[0]!) * 1000) / Math.max(1, result.requests + result.errors);
      f.cpuPerRequest = ((cpuSecondsOf(fleet.pid) - cpuBefore[1]!) * 1000) / Math.max(1, result.requests + result.errors);
      const w: Window = { minute, load: result, gateway: g, fleet: f, loadAvg: loadavg()[0]! };
      windows.push(w);
      printWindow(w, minute === 1);
      if (result.firstError) console.log(`   first error: ${result.firstError}`);
    }
    const peakAfter = await load(call, peakSeconds);

    // Goals, on the windows after the warm-up.
    const steady = windows.slice(warmupMinutes);
    const third = Math.max(1, Math.min(3, Math.floor(steady.length / 3)));
    const growth = (proc: "gateway" | "fleet") => {
      const first = steady[0]![proc].rss;
      const last = steady.at(-1)![proc].rss;
      const max = Math.max(...steady.map((w) => w[proc].rss));
      return { first, last, max, growth: (last - first) / first, maxGrowth: (max - first) / first };
    };
    const p99Early = median(steady.slice(0, third).map((w) => w.load.p99));
    const p99Late = median(steady.slice(-third).map((w) => w.load.p99));
    const drift = (p99Late - p99Early) / p99Early;
    const errors = windows.reduce((s, w) => s + w.load.errors, 0);
    console.log("(loop: the event-loop delay as prom-client samples it every 10 ms, the 10 ms included: 10.5 means 0.5 ms late)");
    console.log(`\nSummary (warm-up: the first ${warmupMinutes} windows excluded; ${steady.length} windows of ${windowSeconds}s after it):`);
    for (const proc of ["gateway", "fleet"] as const) {
      const g = growth(proc);
      console.log(`  ${proc.padEnd(7)} RSS ${mb(g.first)} -> ${mb(g.last)} MB (max ${mb(g.max)}): growth ${pct(g.growth)} (max ${pct(g.maxGrowth)}), goal < ${GOAL_RSS_GROWTH * 100}% -> ${Math.max(g.growth, g.maxGrowth) < GOAL_RSS_GROWTH ? "MET" : "NOT MET"}`);
    }
    console.log(`  p99     median of the first ${third} windows ${p99Early.toFixed(1)} ms -> of the last ${third} ${p99Late.toFixed(1)} ms: drift ${pct(drift)}, goal < ${GOAL_P99_DRIFT * 100}% -> ${drift < GOAL_P99_DRIFT ? "MET" : "NOT MET"}`);
    console.log(`  CPU     per request, median: gateway ${median(steady.map((w) => w.gateway.cpuPerRequest)).toFixed(2)} ms, fleet ${median(steady.map((w) => w.fleet.cpuPerRequest)).toFixed(2)} ms`);
    console.log(`  QPS     paced at ${rate.toFixed(0)}; achieved median ${median(steady.map((w) => w.load.qps)).toFixed(0)}; ${errors} errors in ${windows.reduce((s, w) => s + w.load.requests, 0)} requests`);
    console.log(`  peak    before ${peak.qps.toFixed(0)} QPS (p99 ${peak.p99.toFixed(1)} ms), after ${peakAfter.qps.toFixed(0)} QPS (p99 ${peakAfter.p99.toFixed(1)} ms): ${pct(peakAfter.qps / peak.qps - 1)} (outside load on the shared machine lowers it)`);
    console.log(`  load avg (1 min) median ${median(windows.map((w) => w.loadAvg)).toFixed(2)}, min ${Math.min(...windows.map((w) => w.loadAvg)).toFixed(2)}, max ${Math.max(...windows.map((w) => w.loadAvg)).toFixed(2)} on ${(await import("node:os")).availableParallelism()} cores`);
  } finally {
    stopChildren();
    await new Promise((r) => setTimeout(r, 1000));
    await db.drop().catch((err: unknown) => process.stderr.write(`soak: could not drop ${db.config.database}: ${(err as Error).message}\n`));
  }
}

await main();
