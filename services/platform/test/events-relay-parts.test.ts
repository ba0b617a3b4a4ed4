// The outbox relay's parts that decide on their own, without Kafka or
// PostgreSQL: the Kafka record of a row and the batch per topic, the round
// (read, publish, mark) over fake ports, the backoff, the wake-ups and the
// loop's reaction to each round. The whole relay against the real broker and
// database is in services/fleet/test/events-publish.test.ts and friends.
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import type pg from "pg";
import { Registry } from "prom-client";
import { createRelayMetrics } from "../src/events/outbox-relay.js";
import type { Backlog } from "../src/events/relay/backlog.js";
import type { Leadership } from "../src/events/relay/leadership.js";
import { toKafkaMessage, topicMessagesOf, type PendingRow } from "../src/events/relay/message.js";
import type { Publisher } from "../src/events/relay/publisher.js";
import { FAILURES_BEFORE_ERROR, roundBackoffMs } from "../src/events/relay/retry-policy.js";
import { createRound, runRelayLoop, type RoundResult } from "../src/events/relay/rounds.js";
import { WakeUps } from "../src/events/relay/wake-ups.js";
import { StopSignal } from "../src/events/stop-signal.js";
import { capturedLogger } from "../src/testing/captured-logger.js";


const row = (id: string, topic: string, aggregateId: string, extra: Partial<PendingRow> = {}): PendingRow => ({
  id,
  topic,
  aggregate_type: "vehicle",
  aggregate_id: aggregateId,
  event_type: "fleetmesh.fleet.v1.VehicleRegistered",
  schema_version: 1,
  payload_bin: Buffer.from([8, 1]),
  traceparent: null,
  request_id: null,
  occurred_at: new Date("2026-01-02T03:04:05.678Z"),
  ...extra,
});

test("an outbox row becomes a record keyed by aggregate, stamped with its occurrence, the envelope in headers", (t) => {
  const bare = toKafkaMessage(row("e-1", "fleet.vehicle.v1", "veh-1"));
  t.deepEqual(bare, {
    key: "veh-1",
    value: Buffer.from([8, 1]),
    timestamp: String(Date.parse("2026-01-02T03:04:05.678Z")),
    headers: {
      "event-id": "e-1",
      "event-type": "fleetmesh.fleet.v1.VehicleRegistered",
      "aggregate-type": "vehicle",
      "aggregate-id": "veh-1",
      "schema-version": "1",
      "occurred-at": "2026-01-02T03:04:05.678Z",
      "content-type": "application/x-protobuf",
    },
  });
  const traced = toKafkaMessage(row("e-2", "fleet.vehicle.v1", "veh-1", { traceparent: "00-abc-def-01", request_id: "r-1" }));
  t.like(traced.headers, { traceparent: "00-abc-def-01", "request-id": "r-1" });
});

test("a round's rows go out as one batch per physical topic, each topic's records in sequence order", (t) => {
  const batches = topicMessagesOf([
    row("1", "fleet.vehicle.v1", "a"),
    row("2", "identity.user.v1", "u"),
    row("3", "fleet.vehicle.v1", "b"),
    row("4", "fleet.vehicle.v1", "a"),
  ], "p.");
  t.deepEqual(batches.map((b) => [b.topic, b.messages.map((m) => m.headers?.["event-id"])]), [
    ["p.fleet.vehicle.v1", ["1", "3", "4"]],
    ["p.identity.user.v1", ["2"]],
  ]);
  t.deepEqual(topicMessagesOf([], "p."), []);
});

test("failed rounds back off from 100 ms, doubling up to the cap, with ±25 % jitter", (t) => {
  const middle = () => 0.5;
  t.deepEqual([1, 2, 3, 4, 5, 6].map((f) => roundBackoffMs(f, 3_000, middle)), [100, 200, 400, 800, 1_600, 3_000]);
  t.is(roundBackoffMs(1_000, 3_000, middle), 3_000, "long outages stay at the cap");
  t.is(roundBackoffMs(1_000, 1e9, middle), 102_400, "the exponent stops growing at 2^10");
  t.is(roundBackoffMs(2, 3_000, () => 0), 150);
  t.is(roundBackoffMs(2, 3_000, () => 1), 250);
});

