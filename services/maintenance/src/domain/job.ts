// A maintenance job's life: SCHEDULED -> IN_PROGRESS -> COMPLETED, and
// SCHEDULED | IN_PROGRESS -> CANCELLED (proto/fleetmesh/maintenance/v1/
// maintenance_job.proto). Pure and deterministic: no I/O, no clock (the caller
// passes `now`). Every transition returns a new job with rowVersion + 1 and
// updatedAt/updatedBy set; a call that changes nothing returns the job as is.
import { invalidArgument, type FieldViolation } from "../../../platform/src/errors.js";
import { currencyMismatch, moneyViolations, sumMoney, type Money } from "../../../platform/src/money.js";
import { textProblem } from "../../../platform/src/validation.js";
import { fieldError, invalidMaintenanceTransition, vehicleDecommissioned, vehicleInUse } from "./errors.js";
import type { JobAttributes, MaintenanceJob, MaintenanceStatus, PartUsed, VehicleView } from "./model.js";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Longest window a job may block a vehicle for. */
export const MAX_JOB_WINDOW_DAYS = 30;
/** How far in the future a reported start or completion time may lie (clock skew). */
export const CLOCK_SKEW_MINUTES = 5;
export const MAX_DESCRIPTION_LENGTH = 2000;
export const MAX_NOTES_LENGTH = 4000;
export const MAX_CANCEL_REASON_LENGTH = 500;

export const blockReferenceOf = (jobId: string): string => `maintenance-job:${jobId}`;

/** The statuses each action is allowed from. */
export const ALLOWED_FROM = {
  update: ["scheduled"],
  assign: ["scheduled", "in_progress"],
  start: ["scheduled"],
  record_parts: ["in_progress"],
  complete: ["in_progress"],
  cancel: ["scheduled", "in_progress"],
} as const satisfies Record<string, readonly MaintenanceStatus[]>;

export type JobAction = keyof typeof ALLOWED_FROM;

export const canDo = (job: Pick<MaintenanceJob, "status">, action: JobAction): boolean =>
  (ALLOWED_FROM[action] as readonly MaintenanceStatus[]).includes(job.status);

function assertCan(job: Pick<MaintenanceJob, "id" | "status">, action: JobAction): void {
  if (!canDo(job, action)) throw invalidMaintenanceTransition(job.id, job.status, action.replace("_", " "));
}

export const canRecordParts = (job: Pick<MaintenanceJob, "status">): boolean => job.status === "in_progress";

/** Parts are recorded only while the job is IN_PROGRESS (INVALID_MAINTENANCE_TRANSITION otherwise). */
export function assertCanRecordParts(job: Pick<MaintenanceJob, "id" | "status">): void {
  assertCan(job, "record_parts");
}

const invalidDate = (d: Date): boolean => Number.isNaN(d.getTime());

/** Violations of a job's attributes as a whole (the window and the description). */
export function attributeViolations(a: JobAttributes, urgent: boolean, prefix = "attributes"): FieldViolation[] {
  const out: FieldViolation[] = [];
  const description = a.description.trim();
  if (description === "") out.push({ field: `${prefix}.description`, description: "is required", reason: "REQUIRED" });
  else {
    const problem = textProblem(a.description, MAX_DESCRIPTION_LENGTH);
    if (problem) out.push({ field: `${prefix}.description`, ...problem });
  }
  if (invalidDate(a.scheduleTime)) {
    out.push({ field: `${prefix}.schedule_time`, description: "must be a valid time", reason: "INVALID_FORMAT" });
  } else if (invalidDate(a.estimatedCompletionTime)) {
    out.push({ field: `${prefix}.estimated_completion_time`, description: "must be a valid time", reason: "INVALID_FORMAT" });
  } else {
    const length = a.estimatedCompletionTime.getTime() - a.scheduleTime.getTime();
    if (length <= 0) {
      out.push({ field: `${prefix}.estimated_completion_time`, description: "must be after schedule_time", reason: "INVALID_PERIOD" });
    } else if (length > MAX_JOB_WINDOW_DAYS * DAY) {
      out.push({
        field: `${prefix}.estimated_completion_time`,
        description: `must be at most ${MAX_JOB_WINDOW_DAYS} days after schedule_time`,
        reason: "OUT_OF_RANGE",
      });
    }
  }
  if (urgent && a.kind !== "corrective") {
    out.push({ field: "urgent", description: "only a corrective job can be urgent", reason: "UNSUPPORTED_VALUE" });
  }
  return out;
}

