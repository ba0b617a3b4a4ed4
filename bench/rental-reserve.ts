// Benchmark: ReserveRental throughput and latency, direct gRPC to rental and
// through the gateway (Connect binary over HTTP/1.1, the lane browser
// frontends use), next to pgbench running the same write transaction in SQL,
// at the same concurrency, in the same run.
//
// The mesh (identity, fleet, rental on fresh databases; startRentalWorld from
// rental's test support) runs in a child process, the gateway in another (the
// compiled gateway, as in production), and the load generator here, so the
// callers' CPU is not charged to the services' event loop.
//
// Phases per round (their order rotates every round, so drift on a shared
// machine hits every path alike; ratios are taken within a round, and the
// tables report medians over rounds):
//   pgbench  the reservation's write transaction, statement for statement as
//            rental sends it (idempotency key; the rental, its claim queued
//            on the vehicle's advisory lock, its charges and its outbox event
//            in one statement; stored response), on a
//            scratch copy of rental's schema; each transaction books a fresh
//            slot (pgbench 15 aborts a client on an error).
//   direct   ReserveRental over gRPC with an idempotency-key, fresh slots on
//            the cold vehicles, so every request succeeds.
//   gateway  the same through the gateway, Connect binary (application/proto).
// and then, on a fresh window of the hot vehicles, 64 clients reserving random
// overlapping periods, direct and through the gateway: every request is an
// answer (a refusal VEHICLE_NOT_AVAILABLE included); then the same 64 clients
// paced: calls start on a fixed schedule at half the rate at which that path
// sustained reservations that round (BENCH_HOT_PACED_SHARE), latency from
// each call's scheduled start. After every phase the timeline is checked in
// SQL; any overlap fails the run.
//
//   npm run bench -- rental
//   BENCH_SECONDS=10 BENCH_ROUNDS=3 BENCH_CONCURRENCY=16 BENCH_HOT_CLIENTS=64 BENCH_HOT_PACED_SHARE=0.5 npm run bench -- rental
//   BENCH_PATHS=ghz BENCH_HOT_CLIENTS=0   only the ghz path, no hot phase (for a profile)
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import pg from "pg";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { RentalService } from "../gen/fleetmesh/rental/v1/rental_service_pb.js";
import type { DatabaseConfig } from "../services/platform/src/config.js";
import { repoRoot } from "../services/platform/src/db.js";
import { createServiceClient, GrpcCallError } from "../services/platform/src/grpc/client.js";
import { findDetail } from "../services/platform/src/grpc/status.js";
import { createTestDatabase, type TestKeys } from "../services/platform/src/testing/harness.js";
import { browserLikeClient, freePort, waitReady } from "./lib/http.js";
import { closedLoop, pacedLoop } from "./lib/load.js";
import { childCpuSecondsOf, coresAndModel, cpuSecondsOf, cpuSecondsOfUsage, loadAverage, postgresCpuSeconds } from "./lib/machine.js";
import { ghzAvailable, ghzPath, runGhz } from "./lib/ghz.js";
import { isMeshHost, loopDelayMonitor, serveWorld, startMeshHost, type LoopDelay } from "./lib/mesh-host.js";
import { fmt, markdownTable, median, percentile, rotated } from "./lib/stats.js";

const seconds = Number(process.env["BENCH_SECONDS"] ?? 10);
const rounds = Number(process.env["BENCH_ROUNDS"] ?? 3);
const concurrency = Number(process.env["BENCH_CONCURRENCY"] ?? 16);
const hotClients = Number(process.env["BENCH_HOT_CLIENTS"] ?? 64);
/** The paced hot phase's rate as a share of the path's fresh-slot reservation rate (0: no paced phase). */
const pacedShare = Number(process.env["BENCH_HOT_PACED_SHARE"] ?? 0.5);
/** BENCH_PATHS="ghz,gateway": only the paths whose names contain one of these (pgbench always runs). */
const chosenPaths = (process.env["BENCH_PATHS"] ?? "").split(",").map((p) => p.trim()).filter(Boolean);
const chosen = (name: string): boolean => chosenPaths.length === 0 || chosenPaths.some((p) => name.includes(p));
const HOT_VEHICLES = Number(process.env["BENCH_HOT_VEHICLES"] ?? 8);
const COLD_VEHICLES = Number(process.env["BENCH_COLD_VEHICLES"] ?? 32);
const CUSTOMERS = 8;
/** A hot phase's window: random periods of 2-12 h start in its first HOT_WINDOW_HOURS. */
const HOT_WINDOW_HOURS = 14 * 24;
const HOUR = 3_600_000;
const PGBENCH = process.env["PGBENCH"] ?? "/usr/lib/postgresql/15/bin/pgbench";
/** pgbench's protocol: prepared, as the kit's db.query sends statements; BENCH_PGBENCH_MODE=extended plans every call. */
const PGBENCH_MODE = process.env["BENCH_PGBENCH_MODE"] ?? "prepared";
const AGENT = "00000000-0000-4000-8000-00000000a9e7";

