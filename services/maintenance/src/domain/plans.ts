// Preventive maintenance plans: when a plan falls due for a vehicle, and
// where to try to put the job. Pure and deterministic: no clock, no I/O.
import { createHash } from "node:crypto";
import type { FieldViolation } from "../../../platform/src/errors.js";
import { isUuid, textProblem } from "../../../platform/src/validation.js";
import type { MaintenanceDue, MaintenancePlan, Period, PlanAnchor, PlanTarget, VehicleView } from "./model.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const MAX_INTERVAL_DAYS = 3650;
export const MAX_INTERVAL_KM = 1_000_000;
export const MAX_PLANNED_HOURS = 168;
export const MAX_PLAN_NAME_LENGTH = 200;
export const MAX_JOB_DESCRIPTION_LENGTH = 2000;
export const MAX_MAKE_MODEL_LENGTH = 200;
/** The scheduler job name whose ids plan-created maintenance jobs share (see dueJobId). */
export const PLAN_DUE_JOB_NAME = "maintenance.plan_due";

export interface PlanInput {
  readonly name: string;
  readonly target: PlanTarget;
  readonly intervalDays: number | null;
  readonly intervalKm: number | null;
  readonly leadDays: number;
  readonly leadKm: number;
  readonly plannedHours: number;
  readonly jobDescription: string;
}

const isWhole = (n: number): boolean => Number.isSafeInteger(n);

function text(out: FieldViolation[], field: string, value: string, max: number): void {
  if (value.trim() === "") {
    out.push({ field, description: "is required", reason: "REQUIRED" });
    return;
  }
  const problem = textProblem(value, max);
  if (problem) out.push({ field, ...problem });
}

/**
 * Field violations of a new plan, with proto paths under `plan.`: at least
 * one interval (1-3650 days, 1-1,000,000 km); each lead 0 or more and below
 * its interval (0 when that interval is not set); planned hours 1-168; a
 * name (1-200) and a job description (1-2000); the target a vehicle UUID or
 * a make and a model.
 */
export function validatePlan(input: PlanInput): FieldViolation[] {
  const out: FieldViolation[] = [];
  text(out, "plan.name", input.name, MAX_PLAN_NAME_LENGTH);
  if ("vehicleId" in input.target) {
    const id = input.target.vehicleId;
    if (id === "") out.push({ field: "plan.vehicle_id", description: "is required", reason: "REQUIRED" });
    else if (!isUuid(id)) out.push({ field: "plan.vehicle_id", description: "must be a UUID", reason: "INVALID_FORMAT" });
  } else {
    text(out, "plan.vehicle_make", input.target.make, MAX_MAKE_MODEL_LENGTH);
    text(out, "plan.vehicle_model", input.target.model, MAX_MAKE_MODEL_LENGTH);
  }
  if (input.intervalDays === null && input.intervalKm === null) {
    out.push({ field: "plan.interval_days", description: "at least one of interval_days and interval_km is required", reason: "REQUIRED" });
  }
  /** false when the interval is set but out of range (a lead is then not compared with it). */
  const interval = (field: string, value: number | null, max: number): boolean => {
    if (value !== null && (!isWhole(value) || value < 1 || value > max)) {
      out.push({ field, description: `must be between 1 and ${max}`, reason: "OUT_OF_RANGE" });
      return false;
    }
    return true;
  };
  const daysValid = interval("plan.interval_days", input.intervalDays, MAX_INTERVAL_DAYS);
  const kmValid = interval("plan.interval_km", input.intervalKm, MAX_INTERVAL_KM);
  const lead = (field: string, value: number, of: number | null, intervalName: string, intervalValid: boolean): void => {
    if (!isWhole(value) || value < 0) {
      out.push({ field, description: "must be a whole number, at least 0", reason: "OUT_OF_RANGE" });
    } else if (of === null && value !== 0) {
      out.push({ field, description: `must be 0 without ${intervalName}`, reason: "OUT_OF_RANGE" });
    } else if (of !== null && intervalValid && value >= of) {
      out.push({ field, description: `must be less than ${intervalName} (${of})`, reason: "OUT_OF_RANGE" });
    }
  };
  lead("plan.lead_days", input.leadDays, input.intervalDays, "interval_days", daysValid);
  lead("plan.lead_km", input.leadKm, input.intervalKm, "interval_km", kmValid);
  if (!isWhole(input.plannedHours) || input.plannedHours < 1 || input.plannedHours > MAX_PLANNED_HOURS) {
    out.push({ field: "plan.planned_hours", description: `must be between 1 and ${MAX_PLANNED_HOURS}`, reason: "OUT_OF_RANGE" });
  }
  text(out, "plan.job_description", input.jobDescription, MAX_JOB_DESCRIPTION_LENGTH);
  return out;
}

