import { setTimeout as sleep } from "node:timers/promises";
import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from "kafkajs";
import { Partitioners } from "kafkajs";
import type { Registry } from "prom-client";
import type { Database } from "../db.js";
import type { Logger } from "../logger.js";
import { extractContext, tracer } from "../telemetry.js";
import { eventSchemaOf } from "./catalog.js";
import { withCorrelation } from "./correlation.js";
import { DLQ_HEADER, readEnvelope, routingOf, type ConsumedEnvelope } from "./envelope.js";
import { classifyFailure, describeFailure, PermanentEventError } from "./failures.js";
import { deadLetterTopic, physicalTopic } from "./kafka.js";
import { counter, gauge, histogram, LAG_BUCKETS } from "./metrics.js";

/** What a handler knows about the event it handles, besides the payload. */
export interface ConsumedEvent {
  /** The deduplication key: the envelope's event id, or `<topic>-<partition>-<offset>` without one. */
  readonly messageId: string;
  readonly eventType: string;
  readonly aggregateId: string | undefined;
  readonly occurredAt: Date | undefined;
  readonly requestId: string | undefined;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface EventHandler<Desc extends DescMessage = DescMessage> {
  readonly schema: Desc;
  /**
   * Applies the event. Runs inside the database transaction that also
   * records the event in `inbox_processed_messages` (db.transaction joins
   * it), so the effect happens once. Throw PermanentEventError or a
   * DomainError (invalid_argument, failed_precondition, not_found, ...) for
   * events that can never apply: they are dead-lettered without retries.
   */
  handle(message: MessageShape<Desc>, event: ConsumedEvent): Promise<void>;
}

export const handleEvent = <Desc extends DescMessage>(
  schema: Desc,
  handle: (message: MessageShape<Desc>, event: ConsumedEvent) => Promise<void>,
): EventHandler => ({ schema, handle }) as unknown as EventHandler;

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
}

type Outcome = "applied" | "duplicate" | "ignored" | "unknown_type" | "dead_lettered";

/** Thrown through kafkajs when the consumer stops mid-event, so nothing gets committed. */
class ConsumerStopping extends Error {
  override readonly name = "ConsumerStopping";
}

const INBOX_PURGE_EVERY_MS = 60 * 60_000;
const COMMIT_EVERY = 100;
const COMMIT_AFTER_MS = 1_000;

