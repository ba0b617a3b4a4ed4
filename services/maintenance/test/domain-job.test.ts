import test from "ava";
import fc from "fast-check";
import { DomainError } from "../../platform/src/errors.js";
import type { Money } from "../../platform/src/money.js";
import {
  assertCanRecordParts,
  assignJobMechanic,
  blockReferenceOf,
  cancelJob,
  canRecordParts,
  completeJob,
  newJob,
  startJob,
  totalCostOf,
  updateJob,
  withPartsCost,
} from "../src/domain/job.js";
import type { FleetVehicleStatus, JobAttributes, MaintenanceJob, MaintenanceStatus, PartUsed, VehicleView } from "../src/domain/model.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;
const T0 = new Date("2026-05-04T08:00:00Z");
const later = (d: Date, ms: number): Date => new Date(d.getTime() + ms);
const eur = (amountMinor: bigint): Money => ({ amountMinor, currency: "EUR" });
const usd = (amountMinor: bigint): Money => ({ amountMinor, currency: "USD" });
const JOB_ID = "0b9b6a4e-2f4e-4f7c-9a51-6f0d2a9c1e11";
const VEHICLE_ID = "5d2c9f5e-8a0b-4a43-9d0a-6a3e8b1c2d34";
const USER = "c8f0d7aa-1d2b-4b0e-8c1f-2e3d4c5b6a79";

const attributes = (over: Partial<JobAttributes> = {}): JobAttributes => ({
  kind: "preventive",
  description: "Oil and filters",
  scheduleTime: later(T0, DAY),
  estimatedCompletionTime: later(T0, DAY + 4 * HOUR),
  ...over,
});

const scheduled = (over: { attributes?: Partial<JobAttributes>; urgent?: boolean; mechanicId?: string | null } = {}): MaintenanceJob =>
  newJob({
    id: JOB_ID, vehicleId: VEHICLE_ID, attributes: attributes(over.attributes ?? {}), mechanicId: over.mechanicId ?? null,
    urgent: over.urgent ?? false, planId: null, dueKey: null, now: T0, by: USER,
  });

const vehicle = (status: FleetVehicleStatus = "active"): VehicleView => ({
  vehicleId: VEHICLE_ID, plateNumber: "B-MX 123", make: "VW", model: "Crafter", passengerCapacity: 3, loadLimitKg: 1200,
  status, fleetRowVersion: 4n, odometerKm: 12_000, odometerAt: T0, firstOdometerKm: 10_000,
});

const NOW = later(T0, DAY + HOUR);
const started = (odometerKm: number | null = 12_000): MaintenanceJob =>
  startJob(scheduled(), { at: NOW, odometerKm, mechanicId: "mech-1", vehicle: vehicle() }, NOW, USER);
const completed = (): MaintenanceJob =>
  completeJob(started(), { laborCost: eur(9000n), at: later(NOW, HOUR), odometerKm: 12_003, notes: "done" }, later(NOW, HOUR), USER);
const cancelled = (): MaintenanceJob => cancelJob(scheduled(), "vehicle sold", NOW, USER);

const part = (totalCost: Money | null, over: Partial<PartUsed> = {}): PartUsed => ({
  id: `part-${Math.random()}`, jobId: JOB_ID, partId: null, partName: "Filter", partNumber: "", quantity: 1,
  unitCost: totalCost, totalCost, costOverrideReason: null, recordedAt: NOW, recordedBy: USER, ...over,
});

const reasonOf = (err: unknown): string => (err instanceof DomainError ? err.reason : `not a DomainError: ${String(err)}`);
const violationsOf = (err: unknown): Array<[string, string | undefined]> =>
  err instanceof DomainError ? err.fieldViolations.map((v) => [v.field, v.reason]) : [];

// ---- newJob ---------------------------------------------------------------

