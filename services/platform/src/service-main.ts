import { pathToFileURL } from "node:url";
import { exitOnStartupFailure, stopOnSignals } from "./lifecycle.js";
import type { Logger } from "./logger.js";
import { startTelemetry } from "./telemetry.js";

/** What every process's configuration has that its main needs. */
interface MainConfig {
  readonly service: { readonly name: string };
  readonly telemetry: { readonly exporter: "none" | "console" | "otlp"; readonly otlpEndpoint?: string | undefined };
  readonly shutdown: { readonly graceMs: number };
}

export interface ServiceProgram<C extends MainConfig> {
  /** The environment (and config files) validated once into the typed config; throws listing every bad key. */
  readonly loadConfig: () => C;
  /** The composition root, as tests call it with port 0. */
  readonly build: (config: C) => Promise<{ readonly log: Logger; stop(): Promise<void> }>;
}

/**
 * A process's `main`, when its module is the one node was started with:
 * config, telemetry first (so everything after runs traced), the program,
 * then SIGTERM/SIGINT for a graceful stop within the grace period. A failure
 * at start-up is printed plainly and exits 1.
 */
export function runServiceMain<C extends MainConfig>(moduleUrl: string, program: ServiceProgram<C>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const main = async (): Promise<void> => {
    const config = program.loadConfig();
    const telemetry = await startTelemetry({
      serviceName: config.service.name,
      exporter: config.telemetry.exporter,
      otlpEndpoint: config.telemetry.otlpEndpoint,
    });
    const running = await program.build(config);
    stopOnSignals({ stop: async () => { await running.stop(); await telemetry.shutdown(); } }, running.log, config.shutdown.graceMs);
  };
  main().catch(exitOnStartupFailure);
}
