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
  while (!stop.stopping && Date.now() < until) {
    await sleep(Math.min(500, Math.max(0, until - Date.now())));
    await heartbeat();
  }
  if (stop.stopping) throw new ConsumerStopping("consumer is stopping");
}