test("a new job is SCHEDULED at row version 1 with no costs and its block reference", (t) => {
  const job = scheduled({ mechanicId: "mech-1" });
  t.is(job.status, "scheduled");
  t.is(job.rowVersion, 1n);
  t.is(job.currency, null);
  t.is(job.laborCost, null);
  t.is(job.partsCost, null);
  t.is(totalCostOf(job), null);
  t.is(job.blockReference, `maintenance-job:${JOB_ID}`);
  t.is(blockReferenceOf("x"), "maintenance-job:x");
  t.is(job.mechanicId, "mech-1");
  t.is(job.notes, "");
  t.deepEqual([job.createdAt, job.updatedAt, job.createdBy, job.updatedBy], [T0, T0, USER, USER]);
  t.deepEqual([job.startTime, job.completeTime, job.cancelTime, job.cancelReason, job.odometerKm], [null, null, null, null, null]);
});

test("the window must end after it starts, and last at most 30 days", (t) => {
  const s = later(T0, DAY);
  for (const end of [s, later(s, -1)]) {
    const err = t.throws(() => scheduled({ attributes: { scheduleTime: s, estimatedCompletionTime: end } }));
    t.is(reasonOf(err), "INVALID_ARGUMENT");
    t.deepEqual(violationsOf(err), [["attributes.estimated_completion_time", "INVALID_PERIOD"]]);
  }
  t.notThrows(() => scheduled({ attributes: { scheduleTime: s, estimatedCompletionTime: later(s, 1) } }));
  t.notThrows(() => scheduled({ attributes: { scheduleTime: s, estimatedCompletionTime: later(s, 30 * DAY) } }));
  const err = t.throws(() => scheduled({ attributes: { scheduleTime: s, estimatedCompletionTime: later(s, 30 * DAY + 1) } }));
  t.deepEqual(violationsOf(err), [["attributes.estimated_completion_time", "OUT_OF_RANGE"]]);
});

test("only a corrective job can be urgent", (t) => {
  for (const kind of ["preventive", "inspection"] as const) {
    const err = t.throws(() => scheduled({ urgent: true, attributes: { kind } }));
    t.is(reasonOf(err), "INVALID_ARGUMENT");
    t.deepEqual(violationsOf(err), [["urgent", "UNSUPPORTED_VALUE"]]);
    t.false(scheduled({ attributes: { kind } }).urgent);
  }
  t.true(scheduled({ urgent: true, attributes: { kind: "corrective" } }).urgent);
});

test("a description is required", (t) => {
  const err = t.throws(() => scheduled({ attributes: { description: "  " } }));
  t.deepEqual(violationsOf(err), [["attributes.description", "REQUIRED"]]);
});

// ---- the state machine, table-driven -------------------------------------

type Op = (job: MaintenanceJob) => MaintenanceJob;
const OPS: Record<string, { allowed: readonly MaintenanceStatus[]; run: Op }> = {
  update: { allowed: ["scheduled"], run: (j) => updateJob(j, { description: "Brakes too" }, NOW, USER).job },
  assign: { allowed: ["scheduled", "in_progress"], run: (j) => assignJobMechanic(j, "mech-2", NOW, USER) },
  start: { allowed: ["scheduled"], run: (j) => startJob(j, { at: NOW, odometerKm: null, mechanicId: null, vehicle: vehicle() }, NOW, USER) },
  recordParts: { allowed: ["in_progress"], run: (j) => withPartsCost(j, [part(eur(100n))], NOW) },
  complete: {
    allowed: ["in_progress"],
    run: (j) => completeJob(j, { laborCost: eur(1n), at: later(NOW, 2 * HOUR), odometerKm: null, notes: "" }, later(NOW, 2 * HOUR), USER),
  },
  cancel: { allowed: ["scheduled", "in_progress"], run: (j) => cancelJob(j, "no longer needed", NOW, USER) },
};
const IN_STATUS: Record<MaintenanceStatus, () => MaintenanceJob> = {
  scheduled: () => scheduled(),
  in_progress: () => started(),
  completed,
  cancelled,
};

