import test from "ava";
import fc from "fast-check";
import { DomainError } from "../../platform/src/errors.js";
import type { Money } from "../../platform/src/money.js";
import type { Part, PartUsedInput } from "../src/domain/model.js";
import { crossedReorderLevel, isLowStock, newPartViolations, normalizePartNumber, priceParts, stockAfter } from "../src/domain/parts.js";

const NOW = new Date("2026-05-04T10:00:00Z");
const JOB = "job-1";
const eur = (amountMinor: bigint): Money => ({ amountMinor, currency: "EUR" });
const FILTER: Part = {
  id: "part-filter", partNumber: "OF-123", name: "Oil filter", unitCost: eur(1250n), stockOnHand: 10, reorderLevel: 3,
  rowVersion: 1n, createdAt: NOW, updatedAt: NOW,
};
const CATALOG: ReadonlyMap<string, Part> = new Map([[FILTER.id, FILTER]]);
const counter = (): (() => string) => {
  let n = 0;
  return () => `used-${++n}`;
};
const input = (over: Partial<PartUsedInput> = {}): PartUsedInput => ({
  partId: null, partName: "", partNumber: "", quantity: 1, unitCost: null, costOverrideReason: null, ...over,
});
const price = (inputs: PartUsedInput[]) => priceParts(inputs, CATALOG, counter(), JOB, NOW, "mech-1");
const violationsOf = (err: unknown): Array<[string, string | undefined]> =>
  err instanceof DomainError ? err.fieldViolations.map((v) => [v.field, v.reason]) : [];

test("a catalog part is named and costed from the catalog", (t) => {
  const [used] = price([input({ partId: FILTER.id, partName: "ignored", partNumber: "ignored", quantity: 3 })]);
  t.deepEqual(used, {
    id: "used-1", jobId: JOB, partId: FILTER.id, partName: "Oil filter", partNumber: "OF-123", quantity: 3,
    unitCost: eur(1250n), totalCost: eur(3750n), costOverrideReason: null, recordedAt: NOW, recordedBy: "mech-1",
  });
});

test("a catalog part's cost is overridden only with a reason", (t) => {
  const [used] = price([input({ partId: FILTER.id, quantity: 2, unitCost: eur(999n), costOverrideReason: " supplier discount " })]);
  t.deepEqual([used?.unitCost, used?.totalCost, used?.costOverrideReason], [eur(999n), eur(1998n), "supplier discount"]);

  const noReason = t.throws(() => price([input({ partId: FILTER.id, unitCost: eur(999n) })]));
  t.is((noReason as DomainError).reason, "INVALID_ARGUMENT");
  t.deepEqual(violationsOf(noReason), [["parts[0].cost_override_reason", "REQUIRED"]]);
  const blankReason = t.throws(() => price([input({ partId: FILTER.id, unitCost: eur(999n), costOverrideReason: "  " })]));
  t.deepEqual(violationsOf(blankReason), [["parts[0].cost_override_reason", "REQUIRED"]]);
  const noCost = t.throws(() => price([input({ partId: FILTER.id, costOverrideReason: "cheaper" })]));
  t.deepEqual(violationsOf(noCost), [["parts[0].unit_cost", "REQUIRED"]]);
});

test("a free-text part needs a name; its number and cost are optional", (t) => {
  const parts = price([
    input({ partName: " Wiper blade ", partNumber: " wb-7 ", quantity: 2, unitCost: eur(800n) }),
    input({ partName: "Screws", quantity: 12 }),
  ]);
  t.deepEqual(parts.map((p) => [p.id, p.partId, p.partName, p.partNumber, p.unitCost, p.totalCost]), [
    ["used-1", null, "Wiper blade", "wb-7", eur(800n), eur(1600n)],
    ["used-2", null, "Screws", "", null, null],
  ]);
  t.deepEqual(violationsOf(t.throws(() => price([input({ partName: "  " })]))), [["parts[0].part_name", "REQUIRED"]]);
  t.deepEqual(violationsOf(t.throws(() => price([input({ partName: "x".repeat(201) })]))), [["parts[0].part_name", "TOO_LONG"]]);
  t.notThrows(() => price([input({ partName: "x".repeat(200) })]));
  t.deepEqual(violationsOf(t.throws(() => price([input({ partName: "Bolt", partNumber: "x".repeat(101) })]))), [["parts[0].part_number", "TOO_LONG"]]);
});

test("an unknown catalog part is PART_NOT_FOUND", (t) => {
  const err = t.throws(() => price([input({ partName: "ok" }), input({ partId: "nope" })]));
  t.is((err as DomainError).reason, "PART_NOT_FOUND");
  t.is((err as DomainError).kind, "not_found");
  t.deepEqual((err as DomainError).metadata, { part_id: "nope" });
});

