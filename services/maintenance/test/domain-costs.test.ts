import test from "ava";
import fc from "fast-check";
import { DomainError } from "../../platform/src/errors.js";
import type { Money } from "../../platform/src/money.js";
import { costPerKm, summarizeCosts, type CostSummary } from "../src/domain/costs.js";

const m = (amountMinor: bigint, currency = "EUR"): Money => ({ amountMinor, currency });
type Costed = { currency: string | null; laborCost: Money | null; partsCost: Money | null };
const job = (currency: string | null, labor: bigint | null, parts: bigint | null): Costed => ({
  currency,
  laborCost: labor === null || currency === null ? null : m(labor, currency),
  partsCost: parts === null || currency === null ? null : m(parts, currency),
});
const summary = (currency: string, labor: bigint, parts: bigint, jobCount: number): CostSummary => ({
  currency, laborCost: m(labor, currency), partsCost: m(parts, currency), totalCost: m(labor + parts, currency), jobCount,
});

test("costs are summed per currency, ordered by currency; missing amounts count as zero", (t) => {
  const costs = summarizeCosts([
    job("USD", 1000n, 250n),
    job("EUR", 9000n, 2000n),
    job("EUR", null, 500n),
    job("EUR", 300n, null),
    job(null, null, null),
    job("CHF", 0n, 0n),
  ]);
  t.deepEqual(costs, [summary("CHF", 0n, 0n, 1), summary("EUR", 9300n, 2500n, 3), summary("USD", 1000n, 250n, 1)]);
  t.deepEqual(summarizeCosts([]), []);
  t.deepEqual(summarizeCosts([job(null, null, null)]), [], "a job without any cost counts nowhere");
});

test("a job whose cost is not in its currency is CURRENCY_MISMATCH", (t) => {
  const err = t.throws(() => summarizeCosts([{ currency: "EUR", laborCost: m(1n, "USD"), partsCost: null }]));
  t.is((err as DomainError).reason, "CURRENCY_MISMATCH");
});

test("property: per currency, total = labor + parts and job counts add up", (t) => {
  const jobArb = fc.record({
    currency: fc.option(fc.constantFrom("EUR", "USD", "JPY", "KWD")),
    labor: fc.option(fc.bigInt({ min: 0n, max: 10n ** 12n })),
    parts: fc.option(fc.bigInt({ min: 0n, max: 10n ** 12n })),
  });
  fc.assert(fc.property(fc.array(jobArb, { maxLength: 30 }), (rows) => {
    const jobs = rows.map((r) => job(r.currency, r.labor, r.parts));
    const costs = summarizeCosts(jobs);
    const currencies = costs.map((c) => c.currency);
    if (currencies.join() !== [...new Set(rows.flatMap((r) => (r.currency === null ? [] : [r.currency])))].sort().join()) return false;
    return costs.every((c) => {
      const mine = jobs.filter((j) => j.currency === c.currency);
      const labor = mine.reduce((s, j) => s + (j.laborCost?.amountMinor ?? 0n), 0n);
      const parts = mine.reduce((s, j) => s + (j.partsCost?.amountMinor ?? 0n), 0n);
      return c.jobCount === mine.length
        && c.laborCost.amountMinor === labor && c.partsCost.amountMinor === parts
        && c.totalCost.amountMinor === c.laborCost.amountMinor + c.partsCost.amountMinor
        && [c.laborCost, c.partsCost, c.totalCost].every((x) => x.currency === c.currency);
    });
  }));
  t.pass();
});

test("cost per km rounds half-even per currency; mixed currencies are kept apart", (t) => {
  const costs = [summary("EUR", 250n, 0n, 1), summary("JPY", 350n, 0n, 1), summary("USD", 251n, 0n, 1)];
  // 250/100 = 2.5 -> 2, 350/100 = 3.5 -> 4, 251/100 = 2.51 -> 3
  t.deepEqual(costPerKm(costs, 100), [m(2n, "EUR"), m(4n, "JPY"), m(3n, "USD")]);
  t.deepEqual(costPerKm([summary("EUR", 5n, 0n, 1)], 2), [m(2n)], "2.5 -> 2");
  t.deepEqual(costPerKm([summary("EUR", 7n, 0n, 1)], 2), [m(4n)], "3.5 -> 4");
  t.deepEqual(costPerKm([summary("EUR", 1000n, 234n, 2)], 1), [m(1234n)]);
});

test("no cost per km without a positive distance", (t) => {
  const costs = [summary("EUR", 100n, 0n, 1)];
  t.deepEqual(costPerKm(costs, null), []);
  t.deepEqual(costPerKm(costs, 0), []);
  t.deepEqual(costPerKm(costs, -5), []);
  t.deepEqual(costPerKm([], 100), []);
});

test("property: cost per km is the total divided by km, within half a minor unit", (t) => {
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 1, max: 2_000_000 }), (total, km) => {
    const [perKm] = costPerKm([summary("EUR", total, 0n, 1)], km);
    if (perKm === undefined) return false;
    const diff = perKm.amountMinor * BigInt(km) - total; // |diff| <= km / 2
    return 2n * (diff < 0n ? -diff : diff) <= BigInt(km);
  }));
  t.pass();
});
