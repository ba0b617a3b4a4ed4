// Benchmarks only: closed-loop load, N callers each calling again as soon as
// its call returns, for a fixed time.

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
  call: (worker: number) => Promise<void>,
  onError: (err: unknown) => void,
): Promise<LoopResult> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const worker = async (n: number): Promise<void> => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        await call(n);
        latencies.push(performance.now() - start);
      } catch (err) {
        onError(err);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, n) => worker(n)));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, elapsed };
}
