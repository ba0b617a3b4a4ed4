import type { FailureClass } from "../failures.js";

export interface RetryPolicy {
  /** Handler attempts before a transiently failing event is dead-lettered. */
  readonly maxAttempts: number;
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The pause before attempt `attempt + 1` (or after the `attempt`-th failure
 * in a row of anything else): doubling from `initialMs`, capped at `maxMs`,
 * with ±20 % jitter so that partitions failing together drift apart.
 */
export function backoffMs(policy: Pick<RetryPolicy, "initialMs" | "maxMs">, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + random() * 0.4));
}

/** What follows a failed handler attempt. */
export type NextStep = "wait_for_database" | "retry" | "dead_letter" | "park";

/**
 * An unreachable database is no fault of the event: it waits without using
 * up attempts, however long the outage. What can never apply is
 * dead-lettered at once; what cannot apply yet is parked (or, with parking
 * off, dead-lettered at once); anything else is retried until `maxAttempts`.
 */
export function nextStepAfter(failure: FailureClass, attempt: number, maxAttempts: number, parking = true): NextStep {
  if (failure === "infrastructure") return "wait_for_database";
  // Not applicable yet: parked (off the partition) when parking is on.
  if (failure === "deferred") return parking ? "park" : "dead_letter";
  if (failure === "permanent" || attempt >= maxAttempts) return "dead_letter";
  return "retry";
}