for (const [name, op] of Object.entries(OPS)) {
  for (const status of Object.keys(IN_STATUS) as MaintenanceStatus[]) {
    const allowed = op.allowed.includes(status);
    test(`${name} from ${status} ${allowed ? "succeeds" : "is INVALID_MAINTENANCE_TRANSITION"}`, (t) => {
      const job = IN_STATUS[status]();
      if (allowed) {
        const next = op.run(job);
        t.is(next.rowVersion, job.rowVersion + 1n);
        t.is(next.id, job.id);
        t.is(job.status, status, "the input job is not changed");
      } else {
        const err = t.throws(() => op.run(job));
        t.is(reasonOf(err), "INVALID_MAINTENANCE_TRANSITION");
        t.is((err as DomainError).kind, "failed_precondition");
        t.deepEqual((err as DomainError).metadata, { maintenance_job_id: JOB_ID, status });
      }
    });
  }
}

test("canRecordParts only while IN_PROGRESS", (t) => {
  for (const [status, make] of Object.entries(IN_STATUS)) {
    t.is(canRecordParts(make()), status === "in_progress");
    if (status === "in_progress") t.notThrows(() => assertCanRecordParts(make()));
    else t.is(reasonOf(t.throws(() => assertCanRecordParts(make()))), "INVALID_MAINTENANCE_TRANSITION");
  }
});

// ---- update / assign -------------------------------------------------------

test("update reports the changed attribute paths and whether the window moved", (t) => {
  const job = scheduled();
  const same = updateJob(job, { description: " Oil and filters ", kind: "preventive" }, NOW, USER);
  t.is(same.job, job, "nothing changed: the same job, same row version");
  t.deepEqual(same.changedFields, []);
  t.false(same.windowMoved);

  const text = updateJob(job, { description: "Oil, filters, brakes", kind: "inspection" }, NOW, "planner");
  t.deepEqual(text.changedFields, ["kind", "description"]);
  t.false(text.windowMoved);
  t.deepEqual([text.job.rowVersion, text.job.updatedAt, text.job.updatedBy], [2n, NOW, "planner"]);

  const moved = updateJob(job, { scheduleTime: later(T0, 2 * DAY), estimatedCompletionTime: later(T0, 2 * DAY + HOUR) }, NOW, USER);
  t.deepEqual(moved.changedFields, ["schedule_time", "estimated_completion_time"]);
  t.true(moved.windowMoved);
});

test("update validates the resulting window, and an urgent job stays corrective", (t) => {
  const err = t.throws(() => updateJob(scheduled(), { scheduleTime: later(T0, 3 * DAY) }, NOW, USER));
  t.deepEqual(violationsOf(err), [["attributes.estimated_completion_time", "INVALID_PERIOD"]]);
  const urgent = scheduled({ urgent: true, attributes: { kind: "corrective" } });
  t.deepEqual(violationsOf(t.throws(() => updateJob(urgent, { kind: "inspection" }, NOW, USER))), [["attributes.kind", "UNSUPPORTED_VALUE"]]);
});

test("assign sets and clears the mechanic; the same mechanic changes nothing", (t) => {
  const job = assignJobMechanic(scheduled(), "mech-1", NOW, USER);
  t.is(job.mechanicId, "mech-1");
  t.is(assignJobMechanic(job, "mech-1", NOW, USER), job);
  t.is(assignJobMechanic(job, null, NOW, USER).mechanicId, null);
});

// ---- start -----------------------------------------------------------------

