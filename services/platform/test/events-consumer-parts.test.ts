// The event consumer's parts that decide on their own, without Kafka or
// PostgreSQL: the retry and dead-letter policy, dispatch by type and
// version, the inbox's "seen before" rule, the offset bookkeeping and the
// batch loop over a fake batch, the supervisor's restarts and stop, the
// dead-letter headers and the outcome metrics. The whole consumer against
// the real broker and database is in services/fleet/test/events-*.test.ts.
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import type { KafkaMessage } from "kafkajs";
import { Registry } from "prom-client";
import { RentalCancelledSchema, RentalReservedSchema } from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { DomainError } from "../src/errors.js";
import { createBatchLoop, type BatchPayload } from "../src/events/consumer/batch.js";
import { deadLetterHeaders } from "../src/events/consumer/dead-letter.js";
import { dispatch, handlerMap } from "../src/events/consumer/dispatch.js";
import { consumedEventOf, handleEvent, type ConsumedEvent, type Outcome } from "../src/events/consumer/event.js";
import { processedBefore } from "../src/events/consumer/inbox.js";
import { recordOutcome } from "../src/events/consumer/metrics.js";
import { COMMIT_AFTER_MS, COMMIT_EVERY, PartitionOffsets, type TopicPartitionOffset } from "../src/events/consumer/offsets.js";
import { ConsumerStopping, pauseInGroup } from "../src/events/consumer/pause.js";
import { backoffMs, nextStepAfter } from "../src/events/consumer/retry-policy.js";
import { RESTARTS_BEFORE_ERROR, Supervisor, type Supervised } from "../src/events/consumer/supervisor.js";
import { createConsumerMetrics } from "../src/events/consumer.js";
import { readEnvelope } from "../src/events/envelope.js";
import { classifyFailure, DeferredEventError, describeFailure, ParkWindowExpiredError, PermanentEventError } from "../src/events/failures.js";
import { headersFromJson, headersToJson } from "../src/events/consumer/parking.js";
import { StopSignal } from "../src/events/stop-signal.js";
import { capturedLogger } from "../src/testing/captured-logger.js";


const noop = async (): Promise<void> => undefined;

test("retry backoff doubles from the initial delay up to the cap, with ±20 % jitter", (t) => {
  const policy = { initialMs: 200, maxMs: 10_000 };
  const middle = () => 0.5;
  t.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffMs(policy, a, middle)), [200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000]);
  t.is(backoffMs(policy, 0, middle), 200, "attempt 0 waits like the first");
  t.is(backoffMs(policy, 3, () => 0), 640);
  t.is(backoffMs(policy, 3, () => 0.999_999), 960);
  for (let i = 0; i < 200; i++) {
    const ms = backoffMs(policy, 2);
    t.true(ms >= 320 && ms <= 480, `${ms} within ±20 % of 400`);
  }
});

test("after a failed attempt: the database waits without using attempts, permanent dead-letters at once, transient retries up to maxAttempts", (t) => {
  t.is(nextStepAfter("infrastructure", 1, 5), "wait_for_database");
  t.is(nextStepAfter("infrastructure", 50, 5), "wait_for_database");
  t.is(nextStepAfter("permanent", 1, 5), "dead_letter");
  t.deepEqual([1, 2, 3, 4, 5].map((a) => nextStepAfter("transient", a, 5)), ["retry", "retry", "retry", "retry", "dead_letter"]);
  t.is(nextStepAfter("transient", 1, 1), "dead_letter", "maxAttempts 1: no retry");
  // The classes come from failures.ts: a domain refusal is permanent.
  t.is(nextStepAfter(classifyFailure(new DomainError("failed_precondition", "VEHICLE_IN_USE", "x")), 1, 5), "dead_letter");
  t.is(nextStepAfter(classifyFailure(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })), 9, 5), "wait_for_database");
});

test("after a failed attempt: 'not applicable yet' is parked, or dead-lettered at once with parking off (park window 0)", (t) => {
  t.is(nextStepAfter("deferred", 1, 5), "park");
  t.is(nextStepAfter("deferred", 9, 5), "park", "parking uses no attempts");
  t.is(nextStepAfter("deferred", 1, 5, false), "dead_letter");
  t.is(nextStepAfter(classifyFailure(new DeferredEventError("VEHICLE_IN_USE", "x", { parkKey: "vehicles/v" })), 1, 5), "park");
  t.is(nextStepAfter("permanent", 1, 5, true), "dead_letter", "parking changes nothing else");
  t.is(nextStepAfter("transient", 1, 5, true), "retry");
});

