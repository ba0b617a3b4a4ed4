import type { Kafka } from "kafkajs";
import type { Registry } from "prom-client";
import type { Database } from "../db.js";
import type { Logger } from "../logger.js";
import { createBatchLoop } from "./consumer/batch.js";
import { createDeadLetters } from "./consumer/dead-letter.js";
import { handlerMap } from "./consumer/dispatch.js";
import type { ConsumedEvent, EventHandler } from "./consumer/event.js";
import { createInbox } from "./consumer/inbox.js";
import { createMessageHandler } from "./consumer/message-handler.js";
import { pauseInGroup, type Heartbeat } from "./consumer/pause.js";
import { createParking, type Parking } from "./consumer/parking.js";
import { backoffMs, type RetryPolicy } from "./consumer/retry-policy.js";
import { openConsumerSession, type ConsumerSession } from "./consumer/session.js";
import { Supervisor } from "./consumer/supervisor.js";
import { routingOf } from "./envelope.js";
import { physicalTopic } from "./kafka.js";
import { counter, gauge, histogram, LAG_BUCKETS } from "./metrics.js";
import { StopSignal } from "./stop-signal.js";

export { handleEvent, handleEventRemoteFirst, type ConsumedEvent, type EventHandler } from "./consumer/event.js";

export interface EventConsumerOptions {
  readonly kafka: Kafka;
  readonly db: Database;
  readonly log: Logger;
  readonly registry: Registry;
  readonly groupId: string;
  readonly topicPrefix: string;
  /** One per event type; the topics to subscribe to follow from their routing. */
  readonly handlers: readonly EventHandler[];
  readonly maxAttempts: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly partitionsConcurrently: number;
  readonly sessionTimeoutMs: number;
  readonly fromBeginning: boolean;
  readonly inboxRetentionDays: number;
  /**
   * How long an event whose handler throws DeferredEventError ("not
   * applicable yet") stays parked, retried in the background, before it is
   * dead-lettered (PARK_WINDOW_EXPIRED); 0 dead-letters such events at once.
   * Defaults: 10 min, re-driven after 1 s doubling up to 30 s.
   */
  readonly parkWindowMs?: number;
  readonly parkRetryInitialMs?: number;
  readonly parkRetryMaxMs?: number;
  /**
   * Tests only: runs after an event's effect committed and before its offset
   * is committed, to simulate a crash between the two.
   */
  readonly afterEffectCommitted?: (event: ConsumedEvent) => void | Promise<void>;
}

export interface EventConsumer {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  /** Physical topics this consumer subscribes to. */
  readonly topics: readonly string[];
  /** The parked events' store and re-drive worker; undefined when parking is off (park window 0). */
  readonly parking: Parking | undefined;
}

/**
 * The consumer's metrics. Their names and labels are public (docs/events.md,
 * the chart's alerts), and scripts/deploy/policy-check.mjs pins them to this
 * file: keep the registrations here.
 */
