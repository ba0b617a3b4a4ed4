import type { Logger } from "../../logger.js";
import type { StopSignal } from "../stop-signal.js";
import type { Backlog } from "./backlog.js";
import type { Leadership } from "./leadership.js";
import type { PendingRow } from "./message.js";
import type { RelayMetrics } from "../outbox-relay.js";
import type { Publisher } from "./publisher.js";
import { FAILURES_BEFORE_ERROR, roundBackoffMs } from "./retry-policy.js";
import type { WakeUps } from "./wake-ups.js";

/** standby: another replica leads; busy: a full batch went out (more may wait); idle: caught up. */
export type RoundResult = "idle" | "busy" | "standby";

export interface RoundOptions {
  readonly leadership: Leadership;
  readonly purgePublished: () => Promise<void>;
  readonly wakeUps: WakeUps;
  readonly backlog: Backlog;
  readonly publisher: Publisher;
  readonly batchSize: number;
}

/**
 * One round: reads up to `batchSize` unpublished rows in `sequence` order,
 * publishes them, and only then marks exactly those rows published, by id
 * (never by a range of sequences: a transaction that took a lower sequence
 * may commit after a higher one was published). A crash between the two
 * re-sends the batch: consumers deduplicate on the event id.
 */
export function createRound(options: RoundOptions): () => Promise<RoundResult> {
  const { leadership, wakeUps, backlog, publisher, batchSize } = options;
  return async () => {
    if (!(await leadership.ensure())) return "standby";
    await options.purgePublished();
    wakeUps.consume();
    // Reads and marks go through the leader's own session: if it is lost,
    // so is the lock, and a relay that is no longer the leader cannot mark.
    const session = leadership.session!;
    const { rows } = await session.query<PendingRow>(
      `SELECT id, topic, aggregate_type, aggregate_id, event_type, schema_version, payload_bin, traceparent, request_id, occurred_at
         FROM outbox_events WHERE published_at IS NULL ORDER BY sequence LIMIT $1`,
      [batchSize],
    );
    if (rows.length === 0) backlog.markEmpty();
    if (rows.length === 0) return "idle";
    await publisher.publish(rows);
    await session.query("UPDATE outbox_events SET published_at = now() WHERE id = ANY($1::uuid[])", [rows.map((r) => r.id)]);
    return rows.length === batchSize ? "busy" : "idle";
  };
}

export interface RelayLoopOptions {
  readonly round: () => Promise<RoundResult>;
  readonly stop: StopSignal;
  /** Waits for a commit's wake-up, at most the given time. */
  waitForWake(ms: number): Promise<void>;
  /** Waits the given time, less if the relay stops meanwhile (tests); default: stop.sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** After a failed round (see Leadership.dropIfStandby). */
  afterFailure(): void;
  readonly metrics: Pick<RelayMetrics, "publishFailures">;
  readonly log: Logger;
  readonly pollIntervalMs: number;
  readonly leaderCheckMs: number;
  readonly minRoundIntervalMs: number;
  readonly maxBackoffMs: number;
  /** Clock of the round interval (tests). */
  readonly now?: () => number;
}

/**
 * Rounds until stopped: a standby checks for the lock every `leaderCheckMs`;
 * a busy leader goes on at once; an idle one waits for a wake-up (or the
 * poll interval). A failed round is retried with backoff, never skipped.
 */
export async function runRelayLoop(options: RelayLoopOptions): Promise<void> {
  const { stop, log } = options;
  const now = options.now ?? (() => performance.now());
  // Every pause races the stop signal, so a stop that lands during a round
  // (say, a standby's lock check) does not wait out the pause after it.
  const sleep = options.sleep ?? ((ms: number) => stop.sleep(ms));
  let failures = 0;
  while (!stop.stopping) {
    try {
      const roundStartedAt = now();
      const state = await options.round();
      failures = 0;
      if (state === "standby") await sleep(options.leaderCheckMs);
      else if (state === "idle") {
        await options.waitForWake(options.pollIntervalMs);
        // Rounds start at most every minRoundIntervalMs: an event after a
        // quiet spell goes out at once, while a stream of commits gathers
        // into batches instead of hundreds of tiny rounds a second, which
        // would cost the writers CPU on a busy machine.
        const sinceLast = now() - roundStartedAt;
        if (sinceLast < options.minRoundIntervalMs && !stop.stopping) await sleep(options.minRoundIntervalMs - sinceLast);
      }
    } catch (err) {
      if (stop.stopping) break;
      failures += 1;
      options.metrics.publishFailures.inc();
      // The first failures of an outage are routine (broker restart, leader
      // move); a stuck relay is what needs attention.
      log[failures >= FAILURES_BEFORE_ERROR ? "error" : "warn"]({ err, failures }, "outbox relay round failed; retrying");
      options.afterFailure();
      await sleep(roundBackoffMs(failures, options.maxBackoffMs));
    }
  }
}
