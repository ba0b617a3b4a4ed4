import { resolve } from "node:path";
import { configFilesOf, loadConfig, SERVICE_SECRET_PATHS, serviceConfigSchema, type ServiceConfig } from "../../platform/src/config.js";
import { repoRoot } from "../../platform/src/db.js";

/** Fleet needs nothing beyond the kit's service schema. */
export const fleetConfigSchema = serviceConfigSchema;
export type FleetConfig = ServiceConfig;

export function loadFleetConfig(env: NodeJS.ProcessEnv = process.env): FleetConfig {
  return loadConfig(fleetConfigSchema, {
    files: configFilesOf(resolve(repoRoot, "services/fleet/config/default.yaml"), "fleet", env),
    env,
    secretPaths: SERVICE_SECRET_PATHS,
  });
}