function assertValid(violations: readonly FieldViolation[]): void {
  if (violations.length > 0) throw invalidArgument(violations);
}

/** A new SCHEDULED job; its window is [scheduleTime, estimatedCompletionTime), at most 30 days. */
export function newJob(input: {
  readonly id: string;
  readonly vehicleId: string;
  readonly attributes: JobAttributes;
  readonly mechanicId: string | null;
  readonly urgent: boolean;
  readonly planId: string | null;
  readonly dueKey: string | null;
  readonly now: Date;
  readonly by: string | null;
}): MaintenanceJob {
  assertValid(attributeViolations(input.attributes, input.urgent));
  return {
    id: input.id,
    vehicleId: input.vehicleId,
    attributes: { ...input.attributes, description: input.attributes.description.trim() },
    status: "scheduled",
    mechanicId: input.mechanicId,
    startTime: null,
    completeTime: null,
    odometerKm: null,
    currency: null,
    laborCost: null,
    partsCost: null,
    notes: "",
    cancelReason: null,
    cancelTime: null,
    blockReference: blockReferenceOf(input.id),
    urgent: input.urgent,
    planId: input.planId,
    dueKey: input.dueKey,
    rowVersion: 1n,
    createdAt: input.now,
    updatedAt: input.now,
    createdBy: input.by,
    updatedBy: input.by,
  };
}

const touched = (job: MaintenanceJob, now: Date, by: string | null): Pick<MaintenanceJob, "rowVersion" | "updatedAt" | "updatedBy"> => ({
  rowVersion: job.rowVersion + 1n,
  updatedAt: now,
  updatedBy: by,
});

/** Paths of `attributes` as the API names them (UpdateMaintenanceJobRequest.update_mask). */
export type AttributeField = "kind" | "description" | "schedule_time" | "estimated_completion_time";

/**
 * Applies `patch` to a SCHEDULED job. `changedFields` are the attribute paths
 * whose value differs; `windowMoved` tells the caller to move the block on
 * rental's timeline first.
 */
export function updateJob(
  job: MaintenanceJob,
  patch: Partial<JobAttributes>,
  now: Date,
  by: string | null,
): { readonly job: MaintenanceJob; readonly changedFields: AttributeField[]; readonly windowMoved: boolean } {
  assertCan(job, "update");
  const before = job.attributes;
  const after: JobAttributes = {
    kind: patch.kind ?? before.kind,
    description: patch.description === undefined ? before.description : patch.description.trim(),
    scheduleTime: patch.scheduleTime ?? before.scheduleTime,
    estimatedCompletionTime: patch.estimatedCompletionTime ?? before.estimatedCompletionTime,
  };
  // An urgent job's kind cannot change away from corrective: blame the kind, not `urgent`.
  assertValid(attributeViolations(after, job.urgent).map((v) =>
    v.field === "urgent" ? { field: "attributes.kind", description: "an urgent job must stay corrective", reason: "UNSUPPORTED_VALUE" } : v));
  const changedFields: AttributeField[] = [];
  if (after.kind !== before.kind) changedFields.push("kind");
  if (after.description !== before.description) changedFields.push("description");
  if (after.scheduleTime.getTime() !== before.scheduleTime.getTime()) changedFields.push("schedule_time");
  if (after.estimatedCompletionTime.getTime() !== before.estimatedCompletionTime.getTime()) changedFields.push("estimated_completion_time");
  if (changedFields.length === 0) return { job, changedFields, windowMoved: false };
  const windowMoved = changedFields.includes("schedule_time") || changedFields.includes("estimated_completion_time");
  return { job: { ...job, attributes: after, ...touched(job, now, by) }, changedFields, windowMoved };
}

