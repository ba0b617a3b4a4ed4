import type { IHeaders, KafkaMessage } from "kafkajs";
import type { Database } from "../../db.js";
import type { Logger } from "../../logger.js";
import { readEnvelope } from "../envelope.js";
import { classifyFailure, type DeferredEventError, ParkWindowExpiredError, PermanentEventError } from "../failures.js";
import type { StopSignal } from "../stop-signal.js";
import type { ConsumerMetrics } from "../consumer.js";
import type { DeadLetters } from "./dead-letter.js";
import { dispatch } from "./dispatch.js";
import { consumedEventOf, type ConsumedEvent, type EventHandler } from "./event.js";
import type { Inbox } from "./inbox.js";
import { attemptOnce, decodePayload } from "./message-handler.js";
import { ConsumerStopping, type Heartbeat } from "./pause.js";
import { backoffMs } from "./retry-policy.js";

/**
 * Parking of events that cannot apply yet (a handler threw DeferredEventError)
 * and their re-drive, per consumer group:
 *
 * - park(): the live path stores the Kafka message as consumed in
 *   `parked_events` (once per event id: a redelivered copy finds the row and
 *   is not parked twice) and returns; the batch loop then commits past it, so
 *   the partition, which other aggregates' events share, is not blocked;
 * - the re-drive worker (start/stop with the consumer) claims due rows with a
 *   lease (replicas skip each other's), in arrival order per park key, and
 *   runs each through the same inbox path as a live event: applied (or found
 *   applied already: "duplicate") deletes the row, and an applied one wakes
 *   the other rows of its park key at once; deferred again reschedules it
 *   with backoff (`parkRetryInitialMs` doubling to `parkRetryMaxMs`), until
 *   `expires_at` (parked_at + `parkWindowMs`): then it is dead-lettered
 *   with reason PARK_WINDOW_EXPIRED. A permanent failure dead-letters at
 *   once; a transient one counts towards `maxAttempts`; an unreachable
 *   database leaves the row to the next round (the lease runs out).
 *
 * The inbox keeps effects exactly-once whatever runs the event (the live
 * path on a redelivery, this worker, another replica's worker).
 */
export interface Parking {
  /** Parks a deferred event: "parked", or "duplicate" when it is parked already. Retries database failures until it works. */
  park(message: KafkaMessage, event: ConsumedEvent, err: DeferredEventError, heartbeat: Heartbeat): Promise<"parked" | "duplicate">;
  /** Starts the re-drive worker. */
  start(): void;
  /** Stops it (after the event in hand). */
  stop(): Promise<void>;
  /** One re-drive round (tests): the number of parked events that applied. */
  redriveOnce(): Promise<number>;
}

export interface ParkingOptions {
  readonly db: Database;
  readonly inbox: Inbox;
  readonly deadLetters: DeadLetters;
  readonly handlers: ReadonlyMap<string, EventHandler>;
  readonly metrics: ConsumerMetrics;
  readonly log: Logger;
  readonly stop: StopSignal;
  readonly groupId: string;
  /** How long an event may stay parked before it is dead-lettered. */
  readonly windowMs: number;
  /** Backoff between re-drives of one event, doubling from initialMs to maxMs (±20 %). */
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Transient (not deferred, not infrastructure) failures of a parked event before it is dead-lettered. */
  readonly maxAttempts: number;
  /** The pause after the `failures`-th failure in a row; throws ConsumerStopping when the consumer stops. */
  waitAfterFailure(failures: number, heartbeat: Heartbeat): Promise<void>;
}

/** Rows claimed per re-drive round. */
const CLAIM_BATCH = 100;
/** A claimed row is another replica's to take again after this long (a worker that died mid-round). */
const LEASE_MS = 60_000;

interface ParkedRow {
  message_id: string;
  park_key: string;
  topic: string;
  partition: number;
  offset: string;
  event_type: string;
  message_key: Buffer | null;
  message_value: Buffer | null;
  headers: Record<string, string[]>;
  reason: string;
  error_message: string;
  attempts: number;
  failures: number;
  seq: string;
  parked_ms: string;
  expired: boolean;
}

/** Kafka headers as JSON: every value a list of base64 strings (a header may repeat). */
export function headersToJson(headers: IHeaders | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = (Array.isArray(value) ? value : [value]).map((v) => Buffer.from(v).toString("base64"));
  }
  return out;
}

export function headersFromJson(json: Record<string, string[]>): IHeaders {
  const out: IHeaders = {};
  for (const [name, values] of Object.entries(json)) {
    const buffers = values.map((v) => Buffer.from(v, "base64"));
    out[name] = buffers.length === 1 ? buffers[0]! : buffers;
  }
  return out;
}

const noHeartbeat: Heartbeat = async () => undefined;

