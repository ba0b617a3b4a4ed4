/** Failed rounds in a row from which the relay logs errors: the first ones of an outage are routine (broker restart, leader move). */
export const FAILURES_BEFORE_ERROR = 5;

/**
 * The pause after the `failures`-th failed round in a row: doubling from
 * 100 ms, capped at `maxBackoffMs`, with ±25 % jitter. The relay retries the
 * same rows for ever: it never skips a row Kafka refuses, since the rows
 * after it would overtake it and break the order of its aggregate.
 */
export function roundBackoffMs(failures: number, maxBackoffMs: number, random: () => number = Math.random): number {
  const backoff = Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures - 1, 10));
  return backoff * (0.75 + random() * 0.5);
}