/** What the mesh host hands the load generator. */
interface World {
  readonly rentalAddress: string;
  readonly fleetAddress: string;
  readonly identityAddress: string;
  readonly auth: TestKeys["auth"];
  readonly headers: Record<string, string>;
  readonly location: string;
  readonly plan: string;
  readonly customers: string[];
  readonly hot: string[];
  readonly cold: string[];
  readonly rentalDb: DatabaseConfig;
}

// ---- the mesh host (child process) -------------------------------------------

async function host(): Promise<void> {
  const { startRentalWorld } = await import("../services/rental/test/support.js");
  // Rental's pool as many connections as the callers, as pgbench has one per client.
  const world = await startRentalWorld({ rentalDatabase: { poolMax: Math.max(concurrency, Number(process.env["BENCH_POOL_MAX"] ?? 0)) } });
  const location = await world.newLocation("Europe/Berlin");
  const plan = await world.newPlan();
  const customers = await Promise.all(Array.from({ length: CUSTOMERS }, () => world.newCustomer()));
  const hot: string[] = [];
  const cold: string[] = [];
  for (let i = 0; i < HOT_VEHICLES; i++) hot.push(await world.newVehicle());
  for (let i = 0; i < COLD_VEHICLES; i++) cold.push(await world.newVehicle());
  await world.refreshVehicles();
  const { mesh } = world;
  const out: World = {
    rentalAddress: mesh.rentalAddress, fleetAddress: mesh.fleetAddress, identityAddress: mesh.identityAddress,
    auth: mesh.keys.auth, headers: world.asRole(AGENT, "rental_agent").headers,
    location, plan, customers, hot, cold, rentalDb: mesh.rentalDb.config,
  };
  await serveWorld(out, () => world.stop());
}

// ---- measurement helpers ------------------------------------------------------

interface PhaseResult {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly count: number;
  readonly outcomes: ReadonlyMap<string, number>;
  /** p99 ms of the answers that reserved ("ok") and of the refusals. */
  readonly p99By: { readonly ok: number; readonly refused: number };
  /**
   * CPU milliseconds per request: the mesh host, the gateway, the load
   * generator (this process, or the pgbench client) and PostgreSQL (every
   * backend, the pre-reads included), all on the same cores.
   */
  readonly cpu: { readonly host: number; readonly gateway: number; readonly load: number; readonly postgres: number };
  /** Event-loop delay during the phase, of the mesh host and of this process (the Node load generator). */
  readonly delays?: { readonly host: LoopDelay; readonly load: LoopDelay };
}

/** Set in main: the mesh host's and this process's event-loop delay since the last call. */
let loopDelays: () => Promise<{ host: LoopDelay; load: LoopDelay }> = () => Promise.reject(new Error("no mesh host"));

type Cpu = PhaseResult["cpu"];

const cpuLine = (c: Cpu): string =>
  `CPU ms/req: PostgreSQL ${c.postgres.toFixed(2)}, mesh host ${c.host.toFixed(2)}, gateway ${c.gateway.toFixed(2)}, load generator ${c.load.toFixed(2)}`;

/**
 * Starts counting CPU; the returned function gives it per request. A load
 * generator that runs as a child (pgbench, ghz) counts once it is reaped.
 */
function cpuMeter(pids: { host: number; gateway: number }, loadInChild: boolean): (requests: number) => Cpu {
  const host = cpuSecondsOf(pids.host);
  const gateway = cpuSecondsOf(pids.gateway);
  const postgres = postgresCpuSeconds();
  const loadOf = () => (loadInChild ? childCpuSecondsOf(process.pid) : cpuSecondsOfUsage(process.cpuUsage()));
  const load = loadOf();
  return (requests) => {
    const per = (s: number) => (s * 1000) / Math.max(1, requests);
    return {
      host: per(cpuSecondsOf(pids.host) - host), gateway: per(cpuSecondsOf(pids.gateway) - gateway),
      load: per(loadOf() - load), postgres: per(postgresCpuSeconds() - postgres),
    };
  };
}

/**
 * `clients` callers for `seconds`; a call returns its outcome ("ok" or a
 * refusal's code:reason), or throws (an error). Closed-loop, or with `rate`,
 * paced: `rate` calls a second in all, latency from each call's scheduled start.
 */
async function runPhase(clients: number, call: (worker: number) => Promise<string>, pids: { host: number; gateway: number }, rate?: number): Promise<PhaseResult> {
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  const okLatencies: number[] = [];
  const refusedLatencies: number[] = [];
  const cpu = cpuMeter(pids, false);
  const timed = async (n: number, since: number) => {
    const outcome = await call(n);
    (outcome === "ok" ? okLatencies : outcome.startsWith("refused") ? refusedLatencies : []).push(performance.now() - since);
    count(outcome);
  };
  const onError = (err: unknown) => count(`error ${(err as Error).message.slice(0, 120)}`);
  await loopDelays();
  const { latencies, elapsed } = rate === undefined
    ? await closedLoop(clients, seconds, timed, onError)
    : await pacedLoop(clients, seconds, rate, timed, onError);
  const p99Of = (xs: number[]) => percentile(xs.sort((a, b) => a - b), 0.99);
  return {
    rate: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), count: latencies.length, outcomes,
    p99By: { ok: p99Of(okLatencies), refused: p99Of(refusedLatencies) },
    cpu: cpu(latencies.length),
    delays: await loopDelays(),
  };
}