export function createParking(options: ParkingOptions): Parking {
  const { db, inbox, deadLetters, metrics, log, stop, groupId } = options;
  const knex = db.knex;
  let loop: Promise<void> | undefined;

  const backoffSql = (attempts: number): number => backoffMs({ initialMs: options.retryInitialMs, maxMs: options.retryMaxMs }, attempts);

  /** Retries a database write until it works (or the consumer stops). */
  const persist = async <T>(what: string, messageId: string, heartbeat: Heartbeat, work: () => Promise<T>): Promise<T> => {
    for (let failures = 0; ; failures++) {
      try {
        return await work();
      } catch (err) {
        log.warn({ err, messageId }, `could not ${what}; retrying`);
        await options.waitAfterFailure(failures + 1, heartbeat);
      }
    }
  };

  const park: Parking["park"] = async (message, event, err, heartbeat) => {
    const inserted = await persist("park an event", event.messageId, heartbeat, () => knex.raw<{ rows: unknown[] }>(
      `INSERT INTO parked_events
         (message_id, consumer_group, park_key, topic, "partition", "offset", event_type, message_key, message_value, headers,
          reason, error_message, attempts, failures, parked_at, expires_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, 1, 0, now(),
               now() + make_interval(secs => ?::float8 / 1000), now() + make_interval(secs => ?::float8 / 1000))
       ON CONFLICT (message_id) DO NOTHING
       RETURNING message_id`,
      [event.messageId, groupId, err.parkKey ?? event.aggregateId ?? event.messageId, event.topic, event.partition, event.offset,
        event.eventType, message.key ?? null, message.value ?? null, JSON.stringify(headersToJson(message.headers)),
        err.reason, err.message.slice(0, 2_000), options.windowMs, Math.min(backoffSql(1), options.windowMs)],
    ));
    if (inserted.rows.length === 0) return "duplicate";
    metrics.parked.inc({ topic: event.topic, event_type: event.eventType, reason: err.reason });
    log.info({ messageId: event.messageId, eventType: event.eventType, topic: event.topic, partition: event.partition, offset: event.offset,
      parkKey: err.parkKey, reason: err.reason, error: err.message }, "event parked: it cannot apply yet");
    return "parked";
  };

  const claim = async (): Promise<ParkedRow[]> => {
    const { rows } = await knex.raw<{ rows: ParkedRow[] }>(
      `UPDATE parked_events p
          SET leased_until = now() + make_interval(secs => ?::float8 / 1000)
         FROM (SELECT message_id FROM parked_events
                WHERE consumer_group = ? AND next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())
                ORDER BY park_key, seq
                LIMIT ?
                FOR UPDATE SKIP LOCKED) due
        WHERE p.message_id = due.message_id
       RETURNING p.message_id, p.park_key, p.topic, p."partition", p."offset"::text AS "offset", p.event_type, p.message_key,
                 p.message_value, p.headers, p.reason, p.error_message, p.attempts, p.failures, p.seq::text AS seq,
                 (extract(epoch FROM now() - p.parked_at) * 1000)::bigint::text AS parked_ms, p.expires_at <= now() AS expired`,
      [LEASE_MS, groupId, CLAIM_BATCH],
    );
    // RETURNING does not keep the subquery's order.
    return rows.sort((a, b) => (a.park_key < b.park_key ? -1 : a.park_key > b.park_key ? 1 : Number(BigInt(a.seq) - BigInt(b.seq))));
  };

  const remove = (row: ParkedRow): Promise<unknown> =>
    persist("delete a parked event", row.message_id, noHeartbeat, () => knex.raw("DELETE FROM parked_events WHERE message_id = ?", [row.message_id]));

  const reschedule = (row: ParkedRow, changes: { reason?: string; message?: string; transient?: boolean; counted: boolean }): Promise<unknown> => {
    const attempts = row.attempts + (changes.counted ? 1 : 0);
    return knex.raw(
      `UPDATE parked_events
          SET attempts = ?, failures = failures + ?, reason = coalesce(?, reason), error_message = coalesce(?, error_message), leased_until = NULL,
              next_attempt_at = least(expires_at, now() + make_interval(secs => ?::float8 / 1000))
        WHERE message_id = ?`,
      [attempts, changes.transient ? 1 : 0, changes.reason ?? null, changes.message?.slice(0, 2_000) ?? null, backoffSql(attempts), row.message_id],
    );
  };

  const wake = (parkKey: string): Promise<unknown> =>
    knex.raw("UPDATE parked_events SET next_attempt_at = now() WHERE consumer_group = ? AND park_key = ? AND next_attempt_at > now()", [groupId, parkKey]);

  const deadLetter = async (row: ParkedRow, message: KafkaMessage, event: ConsumedEvent, err: unknown): Promise<void> => {
    await deadLetters.send(message, event, err, row.attempts + 1, noHeartbeat);
    await remove(row);
    metrics.unparked.inc({ topic: row.topic, event_type: row.event_type, outcome: "dead_lettered" });
  };

  /** Runs one parked event once; true when it applied. */
  const redrive = async (row: ParkedRow): Promise<boolean> => {
    const message: KafkaMessage = {
      key: row.message_key, value: row.message_value, headers: headersFromJson(row.headers),
      offset: row.offset, timestamp: "0", attributes: 0, size: 0,
    } as KafkaMessage;
    const envelope = readEnvelope(message.headers);
    const event = consumedEventOf(row.topic, row.partition, message, envelope);
    const route = dispatch(event.eventType, envelope.schemaVersion, options.handlers);
    if (route.kind === "skip") {
      // This build no longer handles the type: as the live path would, skip it.
      log.warn({ messageId: row.message_id, eventType: row.event_type }, "a parked event's type has no handler any more; dropped");
      await remove(row);
      metrics.unparked.inc({ topic: row.topic, event_type: row.event_type, outcome: "skipped" });
      return false;
    }
    if (route.kind === "reject") {
      await deadLetter(row, message, event, route.error);
      return false;
    }
    const payload = decodePayload(route.handler, message, event);
    if (payload instanceof PermanentEventError) {
      await deadLetter(row, message, event, payload);
      return false;
    }
    try {
      const outcome = await attemptOnce(inbox, route.handler, payload, event, envelope);
      await remove(row);
      metrics.unparked.inc({ topic: row.topic, event_type: row.event_type, outcome });
      log.info({ messageId: row.message_id, eventType: row.event_type, parkKey: row.park_key, attempts: row.attempts + 1, outcome,
        parkedMs: Number(row.parked_ms) }, "parked event re-driven");
      return outcome === "applied";
    } catch (err) {
      if (stop.stopping) throw new ConsumerStopping("consumer is stopping");
      switch (classifyFailure(err)) {
        case "deferred": {
          const deferred = err as DeferredEventError;
          if (row.expired) {
            await deadLetter(row, message, event, new ParkWindowExpiredError(deferred.reason, deferred.message, Number(row.parked_ms)));
          } else {
            await reschedule(row, { reason: deferred.reason, message: deferred.message, counted: true });
          }
          return false;
        }
        case "infrastructure":
          log.warn({ err, messageId: row.message_id }, "a dependency is unavailable; the parked event waits");
          await reschedule(row, { counted: false }).catch(() => undefined); // else its lease runs out
          return false;
        case "permanent":
          await deadLetter(row, message, event, err);
          return false;
        case "transient":
          if (row.failures + 1 >= options.maxAttempts) {
            await deadLetter(row, message, event, err);
          } else {
            log.info({ err, messageId: row.message_id }, "parked event's handler failed; retrying later");
            await reschedule(row, { counted: true, transient: true });
          }
          return false;
      }
    }
  };

  const refreshGauges = async (): Promise<void> => {
    const { rows } = await knex.raw<{ rows: Array<{ n: string; oldest: string | null }> }>(
      `SELECT count(*)::text AS n, (extract(epoch FROM now() - min(parked_at)))::text AS oldest FROM parked_events WHERE consumer_group = ?`,
      [groupId],
    );
    metrics.parkedNow.set(Number(rows[0]?.n ?? 0));
    metrics.parkedOldest.set(Number(rows[0]?.oldest ?? 0));
  };

  const round = async (): Promise<{ claimed: number; applied: number }> => {
    const rows = await claim();
    let applied = 0;
    const progressed = new Set<string>();
    for (const row of rows) {
      if (stop.stopping) break;
      if (await redrive(row)) {
        applied += 1;
        progressed.add(row.park_key);
      }
    }
    // Rows of a key tried before the one that applied may apply now: at once, not after their backoff.
    for (const key of progressed) await wake(key);
    await refreshGauges();
    return { claimed: rows.length, applied };
  };

  const run = async (): Promise<void> => {
    const pollMs = Math.max(10, Math.min(options.retryInitialMs, 1_000));
    for (let failures = 0; !stop.stopping; ) {
      try {
        const { claimed, applied } = await round();
        failures = 0;
        // A full batch may have more behind it, and an applied event woke its key's others: go on at once.
        if (claimed < CLAIM_BATCH && applied === 0) await stop.sleep(pollMs);
      } catch (err) {
        if (err instanceof ConsumerStopping || stop.stopping) return;
        failures += 1;
        log.warn({ err, failures }, "parked-event re-drive round failed; retrying");
        await stop.sleep(backoffSql(failures));
      }
    }
  };

  return {
    park,
    start() {
      loop ??= run();
    },
    async stop() {
      stop.request();
      await loop;
    },
    redriveOnce: async () => (await round()).applied,
  };
}
