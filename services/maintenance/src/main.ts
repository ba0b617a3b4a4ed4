import { runServiceMain } from "../../platform/src/service-main.js";
import { startService, type RunningService, type StartServiceOptions } from "../../platform/src/service-runtime.js";
import { composeMaintenance, type MaintenanceExposed } from "./composition.js";
import { loadMaintenanceConfig, type MaintenanceConfig } from "./config.js";

export { loadMaintenanceConfig } from "./config.js";

export type BuildOverrides = Pick<StartServiceOptions, "log" | "verifier">;
export type MaintenanceRunning = RunningService & MaintenanceExposed;

/** The composition root. Tests call it with port 0. */
export const build = (config: MaintenanceConfig, overrides: BuildOverrides = {}): Promise<MaintenanceRunning> =>
  startService({ config, compose: composeMaintenance, ...overrides });

runServiceMain(import.meta.url, { loadConfig: loadMaintenanceConfig, build });