/** Assigns (or, with null, clears) the mechanic of a SCHEDULED or IN_PROGRESS job. */
export function assignJobMechanic(job: MaintenanceJob, mechanicId: string | null, now: Date, by: string | null): MaintenanceJob {
  assertCan(job, "assign");
  if (job.mechanicId === mechanicId) return job;
  return { ...job, mechanicId, ...touched(job, now, by) };
}

function odometerViolation(odometerKm: number | null): FieldViolation | undefined {
  if (odometerKm === null) return undefined;
  return Number.isSafeInteger(odometerKm) && odometerKm >= 0
    ? undefined
    : { field: "odometer_km", description: "must be a whole number of kilometres, at least 0", reason: "OUT_OF_RANGE" };
}

function notInTheFuture(field: string, at: Date, now: Date): FieldViolation | undefined {
  if (invalidDate(at)) return { field, description: "must be a valid time", reason: "INVALID_FORMAT" };
  return at.getTime() > now.getTime() + CLOCK_SKEW_MINUTES * MINUTE
    ? { field, description: "must not be in the future", reason: "IN_THE_FUTURE" }
    : undefined;
}

/**
 * SCHEDULED -> IN_PROGRESS. The vehicle must be free: RENTED or
 * UNDER_MAINTENANCE (fleet moves a vehicle there only once a job has
 * started, so that is another job) is VEHICLE_IN_USE, DECOMMISSIONED is
 * VEHICLE_DECOMMISSIONED. A null vehicle (no view of it) skips that check:
 * fleet refuses to take a vehicle that is not free anyway.
 */
export function startJob(
  job: MaintenanceJob,
  input: { readonly at: Date; readonly odometerKm: number | null; readonly mechanicId: string | null; readonly vehicle: VehicleView | null },
  now: Date,
  by: string | null,
): MaintenanceJob {
  assertCan(job, "start");
  assertValid([notInTheFuture("start_time", input.at, now), odometerViolation(input.odometerKm)].filter((v) => v !== undefined));
  const vehicle = input.vehicle;
  if (vehicle !== null) {
    if (vehicle.vehicleId !== job.vehicleId) throw new Error(`vehicle ${vehicle.vehicleId} is not job ${job.id}'s vehicle ${job.vehicleId}`);
    switch (vehicle.status) {
      case "active": break;
      case "rented": throw vehicleInUse(vehicle.vehicleId, "it is rented");
      case "under_maintenance": throw vehicleInUse(vehicle.vehicleId, "another maintenance job is in progress");
      case "decommissioned": throw vehicleDecommissioned(vehicle.vehicleId);
    }
  }
  return {
    ...job,
    status: "in_progress",
    startTime: input.at,
    odometerKm: input.odometerKm,
    mechanicId: input.mechanicId ?? job.mechanicId,
    ...touched(job, now, by),
  };
}

/**
 * Recomputes the parts cost of an IN_PROGRESS job from ALL its parts (the
 * caller passes every part, old and new). The job's currency is fixed by the
 * first costed part when it has none; every costed part must be in it
 * (CURRENCY_MISMATCH). Parts without a cost count as zero; partsCost stays
 * null while the job has no currency.
 */