test("parked events keep their Kafka headers exactly: strings, buffers and repeated headers survive the JSON column", (t) => {
  const original = { "event-id": "e-1", "event-type": Buffer.from("x.Y"), bin: Buffer.from([0, 255, 10]), many: ["a", Buffer.from("b")], none: undefined };
  const json = JSON.parse(JSON.stringify(headersToJson(original))) as Record<string, string[]>;
  const back = headersFromJson(json);
  t.deepEqual(Object.keys(back).sort(), ["bin", "event-id", "event-type", "many"]);
  t.deepEqual(back["event-id"], Buffer.from("e-1"));
  t.deepEqual(back["bin"], Buffer.from([0, 255, 10]));
  t.deepEqual(back["many"], [Buffer.from("a"), Buffer.from("b")]);
  t.is(readEnvelope(back).eventType, "x.Y", "the envelope reads back the same");
});

test("dispatch: no type is rejected, a type without handler is skipped (known or not), a newer version is rejected", (t) => {
  const reserved = handleEvent(RentalReservedSchema, noop);
  const handlers = handlerMap([reserved]);
  const type = RentalReservedSchema.typeName;

  const malformed = dispatch("", undefined, handlers);
  t.is(malformed.kind, "reject");
  t.is(malformed.kind === "reject" ? malformed.error.reason : "", "MALFORMED_ENVELOPE");

  t.deepEqual(dispatch(RentalCancelledSchema.typeName, 1, handlers), { kind: "skip", outcome: "ignored" });
  t.deepEqual(dispatch("fleetmesh.rental.v1.RentalTeleported", 1, handlers), { kind: "skip", outcome: "unknown_type" });
  t.deepEqual(dispatch("anything", 1, handlers, () => true), { kind: "skip", outcome: "ignored" });

  const newer = dispatch(type, 2, handlers);
  t.is(newer.kind, "reject");
  if (newer.kind === "reject") {
    t.true(newer.error instanceof PermanentEventError);
    t.is(newer.error.reason, "SCHEMA_VERSION_UNSUPPORTED");
    t.regex(newer.error.message, /schema version 2 of fleetmesh\.rental\.v1\.RentalReserved is newer than the 1/);
  }
  for (const version of [1, 0, undefined]) t.deepEqual(dispatch(type, version, handlers), { kind: "handle", handler: reserved });

  t.throws(() => handlerMap([reserved, handleEvent(RentalReservedSchema, noop)]), { message: /two handlers for fleetmesh\.rental\.v1\.RentalReserved/ });
});

test("the inbox's rule: a known message is not processed again, except a dead letter sent back by the replay command", (t) => {
  t.false(processedBefore(undefined, false));
  t.false(processedBefore(undefined, true));
  t.true(processedBefore("applied", false));
  t.true(processedBefore("applied", true), "a replay of an applied event changes nothing");
  t.true(processedBefore("dead_lettered", false), "a dead letter delivered again is not dead-lettered twice");
  t.false(processedBefore("dead_lettered", true));
});

test("a consumed event takes its id and aggregate from the envelope, or from the record without one", (t) => {
  const message = { key: Buffer.from("veh-1"), value: null, offset: "17", headers: {} } as unknown as KafkaMessage;
  const bare = consumedEventOf("p.rental.rental.v1", 3, message, readEnvelope(message.headers));
  t.like(bare, { messageId: "p.rental.rental.v1-3-17", eventType: "", aggregateId: "veh-1", topic: "p.rental.rental.v1", partition: 3, offset: "17" });
  const enveloped = consumedEventOf("t", 0, message, readEnvelope({ "event-id": "e-1", "event-type": "x.Y", "aggregate-id": "agg-9", "request-id": "r-1" }));
  t.like(enveloped, { messageId: "e-1", eventType: "x.Y", aggregateId: "agg-9", requestId: "r-1" });
});

test("offsets: commit one past the last handled message, every COMMIT_EVERY messages or COMMIT_AFTER_MS", (t) => {
  let now = 1_000;
  const offsets = new PartitionOffsets("t", 2, () => now);
  t.is(offsets.pending, undefined, "nothing handled, nothing to commit");
  t.false(offsets.commitDue);
  offsets.handled("41");
  t.deepEqual(offsets.pending, { topic: "t", partition: 2, offset: "42" });
  for (let i = 2; i < COMMIT_EVERY; i++) offsets.handled(String(40 + i));
  t.false(offsets.commitDue, `${COMMIT_EVERY - 1} messages within the interval`);
  offsets.handled("200");
  t.true(offsets.commitDue);
  offsets.committed();
  t.is(offsets.pending, undefined);
  t.false(offsets.commitDue);
  offsets.handled("201");
  now += COMMIT_AFTER_MS - 1;
  t.false(offsets.commitDue);
  now += 1;
  t.true(offsets.commitDue, "due once the interval went by since the last commit");
  offsets.handled("9007199254740993");
  t.is(offsets.pending?.offset, "9007199254740994", "offsets past 2^53 stay exact");
});

