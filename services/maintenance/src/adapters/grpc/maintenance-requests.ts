import {
  check,
  expectedRowVersion,
  nonNegativeInt,
  optionalText,
  optionalUuid,
  pageOf,
  requiredText,
  requiredUuid,
  timeOf,
} from "../../../../platform/src/grpc/request-fields.js";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import type { Money as ProtoMoney } from "../../../../../gen/fleetmesh/common/v1/money_pb.js";
import type { Period as ProtoPeriod } from "../../../../../gen/fleetmesh/common/v1/period_pb.js";
import type {
  MaintenanceJobAttributes as ProtoJobAttributes,
  MaintenanceKind as ProtoKind,
  MaintenancePlan as ProtoPlan,
  MaintenanceStatus as ProtoStatus,
  PartUsedInput as ProtoPartUsedInput,
} from "../../../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import { isCurrency, moneyViolations, type Money } from "../../../../platform/src/money.js";
import { moneyFromProto } from "../../../../platform/src/proto-common.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { CreatePlanCommand } from "../../app/use-case-api.js";
import type { JobAttributes, MaintenanceKind, MaintenanceStatus, PartUsedInput, Period, PlanTarget } from "../../domain/model.js";
import { maintenanceKindFromProto, maintenanceStatusFromProto } from "../proto/maintenance-enums.js";

// Request shape checks of the maintenance RPCs: every violation of a request
// is collected with its proto field path, then one INVALID_ARGUMENT lists
// them all and nothing is called. Only what needs no data is checked here;
// existence, state, stock, the job's or part's currency are the use cases'.


export const MAX_DESCRIPTION = 2000;
export const MAX_NOTES = 4000;
export const MAX_REASON = 500;
export const MAX_PART_NAME = 200;
export const MAX_PART_NUMBER = 100;
export const MAX_PARTS_PER_REQUEST = 100;
export const MAX_STOCK_QUANTITY = 1_000_000;
export const MAX_STOCK_REFERENCE = 200;
export const MAX_PLAN_NAME = 200;
/** Fleet's bound on make and model. */
export const MAX_MAKE_MODEL = 120;
export const MAX_INTERVAL_DAYS = 3650;
export const MAX_INTERVAL_KM = 1_000_000;
export const MIN_PLANNED_HOURS = 1;
export const MAX_PLANNED_HOURS = 168;
/** The paths of MaintenanceJobAttributes an UpdateMaintenanceJob mask may name. */
export const UPDATABLE_ATTRIBUTES = ["kind", "description", "schedule_time", "estimated_completion_time"] as const;
export type UpdatableAttribute = (typeof UPDATABLE_ATTRIBUTES)[number];

// ---- field helpers: the kit's, for every service ----

export { check, expectedRowVersion, nonNegativeInt, optionalText, optionalUuid, pageOf, requiredText, requiredUuid, timeOf };

/** `end` strictly after `start`, else INVALID_PERIOD on `endField`. */
function windowEnds(v: Violations, endField: string, start: Date | null, end: Date | null, endName = "start"): boolean {
  if (start === null || end === null) return false;
  if (end.getTime() <= start.getTime()) {
    v.add(endField, `must be after ${endName}: the window ${end.getTime() === start.getTime() ? "is empty" : "ends before it starts"}`,
      "INVALID_PERIOD");
    return false;
  }
  return true;
}

/** An optional half-open filter period: both ends, end after start, any length; null when unset. */
export function optionalPeriodOf(v: Violations, field: string, p: ProtoPeriod | undefined): Period | null {
  if (p === undefined) return null;
  const start = timeOf(v, `${field}.start_time`, p.startTime, true);
  const end = timeOf(v, `${field}.end_time`, p.endTime, true);
  return windowEnds(v, `${field}.end_time`, start, end, "start_time") ? { start: start!, end: end! } : null;
}

export interface MoneyRules {
  readonly required?: boolean;
  /** Every amount of one request is in one currency. */
  readonly currency?: string | null;
}