test("wake-ups: one that arrives while a round runs ends the next wait at once; a read consumes it", async (t) => {
  const wakeUps = new WakeUps();
  wakeUps.wake();
  let started = performance.now();
  await wakeUps.wait(60_000);
  t.true(performance.now() - started < 10_000, "pending wake-up: not the 60 s");
  wakeUps.consume();
  started = performance.now();
  await wakeUps.wait(30);
  t.true(performance.now() - started >= 25, "nothing pending: waits for the poll interval");
  const waiting = wakeUps.wait(60_000);
  await sleep(5);
  wakeUps.wake();
  await waiting;
  wakeUps.consume();
  const stopped = wakeUps.wait(60_000);
  wakeUps.stop();
  await stopped;
  started = performance.now();
  await wakeUps.wait(60_000);
  t.true(performance.now() - started < 10_000, "no wait after stop: not the 60 s");
});

/** Fake ports of a round: a leader session that records its queries, a publisher that may refuse. */
function roundWith(options: { leader?: boolean; pending?: PendingRow[]; publishFails?: boolean; batchSize?: number }) {
  const queries: Array<{ sql: string; params: unknown[] | undefined }> = [];
  const published: string[][] = [];
  let purges = 0;
  let emptied = 0;
  const session = {
    query: async (sql: string, params?: unknown[]) => {
      queries.push({ sql, params });
      return { rows: sql.startsWith("SELECT") ? (options.pending ?? []) : [] };
    },
  } as unknown as pg.Client;
  const leadership: Leadership = {
    ensure: async () => options.leader ?? true,
    isLeader: options.leader ?? true,
    session,
    dropIfStandby: () => undefined,
    drop: () => undefined,
  };
  const publisher: Publisher = {
    publish: async (rows) => {
      if (options.publishFails) throw new Error("NOT_ENOUGH_REPLICAS");
      published.push(rows.map((r) => r.id));
    },
    close: async () => undefined,
  };
  const backlog: Backlog = { read: async () => ({ count: 0, oldestSeconds: 0 }), last: { count: 0, oldestSeconds: 0 }, markEmpty: () => void (emptied += 1) };
  const wakeUps = new WakeUps();
  const round = createRound({
    leadership, purgePublished: async () => void (purges += 1), wakeUps, backlog, publisher, batchSize: options.batchSize ?? 3,
  });
  return { round, queries, published, wakeUps, purges: () => purges, emptied: () => emptied };
}

test("round: a standby replica reads nothing", async (t) => {
  const r = roundWith({ leader: false, pending: [row("1", "t", "a")] });
  t.is(await r.round(), "standby");
  t.deepEqual(r.queries, []);
  t.is(r.purges(), 0);
});

test("round: the leader marks exactly the rows Kafka took, by id, and says whether more may wait", async (t) => {
  const full = roundWith({ pending: [row("1", "t", "a"), row("2", "t", "b"), row("3", "t", "a")] });
  full.wakeUps.wake();
  t.is(await full.round(), "busy", "a full batch: go on at once");
  t.deepEqual(full.published, [["1", "2", "3"]]);
  t.is(full.queries.length, 2);
  t.regex(full.queries[0]!.sql, /WHERE published_at IS NULL ORDER BY sequence LIMIT \$1/);
  t.deepEqual(full.queries[0]!.params, [3]);
  t.regex(full.queries[1]!.sql, /^UPDATE outbox_events SET published_at = now\(\) WHERE id = ANY/);
  t.deepEqual(full.queries[1]!.params, [["1", "2", "3"]]);
  const started = performance.now();
  await full.wakeUps.wait(30);
  t.true(performance.now() - started >= 25, "the wake-up before the read was consumed by it");

  const partial = roundWith({ pending: [row("1", "t", "a")] });
  t.is(await partial.round(), "idle");
  const empty = roundWith({ pending: [] });
  t.is(await empty.round(), "idle");
  t.is(empty.emptied(), 1, "an empty read zeroes the backlog figures");
  t.is(empty.queries.length, 1);
});

test("round: rows Kafka refuses are not marked, so the next round sends the same rows again, in order", async (t) => {
  const r = roundWith({ pending: [row("1", "t", "a"), row("2", "t", "a")], publishFails: true });
  await t.throwsAsync(r.round(), { message: "NOT_ENOUGH_REPLICAS" });
  await t.throwsAsync(r.round(), { message: "NOT_ENOUGH_REPLICAS" });
  t.deepEqual(r.queries.map((q) => q.sql.split(" ")[0]), ["SELECT", "SELECT"], "no UPDATE: nothing marked, nothing skipped");
});