export function withPartsCost(job: MaintenanceJob, parts: readonly PartUsed[], now: Date): MaintenanceJob {
  assertCanRecordParts(job);
  const costs: Money[] = [];
  for (const part of parts) {
    if (part.jobId !== job.id) throw new Error(`part ${part.id} belongs to job ${part.jobId}, not ${job.id}`);
    if (part.totalCost !== null) costs.push(part.totalCost);
  }
  const currency = job.currency ?? costs[0]?.currency ?? null;
  if (currency === null) return job;
  for (const cost of costs) if (cost.currency !== currency) throw currencyMismatch(currency, cost.currency);
  const partsCost = sumMoney(costs, currency);
  if (job.currency === currency && job.partsCost !== null && job.partsCost.amountMinor === partsCost.amountMinor) return job;
  return { ...job, currency, partsCost, rowVersion: job.rowVersion + 1n, updatedAt: now };
}

/**
 * IN_PROGRESS -> COMPLETED. The completion time is not before the start nor
 * in the future; labor is in the job's currency (or fixes it) and not
 * negative; an odometer reading is not below the one at start (it becomes
 * the job's reading only when none was taken at start); notes are appended.
 */
export function completeJob(
  job: MaintenanceJob,
  input: { readonly laborCost: Money | null; readonly at: Date; readonly odometerKm: number | null; readonly notes: string },
  now: Date,
  by: string | null,
): MaintenanceJob {
  assertCan(job, "complete");
  const violations: FieldViolation[] = [];
  const future = notInTheFuture("complete_time", input.at, now);
  if (future) violations.push(future);
  else if (job.startTime !== null && input.at.getTime() < job.startTime.getTime()) {
    violations.push({ field: "complete_time", description: "must not be before start_time", reason: "BEFORE_START" });
  }
  const odometer = odometerViolation(input.odometerKm);
  if (odometer) violations.push(odometer);
  else if (input.odometerKm !== null && job.odometerKm !== null && input.odometerKm < job.odometerKm) {
    violations.push({ field: "odometer_km", description: `must not be below the odometer at start (${job.odometerKm} km)`, reason: "BELOW_START" });
  }
  violations.push(...moneyViolations(input.laborCost, "labor_cost"));
  const addedNotes = input.notes.trim();
  const notes = addedNotes === "" ? job.notes : job.notes === "" ? addedNotes : `${job.notes}\n${addedNotes}`;
  if (addedNotes !== "") {
    const problem = textProblem(addedNotes, MAX_NOTES_LENGTH) ?? (notes.length > MAX_NOTES_LENGTH
      ? { description: `the job's notes must stay at most ${MAX_NOTES_LENGTH} characters`, reason: "TOO_LONG" }
      : undefined);
    if (problem) violations.push({ field: "notes", ...problem });
  }
  assertValid(violations);
  const currency = job.currency ?? input.laborCost?.currency ?? null;
  if (input.laborCost !== null && currency !== null && input.laborCost.currency !== currency) {
    throw currencyMismatch(currency, input.laborCost.currency);
  }
  return {
    ...job,
    status: "completed",
    completeTime: input.at,
    odometerKm: job.odometerKm ?? input.odometerKm,
    currency,
    laborCost: input.laborCost ?? job.laborCost,
    partsCost: job.partsCost ?? (currency === null ? null : { amountMinor: 0n, currency }),
    notes,
    ...touched(job, now, by),
  };
}

/** SCHEDULED | IN_PROGRESS -> CANCELLED, with a reason (1-500 characters). */
export function cancelJob(job: MaintenanceJob, reason: string, now: Date, by: string | null): MaintenanceJob {
  assertCan(job, "cancel");
  const trimmed = reason.trim();
  if (trimmed === "") throw fieldError("reason", "is required", "REQUIRED");
  const problem = textProblem(trimmed, MAX_CANCEL_REASON_LENGTH);
  if (problem) throw fieldError("reason", problem.description, problem.reason);
  return { ...job, status: "cancelled", cancelReason: trimmed, cancelTime: now, ...touched(job, now, by) };
}

/** labor + parts; null while the job has neither. */
export function totalCostOf(job: Pick<MaintenanceJob, "laborCost" | "partsCost">): Money | null {
  const costs = [job.laborCost, job.partsCost].filter((m) => m !== null);
  return costs.length === 0 ? null : sumMoney(costs);
}