/** A kafkajs batch payload over `count` messages from offset 100, recording what the loop did. */
function fakeBatch(count: number, options: { staleAfter?: number } = {}) {
  const resolved: string[] = [];
  let heartbeats = 0;
  const messages = Array.from({ length: count }, (_, i) => ({ offset: String(100 + i), key: null, value: null, headers: {} }) as unknown as KafkaMessage);
  const payload: BatchPayload = {
    batch: { topic: "t", partition: 0, messages },
    resolveOffset: (offset) => void resolved.push(offset),
    heartbeat: async () => void (heartbeats += 1),
    isRunning: () => true,
    isStale: () => options.staleAfter !== undefined && resolved.length >= options.staleAfter,
  };
  return { payload, resolved, heartbeats: () => heartbeats };
}

function batchLoop(options: {
  stop?: StopSignal;
  handle?: (message: KafkaMessage) => Promise<Outcome | undefined>;
  commit?: (offsets: TopicPartitionOffset[]) => Promise<void>;
  now?: () => number;
}) {
  const commits: string[] = [];
  const { log, lines } = capturedLogger();
  const loop = createBatchLoop({
    stop: options.stop ?? new StopSignal(),
    log,
    handleMessage: async (_topic, _partition, message) => (options.handle ? options.handle(message) : "applied"),
    commitOffsets: async (offsets) => {
      await options.commit?.(offsets);
      commits.push(...offsets.map((o) => o.offset));
    },
    ...(options.now ? { now: options.now } : {}),
  });
  return { loop, commits, lines };
}

test("batch loop: a long batch commits every 100 messages and at its end, only past handled messages", async (t) => {
  const { loop, commits } = batchLoop({ now: () => 0 });
  const batch = fakeBatch(250);
  await loop(batch.payload);
  t.deepEqual(commits, ["200", "300", "350"]);
  t.is(batch.resolved.length, 250);
  t.is(batch.heartbeats(), 250, "a heartbeat after each message keeps the membership");
});

test("batch loop: a slow batch commits once a second has passed since the last commit", async (t) => {
  let now = 0;
  const { loop, commits } = batchLoop({
    now: () => now,
    handle: async () => {
      now += 400;
      return "applied";
    },
  });
  await loop(fakeBatch(5).payload);
  t.deepEqual(commits, ["103", "105"], "after messages 100-102 (1.2 s), then the rest at the end");
});

test("batch loop: a stop in the middle of an event commits only the messages before it", async (t) => {
  const stop = new StopSignal();
  const { loop, commits } = batchLoop({
    stop,
    handle: async (message) => {
      if (message.offset !== "102") return "dead_lettered";
      stop.request();
      return undefined;
    },
  });
  const batch = fakeBatch(5);
  await loop(batch.payload);
  t.deepEqual(batch.resolved, ["100", "101"]);
  t.deepEqual(commits, ["102"], "the offset of the unfinished event is not passed");
});

test("batch loop: nothing is handled or committed once stopping", async (t) => {
  const stop = new StopSignal();
  stop.request();
  let handled = 0;
  const { loop, commits } = batchLoop({ stop, handle: async () => ((handled += 1), "applied") });
  await loop(fakeBatch(3).payload);
  t.is(handled, 0);
  t.deepEqual(commits, []);
});

test("batch loop: a partition lost to a rebalance is not committed", async (t) => {
  const { loop, commits } = batchLoop({});
  const batch = fakeBatch(10, { staleAfter: 3 });
  await loop(batch.payload);
  t.deepEqual(batch.resolved, ["100", "101", "102"], "the loop ends as the partition goes");
  t.deepEqual(commits, [], "the new owner starts from the last committed offset");
});

test("batch loop: a failed final commit is an error, unless the consumer is stopping", async (t) => {
  const failing = batchLoop({ commit: () => Promise.reject(new Error("coordinator gone")) });
  await t.throwsAsync(failing.loop(fakeBatch(2).payload), { message: "coordinator gone" });

  const stop = new StopSignal();
  const stopping = batchLoop({
    stop,
    handle: async (message) => {
      if (message.offset === "101") stop.request();
      return "applied";
    },
    commit: () => Promise.reject(new Error("coordinator gone")),
  });
  await t.notThrowsAsync(stopping.loop(fakeBatch(3).payload));
  t.deepEqual(stopping.commits, []);
  t.true(stopping.lines.some((l) => l.level === "debug" && l.msg === "offset commit while stopping failed"));
});

