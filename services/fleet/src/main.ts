import { runServiceMain } from "../../platform/src/service-main.js";
import { startService, type RunningService, type StartServiceOptions } from "../../platform/src/service-runtime.js";
import { composeFleet } from "./composition.js";
import { loadFleetConfig, type FleetConfig } from "./config.js";

export { loadFleetConfig } from "./config.js";

/** Tests' handles on the runtime: their own logger and keys, the crash hook of the event tests. */
export type BuildOverrides = Pick<StartServiceOptions, "log" | "verifier" | "afterEventEffectCommitted">;
export type FleetRunning = RunningService;

/** The composition root. Tests call it with port 0. */
export const build = (config: FleetConfig, overrides: BuildOverrides = {}): Promise<FleetRunning> =>
  startService({ config, compose: composeFleet, ...overrides });

runServiceMain(import.meta.url, { loadConfig: loadFleetConfig, build });
