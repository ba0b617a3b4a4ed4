import { resolve } from "node:path";
import { configFilesOf, loadConfig, SERVICE_SECRET_PATHS, serviceConfigSchema, z } from "../../platform/src/config.js";
import { repoRoot } from "../../platform/src/db.js";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Rental's own settings (docs/rentals.md) next to the kit's service schema. */
export const rentalConfigSchema = serviceConfigSchema.extend({
  rental: z.strictObject({
    /** How long a quote can be reserved. */
    quoteTtlMinutes: int(1, 10_080).default(30),
    /** A reservation not picked up this long after its start becomes a NO_SHOW (plan's fee). */
    noShowAfterMinutes: int(1, 10_080).default(120),
    /** Clock skew tolerated for "not in the past" / "not in the future" checks. */
    clockSkewMinutes: int(0, 60).default(5),
    /** How long identity's answers about a customer or staff member are reused. */
    peerCacheSeconds: int(0, 3_600).default(60),
    /** Cron (UTC) of the no-show and overdue sweeps and of the empty-projection backfill check. */
    sweepCron: z.string().min(9).default("* * * * *"),
  }).default({ quoteTtlMinutes: 30, noShowAfterMinutes: 120, clockSkewMinutes: 5, peerCacheSeconds: 60, sweepCron: "* * * * *" }),
});

export type RentalConfig = z.output<typeof rentalConfigSchema>;

export function loadRentalConfig(env: NodeJS.ProcessEnv = process.env): RentalConfig {
  return loadConfig(rentalConfigSchema, {
    files: configFilesOf(resolve(repoRoot, "services/rental/config/default.yaml"), "rental", env),
    env,
    secretPaths: SERVICE_SECRET_PATHS,
  });
}
