// Benchmark: the cost and the speed of the events backbone, in one run on
// one machine, against the local PostgreSQL and Kafka.
//
// 1. Write cost: fleet's RecordOdometerReading use case (lock the vehicle,
//    read the latest reading, insert the reading, update the vehicle) at
//    full concurrency, with the outbox on (+ one outbox row per write, the
//    relay publishing alongside) and off (the same writes, no event).
//    Rounds alternate off/on so drift hits both; medians are reported.
// 2. Relay throughput: a backlog written with the relay stopped, then
//    drained with no writes, against the peak write rate; and the backlog
//    during a full-load phase with the relay running, and how long after
//    the load stops the lag is back to zero.
// 3. End-to-end latency from a write's commit to the consumer's effect
//    (its inbox transaction) at half of the peak write rate, next to a
//    baseline that produces straight to Kafka after the commit (no outbox).
//
// Part 1 calls the use case in-process, without gRPC, so the outbox's share
// of the work is not diluted by transport costs (the strict figure); part 1b
// makes the same writes through fleet's gRPC API, as clients do.
//
//   node dist/bench/outbox.js        (or: npm run bench -- outbox)
//   BENCH_SECONDS=5 BENCH_ROUNDS=3 BENCH_CONCURRENCY=16 node dist/bench/outbox.js
//   BENCH_PARTS=e2e BENCH_E2E_ROUNDS=5 node dist/bench/outbox.js
//   BENCH_TRACE=1 ...   also prints every event slower than 300 ms end to end
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Partitioners, type Producer } from "kafkajs";
import { pino } from "pino";
import { Registry } from "prom-client";
import { OdometerReadingRecordedSchema } from "../gen/fleetmesh/fleet/v1/events_pb.js";
import { OdometerReadingSchema } from "../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { createFleetUseCases, type FleetUseCases } from "../services/fleet/src/app/fleet-use-cases.js";
import { createEventOutbox } from "../services/fleet/src/adapters/db/event-outbox.js";
import { createUnitOfWork, createVehicleRepository } from "../services/fleet/src/adapters/db/vehicle-repository.js";
import { FleetService } from "../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { fleetServiceBinding } from "../services/fleet/src/adapters/grpc/fleet-handlers.js";
import { kafkaConfigSchema, serviceConfigSchema } from "../services/platform/src/config.js";
import { createServiceClient } from "../services/platform/src/grpc/client.js";
import { startService } from "../services/platform/src/service-runtime.js";
import { createDatabase, type Database } from "../services/platform/src/db.js";
import { createEventConsumer, handleEvent } from "../services/platform/src/events/consumer.js";
import { HEADER } from "../services/platform/src/events/envelope.js";
import { createKafka } from "../services/platform/src/events/kafka.js";
import { createOutboxRelay, type OutboxRelay } from "../services/platform/src/events/outbox-relay.js";
import { createTestDatabase, createTestKeys, type TestDatabase } from "../services/platform/src/testing/harness.js";
import { createTopics, deleteTopicsWithPrefix, TEST_BROKERS, uniqueTopicPrefix, waitFor } from "../services/platform/src/testing/kafka.js";
import { median } from "./lib/stats.js";

const seconds = Number(process.env["BENCH_SECONDS"] ?? 4);
const rounds = Number(process.env["BENCH_ROUNDS"] ?? 6);
const concurrency = Number(process.env["BENCH_CONCURRENCY"] ?? 16);
const e2eRounds = Number(process.env["BENCH_E2E_ROUNDS"] ?? 3);
const trace = process.env["BENCH_TRACE"] === "1";
const VEHICLES_PER_WORKER = 8;
// Which parts to run (all by default): cost,api,relay,e2e. Without "cost",
// the peak write rate that "relay" and "e2e" are set against is measured in
// a short phase of its own.
const parts = new Set((process.env["BENCH_PARTS"] ?? "cost,api,relay,e2e").split(",").map((p) => p.trim()));

const silent = pino({ level: "silent" });
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const table = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
};

interface Writer {
  readonly vehicles: string[];
  readonly km: Map<string, number>;
}