/**
 * A consumer group member that applies each event's effect exactly once:
 *
 * - offsets are committed explicitly, only past events that were handled
 *   (or dead-lettered), at the end of each fetched batch (see processBatch),
 *   never automatically;
 * - the handler's effect and the `inbox_processed_messages` row commit in one
 *   transaction, so a redelivered event finds its row and changes nothing;
 * - transient failures are retried with exponential backoff; after
 *   `maxAttempts` (or at once for permanent failures) the message goes to
 *   `<topic>.dlq` with the error and its origin in headers, and only then is
 *   the offset committed. If the dead-letter publish fails, the partition
 *   waits and retries: the offset is not committed;
 * - event types this consumer has no handler for are skipped (counted);
 *   a schema version newer than the handler's is dead-lettered;
 * - kafkajs restarts itself after retriable failures; a crash it would not
 *   restart from is restarted here, so the consumer never stays down.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { db, log, kafka } = options;
  const handlers = new Map<string, EventHandler>();
  for (const h of options.handlers) {
    if (handlers.has(h.schema.typeName)) throw new Error(`two handlers for ${h.schema.typeName}`);
    handlers.set(h.schema.typeName, h);
  }
  const topics = [...new Set(options.handlers.map((h) => physicalTopic(options.topicPrefix, routingOf(h.schema).topic)))].sort();

  const consumed = counter(options.registry, "events_consumed_total", "Events consumed, by outcome", ["topic", "event_type", "outcome"]);
  const retries = counter(options.registry, "events_handler_retries_total", "Handler attempts that failed and were retried", ["topic", "event_type"]);
  const deadLettered = counter(options.registry, "events_dead_lettered_total", "Events sent to a dead-letter topic, by reason", ["topic", "reason"]);
  const deadLetterFailures = counter(options.registry, "events_dead_letter_failures_total",
    "Failed dead-letter publishes (the partition waits)", ["topic"]);
  const endToEnd = histogram(options.registry, "events_consume_lag_seconds",
    "Time from an event's occurrence to its effect committing here", ["topic"], LAG_BUCKETS);
  const duration = histogram(options.registry, "events_handle_duration_seconds", "Time spent on one event, retries included",
    ["topic"], LAG_BUCKETS);
  // A rebalance pauses every partition of the group while it runs: frequent
  // ones (members crashing, handlers outliving the session timeout) show up
  // as latency spikes that the lag histogram alone does not explain.
  const rebalances = counter(options.registry, "events_consumer_rebalances_total", "Times this member (re)joined its consumer group", []);
  const assigned = gauge(options.registry, "events_consumer_assigned_partitions", "Partitions currently assigned to this member", []);

  let stopping = false;
  let consumer: Consumer | undefined;
  let dlqProducer: Producer | undefined;
  let supervisor: Promise<void> | undefined;
  // Resolved once by stop(): every wait of the supervisor races it, so a stop
  // that lands while a consumer is still connecting or restarting is not
  // missed (a per-wait callback set later would be).
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<undefined>((resolve) => (requestStop = () => resolve(undefined)));
  let lastInboxPurge = 0;

  const backoffMs = (attempt: number): number => {
    const base = Math.min(options.retryMaxMs, options.retryInitialMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  };

  /** Waits, keeping the group membership alive; a rebalance error propagates to kafkajs. */
  const pause = async (ms: number, heartbeat: () => Promise<void>): Promise<void> => {
    const until = Date.now() + ms;
    while (!stopping && Date.now() < until) {
      await sleep(Math.min(500, Math.max(0, until - Date.now())));
      await heartbeat();
    }
    if (stopping) throw new ConsumerStopping("consumer is stopping");
  };

  const ensureDlqProducer = async (): Promise<Producer> => {
    if (dlqProducer) return dlqProducer;
    const p = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    await p.connect();
    dlqProducer = p;
    return p;
  };

  const recordInbox = (event: ConsumedEvent, outcome: "dead_lettered", reason: string) =>
    db.knex.raw(
      `INSERT INTO inbox_processed_messages
         (message_id, processed_at, outcome, consumer_group, topic, "partition", "offset", event_type, error_reason)
       VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (message_id) DO UPDATE
         SET processed_at = now(), error_reason = EXCLUDED.error_reason
         WHERE inbox_processed_messages.outcome = 'dead_lettered'`,
      [event.messageId, outcome, options.groupId, event.topic, event.partition, event.offset, event.eventType || null, reason],
    );

  /**
   * Publishes the message to `<topic>.dlq` (retrying until it works: the
   * offset must not move before), then records the event as dead-lettered so
   * that replaying the topic does not dead-letter it again; only the replay
   * command sends it through the handler again.
   */
  const deadLetter = async (
    message: KafkaMessage,
    event: ConsumedEvent,
    err: unknown,
    attempts: number,
    heartbeat: () => Promise<void>,
  ): Promise<void> => {
    const failure = describeFailure(err);
    const dlqTopic = deadLetterTopic(event.topic);
    const headers: IHeaders = {
      ...(message.headers ?? {}),
      [DLQ_HEADER.errorReason]: failure.reason,
      [DLQ_HEADER.errorKind]: failure.kind,
      [DLQ_HEADER.errorMessage]: failure.message.slice(0, 2_000),
      [DLQ_HEADER.originalTopic]: event.topic,
      [DLQ_HEADER.originalPartition]: String(event.partition),
      [DLQ_HEADER.originalOffset]: event.offset,
      [DLQ_HEADER.attempts]: String(attempts),
      [DLQ_HEADER.consumerGroup]: options.groupId,
      [DLQ_HEADER.failedAt]: new Date().toISOString(),
    };
    delete headers[DLQ_HEADER.replayOf];
    for (let failures = 0; ; failures++) {
      try {
        const producer = await ensureDlqProducer();
        await producer.send({ topic: dlqTopic, acks: -1, messages: [{ key: message.key, value: message.value, headers }] });
        break;
      } catch (publishErr) {
        deadLetterFailures.inc({ topic: event.topic });
        log.error({ err: publishErr, topic: dlqTopic, messageId: event.messageId, failures: failures + 1 },
          "dead-letter publish failed; the offset stays uncommitted and the partition waits");
        const p = dlqProducer;
        dlqProducer = undefined;
        await p?.disconnect().catch(() => undefined);
        await pause(backoffMs(failures + 1), heartbeat);
      }
    }
    for (let failures = 0; ; failures++) {
      try {
        await recordInbox(event, "dead_lettered", failure.reason);
        break;
      } catch (dbErr) {
        log.warn({ err: dbErr, messageId: event.messageId }, "could not record a dead-lettered event; retrying");
        await pause(backoffMs(failures + 1), heartbeat);
      }
    }
    deadLettered.inc({ topic: event.topic, reason: failure.reason });
    log.warn({ messageId: event.messageId, eventType: event.eventType, topic: event.topic, partition: event.partition,
      offset: event.offset, reason: failure.reason, error: failure.message, attempts }, "event dead-lettered");
  };

  /**
   * For the paths that dead-letter without running a handler: an event the
   * inbox already knows (dead-lettered before, and not sent back by the
   * replay command) is skipped, so replaying a topic does not dead-letter it
   * a second time.
   */
  const seenBefore = async (event: ConsumedEvent, replay: boolean, heartbeat: () => Promise<void>): Promise<boolean> => {
    for (let failures = 0; ; failures++) {
      try {
        const { rows } = await db.knex.raw<{ rows: Array<{ outcome: string }> }>(
          "SELECT outcome FROM inbox_processed_messages WHERE message_id = ?", [event.messageId]);
        const outcome = rows[0]?.outcome;
        return outcome !== undefined && !(replay && outcome === "dead_lettered");
      } catch (err) {
        log.warn({ err, messageId: event.messageId }, "could not read the inbox; retrying");
        await pause(backoffMs(failures + 1), heartbeat);
      }
    }
  };

  /** Dead-letters an event no handler could run, unless it was dead-lettered before. */
  const rejectUnhandled = async (
    message: KafkaMessage, event: ConsumedEvent, envelope: ConsumedEnvelope, err: PermanentEventError, heartbeat: () => Promise<void>,
  ): Promise<Outcome> => {
    if (await seenBefore(event, envelope.replayOf !== undefined, heartbeat)) return "duplicate";
    await deadLetter(message, event, err, 1, heartbeat);
    return "dead_lettered";
  };

  /** One attempt: claim the inbox row and apply the effect in one transaction. */
  const applyOnce = (handler: EventHandler, payload: MessageShape<DescMessage>, event: ConsumedEvent, replay: boolean) =>
    db.transaction(async (trx) => {
      // A row already there means the effect happened (or the event was
      // dead-lettered): skip. A dead-lettered event runs again only when the
      // replay command sent it. A concurrent duplicate blocks on the key
      // until the first transaction ends.
      const claimed = await trx.raw<{ rows: unknown[] }>(
        `INSERT INTO inbox_processed_messages
           (message_id, processed_at, outcome, consumer_group, topic, "partition", "offset", event_type, error_reason)
         VALUES (?, now(), 'applied', ?, ?, ?, ?, ?, NULL)
         ON CONFLICT (message_id) DO UPDATE
           SET outcome = 'applied', processed_at = now(), consumer_group = EXCLUDED.consumer_group,
               topic = EXCLUDED.topic, "partition" = EXCLUDED."partition", "offset" = EXCLUDED."offset", error_reason = NULL
           WHERE inbox_processed_messages.outcome = 'dead_lettered' AND ?::boolean
         RETURNING message_id`,
        [event.messageId, options.groupId, event.topic, event.partition, event.offset, event.eventType, replay],
      );
      if (claimed.rows.length === 0) return "duplicate" as const;
      await handler.handle(payload, event);
      return "applied" as const;
    });

  const handleWithRetries = async (
    handler: EventHandler,
    message: KafkaMessage,
    event: ConsumedEvent,
    envelope: ConsumedEnvelope,
    heartbeat: () => Promise<void>,
  ): Promise<Outcome> => {
    let payload: MessageShape<DescMessage>;
    try {
      payload = fromBinary(handler.schema, message.value ?? new Uint8Array());
    } catch (err) {
      return rejectUnhandled(message, event, envelope, new PermanentEventError("PAYLOAD_UNDECODABLE",
        `payload is not a valid ${event.eventType}: ${(err as Error).message}`), heartbeat);
    }
    const parent = extractContext((key) => (key === "traceparent" ? envelope.traceparent : undefined));
    let infrastructureFailures = 0;
    for (let attempt = 1; ; ) {
      const span = tracer().startSpan(`${event.topic} process`, {
        kind: SpanKind.CONSUMER,
        attributes: { "messaging.system": "kafka", "messaging.destination.name": event.topic, "messaging.message.id": event.messageId },
      }, parent);
      try {
        const outcome = await otelContext.with(trace.setSpan(parent, span), () =>
          withCorrelation({ requestId: envelope.requestId ?? event.messageId }, () =>
            applyOnce(handler, payload, event, envelope.replayOf !== undefined)));
        span.end();
        if (outcome === "applied") await options.afterEffectCommitted?.(event);
        return outcome;
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        if (stopping) throw new ConsumerStopping("consumer is stopping");
        const failureClass = classifyFailure(err);
        if (failureClass === "infrastructure") {
          infrastructureFailures += 1;
          log.warn({ err, messageId: event.messageId, failures: infrastructureFailures }, "database unavailable; the event waits");
          await pause(backoffMs(infrastructureFailures), heartbeat);
          continue;
        }
        if (failureClass === "permanent" || attempt >= options.maxAttempts) {
          await deadLetter(message, event, err, attempt, heartbeat);
          return "dead_lettered";
        }
        retries.inc({ topic: event.topic, event_type: event.eventType });
        log.info({ err, messageId: event.messageId, attempt }, "event handler failed; retrying");
        await pause(backoffMs(attempt), heartbeat);
        attempt += 1;
      }
    }
  };

  /** Handles one message (retries and dead-lettering included); undefined when the consumer stops first. */
  const handleMessage = async (topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>): Promise<Outcome | undefined> => {
    const started = performance.now();
    const envelope = readEnvelope(message.headers);
    const event: ConsumedEvent = {
      messageId: envelope.eventId ?? `${topic}-${partition}-${message.offset}`,
      eventType: envelope.eventType ?? "",
      aggregateId: envelope.aggregateId ?? message.key?.toString("utf8"),
      occurredAt: envelope.occurredAt,
      requestId: envelope.requestId,
      topic,
      partition,
      offset: message.offset,
    };
    const handler = handlers.get(event.eventType);
    let outcome: Outcome;
    try {
      if (event.eventType === "") {
        outcome = await rejectUnhandled(message, event, envelope,
          new PermanentEventError("MALFORMED_ENVELOPE", "message has no event-type header"), heartbeat);
      } else if (!handler) {
        // Not ours (another consumer's event on a shared topic), or a type
        // newer than this build: both are skipped, and counted apart.
        outcome = eventSchemaOf(event.eventType) ? "ignored" : "unknown_type";
        if (outcome === "unknown_type") log.warn({ eventType: event.eventType, topic, messageId: event.messageId }, "skipping an unknown event type");
      } else if (envelope.schemaVersion !== undefined && envelope.schemaVersion > routingOf(handler.schema).schemaVersion) {
        outcome = await rejectUnhandled(message, event, envelope, new PermanentEventError("SCHEMA_VERSION_UNSUPPORTED",
          `schema version ${envelope.schemaVersion} of ${event.eventType} is newer than the ${routingOf(handler.schema).schemaVersion} this consumer handles`),
        heartbeat);
      } else {
        outcome = await handleWithRetries(handler, message, event, envelope, heartbeat);
      }
    } catch (err) {
      if (err instanceof ConsumerStopping) return undefined;
      throw err;
    }
    consumed.inc({ topic, event_type: outcome === "unknown_type" ? "(unknown)" : event.eventType, outcome });
    duration.observe({ topic }, (performance.now() - started) / 1000);
    if (outcome === "applied" && event.occurredAt) endToEnd.observe({ topic }, (Date.now() - event.occurredAt.getTime()) / 1000);
    return outcome;
  };

  /**
   * A partition's messages one after another. The group's offset moves only
   * past handled messages: after the batch, or every COMMIT_EVERY messages
   * or COMMIT_AFTER_MS within a long one (a crash replays at most that much,
   * and the inbox skips it). Stopping, or losing the partition to a
   * rebalance, ends the batch with the rest unhandled and uncommitted.
   */
  const processBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    const { topic, partition } = batch;
    let handled: string | undefined;
    let sinceCommit = 0;
    let lastCommit = performance.now();
    const commit = async (): Promise<void> => {
      if (handled === undefined) return;
      await consumer?.commitOffsets([{ topic, partition, offset: (BigInt(handled) + 1n).toString() }]);
      handled = undefined;
      sinceCommit = 0;
      lastCommit = performance.now();
    };
    for (const message of batch.messages) {
      if (stopping || !isRunning() || isStale()) break;
      const outcome = await handleMessage(topic, partition, message, heartbeat);
      if (outcome === undefined) break;
      resolveOffset(message.offset);
      handled = message.offset;
      sinceCommit += 1;
      if (sinceCommit >= COMMIT_EVERY || performance.now() - lastCommit >= COMMIT_AFTER_MS) await commit();
      await heartbeat();
    }
    // A partition lost to a rebalance is another member's now: it starts from
    // the last committed offset, and the inbox absorbs the repeats.
    if (isStale()) return;
    await commit().catch((err: unknown) => {
      // Leaving the group anyway: the next owner re-reads these, harmlessly.
      if (!stopping) throw err;
      log.debug({ err, topic, partition }, "offset commit while stopping failed");
    });
  };

  const purgeInbox = async (): Promise<void> => {
    if (Date.now() - lastInboxPurge < INBOX_PURGE_EVERY_MS) return;
    lastInboxPurge = Date.now();
    try {
      await db.knex.raw(
        `DELETE FROM inbox_processed_messages WHERE processed_at < now() - make_interval(days => ?)`,
        [options.inboxRetentionDays],
      );
    } catch (err) {
      log.warn({ err }, "inbox purge failed");
    }
  };

  const runOnce = async (): Promise<void> => {
    const c = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(1_000, Math.floor(options.sessionTimeoutMs / 10)),
      allowAutoTopicCreation: false,
      // Short broker long-polls keep stop() quick; data still arrives at once.
      maxWaitTimeInMs: 1_000,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 3_000 },
    });
    consumer = c;
    const crashed = new Promise<Error>((resolve) => {
      c.on(c.events.CRASH, ({ payload }) => {
        if (!payload.restart) resolve(payload.error);
        else log.warn({ err: payload.error }, "event consumer failed; kafkajs restarts it");
      });
    });
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      rebalances.inc();
      const partitions = Object.values(payload.memberAssignment).reduce((n, list) => n + list.length, 0);
      assigned.set(partitions);
      log.info({ groupId: payload.groupId, memberId: payload.memberId, leader: payload.isLeader, durationMs: payload.duration,
        assignment: payload.memberAssignment }, "event consumer joined its group");
    });
    c.on(c.events.STOP, () => assigned.set(0));
    await c.connect();
    if (stopping) return;
    await c.subscribe({ topics: [...topics], fromBeginning: options.fromBeginning });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConcurrently,
      eachBatch: processBatch,
    });
    log.info({ groupId: options.groupId, topics }, "event consumer running");
    for (;;) {
      const tick = new AbortController();
      const crash = await Promise.race([crashed, stopRequested, sleep(60_000, "tick" as const, { signal: tick.signal })]);
      tick.abort();
      if (crash === undefined || stopping) return;
      if (crash !== "tick") throw crash;
      await purgeInbox();
    }
  };

  const supervise = async (): Promise<void> => {
    for (let failures = 0; !stopping; ) {
      try {
        await runOnce();
        failures = 0;
      } catch (err) {
        if (stopping) break;
        failures += 1;
        log[failures >= 3 ? "error" : "warn"]({ err, failures, groupId: options.groupId }, "event consumer is down; restarting");
        const c = consumer;
        consumer = undefined;
        await c?.disconnect().catch(() => undefined);
        const pauseOver = new AbortController();
        await Promise.race([stopRequested, sleep(backoffMs(failures), undefined, { signal: pauseOver.signal }).catch(() => undefined)]);
        pauseOver.abort();
      }
    }
  };

  return {
    name: `event-consumer:${options.groupId}`,
    topics,
    start() {
      if (!supervisor) supervisor = supervise();
    },
    async stop() {
      stopping = true;
      requestStop();
      await supervisor;
      // The supervisor has returned, so this is the last consumer it made
      // (runOnce may have connected it after stop() began). disconnect()
      // waits for the event in hand (which gives up at its next pause) and
      // leaves the group, so the partitions move on at once.
      await consumer?.disconnect().catch((err: unknown) => log.warn({ err }, "event consumer disconnect failed"));
      await dlqProducer?.disconnect().catch(() => undefined);
    },
  };
}
