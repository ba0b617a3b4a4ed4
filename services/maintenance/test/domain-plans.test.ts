import test from "ava";
import fc from "fast-check";
import { jobIdOfKey } from "../../platform/src/scheduler.js";
import { isUuid } from "../../platform/src/validation.js";
import type { MaintenancePlan, PlanAnchor, VehicleView } from "../src/domain/model.js";
import { dueJobId, dueWindowCandidates, nextDue, planApplies, validatePlan, type PlanInput } from "../src/domain/plans.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = new Date("2026-01-10T14:37:12.345Z");
const later = (d: Date, ms: number): Date => new Date(d.getTime() + ms);
const VEHICLE_ID = "5d2c9f5e-8a0b-4a43-9d0a-6a3e8b1c2d34";
const PLAN_ID = "7e1f0c2b-3a4d-4e5f-8a6b-7c8d9e0f1a2b";

const plan = (over: Partial<MaintenancePlan> = {}): MaintenancePlan => ({
  id: PLAN_ID, name: "Service", target: { make: "VW", model: "Crafter" }, intervalDays: 180, intervalKm: 15_000,
  leadDays: 14, leadKm: 1000, plannedHours: 4, jobDescription: "Oil, filters", archivedAt: null, rowVersion: 1n, createdAt: T0, createdBy: null,
  ...over,
});
const vehicle = (over: Partial<VehicleView> = {}): VehicleView => ({
  vehicleId: VEHICLE_ID, plateNumber: "B-MX 1", make: "VW", model: "Crafter", passengerCapacity: 3, loadLimitKg: 1200,
  status: "active", fleetRowVersion: 1n, odometerKm: 20_000, odometerAt: T0, firstOdometerKm: 10_000, ...over,
});
const first: PlanAnchor = { jobId: null, at: T0, odometerKm: 20_000 };

// ---- applies ---------------------------------------------------------------

test("a plan applies to its vehicle, or to every vehicle of its make and model", (t) => {
  t.true(planApplies(plan({ target: { vehicleId: VEHICLE_ID } }), vehicle()));
  t.false(planApplies(plan({ target: { vehicleId: "another" } }), vehicle()));
  t.true(planApplies(plan({ target: { make: " vw ", model: "CRAFTER" } }), vehicle()));
  t.false(planApplies(plan({ target: { make: "VW", model: "Transporter" } }), vehicle()));
  t.false(planApplies(plan({ target: { make: "Ford", model: "Crafter" } }), vehicle()));
});

// ---- due by days and by km --------------------------------------------------

test("due by days: anchor + interval x 24 h; within the lead from due - lead days", (t) => {
  const p = plan({ intervalKm: null, leadKm: 0 });
  const dueTime = later(T0, 180 * DAY);
  const at = (now: Date) => nextDue(p, vehicle(), first, now);
  t.deepEqual(at(T0), {
    planId: PLAN_ID, vehicleId: VEHICLE_ID, dueTime, dueOdometerKm: null, odometerKm: 20_000, withinLead: false,
    dueKey: `${PLAN_ID}/${VEHICLE_ID}/first`, jobId: null,
  });
  t.false(at(later(dueTime, -14 * DAY - 1)).withinLead);
  t.true(at(later(dueTime, -14 * DAY)).withinLead);
  t.true(at(later(dueTime, 30 * DAY)).withinLead, "overdue stays within the lead");
});

test("due by km: anchor odometer + interval; within the lead from due - lead km; unknown anchor odometer gives no km due", (t) => {
  const p = plan({ intervalDays: null, leadDays: 0 });
  const due = (odometerKm: number | null, anchorKm: number | null = 20_000) =>
    nextDue(p, vehicle({ odometerKm }), { ...first, odometerKm: anchorKm }, later(T0, 1000 * DAY));
  t.is(due(20_000).dueOdometerKm, 35_000);
  t.is(due(20_000).dueTime, null);
  t.false(due(33_999).withinLead);
  t.true(due(34_000).withinLead);
  t.true(due(40_000).withinLead);
  t.false(due(null).withinLead, "no reading: not within the lead by km");
  t.is(due(null).odometerKm, null);
  const unknown = due(99_999, null);
  t.deepEqual([unknown.dueOdometerKm, unknown.withinLead], [null, false]);
});

