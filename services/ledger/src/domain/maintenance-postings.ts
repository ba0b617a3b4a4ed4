// What maintenance's facts post (docs/ledger.md#posting-rules). Pure: each
// function returns the entry draft of one fact, or null when it moves no
// money. The external reference names the fact, so a redelivered event
// posts nothing new.
import type { Money } from "../../../platform/src/money.js";
import { credit, debit } from "./journal.js";
import { ACCOUNTS, type JournalEntryDraft } from "./model.js";

const auto = (type: string, id: string, entryDate: string, description: string, lines: JournalEntryDraft["lines"]): JournalEntryDraft =>
  ({ externalRef: { type, id }, entryDate, description, lines, postedBy: "", reversesEntryId: null });

/** Goods received into stock: inventory at what they cost, owed to the supplier. */
export function partReceiptPosting(fact: { movementId: string; partNumber: string; quantity: number; totalCost: Money | null; date: string }): JournalEntryDraft | null {
  if (fact.totalCost === null || fact.totalCost.amountMinor <= 0n) return null;
  return auto("part_receipt", fact.movementId, fact.date, `Goods receipt: ${fact.quantity} x ${fact.partNumber}`, [
    debit(ACCOUNTS.PARTS_INVENTORY, fact.totalCost),
    credit(ACCOUNTS.ACCOUNTS_PAYABLE, fact.totalCost),
  ]);
}

/** A catalog part taken from stock for a job: from inventory to the vehicle's maintenance expense. */
export function partConsumptionPosting(fact: { movementId: string; jobId: string; vehicleId: string; partNumber: string; quantity: number; cost: Money | null; date: string }): JournalEntryDraft | null {
  if (fact.cost === null || fact.cost.amountMinor <= 0n) return null;
  return auto("part_consumption", fact.movementId, fact.date, `Parts for job ${fact.jobId}: ${fact.quantity} x ${fact.partNumber}`, [
    debit(ACCOUNTS.EXP_MAINTENANCE_PARTS, fact.cost, { vehicleId: fact.vehicleId }),
    credit(ACCOUNTS.PARTS_INVENTORY, fact.cost),
  ]);
}

/** A stock count correction, valued at the part's unit cost: a shortage is an expense, a surplus reduces it. */
export function stockAdjustmentPosting(fact: { movementId: string; partNumber: string; quantityDelta: number; value: Money | null; date: string }): JournalEntryDraft | null {
  if (fact.value === null || fact.value.amountMinor <= 0n || fact.quantityDelta === 0) return null;
  const description = `Stock adjustment: ${fact.quantityDelta > 0 ? "+" : ""}${fact.quantityDelta} x ${fact.partNumber}`;
  return auto("part_adjustment", fact.movementId, fact.date, description, fact.quantityDelta < 0
    ? [debit(ACCOUNTS.EXP_INVENTORY_ADJUSTMENT, fact.value), credit(ACCOUNTS.PARTS_INVENTORY, fact.value)]
    : [debit(ACCOUNTS.PARTS_INVENTORY, fact.value), credit(ACCOUNTS.EXP_INVENTORY_ADJUSTMENT, fact.value)]);
}

export interface JobCostFact {
  readonly jobId: string;
  readonly vehicleId: string;
  readonly date: string;
  /** Labour of a completed job; null for a cancelled one. */
  readonly labor: Money | null;
  /** Parts not taken from stock (bought for the job): their cost is owed like labour. Catalog parts posted when consumed. */
  readonly partsBoughtForJob: Money | null;
}

/**
 * A completed job's labour and the parts bought for it, as the vehicle's
 * maintenance expense owed to the workshop (ref "maintenance", job id).
 * A cancelled job posts the parts bought for it the same way (ref
 * "maintenance_cancelled"): they were used or are lost either way.
 */
export function jobCostPosting(fact: JobCostFact, outcome: "completed" | "cancelled"): JournalEntryDraft | null {
  const lines: JournalEntryDraft["lines"][number][] = [];
  const owed: Money[] = [];
  if (fact.labor !== null && fact.labor.amountMinor > 0n) {
    lines.push(debit(ACCOUNTS.EXP_MAINTENANCE_LABOR, fact.labor, { vehicleId: fact.vehicleId }));
    owed.push(fact.labor);
  }
  if (fact.partsBoughtForJob !== null && fact.partsBoughtForJob.amountMinor > 0n) {
    lines.push(debit(ACCOUNTS.EXP_MAINTENANCE_PARTS, fact.partsBoughtForJob, { vehicleId: fact.vehicleId }));
    owed.push(fact.partsBoughtForJob);
  }
  if (lines.length === 0) return null;
  for (const amount of owed) lines.push(credit(ACCOUNTS.ACCOUNTS_PAYABLE, amount));
  return outcome === "completed"
    ? auto("maintenance", fact.jobId, fact.date, `Maintenance job ${fact.jobId} completed`, lines)
    : auto("maintenance_cancelled", fact.jobId, fact.date, `Parts of cancelled maintenance job ${fact.jobId}`, lines);
}