/** A money field, never negative here: ISO 4217 code, amount >= 0, the request's currency; null when absent. */
export function moneyOf(v: Violations, field: string, m: ProtoMoney | undefined, rules: MoneyRules = {}): Money | null {
  const money = moneyFromProto(m);
  if (money === null) {
    if (rules.required) v.add(field, "is required", "REQUIRED");
    return null;
  }
  v.addAll(moneyViolations(money, field));
  const expected = rules.currency ?? null;
  if (expected !== null && isCurrency(money.currency) && money.currency !== expected) {
    v.add(`${field}.currency_code`, `must be ${expected}, the currency of the request`, "CURRENCY_MISMATCH");
  }
  return money;
}

/** The currency a request's amounts must share: the first valid one given, else null. */
export function requestCurrency(...amounts: ReadonlyArray<ProtoMoney | undefined>): string | null {
  for (const m of amounts) if (m !== undefined && isCurrency(m.currencyCode)) return m.currencyCode;
  return null;
}

export function statusesOf(v: Violations, field: string, values: readonly ProtoStatus[]): MaintenanceStatus[] {
  const out: MaintenanceStatus[] = [];
  values.forEach((value, i) => {
    const status = maintenanceStatusFromProto(value);
    if (status === null) v.add(`${field}[${i}]`, "must not be UNSPECIFIED", "REQUIRED");
    else if (status === undefined) v.add(`${field}[${i}]`, "unknown maintenance status", "UNKNOWN_ENUM_VALUE");
    else if (!out.includes(status)) out.push(status);
  });
  return out;
}

/** A kind that must be given: UNSPECIFIED is REQUIRED. */
export function requiredKind(v: Violations, field: string, value: ProtoKind): MaintenanceKind | null {
  const kind = maintenanceKindFromProto(value);
  if (kind === null) v.add(field, "is required", "REQUIRED");
  else if (kind === undefined) v.add(field, "unknown maintenance kind", "UNKNOWN_ENUM_VALUE");
  return kind ?? null;
}

/** A kind filter: UNSPECIFIED is no filter. */
export function optionalKind(v: Violations, field: string, value: ProtoKind): MaintenanceKind | null {
  const kind = maintenanceKindFromProto(value);
  if (kind === undefined) v.add(field, "unknown maintenance kind", "UNKNOWN_ENUM_VALUE");
  return kind ?? null;
}

// ---- messages ----

/**
 * A new job's attributes: kind, description (1-2000) and the window
 * (schedule_time to estimated_completion_time, both required, end after
 * start). Whether the window may start in the past needs the clock and the
 * urgency: the use case decides. Null when anything is missing.
 */
export function jobAttributesOf(v: Violations, field: string, a: ProtoJobAttributes | undefined): JobAttributes | null {
  if (a === undefined) {
    v.add(field, "is required", "REQUIRED");
    return null;
  }
  const kind = requiredKind(v, `${field}.kind`, a.kind);
  const description = requiredText(v, `${field}.description`, a.description, MAX_DESCRIPTION);
  const scheduleTime = timeOf(v, `${field}.schedule_time`, a.scheduleTime, true);
  const estimatedCompletionTime = timeOf(v, `${field}.estimated_completion_time`, a.estimatedCompletionTime, true);
  const window = windowEnds(v, `${field}.estimated_completion_time`, scheduleTime, estimatedCompletionTime, "schedule_time");
  if (kind === null || description === "" || !window) return null;
  return { kind, description, scheduleTime: scheduleTime!, estimatedCompletionTime: estimatedCompletionTime! };
}

/**
 * The attributes named in an UpdateMaintenanceJob mask, each checked as on
 * scheduling. With both ends of the window the order is checked here; with
 * one, against the stored other end by the use case.
 */