interface Setup {
  readonly testDb: TestDatabase;
  readonly db: Database;
  readonly withOutbox: FleetUseCases;
  readonly withoutOutbox: FleetUseCases;
  readonly writers: Writer[];
}

async function setUp(): Promise<Setup> {
  const testDb = await createTestDatabase("fleet", "migrations/fleet");
  const db = createDatabase({ ...testDb.config, poolMax: concurrency + 4 }, "bench-outbox");
  const deps = {
    vehicles: createVehicleRepository(db),
    uow: createUnitOfWork(db),
    clock: { now: () => new Date() },
    ids: { newId: randomUUID },
  };
  const withOutbox = createFleetUseCases({ ...deps, outbox: createEventOutbox(db) });
  const withoutOutbox = createFleetUseCases({ ...deps, outbox: { append: () => Promise.resolve() } });
  const writers: Writer[] = [];
  for (let w = 0; w < concurrency; w++) {
    const vehicles: string[] = [];
    for (let v = 0; v < VEHICLES_PER_WORKER; v++) {
      const vehicle = await withoutOutbox.registerVehicle({
        plateNumber: `B${w}-${v}-${randomUUID().slice(0, 6)}`,
        attributes: { make: "Bench", model: "Mark", variant: null, year: 2024, passengerCapacity: 5, loadLimitKg: null, acquisitionPrice: null },
      }, { userId: null });
      vehicles.push(vehicle.id);
    }
    writers.push({ vehicles, km: new Map(vehicles.map((v) => [v, 0])) });
  }
  return { testDb, db, withOutbox, withoutOutbox, writers };
}

/** One odometer reading on the writer's next vehicle; resolves after the commit. */
async function write(useCases: FleetUseCases, writer: Writer, i: number): Promise<{ readingId: string; vehicleId: string; km: number }> {
  const vehicleId = writer.vehicles[i % writer.vehicles.length]!;
  const km = writer.km.get(vehicleId)! + 10;
  writer.km.set(vehicleId, km);
  const { reading } = await useCases.recordOdometer({ vehicleId, readingKm: km, recordedAt: null }, { userId: null });
  return { readingId: reading.id, vehicleId, km };
}

