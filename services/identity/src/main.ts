import { runServiceMain } from "../../platform/src/service-main.js";
import { startService, type RunningService, type StartServiceOptions } from "../../platform/src/service-runtime.js";
import { composeIdentity, type IdentityComposeOptions, type IdentityExposed } from "./composition.js";
import { loadIdentityConfig, type IdentityConfig } from "./config.js";

export { identityConfigSchema, loadIdentityConfig, type IdentityConfig } from "./config.js";
export { configPath, JWKS_PATH } from "./composition.js";

export type IdentityOverrides = Pick<StartServiceOptions, "log" | "verifier"> & IdentityComposeOptions;
export type RunningIdentity = RunningService & IdentityExposed;

/** The composition root. Tests call it with port 0. */
export const build = (config: IdentityConfig, { clock, rateLimiter, ...runtime }: IdentityOverrides = {}): Promise<RunningIdentity> =>
  startService({ config, compose: (deps) => composeIdentity(config, { clock, rateLimiter }, deps), ...runtime });

runServiceMain(import.meta.url, { loadConfig: loadIdentityConfig, build });