test("start refuses a rented, decommissioned or otherwise-maintained vehicle", (t) => {
  const cases: Array<[FleetVehicleStatus, string]> = [
    ["rented", "VEHICLE_IN_USE"], ["under_maintenance", "VEHICLE_IN_USE"], ["decommissioned", "VEHICLE_DECOMMISSIONED"],
  ];
  for (const [status, reason] of cases) {
    const err = t.throws(() => startJob(scheduled(), { at: NOW, odometerKm: null, mechanicId: null, vehicle: vehicle(status) }, NOW, USER));
    t.is(reasonOf(err), reason, status);
    t.is((err as DomainError).kind, "failed_precondition");
    t.is((err as DomainError).metadata["vehicle_id"], VEHICLE_ID);
  }
  t.regex((t.throws(() => startJob(scheduled(), { at: NOW, odometerKm: null, mechanicId: null, vehicle: vehicle("under_maintenance") }, NOW, USER)))?.message ?? "", /another maintenance job/);
});

test("start sets the start, the odometer, and replaces the mechanic only when given", (t) => {
  const job = assignJobMechanic(scheduled(), "mech-1", T0, USER);
  const a = startJob(job, { at: later(NOW, -HOUR), odometerKm: 12_000, mechanicId: null, vehicle: vehicle() }, NOW, USER);
  t.deepEqual([a.status, a.startTime, a.odometerKm, a.mechanicId], ["in_progress", later(NOW, -HOUR), 12_000, "mech-1"]);
  const b = startJob(job, { at: NOW, odometerKm: null, mechanicId: "mech-2", vehicle: null }, NOW, USER);
  t.is(b.mechanicId, "mech-2");
});

test("start may lie 5 minutes in the future at most", (t) => {
  t.notThrows(() => startJob(scheduled(), { at: later(NOW, 5 * MINUTE), odometerKm: null, mechanicId: null, vehicle: vehicle() }, NOW, USER));
  const err = t.throws(() => startJob(scheduled(), { at: later(NOW, 5 * MINUTE + 1), odometerKm: null, mechanicId: null, vehicle: vehicle() }, NOW, USER));
  t.deepEqual(violationsOf(err), [["start_time", "IN_THE_FUTURE"]]);
  const neg = t.throws(() => startJob(scheduled(), { at: NOW, odometerKm: -1, mechanicId: null, vehicle: vehicle() }, NOW, USER));
  t.deepEqual(violationsOf(neg), [["odometer_km", "OUT_OF_RANGE"]]);
});

// ---- costs -----------------------------------------------------------------

test("parts cost: the first costed part fixes the currency; uncosted parts count as zero", (t) => {
  const job = started();
  t.is(withPartsCost(job, [part(null)], NOW), job, "no cost, no currency: nothing changes");
  const costed = withPartsCost(job, [part(null), part(eur(1250n)), part(eur(750n))], NOW);
  t.is(costed.currency, "EUR");
  t.deepEqual(costed.partsCost, eur(2000n));
  t.deepEqual(totalCostOf(costed), eur(2000n));
  const again = withPartsCost(costed, [part(null), part(eur(1250n)), part(eur(750n))], NOW);
  t.is(again, costed, "the same parts again change nothing");
  const err = t.throws(() => withPartsCost(costed, [part(eur(1n)), part(usd(1n))], NOW));
  t.is(reasonOf(err), "CURRENCY_MISMATCH");
  t.is(reasonOf(t.throws(() => withPartsCost(job, [part(eur(1n)), part(usd(1n))], NOW))), "CURRENCY_MISMATCH");
  t.throws(() => withPartsCost(job, [part(eur(1n), { jobId: "another" })], NOW));
});

