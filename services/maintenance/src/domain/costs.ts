// A vehicle's maintenance spend: per currency (never converted), and per
// kilometre driven. Pure and deterministic.
import { currencyMismatch, multiplyByRate, sumMoney, type Money } from "../../../platform/src/money.js";
import type { MaintenanceJob } from "./model.js";

/** Maintenance spend in one currency (proto MaintenanceCostSummary). */
export interface CostSummary {
  readonly currency: string;
  readonly laborCost: Money;
  readonly partsCost: Money;
  readonly totalCost: Money;
  readonly jobCount: number;
}

/**
 * Sums the jobs the caller selected (completed ones, for the cost report)
 * per currency, ordered by currency code: labor, parts (a missing one counts
 * as zero), their total and the number of jobs. A job without a currency
 * (no cost was ever recorded) counts nowhere. A job whose labor or parts
 * cost is not in its currency is CURRENCY_MISMATCH.
 */
export function summarizeCosts(jobs: readonly Pick<MaintenanceJob, "currency" | "laborCost" | "partsCost">[]): CostSummary[] {
  const groups = new Map<string, { labor: Money[]; parts: Money[]; jobCount: number }>();
  for (const job of jobs) {
    const currency = job.currency;
    if (currency === null) continue;
    for (const cost of [job.laborCost, job.partsCost]) {
      if (cost !== null && cost.currency !== currency) throw currencyMismatch(currency, cost.currency);
    }
    let group = groups.get(currency);
    if (group === undefined) {
      group = { labor: [], parts: [], jobCount: 0 };
      groups.set(currency, group);
    }
    if (job.laborCost !== null) group.labor.push(job.laborCost);
    if (job.partsCost !== null) group.parts.push(job.partsCost);
    group.jobCount += 1;
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, group]) => {
      const laborCost = sumMoney(group.labor, currency);
      const partsCost = sumMoney(group.parts, currency);
      return { currency, laborCost, partsCost, totalCost: sumMoney([laborCost, partsCost]), jobCount: group.jobCount };
    });
}

/**
 * Cost per kilometre in each currency of `costs` (same order): totalCost /
 * kmDriven, rounded once, half-even, to the minor unit. [] when the
 * distance is unknown or not positive.
 */
export function costPerKm(costs: readonly CostSummary[], kmDriven: number | null): Money[] {
  if (kmDriven === null || !(kmDriven > 0)) return [];
  if (!Number.isSafeInteger(kmDriven)) throw new RangeError(`kmDriven must be a whole number, got ${kmDriven}`);
  return costs.map((c) => multiplyByRate(c.totalCost, 1n, BigInt(kmDriven)));
}
