// Parts: costing what a mechanic records on a job, and the catalog's stock
// rules. Pure and deterministic: ids and time come from the caller.
import { invalidArgument, type FieldViolation } from "../../../platform/src/errors.js";
import { moneyViolations, multiplyMoney, type Money } from "../../../platform/src/money.js";
import { textProblem } from "../../../platform/src/validation.js";
import { insufficientStock, partNotFound } from "./errors.js";
import type { Part, PartUsed, PartUsedInput } from "./model.js";

export const MAX_PART_NAME_LENGTH = 200;
export const MAX_PART_NUMBER_LENGTH = 100;
export const MAX_OVERRIDE_REASON_LENGTH = 500;
/** Most units of one part a single record (or receipt) may carry. */
export const MAX_PART_QUANTITY = 1_000_000;

/** Catalog part numbers are compared and stored trimmed and upper-cased. */
export const normalizePartNumber = (s: string): string => s.trim().toUpperCase();

function textViolation(field: string, value: string, max: number, required: boolean): FieldViolation | undefined {
  if (value === "") return required ? { field, description: "is required", reason: "REQUIRED" } : undefined;
  const problem = textProblem(value, max);
  return problem ? { field, ...problem } : undefined;
}

/**
 * Prices the parts a mechanic records on job `jobId`, in input order.
 *
 * - A catalog part (`partId`) takes its name and number from the catalog and
 *   is costed at the catalog's unit cost, unless `unitCost` is given WITH a
 *   `costOverrideReason` (either without the other is REQUIRED on the
 *   missing field). An unknown id is PART_NOT_FOUND.
 * - A free-text part (no `partId`) needs a name (1-200 characters); its
 *   number (at most 100) and unit cost are optional; an override reason
 *   means nothing for it and is dropped.
 * - quantity is 1-1,000,000; costs are never negative; totalCost is
 *   quantity x unitCost (null without a unit cost).
 *
 * Every field violation of every part is reported at once
 * (INVALID_ARGUMENT), before any unknown part. Stock is not checked here
 * (see stockAfter); currencies are checked against the job by withPartsCost.
 */
export function priceParts(
  inputs: readonly PartUsedInput[],
  catalog: ReadonlyMap<string, Part>,
  ids: () => string,
  jobId: string,
  now: Date,
  by: string | null,
): PartUsed[] {
  const violations: FieldViolation[] = [];
  const unknown: string[] = [];
  inputs.forEach((input, i) => {
    const at = `parts[${i}]`;
    if (!Number.isSafeInteger(input.quantity) || input.quantity < 1 || input.quantity > MAX_PART_QUANTITY) {
      violations.push({ field: `${at}.quantity`, description: `must be between 1 and ${MAX_PART_QUANTITY}`, reason: "OUT_OF_RANGE" });
    }
    violations.push(...moneyViolations(input.unitCost, `${at}.unit_cost`));
    const partId = input.partId === "" ? null : input.partId;
    if (partId !== null) {
      const reason = (input.costOverrideReason ?? "").trim();
      if (input.unitCost !== null && reason === "") {
        violations.push({ field: `${at}.cost_override_reason`, description: "is required to override the catalog's unit cost", reason: "REQUIRED" });
      } else if (input.unitCost === null && reason !== "") {
        violations.push({ field: `${at}.unit_cost`, description: "is required with a cost_override_reason", reason: "REQUIRED" });
      } else if (reason !== "") {
        const v = textViolation(`${at}.cost_override_reason`, reason, MAX_OVERRIDE_REASON_LENGTH, true);
        if (v) violations.push(v);
      }
      if (!catalog.has(partId)) unknown.push(partId);
    } else {
      const name = textViolation(`${at}.part_name`, input.partName.trim(), MAX_PART_NAME_LENGTH, true);
      if (name) violations.push(name);
      const number = textViolation(`${at}.part_number`, input.partNumber.trim(), MAX_PART_NUMBER_LENGTH, false);
      if (number) violations.push(number);
    }
  });
  if (violations.length > 0) throw invalidArgument(violations);
  const missing = unknown[0];
  if (missing !== undefined) throw partNotFound(missing);

  return inputs.map((input) => {
    const partId = input.partId === "" ? null : input.partId;
    const part = partId === null ? undefined : catalog.get(partId);
    let unitCost: Money | null;
    let costOverrideReason: string | null = null;
    if (part !== undefined) {
      unitCost = input.unitCost ?? part.unitCost;
      if (input.unitCost !== null) costOverrideReason = (input.costOverrideReason ?? "").trim();
    } else {
      unitCost = input.unitCost;
    }
    return {
      id: ids(),
      jobId,
      partId: part?.id ?? null,
      partName: part?.name ?? input.partName.trim(),
      partNumber: part?.partNumber ?? input.partNumber.trim(),
      quantity: input.quantity,
      unitCost,
      totalCost: unitCost === null ? null : multiplyMoney(unitCost, BigInt(input.quantity)),
      costOverrideReason,
      recordedAt: now,
      recordedBy: by,
    };
  });
}

/** The stock after adding `delta` (negative takes stock); never below zero (INSUFFICIENT_STOCK). */
export function stockAfter(part: Pick<Part, "id" | "stockOnHand">, delta: number): number {
  if (!Number.isSafeInteger(delta)) throw new RangeError(`stock delta must be a whole number, got ${delta}`);
  const after = part.stockOnHand + delta;
  if (after < 0) throw insufficientStock(part.id, part.stockOnHand, -delta);
  return after;
}

/** At or below the reorder level: listed as low stock. */
export const isLowStock = (part: Pick<Part, "stockOnHand" | "reorderLevel">): boolean => part.stockOnHand <= part.reorderLevel;

/** The change took the part from above its reorder level to at or below it: publish PartStockLow once. */
export const crossedReorderLevel = (
  before: Pick<Part, "stockOnHand" | "reorderLevel">,
  after: Pick<Part, "stockOnHand" | "reorderLevel">,
): boolean => !isLowStock(before) && isLowStock(after);

/** Violations of a new catalog part (CreatePartRequest): number 1-100, name 1-200, cost >= 0, reorder level >= 0. */
export function newPartViolations(input: {
  readonly partNumber: string;
  readonly name: string;
  readonly unitCost: Money;
  readonly reorderLevel: number;
}): FieldViolation[] {
  const out: FieldViolation[] = [];
  const number = textViolation("part_number", normalizePartNumber(input.partNumber), MAX_PART_NUMBER_LENGTH, true);
  if (number) out.push(number);
  const name = textViolation("name", input.name.trim(), MAX_PART_NAME_LENGTH, true);
  if (name) out.push(name);
  out.push(...moneyViolations(input.unitCost, "unit_cost"));
  if (!Number.isSafeInteger(input.reorderLevel) || input.reorderLevel < 0 || input.reorderLevel > 2_147_483_647) {
    out.push({ field: "reorder_level", description: "must be a whole number, at least 0", reason: "OUT_OF_RANGE" });
  }
  return out;
}
