import { setTimeout as sleep } from "node:timers/promises";
import type { StopSignal } from "../stop-signal.js";

/** Thrown through kafkajs when the consumer stops mid-event, so nothing gets committed. */
export class ConsumerStopping extends Error {
  override readonly name = "ConsumerStopping";
}

export type Heartbeat = () => Promise<void>;

/**
 * Waits `ms` inside a batch, keeping the group membership alive with a
 * heartbeat at least every 500 ms; a rebalance error from the heartbeat
 * propagates to kafkajs. Throws ConsumerStopping once stop is requested, so
 * the event in hand gives up at its next pause.
 */
export async function pauseInGroup(stop: StopSignal, ms: number, heartbeat: Heartbeat): Promise<void> {
  const until = Date.now() + ms;
  while (!stop.stopping) {
    const left = until - Date.now();
    if (left <= 0) break;
    const slice = Math.min(500, left);
    await sleep(slice);
    await heartbeat();
    // A timer may fire a millisecond early by Date.now(): the last slice
    // slept out the rest, so the pause is over (not one more 1 ms slice).
    if (slice === left) break;
  }
  if (stop.stopping) throw new ConsumerStopping("consumer is stopping");
}