/** A consumer session that fails, or runs until stopped, as the test says. */
class FakeSession implements Supervised {
  closed = 0;
  readonly connected = Promise.withResolvers<void>();
  constructor(readonly stop: StopSignal, readonly behaviour: "fail" | "run" | "connect-slowly", readonly closeFails = false) {
    if (behaviour !== "connect-slowly") this.connected.resolve();
  }
  async run(): Promise<void> {
    await this.connected.promise;
    if (this.behaviour === "fail") throw new Error("crashed for good");
    if (this.stop.stopping) return;
    await this.stop.requested;
  }
  async close(): Promise<void> {
    this.closed += 1;
    if (this.closeFails) throw new Error("already gone");
  }
}

function supervised(behaviours: Array<FakeSession["behaviour"]>, options: { backoffMs?: number; closeFails?: boolean } = {}) {
  const stop = new StopSignal();
  const sessions: FakeSession[] = [];
  const { log, lines } = capturedLogger();
  const supervisor = new Supervisor({
    open: () => {
      const session = new FakeSession(stop, behaviours[sessions.length] ?? "run", options.closeFails ?? false);
      sessions.push(session);
      return session;
    },
    stop,
    backoffMs: () => options.backoffMs ?? 1,
    log,
    groupId: "g",
  });
  return { supervisor, sessions, lines, stop };
}

const waitUntil = async (what: string, condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(5);
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
};

test("supervisor: a crashed session is closed and replaced, warnings turn to errors after repeated failures, stop closes the last one", async (t) => {
  const failures = RESTARTS_BEFORE_ERROR;
  const { supervisor, sessions, lines } = supervised([...Array<"fail">(failures).fill("fail"), "run"]);
  supervisor.start();
  supervisor.start();
  await waitUntil("the healthy session", () => sessions.length === failures + 1);
  await sleep(20);
  t.is(sessions.length, failures + 1, "start() twice runs one loop; a running session is left alone");
  t.is(supervisor.current, sessions[failures]);
  t.true(sessions.slice(0, failures).every((s) => s.closed === 1), "each crashed session was closed");
  const restarts = lines.filter((l) => l.msg === "event consumer is down; restarting");
  t.deepEqual(restarts.map((l) => [l.level, l["failures"], l["groupId"]]),
    [...Array.from({ length: failures - 1 }, (_, i) => ["warn", i + 1, "g"]), ["error", failures, "g"]]);

  await supervisor.stop();
  t.is(sessions[failures]!.closed, 1, "stop() closes the running session");
  t.is(sessions.length, failures + 1, "nothing reopened after stop");
});

test("supervisor: a stop while a session is still connecting waits for it, then closes that session", async (t) => {
  const { supervisor, sessions } = supervised(["connect-slowly"]);
  supervisor.start();
  await waitUntil("the session", () => sessions.length === 1);
  const stopped = supervisor.stop();
  await sleep(20);
  t.is(sessions[0]!.closed, 0, "not closed while its connect is in progress");
  sessions[0]!.connected.resolve();
  await stopped;
  t.is(sessions[0]!.closed, 1, "the session that connected after stop() began is the one closed");
  t.is(sessions.length, 1);
});

test("supervisor: a stop during the pause before a restart ends it at once", async (t) => {
  const { supervisor, sessions } = supervised(["fail"], { backoffMs: 60_000 });
  supervisor.start();
  await waitUntil("the failure", () => sessions[0]?.closed === 1);
  const started = performance.now();
  await supervisor.stop();
  t.true(performance.now() - started < 10_000, "not held by the 60 s backoff");
  t.is(sessions.length, 1, "no restart after stop");
  t.is(supervisor.current, undefined);
});

test("supervisor: stop before start opens nothing; a failed close at stop is logged, not thrown", async (t) => {
  const idle = supervised(["run"]);
  await idle.supervisor.stop();
  idle.supervisor.start();
  await sleep(10);
  t.is(idle.sessions.length, 0);

  const { supervisor, sessions, lines } = supervised(["run"], { closeFails: true });
  supervisor.start();
  await waitUntil("the session", () => sessions.length === 1);
  await t.notThrowsAsync(supervisor.stop());
  t.true(lines.some((l) => l.level === "warn" && l.msg === "event consumer disconnect failed"));
});