// ---- invariants ------------------------------------------------------------------

let overlapChecks = 0;

/** The timeline's invariants (as in timeline-concurrency.test.ts); throws on any overlap. */
async function assertNoOverlaps(db: pg.Client, what: string, rentalsToo = true): Promise<void> {
  const q = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
  const claims = await q(`SELECT count(*) AS n FROM vehicle_claims a JOIN vehicle_claims b
                           ON a.vehicle_id = b.vehicle_id AND a.ctid < b.ctid AND a.period && b.period`);
  const rentals = rentalsToo ? await q(`SELECT count(*) AS n FROM rentals a JOIN rentals b
                           ON a.vehicle_id = b.vehicle_id AND a.id < b.id AND a.period && b.period
                           WHERE a.status IN ('reserved', 'active') AND b.status IN ('reserved', 'active') AND NOT a.at_risk AND NOT b.at_risk`) : 0;
  const unclaimed = rentalsToo ? await q(`SELECT count(*) AS n FROM rentals r WHERE r.status IN ('reserved', 'active') AND NOT r.at_risk
                           AND NOT EXISTS (SELECT 1 FROM vehicle_claims c WHERE c.rental_id = r.id AND c.period = r.period)`) : 0;
  if (claims + rentals + unclaimed !== 0) {
    throw new Error(`OVERLAPS after ${what}: ${claims} overlapping claim pairs, ${rentals} overlapping rental pairs, ${unclaimed} rentals without their claim`);
  }
  overlapChecks += 1;
  console.log(`  ${what}: overlaps: 0`);
}

// ---- pgbench -------------------------------------------------------------------

/** Single quotes doubled; a ':' escaped so pgbench does not read it as a variable. */
const sqlText = (s: string): string => `E'${s.replace(/\\/g, "\\\\").replace(/'/g, "''").replace(/:/g, "\\x3a")}'`;

interface Sample {
  readonly rental: Record<string, unknown>;
  readonly charges: Array<Record<string, unknown>>;
  readonly outbox: Record<string, unknown>;
  readonly idempotency: { scope: string; response: string };
}

/** A reservation the service made (its rows), as the template of pgbench's transaction. */
async function sampleReservation(db: pg.Client): Promise<Sample> {
  const rental = (await db.query("SELECT * FROM rentals ORDER BY created_at DESC LIMIT 1")).rows[0] as Record<string, unknown>;
  const charges = (await db.query("SELECT type, description, quantity, unit_price_minor, amount_minor, currency FROM rental_charges WHERE rental_id = $1", [rental["id"]])).rows;
  const outbox = (await db.query(`SELECT aggregate_type, event_type, topic, schema_version, payload::text AS payload,
                                         '\\x' || encode(payload_bin, 'hex') AS payload_bin, traceparent, request_id
                                    FROM outbox_events WHERE aggregate_id = $1 LIMIT 1`, [rental["id"]])).rows[0] as Record<string, unknown>;
  const idem = (await db.query(`SELECT scope, '\\x' || encode(response, 'hex') AS response FROM idempotency_keys
                                 WHERE response IS NOT NULL AND scope LIKE '%ReserveRental' LIMIT 1`)).rows[0] as { scope: string; response: string };
  return { rental, charges, outbox, idempotency: idem };
}

/**
 * The statements rental sends for one ReserveRental with an idempotency key
 * (the idempotency interceptor's transaction, which the use case's unit of
 * work joins), with values bound as parameters to statements prepared once
 * per connection (-M prepared, as the kit's db.query sends them; BEGIN and
 * COMMIT are knex's, unprepared on both sides). Each transaction books a
 * fresh slot: client c's n-th transaction is number g = n * clients + c, on
 * vehicle g % vehicles.
 */
