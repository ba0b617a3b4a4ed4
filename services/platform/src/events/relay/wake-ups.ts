import { setTimeout as sleep } from "node:timers/promises";

/**
 * What ends an idle relay's wait: a commit of outbox rows (in this process,
 * or a NOTIFY from another), or the poll interval. A wake-up that arrives
 * while a round runs is remembered, so the next wait returns at once and no
 * commit is left for the poll.
 */
export class WakeUps {
  #pending = false;
  #waiter: (() => void) | undefined;
  #stopped = false;

  wake(): void {
    this.#pending = true;
    this.#waiter?.();
  }

  /** A round is about to read: the commits signalled so far are in what it reads. */
  consume(): void {
    this.#pending = false;
  }

  /** Waits for a wake-up, at most `ms`; at once when one is pending or the relay stopped. */
  async wait(ms: number): Promise<void> {
    if (this.#pending || this.#stopped) return;
    const ac = new AbortController();
    await Promise.race([
      new Promise<void>((resolve) => (this.#waiter = resolve)),
      sleep(ms, undefined, { signal: ac.signal }).catch(() => undefined),
    ]);
    ac.abort();
    this.#waiter = undefined;
  }

  /** Ends the wait in progress and every later one. */
  stop(): void {
    this.#stopped = true;
    this.#waiter?.();
  }
}
