import { runServiceMain } from "../../platform/src/service-main.js";
import { startService, type RunningService, type StartServiceOptions } from "../../platform/src/service-runtime.js";
import { composeRental, type RentalExposed } from "./composition.js";
import { loadRentalConfig, type RentalConfig } from "./config.js";

export { loadRentalConfig } from "./config.js";

export type BuildOverrides = Pick<StartServiceOptions, "log" | "verifier">;
export type RentalRunning = RunningService & RentalExposed;

/** The composition root. Tests call it with port 0. */
export const build = (config: RentalConfig, overrides: BuildOverrides = {}): Promise<RentalRunning> =>
  startService({ config, compose: composeRental, ...overrides });

runServiceMain(import.meta.url, { loadConfig: loadRentalConfig, build });