function pgbenchScript(sample: Sample): string {
  const r = sample.rental;
  const rid = "md5('r-' || :run::text || '-' || :g::text)::uuid";
  const vid = "md5('vehicle-' || :v::text)::uuid";
  const key = "'k-' || :run::text || '-' || :g::text";
  const period = "tstzrange(to_timestamp(1924992000::bigint + :s::bigint * 10800), to_timestamp(1924992000::bigint + :s::bigint * 10800 + 7200), '[)')";
  const charges = sample.charges.map((c, i) =>
    `(md5('c-' || :run::text || '-' || :g::text || '-${i}')::uuid, ${rid}, ${sqlText(String(c["type"]))}, ${sqlText(String(c["description"]))}, ` +
    `${c["quantity"]}, ${c["unit_price_minor"]}, ${c["amount_minor"]}, '${String(c["currency"]).trim()}', now(), :agent)`).join(",\n  ");
  const lit = (v: unknown) => (v === null || v === undefined ? "NULL" : sqlText(String(v)));
  return `\\set n :n + 1
\\set g :n * :clients + :client_id
\\set v :g % :vehicles
\\set s :g / :vehicles + :run * 100000
BEGIN;
INSERT INTO idempotency_keys (scope, key, request_hash, created_at, expires_at)
  VALUES (:scope, ${key}, sha256((${key})::bytea), now(), now() + make_interval(hours => 24))
  ON CONFLICT (scope, key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, response = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE idempotency_keys.expires_at < now()
  RETURNING key;
WITH r AS (INSERT INTO rentals (id, vehicle_id, customer_id, driver_id, conductor_id, period, origin_location_id, destination_location_id,
  pricing_plan_id, quote_id, status, currency, time_zone, charges_total_minor, paid_total_minor, deposit_minor, pickup_time,
  pickup_odometer_km, return_time, return_odometer_km, return_location_id, notes, cancel_reason, cancel_time, no_show_time,
  at_risk, at_risk_reason, overdue_notified_at, driver_rate_minor, conductor_rate_minor, row_version, created_at, updated_at, created_by, updated_by)
  VALUES (${rid}, ${vid}, :customer, NULL, NULL, ${period}, :location, :location, :plan, NULL, 'reserved',
  '${String(r["currency"]).trim()}', ${lit(r["time_zone"])}, ${r["charges_total_minor"]}, 0, ${r["deposit_minor"] ?? "NULL"}, NULL,
  NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, false, NULL, NULL, NULL, NULL, 1, now(), now(), :agent, :agent) RETURNING id),
  queued AS (SELECT count(pg_advisory_xact_lock(hashtextextended('vehicle' || chr(58) || ${vid}::text, 0))) AS n),
  vc AS (INSERT INTO vehicle_claims (vehicle_id, period, rental_id) SELECT ${vid}, ${period}, r.id FROM r, queued),
  ch AS (INSERT INTO rental_charges (id, rental_id, type, description, quantity, unit_price_minor, amount_minor, currency, created_at, created_by) VALUES
  ${charges}),
  ob AS (INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, topic, schema_version, payload, payload_bin, traceparent, request_id, occurred_at)
  VALUES (md5('o-' || :run::text || '-' || :g::text)::uuid, ${lit(sample.outbox["aggregate_type"])}, ${rid}, ${lit(sample.outbox["event_type"])},
  ${lit(sample.outbox["topic"])}, ${sample.outbox["schema_version"]}, :payload::jsonb, :payload_bin, ${lit(sample.outbox["traceparent"])},
  ${lit(sample.outbox["request_id"])}, now()))
SELECT 1;
UPDATE idempotency_keys SET response = :response WHERE scope = :scope AND key = ${key};
COMMIT;
`;
}

interface PgbenchRun {
  readonly file: string;
  readonly db: DatabaseConfig;
  readonly sample: Sample;
  readonly fixed: { customer: string; location: string; plan: string };
}

