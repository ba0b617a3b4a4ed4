import { setTimeout as sleep } from "node:timers/promises";
import { Partitioners, type Kafka, type Message, type Producer } from "kafkajs";
import pg from "pg";
import type { Registry } from "prom-client";
import type { DatabaseConfig } from "../config.js";
import type { Database } from "../db.js";
import type { Logger } from "../logger.js";
import { HEADER, PROTOBUF_CONTENT_TYPE } from "./envelope.js";
import { physicalTopic } from "./kafka.js";
import { createRelayNotifier, databaseKeyOf, OUTBOX_CHANNEL, onOutboxCommit } from "./outbox.js";
import { counter, gauge, histogram, LAG_BUCKETS } from "./metrics.js";


export interface OutboxRelayOptions {
  readonly db: Database;
  /** For the relay's own connection (LISTEN and the leader lock), outside the pool. */
  readonly connection: DatabaseConfig;
  readonly kafka: Kafka;
  readonly topicPrefix: string;
  readonly log: Logger;
  readonly registry: Registry;
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  readonly leaderCheckMs: number;
  readonly retainPublishedHours: number;
  /** Application name of the relay's own connection. */
  readonly applicationName?: string;
  /** Shortest time between the starts of two rounds (see run()). */
  readonly minRoundIntervalMs?: number;
  /** Longest pause after failures in a row (publish or database). */
  readonly maxBackoffMs?: number;
  /** How long stop() waits for an in-flight batch. */
  readonly stopTimeoutMs?: number;
}

export interface OutboxRelay {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  /** True while this replica holds the relay lock and publishes. */
  readonly isLeader: boolean;
  /** Unpublished rows right now. */
  backlog(): Promise<number>;
}

export interface PendingRow {
  readonly id: string;
  readonly topic: string;
  readonly aggregate_type: string;
  readonly aggregate_id: string;
  readonly event_type: string;
  readonly schema_version: number;
  readonly payload_bin: Buffer;
  readonly traceparent: string | null;
  readonly request_id: string | null;
  readonly occurred_at: Date;
}

/**
 * The Kafka record of an outbox row: key = aggregate id, value = protobuf
 * payload, the envelope in headers, timestamp = when the event occurred (so
 * a group reset "to time T" starts at the events that occurred from T on).
 */
export const toKafkaMessage = (row: PendingRow): Message => ({
  key: row.aggregate_id,
  value: row.payload_bin,
  timestamp: String(row.occurred_at.getTime()),
  headers: {
    [HEADER.eventId]: row.id,
    [HEADER.eventType]: row.event_type,
    [HEADER.aggregateType]: row.aggregate_type,
    [HEADER.aggregateId]: row.aggregate_id,
    [HEADER.schemaVersion]: String(row.schema_version),
    [HEADER.occurredAt]: row.occurred_at.toISOString(),
    [HEADER.contentType]: PROTOBUF_CONTENT_TYPE,
    ...(row.traceparent ? { [HEADER.traceparent]: row.traceparent } : {}),
    ...(row.request_id ? { [HEADER.requestId]: row.request_id } : {}),
  },
});

// One relay per service database publishes at a time: rows are read and
// published in `sequence` order by a single loop, which is what keeps the
// order of each aggregate's events. The key is fixed because each service
// has its own database (advisory locks are per database).
const LEADER_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext('fleetmesh.outbox_relay')::bigint) AS locked";

const PURGE_EVERY_MS = 10 * 60_000;
const PURGE_CHUNK = 5_000;

