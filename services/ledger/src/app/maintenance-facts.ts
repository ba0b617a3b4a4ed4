// Maintenance's facts into the ledger: stock receipts, consumption and
// adjustments, and the cost of completed and cancelled jobs. Each runs in
// the consumer's inbox transaction, so it happens exactly once per event;
// the entries' external references make a replay of the same facts post
// nothing new either. Facts dated in a closed month post in the first open one.
import type { Money } from "../../../platform/src/money.js";
import { runInTransaction } from "../../../platform/src/transactions.js";
import type { Database } from "../../../platform/src/db.js";
import { jobCostPosting, partConsumptionPosting, partReceiptPosting, stockAdjustmentPosting } from "../domain/maintenance-postings.js";
import type { JournalEntryDraft } from "../domain/model.js";
import type { Posting } from "./journal-use-cases.js";

export interface CompletedJobFact {
  readonly jobId: string;
  readonly vehicleId: string;
  readonly startTime: Date | null;
  readonly completeTime: Date;
  readonly currency: string;
  readonly labor: Money | null;
  readonly partsCost: Money | null;
  readonly partsBoughtForJob: Money | null;
  readonly odometerKm: number | null;
}

/** The maintenance facts reports read besides the journal (maintenance cost, utilization downtime). */
export interface MaintenanceFactStore {
  /** Inserted once per job (a repeat is ignored); `position` from Posting.takePosition. */
  recordCompletedJob(fact: CompletedJobFact, completeDate: string, position: bigint): Promise<void>;
  hasCompletedJob(jobId: string): Promise<boolean>;
}

export interface MaintenanceFacts {
  partsReceived(fact: { movementId: string; partNumber: string; quantity: number; totalCost: Money | null; at: Date }): Promise<void>;
  partsConsumed(fact: { movementId: string; jobId: string; vehicleId: string; partNumber: string; quantity: number; cost: Money | null; at: Date }): Promise<void>;
  stockAdjusted(fact: { movementId: string; partNumber: string; quantityDelta: number; value: Money | null; at: Date }): Promise<void>;
  jobCompleted(fact: CompletedJobFact): Promise<void>;
  jobCancelled(fact: { jobId: string; vehicleId: string; cancelTime: Date; partsBoughtForJob: Money | null }): Promise<void>;
}

export function createMaintenanceFacts(deps: { db: Database; posting: Posting; facts: MaintenanceFactStore }): MaintenanceFacts {
  const { db, posting, facts } = deps;
  const post = (draft: JournalEntryDraft | null): Promise<void> =>
    runInTransaction(db, async () => {
      if (draft !== null) await posting.post(draft, "first_open_period");
    });
  return {
    partsReceived: (f) => post(partReceiptPosting({ ...f, date: posting.dateOf(f.at) })),
    partsConsumed: (f) => post(partConsumptionPosting({ ...f, date: posting.dateOf(f.at) })),
    stockAdjusted: (f) => post(stockAdjustmentPosting({ ...f, date: posting.dateOf(f.at) })),
    async jobCompleted(f) {
      const date = posting.dateOf(f.completeTime);
      await runInTransaction(db, async () => {
        if (!(await facts.hasCompletedJob(f.jobId))) await facts.recordCompletedJob(f, date, await posting.takePosition());
        const draft = jobCostPosting({ jobId: f.jobId, vehicleId: f.vehicleId, date, labor: f.labor, partsBoughtForJob: f.partsBoughtForJob }, "completed");
        if (draft !== null) await posting.post(draft, "first_open_period");
      });
    },
    jobCancelled: (f) =>
      post(jobCostPosting({ jobId: f.jobId, vehicleId: f.vehicleId, date: posting.dateOf(f.cancelTime), labor: null, partsBoughtForJob: f.partsBoughtForJob }, "cancelled")),
  };
}