test("both intervals: whichever comes first puts the due point within the lead", (t) => {
  const p = plan();
  const byKm = nextDue(p, vehicle({ odometerKm: 34_500 }), first, later(T0, DAY));
  t.deepEqual([byKm.dueTime, byKm.dueOdometerKm, byKm.withinLead], [later(T0, 180 * DAY), 35_000, true]);
  const byDays = nextDue(p, vehicle({ odometerKm: 20_100 }), first, later(T0, 170 * DAY));
  t.true(byDays.withinLead);
  t.false(nextDue(p, vehicle({ odometerKm: 20_100 }), first, later(T0, DAY)).withinLead);
});

test("each cycle starts at the last completed job: a new key per anchor", (t) => {
  const p = plan();
  const cycle1 = nextDue(p, vehicle(), first, T0);
  const done: PlanAnchor = { jobId: "job-1", at: later(T0, 175 * DAY), odometerKm: 34_800 };
  const cycle2 = nextDue(p, vehicle({ odometerKm: 34_800 }), done, later(T0, 176 * DAY));
  t.is(cycle2.dueKey, `${PLAN_ID}/${VEHICLE_ID}/job-1`);
  t.not(cycle2.dueKey, cycle1.dueKey);
  t.deepEqual(cycle2.dueTime, later(T0, 355 * DAY));
  t.is(cycle2.dueOdometerKm, 49_800);
  t.false(cycle2.withinLead, "the job just done reset both counters");
});

test("property: dueTime and dueOdometerKm are monotonic in the anchor", (t) => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 3650 }), fc.integer({ min: 1, max: 1_000_000 }),
    fc.integer({ min: 0, max: 10 ** 11 }), fc.integer({ min: 0, max: 10 ** 11 }),
    fc.nat(5_000_000), fc.nat(5_000_000),
    (days, km, t1, t2, k1, k2) => {
      const p = plan({ intervalDays: days, intervalKm: km, leadDays: 0, leadKm: 0 });
      const a = nextDue(p, vehicle(), { jobId: null, at: new Date(Math.min(t1, t2)), odometerKm: Math.min(k1, k2) }, T0);
      const b = nextDue(p, vehicle(), { jobId: "j", at: new Date(Math.max(t1, t2)), odometerKm: Math.max(k1, k2) }, T0);
      return a.dueTime!.getTime() <= b.dueTime!.getTime() && a.dueOdometerKm! <= b.dueOdometerKm!
        && b.dueTime!.getTime() - Math.max(t1, t2) === days * DAY;
    },
  ));
  t.pass();
});

test("property: a longer lead is within the lead at least as often", (t) => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 3650 }), fc.nat(3649), fc.nat(3649), fc.integer({ min: 0, max: 4000 }), (days, l1, l2, nowDay) => {
    const [small, large] = [Math.min(l1, l2, days - 1), Math.min(Math.max(l1, l2), days - 1)];
    const now = later(T0, nowDay * DAY);
    const a = nextDue(plan({ intervalDays: days, intervalKm: null, leadDays: small }), vehicle(), first, now);
    const b = nextDue(plan({ intervalDays: days, intervalKm: null, leadDays: large }), vehicle(), first, now);
    return !a.withinLead || b.withinLead;
  }));
  t.pass();
});

// ---- job ids -----------------------------------------------------------------

test("dueJobId is deterministic, a UUID, the scheduler's id for the key, and distinct per key", (t) => {
  const key = `${PLAN_ID}/${VEHICLE_ID}/first`;
  t.is(dueJobId(key), dueJobId(key));
  t.true(isUuid(dueJobId(key)));
  t.is(dueJobId(key), jobIdOfKey("maintenance.plan_due", key));
  t.not(dueJobId(key), dueJobId(`${PLAN_ID}/${VEHICLE_ID}/job-1`));
  fc.assert(fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 80 }), { minLength: 2, maxLength: 50 }), (keys) => {
    const ids = keys.map(dueJobId);
    return new Set(ids).size === keys.length && ids.every((id, i) => isUuid(id) && id === jobIdOfKey("maintenance.plan_due", keys[i]!));
  }));
});

// ---- windows -------------------------------------------------------------------

