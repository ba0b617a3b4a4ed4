// Benchmarks only: load for a fixed time, either closed-loop (N callers, each
// calling again as soon as its call returns) or paced (calls start on a fixed
// schedule, whoever of N callers is free takes the next one).
import { setTimeout as sleep } from "node:timers/promises";

/** `call`, its latency from `since` recorded if it returns, its error handed to `onError` if it throws. */
const timedCall = (call: (worker: number, since: number) => Promise<void>, latencies: number[], onError: (err: unknown) => void) =>
  async (worker: number, since: number): Promise<void> => {
    try {
      await call(worker, since);
      latencies.push(performance.now() - since);
    } catch (err) {
      onError(err);
    }
  };

export interface LoopResult {
  /** Milliseconds of every call that returned, ascending. */
  readonly latencies: number[];
  /** Seconds from the first call to the last caller's end. */
  readonly elapsed: number;
}

/**
 * `clients` callers for `seconds`: `call(worker)` again and again. A call that
 * returns counts its latency; one that throws goes to `onError` and counts none.
 */
export async function closedLoop(
  clients: number,
  seconds: number,
  call: (worker: number, since: number) => Promise<void>,
  onError: (err: unknown) => void,
): Promise<LoopResult> {
  const latencies: number[] = [];
  const timed = timedCall(call, latencies, onError);
  const deadline = performance.now() + seconds * 1000;
  const worker = async (n: number): Promise<void> => {
    while (performance.now() < deadline) await timed(n, performance.now());
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, n) => worker(n)));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, elapsed };
}

/**
 * `rate` calls a second for `seconds`, at evenly spaced start times, taken by
 * whichever of `clients` callers is free. A call's latency counts from its
 * scheduled start, not from when a caller got to it: when the callers fall
 * behind, the backlog shows in the latencies instead of silently lowering the
 * rate (no coordinated omission). `since` is that scheduled start.
 */
export async function pacedLoop(
  clients: number,
  seconds: number,
  rate: number,
  call: (worker: number, since: number) => Promise<void>,
  onError: (err: unknown) => void,
): Promise<LoopResult> {
  const latencies: number[] = [];
  const timed = timedCall(call, latencies, onError);
  const total = Math.floor(seconds * rate);
  const interval = 1000 / rate;
  let next = 0;
  const started = performance.now();
  const worker = async (n: number): Promise<void> => {
    for (let k = next++; k < total; k = next++) {
      const due = started + k * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      await timed(n, due);
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, n) => worker(n)));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, elapsed };
}
