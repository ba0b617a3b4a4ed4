import type { Logger } from "./logger.js";

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * SIGTERM/SIGINT start a graceful stop; if it overruns the grace period the
 * process exits anyway, so Kubernetes never has to SIGKILL it.
 */
export function stopOnSignals(app: Stoppable, log: Logger, graceMs: number): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs }, "shutting down");
    setTimeout(() => {
      log.error("graceful shutdown overran its grace period; exiting");
      process.exit(1);
    }, graceMs + 2_000).unref();
    app.stop().then(
      () => {
        log.info("stopped");
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        log.flush();
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}

/** Logs and exits on a failure at start-up, listing config problems plainly. */
export function exitOnStartupFailure(err: unknown): never {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