const sameName = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

/** The plan targets this vehicle: by id, or by make and model (case-insensitive, trimmed). */
export const planApplies = (plan: Pick<MaintenancePlan, "target">, vehicle: Pick<VehicleView, "vehicleId" | "make" | "model">): boolean =>
  "vehicleId" in plan.target
    ? plan.target.vehicleId === vehicle.vehicleId
    : sameName(plan.target.make, vehicle.make) && sameName(plan.target.model, vehicle.model);

/** The due point's key: one job per plan, vehicle and cycle (the cycle's anchor job, or "first"). */
export const dueKeyOf = (planId: string, vehicleId: string, anchor: Pick<PlanAnchor, "jobId">): string =>
  `${planId}/${vehicleId}/${anchor.jobId ?? "first"}`;

/**
 * The plan's next due point for a vehicle in the cycle starting at `anchor`
 * (the last completed job of the plan, else the plan's start):
 * - by days: anchor.at + intervalDays x 24 h;
 * - by km: anchor.odometerKm + intervalKm, unknown (null) while the anchor's
 *   odometer is;
 * - within the lead once now >= dueTime - leadDays x 24 h, or once the
 *   vehicle's latest reading >= dueOdometerKm - leadKm.
 * jobId is null: the caller knows whether the job exists.
 */
export function nextDue(
  plan: Pick<MaintenancePlan, "id" | "intervalDays" | "intervalKm" | "leadDays" | "leadKm">,
  vehicle: Pick<VehicleView, "vehicleId" | "odometerKm">,
  anchor: PlanAnchor,
  now: Date,
): MaintenanceDue {
  const dueTime = plan.intervalDays === null ? null : new Date(anchor.at.getTime() + plan.intervalDays * DAY);
  const dueOdometerKm = plan.intervalKm === null || anchor.odometerKm === null ? null : anchor.odometerKm + plan.intervalKm;
  const byDays = dueTime !== null && now.getTime() >= dueTime.getTime() - plan.leadDays * DAY;
  const byKm = dueOdometerKm !== null && vehicle.odometerKm !== null && vehicle.odometerKm >= dueOdometerKm - plan.leadKm;
  return {
    planId: plan.id,
    vehicleId: vehicle.vehicleId,
    dueTime,
    dueOdometerKm,
    odometerKm: vehicle.odometerKm,
    withinLead: byDays || byKm,
    dueKey: dueKeyOf(plan.id, vehicle.vehicleId, anchor),
    jobId: null,
  };
}

/**
 * The id of the job serving a due point: the same key always gives the same
 * UUID (across replicas and restarts), so a due point creates one job at
 * most. Equal to the platform scheduler's jobIdOfKey(PLAN_DUE_JOB_NAME, key)
 * (test/domain-plans.test.ts checks it); computed here so that the domain
 * does not import the scheduler and its queue library.
 */
export function dueJobId(dueKey: string): string {
  const hex = createHash("sha256").update(`${PLAN_DUE_JOB_NAME}\u0000${dueKey}`).digest("hex");
  const variant = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const ceilHour = (t: number): number => Math.ceil(t / HOUR) * HOUR;

/**
 * Windows to try to block the vehicle in, in order: `plannedHours` long,
 * the first starting at the later of the due time and now rounded up to a
 * whole hour (an hour boundary stays), each next one 24 h later.
 */
export function dueWindowCandidates(
  due: Pick<MaintenanceDue, "dueTime">,
  plannedHours: number,
  now: Date,
  count = 14,
): Period[] {
  if (!isWhole(plannedHours) || plannedHours < 1) throw new RangeError(`plannedHours must be a whole number >= 1, got ${plannedHours}`);
  if (!isWhole(count) || count < 0) throw new RangeError(`count must be a whole number >= 0, got ${count}`);
  const first = Math.max(due.dueTime?.getTime() ?? now.getTime(), ceilHour(now.getTime()));
  return Array.from({ length: count }, (_, i) => {
    const start = first + i * DAY;
    return { start: new Date(start), end: new Date(start + plannedHours * HOUR) };
  });
}