export function createConsumerMetrics(registry: Registry) {
  return {
    consumed: counter(registry, "events_consumed_total", "Events consumed, by outcome", ["topic", "event_type", "outcome"]),
    retries: counter(registry, "events_handler_retries_total", "Handler attempts that failed and were retried", ["topic", "event_type"]),
    deadLettered: counter(registry, "events_dead_lettered_total", "Events sent to a dead-letter topic, by reason", ["topic", "reason"]),
    deadLetterFailures: counter(registry, "events_dead_letter_failures_total",
      "Failed dead-letter publishes (the partition waits)", ["topic"]),
    endToEnd: histogram(registry, "events_consume_lag_seconds",
      "Time from an event's occurrence to its effect committing here", ["topic"], LAG_BUCKETS),
    duration: histogram(registry, "events_handle_duration_seconds", "Time spent on one event, retries included",
      ["topic"], LAG_BUCKETS),
    // A rebalance pauses every partition of the group while it runs: frequent
    // ones (members crashing, handlers outliving the session timeout) show up
    // as latency spikes that the lag histogram alone does not explain.
    rebalances: counter(registry, "events_consumer_rebalances_total", "Times this member (re)joined its consumer group", []),
    assigned: gauge(registry, "events_consumer_assigned_partitions", "Partitions currently assigned to this member", []),
    // Events that could not apply yet (DeferredEventError), parked off their
    // partition and re-driven in the background (consumer/parking.ts).
    parked: counter(registry, "events_parked_total", "Events parked because they could not apply yet, by reason",
      ["topic", "event_type", "reason"]),
    unparked: counter(registry, "events_unparked_total", "Parked events that left the park, by outcome (applied, duplicate, dead_lettered, skipped)",
      ["topic", "event_type", "outcome"]),
    parkedNow: gauge(registry, "events_parked", "Events of this consumer group parked now (the same for every member)", []),
    parkedOldest: gauge(registry, "events_parked_oldest_age_seconds", "Age of the oldest parked event of this consumer group", []),
  };
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;

export const DEFAULT_PARK_WINDOW_MS = 600_000;
export const DEFAULT_PARK_RETRY_INITIAL_MS = 1_000;
export const DEFAULT_PARK_RETRY_MAX_MS = 30_000;

/**
 * A consumer group member that applies each event's effect exactly once:
 *
 * - offsets are committed explicitly, only past events that were handled
 *   (or dead-lettered), at the end of each fetched batch and every 100
 *   messages or 1 s within a long one (consumer/batch.ts, offsets.ts),
 *   never automatically;
 * - the handler's effect and the `inbox_processed_messages` row commit in one
 *   transaction, so a redelivered event finds its row and changes nothing
 *   (consumer/inbox.ts);
 * - an event whose handler throws DeferredEventError (not applicable yet:
 *   it depends on an event of another aggregate that has not arrived) is
 *   parked in `parked_events` and its offset committed, so the partition
 *   goes on; a background worker re-drives it through the same inbox path
 *   until it applies or `parkWindowMs` expires, then dead-letters it with
 *   reason PARK_WINDOW_EXPIRED (consumer/parking.ts);
 * - transient failures are retried with exponential backoff; after
 *   `maxAttempts` (or at once for permanent failures) the message goes to
 *   `<topic>.dlq` with the error and its origin in headers, and only then is
 *   the offset committed. If the dead-letter publish fails, the partition
 *   waits and retries: the offset is not committed (consumer/retry-policy.ts,
 *   message-handler.ts, dead-letter.ts);
 * - event types this consumer has no handler for are skipped (counted);
 *   a schema version newer than the handler's is dead-lettered
 *   (consumer/dispatch.ts);
 * - kafkajs restarts itself after retriable failures; a crash it would not
 *   restart from is restarted here, so the consumer never stays down
 *   (consumer/supervisor.ts, session.ts).
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { db, log, kafka, groupId } = options;
  const handlers = handlerMap(options.handlers);
  const topics = [...new Set(options.handlers.map((h) => physicalTopic(options.topicPrefix, routingOf(h.schema).topic)))].sort();
  const metrics = createConsumerMetrics(options.registry);
  const policy: RetryPolicy = { maxAttempts: options.maxAttempts, initialMs: options.retryInitialMs, maxMs: options.retryMaxMs };
  const stop = new StopSignal();
  const waitAfterFailure = (failures: number, heartbeat: Heartbeat): Promise<void> =>
    pauseInGroup(stop, backoffMs(policy, failures), heartbeat);

  const inbox = createInbox(db, { groupId, retentionDays: options.inboxRetentionDays, log });
  const deadLetters = createDeadLetters({ kafka, inbox, log, metrics, groupId, waitAfterFailure });
  const parkWindowMs = options.parkWindowMs ?? DEFAULT_PARK_WINDOW_MS;
  const parking = parkWindowMs > 0
    ? createParking({
      db, inbox, deadLetters, handlers, metrics, log, stop, groupId,
      windowMs: parkWindowMs,
      retryInitialMs: options.parkRetryInitialMs ?? DEFAULT_PARK_RETRY_INITIAL_MS,
      retryMaxMs: options.parkRetryMaxMs ?? DEFAULT_PARK_RETRY_MAX_MS,
      maxAttempts: policy.maxAttempts,
      waitAfterFailure: (failures, heartbeat) => pauseInGroup(stop, backoffMs(policy, failures), heartbeat),
    })
    : undefined;
  const handleMessage = createMessageHandler({
    handlers, inbox, deadLetters, metrics, log, stop, maxAttempts: policy.maxAttempts, waitAfterFailure,
    afterEffectCommitted: options.afterEffectCommitted, parking,
  });
  const supervisor: Supervisor<ConsumerSession> = new Supervisor({
    open: () => openConsumerSession({
      kafka,
      groupId,
      topics,
      fromBeginning: options.fromBeginning,
      sessionTimeoutMs: options.sessionTimeoutMs,
      partitionsConcurrently: options.partitionsConcurrently,
      eachBatch: createBatchLoop({
        stop,
        log,
        handleMessage,
        // Through the supervisor's session of the moment: none while it
        // restarts, and then nothing is committed (the inbox absorbs repeats).
        commitOffsets: async (offsets) => {
          await supervisor.current?.commitOffsets(offsets);
        },
      }),
      housekeeping: () => inbox.purgeIfDue(),
      stop,
      metrics,
      log,
    }),
    stop,
    backoffMs: (failures) => backoffMs(policy, failures),
    log,
    groupId,
  });

  return {
    name: `event-consumer:${groupId}`,
    topics,
    parking,
    start: () => {
      supervisor.start();
      parking?.start();
    },
    async stop() {
      await supervisor.stop();
      await parking?.stop();
      await deadLetters.close();
    },
  };
}