test("a pause inside a batch heartbeats, and gives up with ConsumerStopping once stop is requested", async (t) => {
  const stop = new StopSignal();
  let heartbeats = 0;
  await pauseInGroup(stop, 30, async () => void (heartbeats += 1));
  t.is(heartbeats, 1);
  const pausing = pauseInGroup(stop, 60_000, async () => void (heartbeats += 1));
  await sleep(10);
  stop.request();
  const started = performance.now();
  await t.throwsAsync(pausing, { instanceOf: ConsumerStopping });
  t.true(performance.now() - started < 10_000, "at its next heartbeat slice, not after the 60 s");
  await t.throwsAsync(pauseInGroup(stop, 10, noop), { instanceOf: ConsumerStopping });
});

test("the stop signal ends a sleep at once, and every later one", async (t) => {
  const stop = new StopSignal();
  t.false(stop.stopping);
  const sleeping = stop.sleep(60_000);
  stop.request();
  await sleeping;
  t.true(stop.stopping);
  t.is(await stop.requested, undefined);
  const started = performance.now();
  await stop.sleep(60_000);
  t.true(performance.now() - started < 10_000, "not the 60 s");
});

test("dead-letter headers: the original's plus the failure and the origin, without the replay mark", (t) => {
  const event: ConsumedEvent = {
    messageId: "e-1", eventType: "x.Y", aggregateId: "a", occurredAt: undefined, requestId: undefined,
    topic: "p.rental.rental.v1", partition: 4, offset: "99",
  };
  const failure = describeFailure(new DomainError("failed_precondition", "VEHICLE_IN_USE", "x".repeat(3_000)));
  const headers = deadLetterHeaders({ "event-id": "e-1", "dlq-replay-of": "p.rental.rental.v1.dlq/0/5" }, event, failure, 3, "fleet",
    new Date("2026-01-02T03:04:05.000Z"));
  t.deepEqual({ ...headers, "dlq-error-message": undefined }, {
    "event-id": "e-1",
    "dlq-error-reason": "VEHICLE_IN_USE",
    "dlq-error-kind": "failed_precondition",
    "dlq-error-message": undefined,
    "dlq-original-topic": "p.rental.rental.v1",
    "dlq-original-partition": "4",
    "dlq-original-offset": "99",
    "dlq-attempts": "3",
    "dlq-consumer-group": "fleet",
    "dlq-failed-at": "2026-01-02T03:04:05.000Z",
  });
  t.is(String(headers["dlq-error-message"]).length, 2_000, "long messages are cut");
  t.false("dlq-deferred-reason" in headers);
  const expired = deadLetterHeaders({ "event-id": "e-1" }, event,
    describeFailure(new ParkWindowExpiredError("VEHICLE_IN_USE", "held", 2_000)), 7, "fleet", new Date("2026-01-02T03:04:05.000Z"));
  t.is(expired["dlq-error-reason"], "PARK_WINDOW_EXPIRED");
  t.is(expired["dlq-error-kind"], "deferred");
  t.is(expired["dlq-deferred-reason"], "VEHICLE_IN_USE");
  t.is(expired["dlq-attempts"], "7");
});

test("outcome metrics: unknown types share one label value; lag is observed for applied events only", async (t) => {
  const registry = new Registry();
  const metrics = createConsumerMetrics(registry);
  t.is(createConsumerMetrics(registry).consumed, metrics.consumed, "a restarted consumer reuses the registry's metrics");
  const event = (eventType: string, occurredAt?: Date): ConsumedEvent => ({
    messageId: "m", eventType, aggregateId: undefined, occurredAt, requestId: undefined, topic: "t", partition: 0, offset: "0",
  });
  recordOutcome(metrics, event("x.Invented"), "unknown_type", 0.01);
  recordOutcome(metrics, event("x.Other"), "unknown_type", 0.01);
  recordOutcome(metrics, event("x.Y", new Date(10_000)), "applied", 0.02, 12_500);
  recordOutcome(metrics, event("x.Y", new Date(10_000)), "duplicate", 0.02, 12_500);
  const text = await registry.metrics();
  t.regex(text, /events_consumed_total\{topic="t",event_type="\(unknown\)",outcome="unknown_type"\} 2/);
  t.regex(text, /events_consumed_total\{topic="t",event_type="x\.Y",outcome="applied"\} 1/);
  t.regex(text, /events_handle_duration_seconds_count\{topic="t"\} 4/);
  t.regex(text, /events_consume_lag_seconds_count\{topic="t"\} 1/);
  t.regex(text, /events_consume_lag_seconds_sum\{topic="t"\} 2\.5/);
});