test("windows start at the due time, or at the next whole hour when it has passed, then a day apart", (t) => {
  const now = new Date("2026-05-04T10:20:00Z");
  const windows = dueWindowCandidates({ dueTime: new Date("2026-05-01T08:00:00Z") }, 4, now);
  t.is(windows.length, 14);
  t.deepEqual(windows[0], { start: new Date("2026-05-04T11:00:00Z"), end: new Date("2026-05-04T15:00:00Z") });
  t.deepEqual(windows[13], { start: new Date("2026-05-17T11:00:00Z"), end: new Date("2026-05-17T15:00:00Z") });
  const future = dueWindowCandidates({ dueTime: new Date("2026-05-10T07:00:00Z") }, 168, now, 2);
  t.deepEqual(future, [
    { start: new Date("2026-05-10T07:00:00Z"), end: new Date("2026-05-17T07:00:00Z") },
    { start: new Date("2026-05-11T07:00:00Z"), end: new Date("2026-05-18T07:00:00Z") },
  ]);
  t.deepEqual(dueWindowCandidates({ dueTime: null }, 1, new Date("2026-05-04T10:00:00Z"), 1), [
    { start: new Date("2026-05-04T10:00:00Z"), end: new Date("2026-05-04T11:00:00Z") },
  ], "on the hour stays; due by km only starts now");
  t.deepEqual(dueWindowCandidates({ dueTime: null }, 1, now, 0), []);
  t.throws(() => dueWindowCandidates({ dueTime: null }, 0, now));
});

// ---- validation -----------------------------------------------------------------

const valid: PlanInput = {
  name: "Service", target: { make: "VW", model: "Crafter" }, intervalDays: 180, intervalKm: 15_000, leadDays: 14, leadKm: 1000,
  plannedHours: 4, jobDescription: "Oil, filters",
};
const check = (over: Partial<PlanInput>) => validatePlan({ ...valid, ...over }).map((v) => [v.field, v.reason]);

test("a valid plan has no violations", (t) => {
  t.deepEqual(check({}), []);
  t.deepEqual(check({ target: { vehicleId: VEHICLE_ID } }), []);
  t.deepEqual(check({ intervalKm: null, leadKm: 0 }), []);
  t.deepEqual(check({ intervalDays: null, leadDays: 0 }), []);
  t.deepEqual(check({ intervalDays: 1, leadDays: 0, intervalKm: 1_000_000, leadKm: 999_999, plannedHours: 168 }), []);
  t.deepEqual(check({ intervalDays: 3650, plannedHours: 1 }), []);
});

test("validatePlan lists every violation with its plan path", (t) => {
  t.deepEqual(check({ intervalDays: null, intervalKm: null, leadDays: 0, leadKm: 0 }), [["plan.interval_days", "REQUIRED"]]);
  t.deepEqual(check({ intervalDays: 0 }), [["plan.interval_days", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ intervalDays: 3651 }), [["plan.interval_days", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ intervalKm: 1_000_001 }), [["plan.interval_km", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ intervalDays: 1.5 }), [["plan.interval_days", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ leadDays: -1 }), [["plan.lead_days", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ leadDays: 180 }), [["plan.lead_days", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ leadKm: 15_000 }), [["plan.lead_km", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ intervalKm: null }), [["plan.lead_km", "OUT_OF_RANGE"]], "a km lead without a km interval");
  t.deepEqual(check({ plannedHours: 0 }), [["plan.planned_hours", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ plannedHours: 169 }), [["plan.planned_hours", "OUT_OF_RANGE"]]);
  t.deepEqual(check({ name: " " }), [["plan.name", "REQUIRED"]]);
  t.deepEqual(check({ name: "x".repeat(201) }), [["plan.name", "TOO_LONG"]]);
  t.deepEqual(check({ jobDescription: "" }), [["plan.job_description", "REQUIRED"]]);
  t.deepEqual(check({ jobDescription: "x".repeat(2001) }), [["plan.job_description", "TOO_LONG"]]);
  t.deepEqual(check({ target: { vehicleId: "" } }), [["plan.vehicle_id", "REQUIRED"]]);
  t.deepEqual(check({ target: { vehicleId: "not-a-uuid" } }), [["plan.vehicle_id", "INVALID_FORMAT"]]);
  t.deepEqual(check({ target: { make: "", model: " " } }), [["plan.vehicle_make", "REQUIRED"], ["plan.vehicle_model", "REQUIRED"]]);
  t.deepEqual(check({ name: "", intervalDays: 0, plannedHours: 0 }), [
    ["plan.name", "REQUIRED"], ["plan.interval_days", "OUT_OF_RANGE"], ["plan.planned_hours", "OUT_OF_RANGE"],
  ]);
});
