import { resolve } from "node:path";
import { configFilesOf, loadConfig, SERVICE_SECRET_PATHS, serviceConfigSchema, z } from "../../platform/src/config.js";
import { repoRoot } from "../../platform/src/db.js";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Maintenance's own settings (docs/maintenance.md) next to the kit's service schema. */
export const maintenanceConfigSchema = serviceConfigSchema.extend({
  maintenance: z.strictObject({
    /** Cron (UTC) of the due-plan sweep, which creates preventive jobs. */
    plansCron: z.string().min(9).default("*/5 * * * *"),
    /** Cron (UTC) of the reconciliation of blocks left without a job, and of the empty-projection backfill check. */
    reconcileCron: z.string().min(9).default("* * * * *"),
    /** A block intent older than this without its job is released. */
    orphanBlockAfterMinutes: int(1, 1_440).default(5),
  }).default({ plansCron: "*/5 * * * *", reconcileCron: "* * * * *", orphanBlockAfterMinutes: 5 }),
});

export type MaintenanceConfig = z.output<typeof maintenanceConfigSchema>;

export function loadMaintenanceConfig(env: NodeJS.ProcessEnv = process.env): MaintenanceConfig {
  return loadConfig(maintenanceConfigSchema, {
    files: configFilesOf(resolve(repoRoot, "services/maintenance/config/default.yaml"), "maintenance", env),
    env,
    secretPaths: SERVICE_SECRET_PATHS,
  });
}