/** The relay loop over scripted rounds, with its waits recorded instead of slept. */
async function loopOver(script: Array<RoundResult | Error>, options: { minRoundIntervalMs?: number; roundMs?: number } = {}) {
  const stop = new StopSignal();
  const waits: string[] = [];
  let afterFailures = 0;
  let now = 0;
  const registry = new Registry();
  const { log, lines } = capturedLogger();
  const backlog: Backlog = { read: async () => ({ count: 0, oldestSeconds: 0 }), last: { count: 0, oldestSeconds: 0 }, markEmpty: () => undefined };
  const metrics = createRelayMetrics(registry, backlog);
  let i = 0;
  await runRelayLoop({
    round: async () => {
      const step = script[i++];
      now += options.roundMs ?? 0;
      if (i >= script.length) stop.request();
      if (step instanceof Error) throw step;
      return step ?? "idle";
    },
    stop,
    waitForWake: async (ms) => void waits.push(`wake ${ms}`),
    sleep: async (ms) => void waits.push(`sleep ${Math.round(ms)}`),
    afterFailure: () => void (afterFailures += 1),
    metrics,
    log,
    pollIntervalMs: 1_000,
    leaderCheckMs: 250,
    minRoundIntervalMs: options.minRoundIntervalMs ?? 0,
    maxBackoffMs: 3_000,
    now: () => now,
  });
  const failed = /outbox_publish_failures_total (\d+)/.exec(await registry.metrics())?.[1];
  return { waits, lines, afterFailures: () => afterFailures, failed: Number(failed) };
}

test("relay loop: a standby checks for the lock every leaderCheckMs, an idle leader waits for a wake-up, a busy one goes on", async (t) => {
  const { waits } = await loopOver(["standby", "busy", "busy", "idle", "standby"]);
  t.deepEqual(waits, ["sleep 250", "wake 1000", "sleep 250"]);
});

test("relay loop: rounds after a quiet spell start at once, a stream of them at most every minRoundIntervalMs", async (t) => {
  t.deepEqual((await loopOver(["idle", "idle", "idle"], { minRoundIntervalMs: 50, roundMs: 20 })).waits,
    ["wake 1000", "sleep 30", "wake 1000", "sleep 30", "wake 1000"], "no spacing once stopping");
  t.deepEqual((await loopOver(["idle", "idle"], { minRoundIntervalMs: 50, roundMs: 60 })).waits, ["wake 1000", "wake 1000"]);
});

test("relay loop: failed rounds are counted, retried with growing backoff, logged as errors once they persist", async (t) => {
  const failures = FAILURES_BEFORE_ERROR;
  const { waits, lines, afterFailures, failed } = await loopOver([
    ...Array.from({ length: failures }, () => new Error("broker down")), "idle", new Error("broker down"), "idle",
  ]);
  t.is(failed, failures + 1);
  t.is(afterFailures(), failures + 1, "each failure may drop a standby's connection");
  const rounds = lines.filter((l) => l.msg === "outbox relay round failed; retrying");
  t.deepEqual(rounds.map((l) => [l.level, l["failures"]]), [
    ...Array.from({ length: failures - 1 }, (_, i) => ["warn", i + 1]), ["error", failures], ["warn", 1],
  ], "a good round resets the count");
  const backoffs = waits.filter((w) => w.startsWith("sleep")).map((w) => Number(w.split(" ")[1]));
  t.is(backoffs.length, failures + 1);
  for (const [i, ms] of backoffs.slice(0, failures).entries()) {
    const base = Math.min(3_000, 100 * 2 ** i);
    t.true(ms >= base * 0.75 - 1 && ms <= base * 1.25 + 1, `backoff ${i + 1}: ${ms} ms near ${base}`);
  }
});

test("relay loop: a round failing while the relay stops ends the loop, uncounted", async (t) => {
  const { waits, failed, lines } = await loopOver([new Error("connection terminated")]);
  t.is(failed, 0);
  t.deepEqual(waits, []);
  t.false(lines.some((l) => l.msg === "outbox relay round failed; retrying"));
});

test("relay loop: a stop that lands during a standby's lock check does not wait out the pause after it", async (t) => {
  const stop = new StopSignal();
  const { log } = capturedLogger();
  const backlog: Backlog = { read: async () => ({ count: 0, oldestSeconds: 0 }), last: { count: 0, oldestSeconds: 0 }, markEmpty: () => undefined };
  const started = performance.now();
  await runRelayLoop({
    round: async () => {
      stop.request();
      return "standby";
    },
    stop,
    waitForWake: async () => undefined,
    afterFailure: () => undefined,
    metrics: createRelayMetrics(new Registry(), backlog),
    log,
    pollIntervalMs: 60_000,
    leaderCheckMs: 60_000,
    minRoundIntervalMs: 0,
    maxBackoffMs: 60_000,
  });
  t.true(performance.now() - started < 10_000, "not the 60 s lock check interval");
});
