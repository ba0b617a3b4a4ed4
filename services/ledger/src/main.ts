import { runServiceMain } from "../../platform/src/service-main.js";
import { startService, type RunningService, type StartServiceOptions } from "../../platform/src/service-runtime.js";
import { composeLedger, type LedgerExposed } from "./composition.js";
import { loadLedgerConfig, type LedgerConfig } from "./config.js";

export { loadLedgerConfig } from "./config.js";

export type BuildOverrides = Pick<StartServiceOptions, "log" | "verifier" | "afterEventEffectCommitted">;
export type LedgerRunning = RunningService & LedgerExposed;

/** The composition root. Tests call it with port 0. */
export const build = (config: LedgerConfig, overrides: BuildOverrides = {}): Promise<LedgerRunning> =>
  startService({ config, compose: composeLedger, ...overrides });

runServiceMain(import.meta.url, { loadConfig: loadLedgerConfig, build });
