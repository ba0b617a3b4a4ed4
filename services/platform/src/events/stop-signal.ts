import { setTimeout as sleep } from "node:timers/promises";

/**
 * A worker's "stop was requested", settled once. Every wait of the worker
 * races `requested`, so a stop that lands while the worker is between two
 * waits (still connecting, restarting) is not missed, as a per-wait callback
 * installed after the stop would be.
 */
export class StopSignal {
  readonly #stop = Promise.withResolvers<undefined>();
  #stopping = false;

  /** Settles (to undefined) when stop is requested. */
  get requested(): Promise<undefined> {
    return this.#stop.promise;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  request(): void {
    this.#stopping = true;
    this.#stop.resolve(undefined);
  }

  /** Waits `ms`, or less when stop is requested meanwhile. */
  async sleep(ms: number): Promise<void> {
    const over = new AbortController();
    await Promise.race([this.requested, sleep(ms, undefined, { signal: over.signal }).catch(() => undefined)]);
    over.abort();
  }
}