interface LoadResult {
  readonly writes: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/**
 * Writes for `durationMs` with every writer; at `ratePerSecond` in total
 * when given (open loop: each write has its slot), else as fast as possible.
 */
type WriteFn = (writer: Writer, i: number) => Promise<{ readingId: string; vehicleId: string; km: number }>;

async function load(
  useCasesOrWrite: FleetUseCases | WriteFn,
  writers: readonly Writer[],
  durationMs: number,
  options: { ratePerSecond?: number; afterCommit?: (w: { readingId: string; vehicleId: string; km: number }, committedAt: number) => Promise<void> | void } = {},
): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + durationMs;
  let ticket = 0;
  await Promise.all(writers.map(async (writer) => {
    for (let i = 0; ; i++) {
      if (options.ratePerSecond) {
        const slot = started + (ticket++ * 1000) / options.ratePerSecond;
        if (slot >= until) return;
        const wait = slot - performance.now();
        if (wait > 0) await sleep(wait);
      } else if (performance.now() >= until) {
        return;
      }
      const t0 = performance.now();
      const written = typeof useCasesOrWrite === "function" ? await useCasesOrWrite(writer, i) : await write(useCasesOrWrite, writer, i);
      const committedAt = performance.now();
      latencies.push(committedAt - t0);
      await options.afterCommit?.(written, committedAt);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  return { writes: latencies.length, perSecond: latencies.length / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

async function main(): Promise<void> {
  const kafkaConfig = kafkaConfigSchema.parse({ brokers: TEST_BROKERS });
  const kafka = createKafka(kafkaConfig, "bench-outbox", silent);
  const admin = kafka.admin();
  await admin.connect();
  const prefix = uniqueTopicPrefix();
  const topic = `${prefix}fleet.vehicle.v1`;
  await createTopics(admin, [topic], 6);
  const setup = await setUp();
  const consumerDb = await createTestDatabase("fleet", "migrations/fleet");
  const consumerPool = createDatabase({ ...consumerDb.config, poolMax: 10 }, "bench-consumer");
  const { db, writers } = setup;
  const newRelay = (): OutboxRelay => {
    const r = createOutboxRelay({
      db, connection: setup.testDb.config, kafka, topicPrefix: prefix, log: silent, registry: new Registry(),
      batchSize: 500, minRoundIntervalMs: Number(process.env["BENCH_ROUND_INTERVAL_MS"] ?? 50), pollIntervalMs: 1_000, leaderCheckMs: 100, retainPublishedHours: 24,
    });
    r.start();
    return r;
  };
  const backlog = async (): Promise<number> =>
    Number((await db.knex.raw<{ rows: Array<{ n: string }> }>("SELECT count(*)::text AS n FROM outbox_events WHERE published_at IS NULL")).rows[0]!.n);
  let relay = newRelay();
  let producer: Producer | undefined;
  const consumerRegistry = new Registry();
  const rebalances = async (): Promise<number> =>
    Number((await consumerRegistry.getSingleMetric("events_consumer_rebalances_total")?.get())?.values[0]?.value ?? 0);
  const consumer = createEventConsumer({
    kafka, db: consumerPool, log: silent, registry: consumerRegistry, groupId: `${prefix}bench`, topicPrefix: prefix,
    handlers: [handleEvent(OdometerReadingRecordedSchema, async (m, event) => void handled.set(event.messageId, m.reading!.id))],
    maxAttempts: 3, retryInitialMs: 50, retryMaxMs: 500, partitionsConcurrently: 6, sessionTimeoutMs: 10_000, fromBeginning: false,
    inboxRetentionDays: 1,
    afterEffectCommitted: (event) => {
      const readingId = handled.get(event.messageId);
      handled.delete(event.messageId);
      const committed = readingId ? commits.get(readingId) : undefined;
      if (committed) {
        commits.delete(readingId!);
        const latency = performance.now() - committed.at;
        latencies.get(committed.mode)!.push(latency);
        if (trace && latency > 300) process.stderr.write(`slow ${committed.mode} ${fmt(latency)} ms, committed at ${fmt(committed.at)}\n`);
      }
    },
  });
  const handled = new Map<string, string>();
  const commits = new Map<string, { at: number; mode: "outbox" | "direct" | "warmup" }>();
  const latencies = new Map<"outbox" | "direct" | "warmup", number[]>([["outbox", []], ["direct", []], ["warmup", []]]);
  try {
    process.stdout.write(`outbox benchmark: ${concurrency} writers, ${rounds} rounds of ${seconds} s per mode, Kafka ${TEST_BROKERS.join(",")}\n\n`);
    // Warm-up: connections, JIT, the relay's producer.
    await load(setup.withOutbox, writers, 1_500);
    await waitFor("warm-up to drain", async () => (await backlog()) === 0, 30_000);

    let peak: number | undefined;
    if (parts.has("cost")) {
      // ---- 1. write cost ----
      // Rounds of three phases: no outbox, outbox with the relay stopped (the
      // cost of the insert alone), outbox with the relay running (the whole
      // cost). The order rotates from round to round, so drift and neighbours
      // on a shared machine hit every mode alike; the cost is the median of
      // the per-round ratios to the round's own baseline.
      type Mode = "off" | "insert" | "on";
      const phases: Record<Mode, LoadResult[]> = { off: [], insert: [], on: [] };
      const ratios: Record<"insert" | "on", number[]> = { insert: [], on: [] };
      const orders: Mode[][] = [["off", "insert", "on"], ["on", "off", "insert"], ["insert", "on", "off"]];
      for (let r = 0; r < rounds; r++) {
        const round: Partial<Record<Mode, LoadResult>> = {};
        for (const mode of orders[r % orders.length]!) {
          if (mode === "insert") await relay.stop();
          round[mode] = await load(mode === "off" ? setup.withoutOutbox : setup.withOutbox, writers, seconds * 1000);
          if (mode === "insert") relay = newRelay();
          // The relay catches up before the next phase, so it never runs into it.
          await waitFor("the relay to catch up", async () => (await backlog()) === 0, 60_000, 20);
        }
        for (const mode of ["off", "insert", "on"] as const) phases[mode].push(round[mode]!);
        ratios.insert.push(round.insert!.perSecond / round.off!.perSecond);
        ratios.on.push(round.on!.perSecond / round.off!.perSecond);
      }
      const rateOf = (mode: Mode) => median(phases[mode].map((x) => x.perSecond));
      const onRate = rateOf("on");
      const cost = 1 - median(ratios.on);
      const row = (name: string, mode: Mode, ratio: number[] | undefined) => [
        name, ...phases[mode].map((x) => fmt(x.perSecond)), fmt(rateOf(mode)), ratio ? fmt(median(ratio), 2) : "1",
        fmt(median(phases[mode].map((x) => x.p50)), 2), fmt(median(phases[mode].map((x) => x.p99)), 2),
      ];
      process.stdout.write(`1. Write cost (RecordOdometerReading, ${concurrency} writers, ${rounds} rounds of ${seconds} s phases, rotating order)\n\n`);
      process.stdout.write(`${table(
        ["mode", ...phases.off.map((_, i) => `round ${i + 1}`), "median writes/s", "median ratio", "p50 ms", "p99 ms"],
        [
          row("outbox off (baseline)", "off", undefined),
          row("outbox insert only (relay stopped)", "insert", ratios.insert),
          row("outbox on, relay running", "on", ratios.on),
        ],
      )}\n\nthroughput cost of the outbox: ${fmt(cost * 100, 1)}% (1 - median of per-round ratios; goal <= 20%), ` +
        `of which the insert alone ${fmt((1 - median(ratios.insert)) * 100, 1)}%\n\n`);

      peak = onRate;
    }
    if (parts.has("api")) {
      // ---- 1b. the same writes through the service's API ----
      // Two fleet gRPC servers in this process on the same database, one with
      // the outbox and one without; clients call RecordOdometerReading with a
      // token, as callers do. The relay runs as above.
      const api = async (withOutbox: boolean) => {
        const service = await startService({
          config: apiConfig,
          log: silent,
          compose: ({ db: serviceDb }) => ({
            bindings: [fleetServiceBinding(createFleetUseCases({
              vehicles: createVehicleRepository(serviceDb),
              uow: createUnitOfWork(serviceDb),
              clock: { now: () => new Date() },
              ids: { newId: randomUUID },
              outbox: withOutbox ? createEventOutbox(serviceDb) : { append: () => Promise.resolve() },
            }))],
          }),
        });
        const client = createServiceClient(FleetService, { address: `127.0.0.1:${service.grpcPort}`, deadlineMs: 10_000 });
        const call: WriteFn = async (writer, i) => {
          const vehicleId = writer.vehicles[i % writer.vehicles.length]!;
          const km = writer.km.get(vehicleId)! + 10;
          writer.km.set(vehicleId, km);
          const { reading } = await client.recordOdometerReading({ vehicleId, readingKm: km }, { headers: { authorization: `Bearer ${token}` } });
          return { readingId: reading!.id, vehicleId, km };
        };
        return { service, client, call };
      };
      const keys = createTestKeys();
      const token = keys.token({ permissions: ["vehicles.record_odometer"] }, { expiresIn: 3_600 });
      const apiConfig = serviceConfigSchema.parse({
        service: { name: "fleet" }, grpc: { host: "127.0.0.1", port: 0 }, ops: { host: "127.0.0.1", port: 0 },
        database: { ...setup.testDb.config, poolMax: concurrency + 4 }, auth: keys.auth, log: { level: "silent" },
      });
      const apiOn = await api(true);
      const apiOff = await api(false);
      const apiRatios: number[] = [];
      const apiPhases: Record<"off" | "on", LoadResult[]> = { off: [], on: [] };
      try {
        await load(apiOn.call, writers, 1_000);
        for (let r = 0; r < rounds; r++) {
          for (const mode of r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
            apiPhases[mode].push(await load(mode === "on" ? apiOn.call : apiOff.call, writers, seconds * 1000));
            await waitFor("the relay to catch up", async () => (await backlog()) === 0, 60_000, 20);
          }
          apiRatios.push(apiPhases.on[r]!.perSecond / apiPhases.off[r]!.perSecond);
        }
      } finally {
        for (const a of [apiOn, apiOff]) {
          a.client.close();
          await a.service.stop();
        }
      }
      const apiRow = (name: string, mode: "off" | "on", ratio: number[] | undefined) => [
        name, ...apiPhases[mode].map((x) => fmt(x.perSecond)), fmt(median(apiPhases[mode].map((x) => x.perSecond))),
        ratio ? fmt(median(ratio), 2) : "1", fmt(median(apiPhases[mode].map((x) => x.p50)), 2), fmt(median(apiPhases[mode].map((x) => x.p99)), 2),
      ];
      process.stdout.write(`1b. The same writes through the gRPC API (client and server in this process, auth on; ${rounds} rounds, alternating order)\n\n`);
      process.stdout.write(`${table(
        ["mode", ...apiPhases.off.map((_, i) => `round ${i + 1}`), "median writes/s", "median ratio", "p50 ms", "p99 ms"],
        [apiRow("outbox off (baseline)", "off", undefined), apiRow("outbox on, relay running", "on", apiRatios)],
      )}\n\nthroughput cost of the outbox at the API: ${fmt((1 - median(apiRatios)) * 100, 1)}%\n\n`);

    }
    // The peak write rate with the relay running, unless part 1 measured it.
    peak ??= (await load(setup.withOutbox, writers, seconds * 1000)).perSecond;
    await waitFor("the relay to catch up", async () => (await backlog()) === 0, 60_000, 20);
    if (parts.has("relay")) {
      // ---- 2. relay throughput ----
      await relay.stop();
      const filled = await load(setup.withOutbox, writers, 8_000);
      const queued = await backlog();
      const drainStart = performance.now();
      relay = newRelay();
      await waitFor("the backlog to drain", async () => (await backlog()) === 0, 120_000, 20);
      const drainRate = queued / ((performance.now() - drainStart) / 1000);
      // Full load with the relay running; then how long until the lag is zero.
      let maxBacklog = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxBacklog = Math.max(maxBacklog, await backlog());
          await sleep(100);
        }
      })();
      const loaded = await load(setup.withOutbox, writers, 10_000);
      const loadStopped = performance.now();
      sampling = false;
      await sampler;
      const backlogAtStop = await backlog();
      await waitFor("the lag to return to zero", async () => (await backlog()) === 0, 60_000, 20);
      const lagToZero = (performance.now() - loadStopped) / 1000;
      process.stdout.write(`2. Relay throughput (batch 500, acks=all, idempotent producer)\n\n`);
      process.stdout.write(`${table(
        ["measure", "value"],
        [
          ["peak write rate (median, outbox on)", `${fmt(peak)} events/s`],
          [`drain rate, ${queued} queued events, no writes`, `${fmt(drainRate)} events/s`],
          ["drain rate / peak write rate (goal >= 1.5)", fmt(drainRate / peak, 2)],
          ["full load for 10 s with the relay running", `${fmt(loaded.perSecond)} writes/s, backlog max ${maxBacklog}, ${backlogAtStop} at the end`],
          ["lag back to zero after the load stops (goal <= 10 s)", `${fmt(lagToZero, 2)} s`],
        ],
      )}\n\n(backlog fill phase: ${filled.writes} writes at ${fmt(filled.perSecond)}/s with the relay stopped)\n\n`);

    }
    if (parts.has("e2e")) {
      // ---- 3. end-to-end latency at half of peak ----
      consumer.start();
      const rate = Math.max(1, Math.round(peak / 2));
      // Join the group and settle before measuring: warm-up writes until a
      // whole second of them is applied (the group starts at the end of the
      // topic once it has joined, so writes before that are never seen).
      for (let attempt = 1; ; attempt++) {
        for (const [id, c] of commits) if (c.mode === "warmup") commits.delete(id);
        await load(setup.withOutbox, writers.slice(0, 2), 1_000, {
          ratePerSecond: 50,
          afterCommit: ({ readingId }, committedAt) => void commits.set(readingId, { at: committedAt, mode: "warmup" }),
        });
        const settled = await waitFor("the warm-up events", () => [...commits.values()].every((c) => c.mode !== "warmup") || undefined, 5_000, 100)
          .then(() => true, () => false);
        if (settled) break;
        if (attempt >= 20) throw new Error("the consumer did not catch up");
      }
      const e2e = async (mode: "outbox" | "direct"): Promise<LoadResult> => {
        const useCases = mode === "outbox" ? setup.withOutbox : setup.withoutOutbox;
        return load(useCases, writers, 10_000, {
          ratePerSecond: rate,
          afterCommit: async ({ readingId, vehicleId, km }, committedAt) => {
            commits.set(readingId, { at: committedAt, mode });
            if (mode === "direct") {
              // The baseline: publish right after the commit, no outbox (and
              // no guarantee: a crash here would lose the event).
              const message = create(OdometerReadingRecordedSchema, {
                reading: create(OdometerReadingSchema, { id: readingId, vehicleId, readingKm: km, recordTime: timestampFromDate(new Date()) }),
              });
              await producer!.send({
                topic, acks: -1,
                messages: [{
                  key: vehicleId, value: Buffer.from(toBinary(OdometerReadingRecordedSchema, message)),
                  headers: { [HEADER.eventId]: randomUUID(), [HEADER.eventType]: OdometerReadingRecordedSchema.typeName, [HEADER.schemaVersion]: "1" },
                }],
              });
            }
          },
        });
      };
      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      await producer.connect();
      // Rounds alternate which path goes first; each round's events are
      // counted apart, and the figures quoted are medians over rounds.
      type Path = "outbox" | "direct";
      const perRound: Record<Path, Array<{ result: LoadResult; latencies: number[] }>> = { outbox: [], direct: [] };
      const rebalancesBefore = await rebalances();
      for (let r = 0; r < e2eRounds; r++) {
        for (const mode of (r % 2 === 0 ? ["outbox", "direct"] : ["direct", "outbox"]) as Path[]) {
          latencies.set(mode, []);
          const result = await e2e(mode);
          await waitFor("the consumer to apply every event", () => [...commits.values()].every((c) => c.mode !== mode) || undefined, 30_000, 50)
            .catch(() => undefined);
          perRound[mode].push({ result, latencies: latencies.get(mode)! });
        }
      }
      const pathRow = (name: string, mode: Path) => {
        const rs = perRound[mode];
        const q = (p: number) => fmt(median(rs.map((x) => quantile(x.latencies, p))), 1);
        return [name, fmt(median(rs.map((x) => x.result.perSecond))), String(rs.reduce((n, x) => n + x.latencies.length, 0)),
          q(0.5), q(0.9), q(0.99), rs.map((x) => fmt(quantile(x.latencies, 0.99), 0)).join(" / "),
          fmt(Math.max(...rs.map((x) => Math.max(...x.latencies))), 1)];
      };
      process.stdout.write(`3. End-to-end latency, commit to consumer effect committed, at half of peak (${rate} writes/s; ${e2eRounds} rounds of 10 s per path, alternating order)\n\n`);
      process.stdout.write(`${table(
        ["path", "writes/s", "events applied", "p50 ms", "p90 ms", "p99 ms (goal < 250)", "p99 per round", "max ms"],
        [pathRow("outbox -> relay -> Kafka -> consumer", "outbox"), pathRow("baseline: produce after commit -> Kafka -> consumer", "direct")],
      )}\n\n(p50/p90/p99: medians over rounds of each round's quantile; consumer group rebalances while measuring: ${(await rebalances()) - rebalancesBefore})\n`);
    }
  } finally {
    await consumer.stop();
    await producer?.disconnect();
    await relay.stop();
    await db.close();
    await consumerPool.close();
    await setup.testDb.drop();
    await consumerDb.drop();
    await deleteTopicsWithPrefix(admin, prefix);
    await admin.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
