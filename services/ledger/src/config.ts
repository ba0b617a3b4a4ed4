import { resolve } from "node:path";
import { configFilesOf, loadConfig, SERVICE_SECRET_PATHS, serviceConfigSchema, z } from "../../platform/src/config.js";
import { repoRoot } from "../../platform/src/db.js";

const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-CA", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

/** The ledger's own settings (docs/ledger.md) next to the kit's service schema. */
export const ledgerConfigSchema = serviceConfigSchema.extend({
  ledger: z.strictObject({
    /** IANA zone whose calendar days are accounting dates (entry dates, periods, report buckets). */
    reportingTimeZone: z.string().refine(isTimeZone, { message: "must be an IANA time zone, e.g. Europe/Berlin" }).default("UTC"),
    /** Invoices issued from rental events fall due this many days after their issue date (0: on receipt). */
    invoiceDueDays: z.coerce.number().int().min(0).max(365).default(14),
  }).default({ reportingTimeZone: "UTC", invoiceDueDays: 14 }),
});

export type LedgerConfig = z.output<typeof ledgerConfigSchema>;

export function loadLedgerConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  return loadConfig(ledgerConfigSchema, {
    files: configFilesOf(resolve(repoRoot, "services/ledger/config/default.yaml"), "ledger", env),
    env,
    secretPaths: SERVICE_SECRET_PATHS,
  });
}