async function runPgbench(run: PgbenchRun, round: number, clients: number): Promise<PhaseResult> {
  const dir = mkdtempSync(join(tmpdir(), "fleetmesh-pgbench-"));
  const vars: Record<string, string> = {
    n: "0", run: String(round + 1), clients: String(clients), vehicles: String(COLD_VEHICLES),
    scope: run.sample.idempotency.scope, response: run.sample.idempotency.response,
    payload: String(run.sample.outbox["payload"]), payload_bin: String(run.sample.outbox["payload_bin"]),
    customer: run.fixed.customer, location: run.fixed.location, plan: run.fixed.plan, agent: AGENT,
  };
  const args = [
    "-n", "-M", PGBENCH_MODE, "-c", String(clients), "-j", String(Math.min(clients, availableParallelism())), "-T", String(seconds),
    "-f", run.file, "-l", "--log-prefix", join(dir, "tx"),
    "-h", run.db.host, "-p", String(run.db.port), "-U", run.db.user,
    ...Object.entries(vars).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
    run.db.database,
  ];
  const cpu = cpuMeter({ host: 0, gateway: 0 }, true);
  const child = spawn(PGBENCH, args, { env: { ...process.env, PGPASSWORD: run.db.password }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  const latencies: number[] = [];
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
      const fields = line.split(" ");
      if (fields.length >= 6) latencies.push(Number(fields[2]) / 1000);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  const failed = /number of failed transactions: (\d+)/.exec(out);
  if (code !== 0 || !tps || (failed && failed[1] !== "0")) throw new Error(`pgbench failed (exit ${code}):\n${out}`);
  latencies.sort((a, b) => a - b);
  return {
    rate: Number(tps[1]), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), count: latencies.length,
    outcomes: new Map([["ok", latencies.length]]), p99By: { ok: percentile(latencies, 0.99), refused: NaN },
    cpu: cpu(latencies.length),
  };
}

// ---- main ------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`machine: ${coresAndModel()}, load average ${loadAverage()}, node ${process.version}`);
  const meshHost = await startMeshHost<World>(fileURLToPath(import.meta.url));
  const { world } = meshHost;
  const ownLoop = loopDelayMonitor();
  loopDelays = async () => ({ host: await meshHost.loopDelay(), load: ownLoop.take() });
  const httpPort = await freePort();
  const opsPort = await freePort();
  const gateway: ChildProcess = spawn(process.execPath, [resolve(repoRoot, "dist/gateway/src/main.js")], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      FLEETMESH__AUTH__ISSUER: world.auth.issuer,
      FLEETMESH__AUTH__AUDIENCE: world.auth.audience,
      FLEETMESH__AUTH__JWKS_FILE: world.auth.jwksFile,
      FLEETMESH__LOG__LEVEL: "warn",
      FLEETMESH__HTTP__HOST: "127.0.0.1",
      FLEETMESH__HTTP__PORT: String(httpPort),
      FLEETMESH__OPS__PORT: String(opsPort),
      FLEETMESH__UPSTREAMS__FLEET__ADDRESS: world.fleetAddress,
      FLEETMESH__UPSTREAMS__IDENTITY__ADDRESS: world.identityAddress,
      FLEETMESH__UPSTREAMS__RENTAL__ADDRESS: world.rentalAddress,
    },
  });
  const pids = { host: meshHost.pid, gateway: gateway.pid ?? 0 };
  const scratch = await createTestDatabase("rental", "migrations/rental");
  const serviceDb = new pg.Client({ ...world.rentalDb });
  await serviceDb.connect();
  const scriptDir = mkdtempSync(join(tmpdir(), "fleetmesh-rental-bench-"));
  try {
    await waitReady(opsPort);
    const direct = createServiceClient(RentalService, { address: world.rentalAddress, deadlineMs: 15_000 });
    const browser = browserLikeClient(`http://127.0.0.1:${httpPort}`, Math.max(concurrency, hotClients));
    const method = RentalService.method.reserveRental;
    const path = `/${RentalService.typeName}/${method.name}`;
    let keys = 0;
    const newKey = () => `bench-${process.pid}-${++keys}`;
    const periodOf = (startMs: number, hours: number) => ({
      startTime: timestampFromDate(new Date(startMs)), endTime: timestampFromDate(new Date(startMs + hours * HOUR)),
    });
    const requestFor = (vehicleId: string, customer: string, startMs: number, hours: number) => create(method.input, {
      customerId: customer,
      source: {
        case: "terms",
        value: { vehicleId, period: periodOf(startMs, hours), originLocationId: world.location, destinationLocationId: world.location, pricingPlanId: world.plan },
      },
    });
    const reasonOfGrpc = (err: unknown): string => {
      if (err instanceof GrpcCallError) return `refused ${err.code}:${findDetail(err.status, ErrorInfoSchema)?.reason ?? "NONE"}`;
      throw err;
    };
    const viaDirect = async (req: ReturnType<typeof requestFor>): Promise<string> => {
      try {
        const { rental } = await direct.reserveRental(req, { headers: world.headers, idempotencyKey: newKey() });
        if (!rental?.id) throw new Error("no rental in the response");
        return "ok";
      } catch (err) {
        return reasonOfGrpc(err);
      }
    };
    const viaGateway = async (req: ReturnType<typeof requestFor>): Promise<string> => {
      const res = await browser.post(path, "application/proto", toBinary(method.input, req), { ...world.headers, "idempotency-key": newKey() });
      if (res.status === 200) {
        if (!fromBinary(method.output, res.body).rental?.id) throw new Error("no rental in the response");
        return "ok";
      }
      // Connect's error body is JSON: {code, message, details}.
      let code = `HTTP ${res.status}`;
      try {
        code = (JSON.parse(res.body.toString("utf8")) as { code?: string }).code ?? code;
      } catch {
        // not JSON
      }
      if (code === "failed_precondition") return "refused failed_precondition";
      throw new Error(`${code}: ${res.body.toString("utf8").slice(0, 200)}`);
    };

    // Fresh slots: request k books cold vehicle k % M, slot k / M (2 h every 3 h), far from the hot windows.
    const coldBase = Math.ceil((Date.now() + 2 * 24 * HOUR) / HOUR) * HOUR + 2 * 365 * 24 * HOUR;
    let slot = 0;
    const freshSlot = () => {
      const k = slot++;
      return requestFor(world.cold[k % world.cold.length]!, world.customers[k % world.customers.length]!, coldBase + Math.floor(k / world.cold.length) * 3 * HOUR, 2);
    };
    // Hot windows: each hot phase gets a window of its own (a fresh timeline), 14 days wide.
    let hotWindows = 0;
    const hotBase = Math.ceil((Date.now() + 2 * 24 * HOUR) / HOUR) * HOUR;
    /** A fresh hot window; the function draws a request in it. */
    const hotDraw = () => {
      const base = hotBase + hotWindows++ * (HOT_WINDOW_HOURS + 24) * HOUR;
      return () => requestFor(
        world.hot[Math.floor(Math.random() * world.hot.length)]!, world.customers[Math.floor(Math.random() * world.customers.length)]!,
        base + Math.floor(Math.random() * HOT_WINDOW_HOURS) * HOUR, 2 + Math.floor(Math.random() * 11));
    };
    const callerOf = (name: string): typeof viaDirect => (name === "direct gRPC" ? viaDirect : viaGateway);
    const hotCall = (via: typeof viaDirect) => {
      const draw = hotDraw();
      return () => via(draw());
    };

    // ghz: the same requests, written beforehand as a JSON array it sends
    // round robin (it converts each once), so its CPU per call is the call's.
    const ghz = ghzAvailable();
    if (!ghz) console.log(`ghz not found at ${ghzPath()} (scripts/infra/tools.sh ghz installs it): its paths are skipped`);
    let ghzPhases = 0;
    /** More requests than a phase can send: a second round of the array would repeat slots. */
    const ghzRequests = Math.max(20_000, seconds * 2_000);
    const viaGhz = async (clients: number, request: (k: number) => ReturnType<typeof requestFor>): Promise<PhaseResult> => {
      const phase = ++ghzPhases;
      const dataFile = join(scriptDir, `ghz-${phase}.json`);
      writeFileSync(dataFile, JSON.stringify(Array.from({ length: ghzRequests }, (_, k) => toJson(method.input, request(k)))));
      const cpu = cpuMeter(pids, true);
      const r = await runGhz({
        address: world.rentalAddress, call: `${RentalService.typeName}.${method.name}`, clients, seconds, dataFile,
        metadataTemplate: JSON.stringify({ ...world.headers, "idempotency-key": `ghz-${process.pid}-${phase}-{{.RequestNumber}}` }),
      });
      rmSync(dataFile, { force: true });
      const outcomes = new Map<string, number>();
      const refused: number[] = [];
      for (const [outcome, ms] of r.byOutcome) {
        const key = outcome === "OK" ? "ok"
          : outcome.startsWith("FailedPrecondition") && outcome.includes("is not available") ? "refused 9:VEHICLE_NOT_AVAILABLE"
            : `error ${outcome.slice(0, 120)}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + ms.length);
        if (key.startsWith("refused")) refused.push(...ms);
      }
      refused.sort((a, b) => a - b);
      return {
        rate: r.rate, p50: percentile(r.latencies, 0.5), p99: percentile(r.latencies, 0.99), count: r.latencies.length, outcomes,
        p99By: { ok: percentile(r.byOutcome.get("OK") ?? [], 0.99), refused: percentile(refused, 0.99) }, cpu: cpu(r.latencies.length),
      };
    };
    // Fresh slots of its own per phase, a year past the Node callers': request k books cold vehicle k % M, slot k / M.
    const ghzFresh = () => {
      const base = coldBase + (365 + (ghzPhases + 1) * 60) * 24 * HOUR;
      const M = world.cold.length;
      return viaGhz(concurrency, (k) => requestFor(world.cold[k % M]!, world.customers[k % world.customers.length]!, base + Math.floor(k / M) * 3 * HOUR, 2));
    };
    const ghzHot = () => viaGhz(hotClients, hotDraw());

    // Warm-up (JIT, pools, identity cache), then the template for pgbench from a real reservation.
    for (let i = 0; i < 200; i++) await viaDirect(freshSlot());
    for (let i = 0; i < 200; i++) await viaGateway(freshSlot());
    const sample = await sampleReservation(serviceDb);
    const scriptFile = join(scriptDir, "reserve.sql");
    writeFileSync(scriptFile, pgbenchScript(sample));
    const admin = scratch.admin;
    // The scratch schema's location and plan: the same rows the service's reservations refer to.
    for (const table of ["locations", "pricing_plans"]) {
      const { rows } = await serviceDb.query(`SELECT * FROM ${table}`);
      for (const row of rows as Array<Record<string, unknown>>) {
        const cols = Object.keys(row);
        await admin.query(`INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})`, cols.map((c) => row[c]));
      }
    }
    const pgRun: PgbenchRun = { file: scriptFile, db: scratch.config, sample, fixed: { customer: world.customers[0]!, location: world.location, plan: world.plan } };
    // A short pgbench warm-up (and a check that the script runs).
    await runPgbench(pgRun, 999, concurrency).catch((err: unknown) => {
      throw err;
    });
    const scratchCheck = new pg.Client({ ...scratch.config });
    // Dropping the scratch database on a failed run ends this connection.
    scratchCheck.on("error", () => undefined);
    await scratchCheck.connect();

    type PathName = "pgbench (SQL only)" | "direct gRPC" | "direct gRPC, ghz" | "gateway, Connect binary";
    const names: PathName[] = (["pgbench (SQL only)", "direct gRPC", ...(ghz ? ["direct gRPC, ghz" as const] : []), "gateway, Connect binary"] as PathName[])
      .filter((n) => n.startsWith("pgbench") || chosen(n));
    const results = new Map<PathName, PhaseResult[]>(names.map((n) => [n, []]));
    const ratios = new Map<PathName, number[]>(names.map((n) => [n, []]));
    const hot = new Map<string, PhaseResult[]>(["direct gRPC", ...(ghz ? ["direct gRPC, ghz"] : []), "gateway, Connect binary"]
      .filter((n) => hotClients > 0 && chosen(n)).map((n) => [n, []]));
    // The same hot load paced below saturation: in a closed loop at saturation,
    // latency is clients / throughput (Little's law) whatever the service does.
    const paced = new Map<string, Array<PhaseResult & { offered: number }>>(
      ["direct gRPC", "gateway, Connect binary"].filter((n) => pacedShare > 0 && hot.has(n)).map((n) => [n, []]));
    const delayText = (r: PhaseResult) => (r.delays
      ? `, event-loop delay p99/max: mesh host ${fmt(r.delays.host.p99)}/${fmt(r.delays.host.max)} ms, load generator ${fmt(r.delays.load.p99)}/${fmt(r.delays.load.max)} ms` : "");
    const hotLine = (label: string, r: PhaseResult) =>
      console.log(`  ${label}: ${r.rate.toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (reserved ${r.p99By.ok.toFixed(1)}, refused ${r.p99By.refused.toFixed(1)}), ${JSON.stringify(Object.fromEntries(r.outcomes))}${delayText(r)}`);
    const started = performance.now();
    let pgbenchRuns = 0;
    for (let round = 0; round < rounds; round++) {
      console.log(`round ${round + 1}/${rounds} (load average ${loadAverage()})`);
      // pgbench runs before the first path and after each one; a path's ratio
      // is to the mean of the pgbench runs either side of it. This machine's
      // speed drifts by up to 2x within a minute (other tenants), and a
      // ratio of neighbours keeps the drift out of it.
      const phases: Array<[PathName, () => Promise<PhaseResult>]> = [
        ["direct gRPC", () => runPhase(concurrency, () => viaDirect(freshSlot()), pids)],
        ...(ghz ? [["direct gRPC, ghz", ghzFresh] as [PathName, () => Promise<PhaseResult>]] : []),
        ["gateway, Connect binary", () => runPhase(concurrency, () => viaGateway(freshSlot()), pids)],
      ];
      const measure = async (name: PathName, phase: () => Promise<PhaseResult>): Promise<PhaseResult> => {
        const r = await phase().catch((err: unknown) => {
          console.error(`  ${name}: ${(err as Error).message}`);
          throw err;
        });
        results.get(name)!.push(r);
        console.log(`  ${name}: ${r.rate.toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${JSON.stringify(Object.fromEntries(r.outcomes))}, ${cpuLine(r.cpu)}`);
        if (name === "pgbench (SQL only)") await assertNoOverlaps(scratchCheck, "pgbench", true);
        else await assertNoOverlaps(serviceDb, name);
        return r;
      };
      const pgbenchPhase = () => measure("pgbench (SQL only)", () => runPgbench(pgRun, ++pgbenchRuns, concurrency));
      let before = await pgbenchPhase();
      for (const [name, phase] of rotated(phases.filter(([n]) => names.includes(n)), round)) {
        const r = await measure(name, phase);
        const after = await pgbenchPhase();
        ratios.get(name)!.push(r.rate / ((before.rate + after.rate) / 2));
        before = after;
      }
      ratios.get("pgbench (SQL only)")!.push(1);
      for (const name of hot.keys()) {
        const r = name === "direct gRPC, ghz" ? await ghzHot()
          : await runPhase(hotClients, hotCall(callerOf(name)), pids);
        hot.get(name)!.push(r);
        hotLine(`hot, ${name}`, r);
        await assertNoOverlaps(serviceDb, `hot, ${name}`);
      }
      for (const name of paced.keys()) {
        // Paced at a share of the rate at which this path sustained reservations
        // (fresh slots) this round: a fresh hot window starts with nearly every
        // call reserving, so the hot closed-loop rate (mostly cheap refusals)
        // would overload it for its first seconds.
        const rate = Math.max(1, Math.round(results.get(name as PathName)!.at(-1)!.rate * pacedShare));
        const r = await runPhase(hotClients, hotCall(callerOf(name)), pids, rate);
        paced.get(name)!.push({ ...r, offered: rate });
        hotLine(`hot, paced at ${rate} req/s, ${name}`, r);
        await assertNoOverlaps(serviceDb, `hot paced, ${name}`);
      }
    }
    const totalSeconds = (performance.now() - started) / 1000;
    await scratchCheck.end();

    /** Answers over rounds whose outcome `pred` accepts. */
    const countOf = (rs: readonly PhaseResult[], pred: (outcome: string) => boolean) =>
      rs.reduce((n, r) => n + [...r.outcomes].filter(([k]) => pred(k)).reduce((a, [, v]) => a + v, 0), 0);
    const errorsOf = (rs: readonly PhaseResult[]) => countOf(rs, (k) => !k.startsWith("ok") && !k.startsWith("refused"));
    console.log(`\nReserveRental, fresh slots (every request succeeds), ${concurrency} concurrent callers, ${rounds} rounds x ${seconds}s per path, order rotating; medians over rounds; ${new Date().toISOString()}, ${availableParallelism()} cores, load average now ${loadAverage()}\n`);
    const summary = new Map<PathName, { rate: number; ratio: number }>();
    const pathRows = names.map((name) => {
      const rs = results.get(name)!;
      const row = { rate: median(rs.map((r) => r.rate)), ratio: median(ratios.get(name)!) };
      summary.set(name, row);
      const isPg = name.startsWith("pgbench");
      const cpu = (of: (c: PhaseResult["cpu"]) => number) => fmt(median(rs.map((r) => of(r.cpu))), 2);
      return [name, fmt(row.rate, 0), fmt(median(rs.map((r) => r.p50))), fmt(median(rs.map((r) => r.p99))), String(errorsOf(rs)),
        `${(row.ratio * 100).toFixed(0)}%`, cpu((c) => c.postgres), isPg ? "-" : cpu((c) => c.host), isPg ? "-" : cpu((c) => c.gateway),
        cpu((c) => c.load), cpu((c) => c.postgres + c.host + c.gateway + c.load)];
    });
    console.log(markdownTable(["path", "req/s", "p50 ms", "p99 ms", "errors", "rate vs pgbench", "CPU ms/req PostgreSQL", "mesh host", "gateway",
      "load generator", "all"], pathRows));
    console.log(`\nHot vehicles: ${hotClients} clients on ${HOT_VEHICLES} vehicles, random 2-12 h periods in a fresh ${HOT_WINDOW_HOURS / 24}-day window per phase; latency of every answer (refusals included); medians over rounds, counts summed\n`);
    const hotP99 = new Map<string, number>();
    const hotRows = [...hot].map(([name, rs]) => {
      const p99 = median(rs.map((r) => r.p99));
      hotP99.set(name, p99);
      return [name, fmt(median(rs.map((r) => r.rate)), 0), fmt(median(rs.map((r) => r.p50))), fmt(p99), String(countOf(rs, (k) => k === "ok")),
        String(countOf(rs, (k) => k.startsWith("refused"))), String(errorsOf(rs)), fmt(median(rs.map((r) => r.p99By.ok))),
        fmt(median(rs.map((r) => r.p99By.refused))), fmt(median(rs.map((r) => r.cpu.host)), 2), fmt(median(rs.map((r) => r.cpu.postgres)), 2),
        fmt(median(rs.map((r) => r.cpu.load)), 2)];
    });
    console.log(markdownTable(["path", "answers/s", "p50 ms", "p99 ms", "reserved", "refused (VEHICLE_NOT_AVAILABLE)", "errors",
      "p99 ms reserved", "p99 ms refused", "CPU ms/answer mesh host", "PostgreSQL", "load generator"], hotRows));
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    if (paced.size > 0) {
      console.log(`\nHot vehicles paced: the same ${hotClients} clients and draws, calls started on a fixed schedule at ${pct(pacedShare)} of the rate at which that path sustained reservations (fresh slots) that round; latency from each call's scheduled start; medians over rounds, counts summed\n`);
      console.log(markdownTable(["path", "offered req/s", "answers/s", "p50 ms", "p99 ms", "reserved", "refused", "errors", "p99 ms reserved", "p99 ms refused",
        "event-loop delay max ms, mesh host", "load generator"],
        [...paced].map(([name, rs]) => {
          return [name, fmt(median(rs.map((r) => r.offered)), 0), fmt(median(rs.map((r) => r.rate)), 0), fmt(median(rs.map((r) => r.p50))),
            fmt(median(rs.map((r) => r.p99))), String(countOf(rs, (k) => k === "ok")), String(countOf(rs, (k) => k.startsWith("refused"))), String(errorsOf(rs)),
            fmt(median(rs.map((r) => r.p99By.ok))), fmt(median(rs.map((r) => r.p99By.refused))),
            fmt(median(rs.map((r) => r.delays?.host.max ?? NaN))), fmt(median(rs.map((r) => r.delays?.load.max ?? NaN)))];
        })));
    }
    const verdict = (ok: boolean) => (ok ? "MET" : "NOT MET");
    console.log("");
    for (const name of ["direct gRPC", "direct gRPC, ghz"] as const) {
      const d = summary.get(name)?.ratio;
      if (d !== undefined) console.log(`Goal: ${name} >= 50% of pgbench -> ${pct(d)} ${verdict(d >= 0.5)}`);
    }
    const g = summary.get("gateway, Connect binary")?.ratio;
    if (g !== undefined) console.log(`Goal: gateway >= 35% of pgbench -> ${pct(g)} ${verdict(g >= 0.35)}`);
    for (const [name, p99] of hotP99) console.log(`Goal: hot-vehicle p99 < 50 ms, ${hotClients} clients, closed loop at saturation, ${name} -> ${fmt(p99)} ms ${verdict(p99 < 50)}`);
    for (const [name, rs] of paced) {
      const p99 = median(rs.map((r) => r.p99));
      console.log(`Goal: hot-vehicle p99 < 50 ms, ${hotClients} clients, paced at ${fmt(median(rs.map((r) => r.offered)), 0)} req/s (${pct(pacedShare)} of its reservation rate), ${name} -> ${fmt(p99)} ms ${verdict(p99 < 50)}`);
    }
    console.log(`Goal: zero overlaps after every phase -> MET (checked after each of ${overlapChecks} phases)`);
    console.log(`(measured phases took ${totalSeconds.toFixed(0)} s)`);
    browser.close();
    direct.close();
  } finally {
    await serviceDb.end().catch(() => undefined);
    gateway.kill("SIGTERM");
    await meshHost.stop();
    await scratch.drop();
    rmSync(scriptDir, { recursive: true, force: true });
  }
}

if (isMeshHost()) await host();
else await main();
