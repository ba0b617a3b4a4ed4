import type { Logger } from "../../logger.js";
import type { StopSignal } from "../stop-signal.js";

/** What the supervisor keeps running: a consumer session (session.ts), or a fake in tests. */
export interface Supervised {
  /** Runs until stop is requested (returns) or a failure it cannot recover from (throws). */
  run(): Promise<void>;
  close(): Promise<void>;
}

export interface SupervisorOptions<S extends Supervised> {
  /** Makes a new session; called again after each failure. */
  open(): S;
  readonly stop: StopSignal;
  /** The pause before restarting after the `failures`-th failure in a row. */
  backoffMs(failures: number): number;
  readonly log: Logger;
  readonly groupId: string;
}

/** Failures in a row from which a restart is logged as an error rather than a warning. */
export const RESTARTS_BEFORE_ERROR = 3;

/**
 * Keeps a consumer up: kafkajs restarts itself after retriable failures; a
 * crash it would not restart from (or a failed connect) is restarted here,
 * after a backoff, so the consumer never stays down.
 *
 * States: idle → running (a session runs) → down (its session closed,
 * pausing before the next) → running ...; stop() from any of them ends the
 * loop at its next wait (every wait races the stop signal), then closes the
 * last session made, which may have connected after stop() began.
 */
export class Supervisor<S extends Supervised> {
  readonly #options: SupervisorOptions<S>;
  #loop: Promise<void> | undefined;
  #current: S | undefined;

  constructor(options: SupervisorOptions<S>) {
    this.#options = options;
  }

  /** The session running now; undefined while down. */
  get current(): S | undefined {
    return this.#current;
  }

  start(): void {
    this.#loop ??= this.#supervise();
  }

  /**
   * Requests the stop, waits for the loop, then closes the last session:
   * disconnecting waits for the event in hand (which gives up at its next
   * pause) and leaves the group, so the partitions move on at once.
   */
  async stop(): Promise<void> {
    this.#options.stop.request();
    await this.#loop;
    await this.#current?.close().catch((err: unknown) => this.#options.log.warn({ err }, "event consumer disconnect failed"));
  }

  async #supervise(): Promise<void> {
    const { stop, log } = this.#options;
    for (let failures = 0; !stop.stopping; ) {
      try {
        this.#current = this.#options.open();
        await this.#current.run();
        failures = 0;
      } catch (err) {
        if (stop.stopping) break;
        failures += 1;
        log[failures >= RESTARTS_BEFORE_ERROR ? "error" : "warn"]({ err, failures, groupId: this.#options.groupId },
          "event consumer is down; restarting");
        const failed = this.#current;
        this.#current = undefined;
        await failed?.close().catch(() => undefined);
        await stop.sleep(this.#options.backoffMs(failures));
      }
    }
  }
}