export function jobAttributesPatchOf(
  v: Violations,
  field: string,
  a: ProtoJobAttributes | undefined,
  mask: FieldMask | undefined,
): Partial<JobAttributes> {
  const paths = mask?.paths ?? [];
  if (paths.length === 0) {
    v.add("update_mask", `is required: name the attributes to change (${UPDATABLE_ATTRIBUTES.join(", ")})`, "REQUIRED");
    return {};
  }
  const named = new Set<UpdatableAttribute>();
  paths.forEach((path, i) => {
    if ((UPDATABLE_ATTRIBUTES as readonly string[]).includes(path)) named.add(path as UpdatableAttribute);
    else v.add(`update_mask.paths[${i}]`, `must be one of ${UPDATABLE_ATTRIBUTES.join(", ")}`, "UNSUPPORTED_VALUE");
  });
  if (named.size === 0) return {};
  if (a === undefined) {
    v.add(field, "is required with update_mask", "REQUIRED");
    return {};
  }
  const patch: { -readonly [K in keyof JobAttributes]?: JobAttributes[K] } = {};
  if (named.has("kind")) {
    const kind = requiredKind(v, `${field}.kind`, a.kind);
    if (kind !== null) patch.kind = kind;
  }
  if (named.has("description")) patch.description = requiredText(v, `${field}.description`, a.description, MAX_DESCRIPTION);
  const start = named.has("schedule_time") ? timeOf(v, `${field}.schedule_time`, a.scheduleTime, true) : null;
  const end = named.has("estimated_completion_time")
    ? timeOf(v, `${field}.estimated_completion_time`, a.estimatedCompletionTime, true)
    : null;
  if (start !== null) patch.scheduleTime = start;
  if (end !== null) patch.estimatedCompletionTime = end;
  if (start !== null && end !== null) windowEnds(v, `${field}.estimated_completion_time`, start, end, "schedule_time");
  return patch;
}

/**
 * A part to record: quantity >= 1; a catalog part by `part_id` (name and
 * number may then be empty) or a free-text part by `part_name`; a unit cost
 * >= 0 in the request's currency; for a catalog part, a unit cost overrides
 * the catalog's and needs a reason.
 */
export function partUsedInputOf(v: Violations, field: string, p: ProtoPartUsedInput, currency: string | null): PartUsedInput {
  const partId = optionalUuid(v, `${field}.part_id`, p.partId);
  const partName = partId === null
    ? requiredText(v, `${field}.part_name`, p.partName, MAX_PART_NAME)
    : optionalText(v, `${field}.part_name`, p.partName, MAX_PART_NAME);
  const partNumber = optionalText(v, `${field}.part_number`, p.partNumber, MAX_PART_NUMBER);
  if (p.quantity < 1) v.add(`${field}.quantity`, "must be at least 1", "OUT_OF_RANGE");
  const unitCost = moneyOf(v, `${field}.unit_cost`, p.unitCost, { currency });
  const reason = optionalText(v, `${field}.cost_override_reason`, p.costOverrideReason, MAX_REASON);
  if (partId !== null && unitCost !== null && reason === "") {
    v.add(`${field}.cost_override_reason`, "is required when unit_cost overrides a catalog part's cost", "REQUIRED");
  }
  return { partId, partName, partNumber, quantity: p.quantity, unitCost, costOverrideReason: reason === "" ? null : reason };
}

/** A list of parts, min..100, every unit cost in `currency` (default: the first part's). */
export function partUsedInputsOf(
  v: Violations,
  field: string,
  parts: readonly ProtoPartUsedInput[],
  options: { readonly min: number; readonly currency?: string | null },
): PartUsedInput[] {
  if (parts.length < options.min) v.add(field, `at least ${options.min} part is required`, "REQUIRED");
  if (parts.length > MAX_PARTS_PER_REQUEST) {
    v.add(field, `at most ${MAX_PARTS_PER_REQUEST} parts`, "TOO_MANY");
    return [];
  }
  const currency = options.currency !== undefined && options.currency !== null
    ? options.currency
    : requestCurrency(...parts.map((p) => p.unitCost));
  return parts.map((p, i) => partUsedInputOf(v, `${field}[${i}]`, p, currency));
}