test("quantity is at least 1, costs are never negative; every violation is listed with its index", (t) => {
  for (const quantity of [0, -1, 1.5, Number.NaN, 1_000_001]) {
    t.deepEqual(violationsOf(t.throws(() => price([input({ partName: "a", quantity })]))), [["parts[0].quantity", "OUT_OF_RANGE"]], String(quantity));
  }
  const err = t.throws(() => price([
    input({ partName: "ok" }),
    input({ partName: "a", unitCost: eur(-1n) }),
    input({ partId: FILTER.id, quantity: 0, unitCost: eur(-5n), costOverrideReason: "refund" }),
  ]));
  t.deepEqual(violationsOf(err), [
    ["parts[1].unit_cost.amount_minor", "OUT_OF_RANGE"],
    ["parts[2].quantity", "OUT_OF_RANGE"],
    ["parts[2].unit_cost.amount_minor", "OUT_OF_RANGE"],
  ]);
  t.deepEqual(violationsOf(t.throws(() => price([input({ partName: "a", unitCost: { amountMinor: 1n, currency: "XYZ" } })]))),
    [["parts[0].unit_cost.currency_code", "INVALID_FORMAT"]]);
  t.deepEqual(price([input({ partName: "free", unitCost: eur(0n) })])[0]?.totalCost, eur(0n));
});

test("property: totalCost = quantity x unitCost, never negative", (t) => {
  fc.assert(fc.property(
    fc.array(fc.record({
      catalog: fc.boolean(),
      quantity: fc.integer({ min: 1, max: 1_000_000 }),
      cost: fc.option(fc.bigInt({ min: 0n, max: 10n ** 12n })),
    }), { minLength: 1, maxLength: 10 }),
    (rows) => {
      const inputs = rows.map((r) => r.catalog
        ? input({ partId: FILTER.id, quantity: r.quantity, unitCost: r.cost === null ? null : eur(r.cost), costOverrideReason: r.cost === null ? null : "why" })
        : input({ partName: "p", quantity: r.quantity, unitCost: r.cost === null ? null : eur(r.cost) }));
      const parts = price(inputs);
      return parts.every((p, i) => {
        const row = rows[i]!;
        const unit = row.cost ?? (row.catalog ? FILTER.unitCost.amountMinor : null);
        return unit === null
          ? p.totalCost === null
          : p.totalCost !== null && p.totalCost.amountMinor === unit * BigInt(row.quantity) && p.totalCost.amountMinor >= 0n;
      });
    },
  ));
  t.pass();
});

test("stockAfter adds the delta and never goes below zero", (t) => {
  t.is(stockAfter(FILTER, -10), 0);
  t.is(stockAfter(FILTER, 5), 15);
  const err = t.throws(() => stockAfter(FILTER, -11));
  t.is((err as DomainError).reason, "INSUFFICIENT_STOCK");
  t.is((err as DomainError).kind, "failed_precondition");
  t.deepEqual((err as DomainError).metadata, { part_id: FILTER.id, stock_on_hand: "10", requested: "11" });
  fc.assert(fc.property(fc.nat({ max: 10_000 }), fc.integer({ min: -20_000, max: 20_000 }), (onHand, delta) => {
    try {
      const after = stockAfter({ id: "p", stockOnHand: onHand }, delta);
      return after === onHand + delta && after >= 0;
    } catch (e) {
      return e instanceof DomainError && e.reason === "INSUFFICIENT_STOCK" && onHand + delta < 0;
    }
  }));
});

test("low stock is at or below the reorder level; crossing it is from above to at-or-below", (t) => {
  const at = (stockOnHand: number) => ({ stockOnHand, reorderLevel: 3 });
  t.false(isLowStock(at(4)));
  t.true(isLowStock(at(3)));
  t.true(isLowStock(at(0)));
  t.true(crossedReorderLevel(at(4), at(3)));
  t.true(crossedReorderLevel(at(10), at(0)));
  t.false(crossedReorderLevel(at(3), at(2)), "already low: no second crossing");
  t.false(crossedReorderLevel(at(10), at(4)));
  t.false(crossedReorderLevel(at(2), at(10)), "a receipt goes back up, no crossing");
  fc.assert(fc.property(fc.nat(100), fc.nat(100), fc.nat(100), (before, after, level) =>
    crossedReorderLevel({ stockOnHand: before, reorderLevel: level }, { stockOnHand: after, reorderLevel: level }) === (before > level && after <= level)));
});

test("part numbers are trimmed and upper-cased; a new part's fields are checked", (t) => {
  t.is(normalizePartNumber("  of-123a "), "OF-123A");
  t.deepEqual(newPartViolations({ partNumber: "of-1", name: "Filter", unitCost: eur(0n), reorderLevel: 0 }), []);
  t.deepEqual(newPartViolations({ partNumber: " ", name: "", unitCost: eur(-1n), reorderLevel: -1 }).map((v) => [v.field, v.reason]), [
    ["part_number", "REQUIRED"], ["name", "REQUIRED"], ["unit_cost.amount_minor", "OUT_OF_RANGE"], ["reorder_level", "OUT_OF_RANGE"],
  ]);
});