test("complete: labor in the job's currency, total = labor + parts, notes appended", (t) => {
  const job = { ...withPartsCost(started(), [part(eur(2000n))], NOW), notes: "car arrived late" };
  const done = completeJob(job, { laborCost: eur(9000n), at: later(NOW, HOUR), odometerKm: 12_004, notes: " replaced filter " }, later(NOW, 2 * HOUR), USER);
  t.is(done.status, "completed");
  t.deepEqual(done.completeTime, later(NOW, HOUR));
  t.deepEqual(done.laborCost, eur(9000n));
  t.deepEqual(totalCostOf(done), eur(11_000n));
  t.is(done.notes, "car arrived late\nreplaced filter");
  t.is(done.odometerKm, 12_000, "the odometer at start stays the job's reading");
  t.is(reasonOf(t.throws(() => completeJob(job, { laborCost: usd(1n), at: later(NOW, HOUR), odometerKm: null, notes: "" }, later(NOW, HOUR), USER))), "CURRENCY_MISMATCH");
});

test("complete without parts: labor fixes the currency, parts cost is zero of it", (t) => {
  const done = completeJob(started(null), { laborCost: usd(500n), at: NOW, odometerKm: 7, notes: "" }, NOW, USER);
  t.is(done.currency, "USD");
  t.deepEqual(done.partsCost, usd(0n));
  t.deepEqual(totalCostOf(done), usd(500n));
  t.is(done.odometerKm, 7, "no reading at start: the completion's");
  const free = completeJob(started(null), { laborCost: null, at: NOW, odometerKm: null, notes: "" }, NOW, USER);
  t.deepEqual([free.currency, free.laborCost, free.partsCost, totalCostOf(free)], [null, null, null, null]);
});

test("complete refuses a time before the start or in the future, an odometer below the start, negative labor", (t) => {
  const job = started(12_000);
  const run = (over: Partial<Parameters<typeof completeJob>[1]>) =>
    t.throws(() => completeJob(job, { laborCost: eur(1n), at: later(NOW, HOUR), odometerKm: null, notes: "", ...over }, later(NOW, HOUR), USER));
  t.deepEqual(violationsOf(run({ at: later(NOW, -1) })), [["complete_time", "BEFORE_START"]]);
  t.deepEqual(violationsOf(run({ at: later(NOW, HOUR + 5 * MINUTE + 1) })), [["complete_time", "IN_THE_FUTURE"]]);
  t.deepEqual(violationsOf(run({ odometerKm: 11_999 })), [["odometer_km", "BELOW_START"]]);
  t.deepEqual(violationsOf(run({ laborCost: eur(-1n) })), [["labor_cost.amount_minor", "OUT_OF_RANGE"]]);
  t.deepEqual(violationsOf(run({ notes: "x".repeat(4001) })), [["notes", "TOO_LONG"]]);
  t.notThrows(() => completeJob(job, { laborCost: eur(0n), at: NOW, odometerKm: 12_000, notes: "" }, NOW, USER));
});

test("cancel records the reason and time; a blank reason is refused", (t) => {
  const job = cancelJob(started(), "  parts unavailable ", later(NOW, HOUR), "planner");
  t.deepEqual([job.status, job.cancelReason, job.cancelTime, job.updatedBy], ["cancelled", "parts unavailable", later(NOW, HOUR), "planner"]);
  t.deepEqual(violationsOf(t.throws(() => cancelJob(scheduled(), " ", NOW, USER))), [["reason", "REQUIRED"]]);
});

// ---- property: random operation sequences ----------------------------------

type Step =
  | { op: "update"; shiftHours: number; lengthHours: number }
  | { op: "assign"; mechanic: string | null }
  | { op: "start"; vehicleStatus: FleetVehicleStatus; odometerKm: number | null }
  | { op: "parts"; costs: Array<bigint | null>; currency: string }
  | { op: "complete"; labor: bigint | null; currency: string; odometerKm: number | null }
  | { op: "cancel" };