/** A stock quantity of one movement: 1..1,000,000 in magnitude. */
export function stockQuantity(v: Violations, field: string, value: number, options: { readonly signed: boolean }): number {
  if (options.signed) {
    if (value === 0) v.add(field, "must not be zero", "OUT_OF_RANGE");
    else if (Math.abs(value) > MAX_STOCK_QUANTITY) v.add(field, `must be between -${MAX_STOCK_QUANTITY} and ${MAX_STOCK_QUANTITY}`, "OUT_OF_RANGE");
  } else v.intRange(field, value, 1, MAX_STOCK_QUANTITY);
  return value;
}

/** An optional interval: unset is null; set, 1..max. */
function intervalOf(v: Violations, field: string, value: number | undefined, max: number): number | null {
  if (value === undefined) return null;
  v.intRange(field, value, 1, max);
  return value;
}

/**
 * A new plan's shape: a name, exactly one target (vehicle_id, or make and
 * model), at least one interval, each positive and bounded, leads >= 0,
 * planned hours 1-168. The use case checks the rest (e.g. the lead inside
 * the interval, the vehicle known).
 */
export function planCommandOf(v: Violations, field: string, p: ProtoPlan | undefined): CreatePlanCommand | null {
  if (p === undefined) {
    v.add(field, "is required", "REQUIRED");
    return null;
  }
  const name = requiredText(v, `${field}.name`, p.name, MAX_PLAN_NAME);
  const make = optionalText(v, `${field}.vehicle_make`, p.vehicleMake, MAX_MAKE_MODEL);
  const model = optionalText(v, `${field}.vehicle_model`, p.vehicleModel, MAX_MAKE_MODEL);
  let target: PlanTarget | null = null;
  if (p.vehicleId !== "") {
    v.uuid(`${field}.vehicle_id`, p.vehicleId);
    if (make !== "" || model !== "") {
      v.add(`${field}.vehicle_id`, "give either vehicle_id or vehicle_make and vehicle_model, not both", "MUTUALLY_EXCLUSIVE");
    } else target = { vehicleId: p.vehicleId };
  } else if (make === "" && model === "") {
    v.add(`${field}.vehicle_id`, "a target is required: vehicle_id, or vehicle_make and vehicle_model", "REQUIRED");
  } else {
    if (make === "") v.add(`${field}.vehicle_make`, "is required with vehicle_model", "REQUIRED");
    if (model === "") v.add(`${field}.vehicle_model`, "is required with vehicle_make", "REQUIRED");
    if (make !== "" && model !== "") target = { make, model };
  }
  const intervalDays = intervalOf(v, `${field}.interval_days`, p.intervalDays, MAX_INTERVAL_DAYS);
  const intervalKm = intervalOf(v, `${field}.interval_km`, p.intervalKm, MAX_INTERVAL_KM);
  if (p.intervalDays === undefined && p.intervalKm === undefined) {
    v.add(`${field}.interval_days`, "at least one of interval_days or interval_km is required", "REQUIRED");
  }
  if (p.leadDays < 0) v.add(`${field}.lead_days`, "must not be negative", "OUT_OF_RANGE");
  if (p.leadKm < 0) v.add(`${field}.lead_km`, "must not be negative", "OUT_OF_RANGE");
  v.intRange(`${field}.planned_hours`, p.plannedHours, MIN_PLANNED_HOURS, MAX_PLANNED_HOURS);
  const jobDescription = optionalText(v, `${field}.job_description`, p.jobDescription, MAX_DESCRIPTION);
  if (target === null) return null;
  return { name, target, intervalDays, intervalKm, leadDays: p.leadDays, leadKm: p.leadKm, plannedHours: p.plannedHours, jobDescription };
}
