import { setTimeout as sleep } from "node:timers/promises";
import type { Kafka } from "kafkajs";
import type { Registry } from "prom-client";
import type { DatabaseConfig } from "../config.js";
import type { Database } from "../db.js";
import type { Logger } from "../logger.js";
import { createRelayNotifier, databaseKeyOf, onOutboxCommit } from "./outbox.js";
import { counter, gauge, histogram, LAG_BUCKETS } from "./metrics.js";
import { createBacklog, type Backlog } from "./relay/backlog.js";
import { createLeadership } from "./relay/leadership.js";
import { createPublisher } from "./relay/publisher.js";
import { createPublishedPurge } from "./relay/purge.js";
import { createRound, runRelayLoop } from "./relay/rounds.js";
import { WakeUps } from "./relay/wake-ups.js";
import { StopSignal } from "./stop-signal.js";

export { toKafkaMessage, type PendingRow } from "./relay/message.js";

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
  /** Shortest time between the starts of two rounds (see relay/rounds.ts). */
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

/**
 * The relay's metrics. Their names and labels are public (docs/events.md,
 * the chart's alerts), and scripts/deploy/policy-check.mjs pins them to this
 * file: keep the registrations here.
 */
export function createRelayMetrics(registry: Registry, backlog: Pick<Backlog, "read" | "last">) {
  const metrics = {
    published: counter(registry, "outbox_published_total", "Outbox events published to Kafka", ["topic"]),
    publishFailures: counter(registry, "outbox_publish_failures_total", "Failed outbox publish rounds", []),
    lag: histogram(registry, "outbox_publish_lag_seconds",
      "Time from an event's occurrence (its transaction) to its acknowledgement by Kafka", [], LAG_BUCKETS),
    leader: gauge(registry, "outbox_relay_leader", "1 while this replica is the active outbox relay", []),
  };
  // Read at scrape time; a failing read keeps the last value rather than
  // failing the whole /metrics response.
  gauge(registry, "outbox_backlog", "Outbox events not yet published", [], async function () {
    this.set((await backlog.read().catch(() => backlog.last)).count);
  });
  gauge(registry, "outbox_oldest_unpublished_seconds", "Age of the oldest unpublished outbox event", [], function () {
    this.set(backlog.last.oldestSeconds);
  });
  return metrics;
}

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;

/**
 * Publishes committed outbox rows to Kafka, at least once and in order per
 * aggregate:
 *
 * 1. Leadership (relay/leadership.ts): a dedicated connection takes a session
 *    advisory lock; other replicas stay on standby and retry every
 *    `leaderCheckMs`. A crashed leader's session ends and PostgreSQL
 *    releases the lock with it.
 * 2. Wake-up (relay/wake-ups.ts): writers in this process signal their
 *    commits (outbox.ts); the same connection LISTENs on `outbox_events` for
 *    the NOTIFY that a standby replica sends when its process wrote events.
 *    `pollIntervalMs` is only the fallback (a writer that died right after
 *    its commit).
 * 3. Rounds (relay/rounds.ts): each reads up to `batchSize` unpublished rows
 *    in `sequence` order, sends them with acks=all from an idempotent
 *    producer (relay/publisher.ts), and only then marks exactly those rows
 *    published, by id. A crash between the two re-sends the batch:
 *    consumers deduplicate on the event id. A failed round is retried, never
 *    skipped (relay/retry-policy.ts).
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, log } = options;
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const stop = new StopSignal();
  const backlog = createBacklog(db);
  const metrics = createRelayMetrics(options.registry, backlog);
  const wakeUps = new WakeUps();
  const leadership = createLeadership({
    connection: options.connection,
    applicationName: options.applicationName ?? "outbox-relay",
    leaderCheckMs: options.leaderCheckMs,
    log,
    metrics,
    onNotification: () => wakeUps.wake(),
  });
  const publisher = createPublisher({ kafka: options.kafka, topicPrefix: options.topicPrefix, metrics });
  const round = createRound({
    leadership,
    purgePublished: createPublishedPurge({ db, retainPublishedHours: options.retainPublishedHours, log, stop }),
    wakeUps,
    backlog,
    publisher,
    batchSize: options.batchSize,
  });

  // Commits of outbox rows in this process (outbox.ts): the active relay
  // wakes at once; a standby one passes the news on to the active relay in
  // another process with a (coalesced) NOTIFY.
  const notifier = createRelayNotifier(db.knex);
  let unsubscribe: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  return {
    name: "outbox-relay",
    get isLeader() {
      return leadership.isLeader;
    },
    start() {
      if (loop) return;
      unsubscribe = onOutboxCommit(databaseKeyOf(db.knex), () => {
        if (leadership.isLeader) wakeUps.wake();
        else if (!stop.stopping) notifier.notify();
      });
      loop = runRelayLoop({
        round,
        stop,
        waitForWake: (ms) => wakeUps.wait(ms),
        afterFailure: () => leadership.dropIfStandby(),
        metrics,
        log,
        pollIntervalMs: options.pollIntervalMs,
        leaderCheckMs: options.leaderCheckMs,
        minRoundIntervalMs: options.minRoundIntervalMs ?? 0,
        maxBackoffMs: options.maxBackoffMs ?? 3_000,
      }).catch((err: unknown) => log.error({ err }, "outbox relay stopped unexpectedly"));
    },
    async stop() {
      stop.request();
      unsubscribe?.();
      notifier.close();
      wakeUps.stop();
      if (loop) {
        const timer = new AbortController();
        const done = await Promise.race([loop.then(() => true), sleep(stopTimeoutMs, false, { signal: timer.signal })]);
        timer.abort();
        if (!done) log.warn("outbox relay did not finish its batch in time; the batch will be sent again");
      }
      await publisher.close();
      leadership.drop();
    },
    backlog: async () => (await backlog.read()).count,
  };
}