/**
 * Publishes committed outbox rows to Kafka, at least once and in order per
 * aggregate:
 *
 * 1. Leadership: a dedicated connection takes a session advisory lock; other
 *    replicas stay on standby and retry every `leaderCheckMs`. A crashed
 *    leader's session ends and PostgreSQL releases the lock with it.
 * 2. Wake-up: writers in this process signal their commits (outbox.ts);
 *    the same connection LISTENs on `outbox_events` for the NOTIFY that a
 *    standby replica sends when its process wrote events. `pollIntervalMs`
 *    is only the fallback (a writer that died right after its commit).
 * 3. Each round reads up to `batchSize` unpublished rows in `sequence` order,
 *    sends them with acks=all from an idempotent producer (key = aggregate
 *    id, envelope in headers), and only then marks exactly those rows
 *    published, by id. A crash between the two re-sends the batch: consumers
 *    deduplicate on the event id.
 *
 * Rows are never marked by a range of sequences: a transaction that took a
 * lower sequence may commit after a higher one was published.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, log } = options;
  const maxBackoffMs = options.maxBackoffMs ?? 3_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const minRoundIntervalMs = options.minRoundIntervalMs ?? 0;
  let lastRoundAt = 0;

  const published = counter(options.registry, "outbox_published_total", "Outbox events published to Kafka", ["topic"]);
  const publishFailures = counter(options.registry, "outbox_publish_failures_total", "Failed outbox publish rounds", []);
  const lag = histogram(options.registry, "outbox_publish_lag_seconds",
    "Time from an event's occurrence (its transaction) to its acknowledgement by Kafka", [], LAG_BUCKETS);
  const leaderGauge = gauge(options.registry, "outbox_relay_leader", "1 while this replica is the active outbox relay", []);
  let lastBacklog = { count: 0, oldestSeconds: 0 };
  const readBacklog = async (): Promise<{ count: number; oldestSeconds: number }> => {
    const { rows } = await db.knex.raw<{ rows: Array<{ n: bigint; oldest: number | null }> }>(
      `SELECT count(*) AS n, extract(epoch FROM now() - min(occurred_at))::float8 AS oldest
         FROM outbox_events WHERE published_at IS NULL`,
    );
    const row = rows[0];
    lastBacklog = { count: Number(row?.n ?? 0n), oldestSeconds: Math.max(0, row?.oldest ?? 0) };
    return lastBacklog;
  };
  // Read at scrape time; a failing read keeps the last value rather than
  // failing the whole /metrics response.
  gauge(options.registry, "outbox_backlog", "Outbox events not yet published", [], async function () {
    this.set((await readBacklog().catch(() => lastBacklog)).count);
  });
  gauge(options.registry, "outbox_oldest_unpublished_seconds", "Age of the oldest unpublished outbox event", [], function () {
    this.set(lastBacklog.oldestSeconds);
  });

  let stopping = false;
  let leader = false;
  let loop: Promise<void> | undefined;
  let lease: pg.Client | undefined;
  let leaseCheckedAt = 0;
  let producer: Producer | undefined;
  let lastPurge = 0;

  // Wake-ups: a notification that arrives while a round runs is remembered,
  // so the next wait returns at once and no commit is left for the poll.
  let wakePending = false;
  let wakeWaiter: (() => void) | undefined;
  const wake = (): void => {
    wakePending = true;
    wakeWaiter?.();
  };
  const waitForWake = async (ms: number): Promise<void> => {
    if (wakePending || stopping) return;
    const ac = new AbortController();
    await Promise.race([
      new Promise<void>((resolve) => (wakeWaiter = resolve)),
      sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined),
    ]);
    ac.abort();
    wakeWaiter = undefined;
  };

  // Commits of outbox rows in this process (outbox.ts): the active relay
  // wakes at once; a standby one passes the news on to the active relay in
  // another process with a (coalesced) NOTIFY.
  const notifier = createRelayNotifier(db.knex);
  let unsubscribe: (() => void) | undefined;

  const setLeader = (value: boolean): void => {
    if (value !== leader) log.info({ leader: value }, value ? "outbox relay is active" : "outbox relay is on standby");
    leader = value;
    leaderGauge.set(value ? 1 : 0);
  };

  const dropLease = (): void => {
    const client = lease;
    lease = undefined;
    setLeader(false);
    client?.removeAllListeners("notification");
    client?.end().catch(() => undefined);
  };

  const connectLease = async (): Promise<pg.Client> => {
    const c = options.connection;
    const client = new pg.Client({
      host: c.host,
      port: c.port,
      database: c.database,
      user: c.user,
      password: c.password,
      application_name: options.applicationName ?? "outbox-relay",
      keepAlive: true,
      statement_timeout: c.statementTimeoutMs,
    });
    client.on("error", (err) => {
      log.warn({ err }, "outbox relay connection lost");
      if (lease === client) dropLease();
    });
    client.on("end", () => {
      if (lease === client) dropLease();
    });
    client.on("notification", () => wake());
    await client.connect();
    // Marks need no flush to disk before the relay goes on: a mark lost in a
    // database crash only means the rows are sent again, which consumers
    // absorb. Writers then do not queue behind the relay's commits.
    //
    // The read must walk the partial index in sequence order and stop at the
    // batch size. Published rows leave dead entries at the head of that index
    // until vacuum; an ordered index scan marks them dead as it passes (later
    // scans skip them), but the bitmap scan the planner tends to pick with
    // stale statistics revisits every one of them on every round.
    await client.query(`SET synchronous_commit = off; SET enable_bitmapscan = off; SET enable_seqscan = off; LISTEN ${OUTBOX_CHANNEL}`);
    return client;
  };

  /** Holds (or takes) the leader lock; false on standby. */
  const ensureLeadership = async (): Promise<boolean> => {
    if (!lease) {
      lease = await connectLease();
      leaseCheckedAt = Date.now();
    }
    const now = Date.now();
    if (leader) {
      // A dead connection has released the lock already; find out before
      // publishing as if it were still held.
      if (now - leaseCheckedAt >= options.leaderCheckMs) {
        await lease.query("SELECT 1");
        leaseCheckedAt = now;
      }
      return true;
    }
    const { rows } = await lease.query<{ locked: boolean }>(LEADER_LOCK_SQL);
    leaseCheckedAt = now;
    setLeader(rows[0]?.locked === true);
    return leader;
  };

  const ensureProducer = async (): Promise<Producer> => {
    if (producer) return producer;
    const p = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    await p.connect();
    producer = p;
    return p;
  };

  /** After a failed send the producer's sequence numbers are unknown: start a fresh producer id. */
  const dropProducer = async (): Promise<void> => {
    const p = producer;
    producer = undefined;
    await p?.disconnect().catch(() => undefined);
  };

  const publish = async (rows: readonly PendingRow[]): Promise<void> => {
    const byTopic = new Map<string, Message[]>();
    for (const row of rows) {
      const topic = physicalTopic(options.topicPrefix, row.topic);
      let list = byTopic.get(topic);
      if (!list) byTopic.set(topic, (list = []));
      list.push(toKafkaMessage(row));
    }
    const p = await ensureProducer();
    try {
      await p.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    } catch (err) {
      await dropProducer();
      throw err;
    }
    const now = Date.now();
    for (const [topic, messages] of byTopic) published.inc({ topic }, messages.length);
    for (const row of rows) lag.observe((now - row.occurred_at.getTime()) / 1000);
  };

  const purgePublished = async (): Promise<void> => {
    if (Date.now() - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = Date.now();
    let total = 0;
    for (let i = 0; i < 20 && !stopping; i++) {
      const deleted = await db.knex.raw<{ rowCount: number }>(
        `DELETE FROM outbox_events WHERE id IN (
           SELECT id FROM outbox_events
            WHERE published_at < now() - make_interval(hours => ?)
            LIMIT ${PURGE_CHUNK})`,
        [options.retainPublishedHours],
      );
      total += deleted.rowCount;
      if (deleted.rowCount < PURGE_CHUNK) break;
    }
    if (total > 0) log.info({ deleted: total }, "purged published outbox events");
  };

  const round = async (): Promise<"idle" | "busy" | "standby"> => {
    if (!(await ensureLeadership())) return "standby";
    await purgePublished();
    wakePending = false;
    // Reads and marks go through the leader's own session: if it is lost,
    // so is the lock, and a relay that is no longer the leader cannot mark.
    const session = lease!;
    const { rows } = await session.query<PendingRow>(
      `SELECT id, topic, aggregate_type, aggregate_id, event_type, schema_version, payload_bin, traceparent, request_id, occurred_at
         FROM outbox_events WHERE published_at IS NULL ORDER BY sequence LIMIT $1`,
      [options.batchSize],
    );
    if (rows.length === 0) lastBacklog = { count: 0, oldestSeconds: 0 };
    if (rows.length === 0) return "idle";
    await publish(rows);
    await session.query("UPDATE outbox_events SET published_at = now() WHERE id = ANY($1::uuid[])", [rows.map((r) => r.id)]);
    return rows.length === options.batchSize ? "busy" : "idle";
  };

  const run = async (): Promise<void> => {
    let failures = 0;
    while (!stopping) {
      try {
        lastRoundAt = performance.now();
        const state = await round();
        failures = 0;
        if (state === "standby") await waitForStopOr(options.leaderCheckMs);
        else if (state === "idle") {
          await waitForWake(options.pollIntervalMs);
          // Rounds start at most every minRoundIntervalMs: an event after a
          // quiet spell goes out at once, while a stream of commits gathers
          // into batches instead of hundreds of tiny rounds a second, which
          // would cost the writers CPU on a busy machine.
          const sinceLast = performance.now() - lastRoundAt;
          if (sinceLast < minRoundIntervalMs && !stopping) await waitForStopOr(minRoundIntervalMs - sinceLast);
        }
      } catch (err) {
        if (stopping) break;
        failures += 1;
        publishFailures.inc();
        // The first failures of an outage are routine (broker restart, leader
        // move); a stuck relay is what needs attention.
        log[failures >= 5 ? "error" : "warn"]({ err, failures }, "outbox relay round failed; retrying");
        if (lease && !leader) dropLease();
        const backoff = Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures - 1, 10));
        await waitForStopOr(backoff * (0.75 + Math.random() * 0.5));
      }
    }
  };

  let stopWaiter: (() => void) | undefined;
  const waitForStopOr = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      stopWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  return {
    name: "outbox-relay",
    get isLeader() {
      return leader;
    },
    start() {
      if (loop) return;
      unsubscribe = onOutboxCommit(databaseKeyOf(db.knex), () => {
        if (leader) wake();
        else if (!stopping) notifier.notify();
      });
      loop = run().catch((err: unknown) => log.error({ err }, "outbox relay stopped unexpectedly"));
    },
    async stop() {
      stopping = true;
      unsubscribe?.();
      notifier.close();
      wakeWaiter?.();
      stopWaiter?.();
      if (loop) {
        const timer = new AbortController();
        const done = await Promise.race([loop.then(() => true), sleep(stopTimeoutMs, false, { signal: timer.signal })]);
        timer.abort();
        if (!done) log.warn("outbox relay did not finish its batch in time; the batch will be sent again");
      }
      await dropProducer();
      dropLease();
    },
    backlog: async () => (await readBacklog()).count,
  };
}