const currencyArb = fc.constantFrom("EUR", "EUR", "EUR", "USD");
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant("update" as const), shiftHours: fc.integer({ min: -48, max: 48 }), lengthHours: fc.integer({ min: -2, max: 800 }) }),
  fc.record({ op: fc.constant("assign" as const), mechanic: fc.option(fc.constantFrom("m1", "m2")) }),
  fc.record({
    op: fc.constant("start" as const),
    vehicleStatus: fc.constantFrom<FleetVehicleStatus>("active", "active", "rented", "under_maintenance", "decommissioned"),
    odometerKm: fc.option(fc.integer({ min: -5, max: 20_000 })),
  }),
  fc.record({ op: fc.constant("parts" as const), costs: fc.array(fc.option(fc.bigInt({ min: 0n, max: 10n ** 9n })), { maxLength: 4 }), currency: currencyArb }),
  fc.record({
    op: fc.constant("complete" as const),
    labor: fc.option(fc.bigInt({ min: -5n, max: 10n ** 9n })),
    currency: currencyArb,
    odometerKm: fc.option(fc.integer({ min: -5, max: 20_000 })),
  }),
  fc.constant({ op: "cancel" as const }),
);

const LEGAL_NEXT: Record<MaintenanceStatus, readonly MaintenanceStatus[]> = {
  scheduled: ["scheduled", "in_progress", "cancelled"],
  in_progress: ["in_progress", "completed", "cancelled"],
  completed: ["completed"],
  cancelled: ["cancelled"],
};

test("property: random operation sequences only take legal transitions, and costs never go negative", (t) => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 25 }), (steps) => {
      let job = scheduled();
      let parts: PartUsed[] = [];
      let clock = NOW;
      for (const step of steps) {
        clock = later(clock, MINUTE);
        const before = job;
        try {
          switch (step.op) {
            case "update": {
              const s = later(T0, step.shiftHours * HOUR);
              job = updateJob(job, { scheduleTime: s, estimatedCompletionTime: later(s, step.lengthHours * HOUR) }, clock, USER).job;
              break;
            }
            case "assign": job = assignJobMechanic(job, step.mechanic, clock, USER); break;
            case "start":
              job = startJob(job, { at: clock, odometerKm: step.odometerKm, mechanicId: null, vehicle: vehicle(step.vehicleStatus) }, clock, USER);
              break;
            case "parts": {
              const added = step.costs.map((c) => part(c === null ? null : { amountMinor: c, currency: step.currency }));
              job = withPartsCost(job, [...parts, ...added], clock);
              parts = [...parts, ...added];
              break;
            }
            case "complete":
              job = completeJob(job, {
                laborCost: step.labor === null ? null : { amountMinor: step.labor, currency: step.currency },
                at: clock, odometerKm: step.odometerKm, notes: "",
              }, clock, USER);
              break;
            case "cancel": job = cancelJob(job, "stop", clock, USER); break;
          }
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          if (job !== before) return false;
        }
        if (!LEGAL_NEXT[before.status].includes(job.status)) return false;
        if (job !== before && job.rowVersion !== before.rowVersion + 1n) return false;
        // Invariants of every state.
        for (const cost of [job.laborCost, job.partsCost, totalCostOf(job)]) {
          if (cost !== null && (cost.amountMinor < 0n || cost.currency !== job.currency)) return false;
        }
        if ((job.partsCost !== null || job.laborCost !== null) && job.currency === null) return false;
        if ((job.status === "scheduled") !== (job.startTime === null && job.cancelTime === null)) return false;
        if (job.status === "in_progress" && job.startTime === null) return false;
        if (job.status === "completed" && (job.completeTime === null || job.startTime === null || job.completeTime < job.startTime)) return false;
        if (job.status === "cancelled" && (job.cancelTime === null || job.cancelReason === null)) return false;
        if (job.status !== "cancelled" && job.cancelTime !== null) return false;
        if (job.laborCost !== null && job.status !== "completed") return false;
        const a = job.attributes;
        if (!(a.estimatedCompletionTime > a.scheduleTime) || a.estimatedCompletionTime.getTime() - a.scheduleTime.getTime() > 30 * DAY) return false;
      }
      return true;
    }),
    { numRuns: 400 },
  );
  t.pass();
});
