// Facts from other services that reports read besides the journal. Each row
// carries the ledger position it was recorded at, so reports "as of P" see
// exactly the facts at or below P.
import type { Database } from "../../../../platform/src/db.js";
import type { MaintenanceFactStore } from "../../app/maintenance-facts.js";
import { rowsOf } from "./journal-store.js";

export function createMaintenanceFactStore(db: Database): MaintenanceFactStore {
  return {
    async recordCompletedJob(f, completeDate, position) {
      await rowsOf(db.executor(),
        `INSERT INTO maintenance_facts (maintenance_job_id, vehicle_id, start_time, complete_time, complete_date, currency, labor_minor, parts_minor, odometer_km, position)
         VALUES (?, ?, ?, ?, ?::date, ?, ?, ?, ?, ?) ON CONFLICT (maintenance_job_id) DO NOTHING`,
        [f.jobId, f.vehicleId, f.startTime, f.completeTime, completeDate, f.currency, f.labor?.amountMinor ?? 0n, f.partsCost?.amountMinor ?? 0n, f.odometerKm, position]);
    },
    async hasCompletedJob(jobId) {
      return (await rowsOf(db.executor(), "SELECT 1 FROM maintenance_facts WHERE maintenance_job_id = ?", [jobId])).length > 0;
    },
  };
}
