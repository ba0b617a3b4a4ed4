import type { Caller } from "../../../platform/src/auth.js";
import { DomainError } from "../../../platform/src/errors.js";
import { hasPermission } from "../../../platform/src/ownership.js";
import { currencyMismatch, money } from "../../../platform/src/money.js";
import { decodePageToken, decodeTimeIdToken, pageSize, toPage, toTimeIdPage } from "../../../platform/src/paging.js";
import { costPerKm, summarizeCosts } from "../domain/costs.js";
import {
  fieldError,
  insufficientStock,
  jobNotFound,
  partNotFound,
  planNotFound,
  staffTypeMismatch,
  staleRowVersion,
  vehicleNotFound,
} from "../domain/errors.js";
import type { MaintenanceEvent } from "../domain/events.js";
import {
  assignJobMechanic,
  assertCanRecordParts,
  blockReferenceOf,
  cancelJob,
  completeJob,
  newJob,
  startJob,
  updateJob,
  withPartsCost,
} from "../domain/job.js";
import type {
  MaintenanceDue,
  MaintenanceJob,
  MaintenancePlan,
  Part,
  PartUsed,
  PartUsedInput,
  Period,
  StockMovement,
  VehicleView,
} from "../domain/model.js";
import { crossedReorderLevel, normalizePartNumber, priceParts } from "../domain/parts.js";
import { dueJobId, dueWindowCandidates, nextDue, planApplies, validatePlan } from "../domain/plans.js";
import type { Outbox } from "./ports-outbox.js";
import type {
  Clock,
  FleetDirectory,
  IdGenerator,
  JobRepository,
  PartRepository,
  PlanRepository,
  StaffDirectory,
  UnitOfWork,
  VehicleProjection,
  VehicleTimeline,
} from "./ports.js";
import type { FleetVehicleFact, MaintenanceUseCases, Prepared, ScheduleResult } from "./use-case-api.js";

export interface MaintenancePolicy {
  /** An intent older than this without its job is a block to release. */
  readonly orphanBlockAfterMinutes: number;
}

export interface MaintenanceDependencies {
  readonly jobs: JobRepository;
  readonly parts: PartRepository;
  readonly plans: PlanRepository;
  readonly vehicles: VehicleProjection;
  readonly timeline: VehicleTimeline;
  readonly staff: StaffDirectory;
  readonly fleet: FleetDirectory;
  readonly uow: UnitOfWork;
  readonly outbox: Outbox;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly policy: MaintenancePolicy;
}

const MINUTE = 60_000;
const DEFINITE_REFUSALS: ReadonlySet<string> = new Set(["failed_precondition", "invalid_argument", "not_found", "permission_denied", "already_exists"]);
const prepared = <R>(run: () => Promise<R>): Prepared<R> => ({ run });
/** Fleet managers and admins plan and assign work; mechanics do it. */
const isPlanner = (caller: Caller): boolean => hasPermission(caller, "maintenance.assign");
const by = (caller: Caller): string | null => (caller.anonymous || caller.subject === "" ? null : caller.subject);

export function createMaintenanceUseCases(deps: MaintenanceDependencies): MaintenanceUseCases {
  const { jobs, parts, plans, vehicles, timeline, staff, fleet, uow, outbox, clock, ids, policy } = deps;
  const emit = (event: MaintenanceEvent): Promise<void> => outbox.append(event);

  const requireVehicle = async (vehicleId: string): Promise<VehicleView> => {
    let vehicle = await vehicles.find(vehicleId);
    if (vehicle === null) {
      const fact = await fleet.vehicle(vehicleId);
      if (fact === null) throw vehicleNotFound(vehicleId);
      await vehicles.upsert(fact, clock.now());
      vehicle = await vehicles.find(vehicleId);
      if (vehicle === null) throw vehicleNotFound(vehicleId);
    }
    return vehicle;
  };

  const requireMechanic = async (userId: string | null): Promise<void> => {
    if (userId === null) return;
    if ((await staff.staffType(userId)) !== "mechanic") throw staffTypeMismatch(userId, "MECHANIC");
  };

  const lockJob = async (id: string, expectedRowVersion: bigint): Promise<MaintenanceJob> => {
    const job = (await jobs.findForUpdate(id)) ?? throwError(jobNotFound(id));
    if (expectedRowVersion !== 0n && expectedRowVersion !== job.rowVersion) throw staleRowVersion("maintenance job", id);
    return job;
  };

  /**
   * Mechanics work on the jobs assigned to them (or not yet assigned, which
   * starting assigns to them); planners (maintenance.assign) on any. Someone
   * else's job reads as an unknown one.
   */
  const lockWorkableJob = async (id: string, expectedRowVersion: bigint, caller: Caller): Promise<MaintenanceJob> => {
    const job = await lockJob(id, 0n);
    if (!isPlanner(caller) && job.mechanicId !== null && job.mechanicId !== caller.subject) throw jobNotFound(id);
    if (expectedRowVersion !== 0n && expectedRowVersion !== job.rowVersion) throw staleRowVersion("maintenance job", id);
    return job;
  };

  const save = async (next: MaintenanceJob, current: MaintenanceJob): Promise<MaintenanceJob> => {
    const saved = { ...next, rowVersion: current.rowVersion + 1n };
    if (!(await jobs.update(saved, current.rowVersion))) throw staleRowVersion("maintenance job", current.id);
    return saved;
  };

  /**
   * Claims the window in rental first, with an intent committed before the
   * call: if this process dies between rental's answer and the job's insert,
   * the reconciliation job finds the intent and releases the block.
   */
  const claimWindow = async (job: MaintenanceJob, urgent: boolean) => {
    await jobs.insertIntent({ jobId: job.id, vehicleId: job.vehicleId, blockReference: job.blockReference, at: clock.now() });
    try {
      return await timeline.block({
        reference: job.blockReference,
        vehicleId: job.vehicleId,
        period: { start: job.attributes.scheduleTime, end: job.attributes.estimatedCompletionTime },
        reason: `${job.attributes.kind} maintenance: ${job.attributes.description}`.slice(0, 500),
        urgent,
        idempotencyKey: `maintenance-block-${job.id}`,
      });
    } catch (err) {
      // A refusal placed no block: nothing to reconcile. Rental unavailable
      // or out of time may have placed it: the intent stays for the job.
      if (err instanceof DomainError && DEFINITE_REFUSALS.has(err.kind)) await jobs.deleteIntent(job.id);
      throw err;
    }
  };

  /** Inserts the job with its event and drops its intent; false when its due point has a job already. */
  const insertJob = async (job: MaintenanceJob, extra: readonly MaintenanceEvent[] = []): Promise<boolean> =>
    uow.run(async () => {
      const inserted = await jobs.insert(job);
      await jobs.deleteIntent(job.id);
      if (!inserted) return false;
      await emit({ type: "MaintenanceScheduled", job });
      for (const event of extra) await emit(event);
      return true;
    });

  /**
   * Records parts on a locked, in-progress job: the parts and the job's costs
   * now; the stock (down atomically, with its movements and events) when the
   * caller runs `takeStock`. A part's row stays locked from its decrement to
   * the commit, so callers take stock as late in the transaction as they can:
   * every recording of a popular part waits for that lock.
   */
  const recordParts = async (job: MaintenanceJob, inputs: readonly PartUsedInput[], caller: Caller):
    Promise<{ job: MaintenanceJob; added: PartUsed[]; takeStock: () => Promise<void> }> => {
    assertCanRecordParts(job);
    const now = clock.now();
    const catalogIds = [...new Set(inputs.flatMap((p) => (p.partId === null ? [] : [p.partId])))].sort();
    const catalog = new Map((await parts.findMany(catalogIds)).map((p) => [p.id, p]));
    const added = priceParts(inputs, catalog, ids.newId, job.id, now, by(caller));
    await jobs.insertParts(added);
    const costed = withPartsCost(job, await jobs.parts(job.id), now);
    // Stock goes down part by part in id order, so two jobs taking the same
    // parts never wait on each other in a cycle.
    const takeStock = async (): Promise<void> => {
      const wanted = new Map<string, number>();
      for (const p of added) if (p.partId !== null) wanted.set(p.partId, (wanted.get(p.partId) ?? 0) + p.quantity);
      for (const partId of [...wanted.keys()].sort()) {
        const quantity = wanted.get(partId)!;
        const changed = await parts.changeStock(partId, -quantity, now);
        if (changed === null) {
          // Refused by the database: what is on hand now, not what was read before.
          const part = (await parts.find(partId)) ?? throwError(partNotFound(partId));
          throw insufficientStock(partId, part.stockOnHand, quantity);
        }
        const cost = added.filter((p) => p.partId === partId).reduce((sum, p) => sum + (p.totalCost?.amountMinor ?? 0n), 0n);
        const movement: StockMovement = {
          id: ids.newId(), partId, kind: "consumption", quantityDelta: -quantity, totalCost: money(cost, changed.after.unitCost.currency),
          jobId: job.id, reason: `used on maintenance job ${job.id}`, stockAfter: changed.after.stockOnHand, createdAt: now, createdBy: by(caller),
        };
        await parts.insertMovement(movement);
        await emit({ type: "PartStockConsumed", part: changed.after, movement, vehicleId: job.vehicleId });
        if (crossedReorderLevel(changed.before, changed.after)) await emit({ type: "PartStockLow", part: changed.after });
      }
    };
    return { job: costed, added, takeStock };
  };

  const dueFor = async (plan: MaintenancePlan, vehicle: VehicleView, now: Date): Promise<MaintenanceDue> => {
    const anchor = (await jobs.lastCompletedOfPlan(plan.id, vehicle.vehicleId)) ??
      { jobId: null, at: plan.createdAt, odometerKm: vehicle.firstOdometerKm };
    const due = nextDue(plan, vehicle, anchor, now);
    const existing = await jobs.findByDueKey(due.dueKey);
    return { ...due, jobId: existing?.id ?? null };
  };

  return {
    async schedule(command, caller) {
      const vehicle = await requireVehicle(command.vehicleId);
      if (vehicle.status === "decommissioned") throw new DomainError("failed_precondition", "VEHICLE_DECOMMISSIONED", `vehicle ${vehicle.vehicleId} is decommissioned`);
      await requireMechanic(command.mechanicId);
      const now = clock.now();
      const job = newJob({
        id: ids.newId(), vehicleId: command.vehicleId, attributes: command.attributes, mechanicId: command.mechanicId,
        urgent: command.urgent, planId: null, dueKey: null, now, by: by(caller),
      });
      const claimed = await claimWindow(job, command.urgent);
      let alternatives: ScheduleResult["alternatives"] = [];
      if (claimed.displaced.length > 0) {
        alternatives = (await timeline.alternatives({
          period: { start: job.attributes.scheduleTime, end: job.attributes.estimatedCompletionTime },
          locationId: claimed.displaced[0]!.originLocationId || null,
          minPassengerCapacity: vehicle.passengerCapacity,
          minLoadLimitKg: vehicle.loadLimitKg,
        })).filter((v) => v.vehicleId !== vehicle.vehicleId);
      }
      return prepared(async () => {
        await insertJob(job);
        return { job, displacedRentalIds: claimed.displaced.map((d) => d.rentalId), alternatives };
      });
    },

    async update(command, caller) {
      const current = (await jobs.find(command.jobId)) ?? throwError(jobNotFound(command.jobId));
      const planned = updateJob(current, command.attributes, clock.now(), by(caller));
      if (planned.windowMoved) {
        // The same reference elsewhere moves the block (rental refuses a window that collides).
        await timeline.block({
          reference: current.blockReference, vehicleId: current.vehicleId,
          period: { start: planned.job.attributes.scheduleTime, end: planned.job.attributes.estimatedCompletionTime },
          reason: `${planned.job.attributes.kind} maintenance: ${planned.job.attributes.description}`.slice(0, 500),
          urgent: false, idempotencyKey: `maintenance-block-${current.id}-v${current.rowVersion + 1n}`,
        });
      }
      return prepared(() => uow.run(async () => {
        const job = await lockJob(command.jobId, command.expectedRowVersion === 0n ? current.rowVersion : command.expectedRowVersion);
        const { job: next, changedFields } = updateJob(job, command.attributes, clock.now(), by(caller));
        const saved = await save(next, job);
        await emit({ type: "MaintenanceJobUpdated", job: saved, changedFields });
        return saved;
      }));
    },

    async assignMechanic(command, caller) {
      await requireMechanic(command.mechanicId);
      return prepared(() => uow.run(async () => {
        const job = await lockJob(command.jobId, command.expectedRowVersion);
        const saved = await save(assignJobMechanic(job, command.mechanicId, clock.now(), by(caller)), job);
        await emit({ type: "MaintenanceJobUpdated", job: saved, changedFields: ["mechanic_id"] });
        return saved;
      }));
    },

    async start(command, caller) {
      // A mechanic starts a job for themselves; only a planner names someone else.
      const mechanicId = command.mechanicId ?? (isPlanner(caller) ? null : caller.subject);
      if (!isPlanner(caller) && mechanicId !== caller.subject) throw fieldError("mechanic_id", "a mechanic starts jobs for themselves", "NOT_YOURSELF");
      await requireMechanic(mechanicId);
      return prepared(() => uow.run(async () => {
        const now = clock.now();
        const job = await lockWorkableJob(command.jobId, command.expectedRowVersion, caller);
        const vehicle = await vehicles.find(job.vehicleId);
        const other = await jobs.inProgressOf(job.vehicleId, job.id);
        const started = startJob(job, {
          at: command.startTime ?? now, odometerKm: command.odometerKm, mechanicId,
          // Another job already in progress counts as the vehicle being in use.
          vehicle: other !== null && vehicle !== null ? { ...vehicle, status: "under_maintenance" } : vehicle,
        }, now, by(caller));
        const saved = await save(started, job);
        await emit({ type: "MaintenanceStarted", job: saved });
        return saved;
      }));
    },

    async addParts(jobId, inputs, caller) {
      return uow.run(async () => {
        const job = await lockWorkableJob(jobId, 0n, caller);
        const { job: costed, added, takeStock } = await recordParts(job, inputs, caller);
        const saved = await save(costed, job);
        // Last: the part rows' locks are held only for their own statements and the commit.
        await takeStock();
        return { parts: added, job: saved };
      });
    },

    async complete(command, caller) {
      return uow.run(async () => {
        const now = clock.now();
        const job = await lockWorkableJob(command.jobId, command.expectedRowVersion, caller);
        // The stock's events before the completion's, as consumers have always seen them.
        const recorded = command.parts.length > 0 ? await recordParts(job, command.parts, caller) : null;
        await recorded?.takeStock();
        const withParts = recorded?.job ?? job;
        const completed = completeJob(withParts, {
          laborCost: command.laborCost, at: command.completeTime ?? now, odometerKm: command.odometerKm, notes: command.notes,
        }, now, by(caller));
        const saved = await save(completed, job);
        const used = await jobs.parts(job.id);
        // Rental releases the job's block when it consumes this event.
        await emit({ type: "MaintenanceCompleted", job: saved, parts: used, returnOdometerKm: command.odometerKm });
        if (command.odometerKm !== null) await vehicles.recordOdometer(job.vehicleId, command.odometerKm, saved.completeTime ?? now);
        return { job: saved, parts: used };
      });
    },

    async cancel(command, caller) {
      return uow.run(async () => {
        const job = await lockJob(command.jobId, command.expectedRowVersion);
        const saved = await save(cancelJob(job, command.reason, clock.now(), by(caller)), job);
        // Parts used before the cancellation are still expensed.
        await emit({ type: "MaintenanceCancelled", job: saved, previousStatus: job.status, parts: await jobs.parts(job.id) });
        return saved;
      });
    },

    async getJob(jobId) {
      const job = (await jobs.find(jobId)) ?? throwError(jobNotFound(jobId));
      return { job, parts: await jobs.parts(jobId) };
    },
    async listJobs(filter, page) {
      const limit = pageSize(page.pageSize);
      const query = `jobs|${JSON.stringify(filter)}`;
      const rows = await jobs.list(filter, limit + 1, decodeTimeIdToken(page.pageToken, query));
      return toTimeIdPage(rows, limit, query, (j) => ({ at: j.attributes.scheduleTime, id: j.id }));
    },
    async listOwnJobs(statuses, page, caller) {
      if (caller.anonymous || caller.subject === "") throw new DomainError("unauthenticated", "UNAUTHENTICATED", "sign in to list your jobs");
      const limit = pageSize(page.pageSize);
      const query = `own|${caller.subject}|${statuses.join(",")}`;
      const rows = await jobs.listOfMechanic(caller.subject, statuses, limit + 1, decodeTimeIdToken(page.pageToken, query));
      return toTimeIdPage(rows, limit, query, (j) => ({ at: j.attributes.scheduleTime, id: j.id }));
    },
    async listParts(jobId, page) {
      if ((await jobs.find(jobId)) === null) throw jobNotFound(jobId);
      const limit = pageSize(page.pageSize);
      const query = `parts|${jobId}`;
      const rows = await jobs.partsPage(jobId, limit + 1, decodeTimeIdToken(page.pageToken, query));
      return toTimeIdPage(rows, limit, query, (p) => ({ at: p.recordedAt, id: p.id }));
    },
    async vehicleCosts(vehicleId, completedWithin) {
      const vehicle = await vehicles.find(vehicleId);
      const costs = summarizeCosts(await jobs.costedJobs(vehicleId, completedWithin));
      const kmDriven = vehicle?.odometerKm !== null && vehicle?.odometerKm !== undefined && vehicle.firstOdometerKm !== null
        ? vehicle.odometerKm - vehicle.firstOdometerKm : null;
      return { vehicleId, costs, kmDriven, costPerKm: costPerKm(costs, kmDriven) };
    },

    async createPart(command) {
      const now = clock.now();
      const part: Part = {
        id: ids.newId(), partNumber: normalizePartNumber(command.partNumber), name: command.name.trim(), unitCost: command.unitCost,
        stockOnHand: 0, reorderLevel: command.reorderLevel, rowVersion: 1n, createdAt: now, updatedAt: now,
      };
      await uow.run(() => parts.insert(part));
      return part;
    },
    getPart: async (partId) => (await parts.find(partId)) ?? throwError(partNotFound(partId)),
    async listCatalog(lowStockOnly, page) {
      const limit = pageSize(page.pageSize);
      const query = `catalog|${lowStockOnly}`;
      const after = decodePageToken(page.pageToken, query, 2);
      const rows = await parts.list(lowStockOnly, limit + 1, after === null ? null : { partNumber: after[0]!, id: after[1]! });
      return toPage(rows, limit, query, (p) => [p.partNumber, p.id]);
    },
    async receiveStock(command, caller) {
      return uow.run(async () => {
        const now = clock.now();
        const part = (await parts.find(command.partId)) ?? throwError(partNotFound(command.partId));
        if (command.totalCost.currency !== part.unitCost.currency) throw currencyMismatch(part.unitCost.currency, command.totalCost.currency);
        const changed = (await parts.changeStock(part.id, command.quantity, now)) ?? throwError(partNotFound(part.id));
        const movement: StockMovement = {
          id: ids.newId(), partId: part.id, kind: "receipt", quantityDelta: command.quantity, totalCost: command.totalCost, jobId: null,
          reason: command.reference, stockAfter: changed.after.stockOnHand, createdAt: now, createdBy: by(caller),
        };
        await parts.insertMovement(movement);
        await emit({ type: "PartStockReceived", part: changed.after, movement });
        return { part: changed.after, movement };
      });
    },
    async adjustStock(command, caller) {
      return uow.run(async () => {
        const now = clock.now();
        const part = (await parts.find(command.partId)) ?? throwError(partNotFound(command.partId));
        const changed = await parts.changeStock(part.id, command.quantityDelta, now);
        if (changed === null) throw insufficientStock(part.id, (await parts.find(part.id))?.stockOnHand ?? 0, -command.quantityDelta);
        const movement: StockMovement = {
          id: ids.newId(), partId: part.id, kind: "adjustment", quantityDelta: command.quantityDelta, totalCost: null, jobId: null,
          reason: command.reason, stockAfter: changed.after.stockOnHand, createdAt: now, createdBy: by(caller),
        };
        await parts.insertMovement(movement);
        await emit({ type: "PartStockAdjusted", part: changed.after, movement });
        if (crossedReorderLevel(changed.before, changed.after)) await emit({ type: "PartStockLow", part: changed.after });
        return { part: changed.after, movement };
      });
    },
    async listStockMovements(partId, page) {
      if ((await parts.find(partId)) === null) throw partNotFound(partId);
      const limit = pageSize(page.pageSize);
      const query = `movements|${partId}`;
      const rows = await parts.movements(partId, limit + 1, decodeTimeIdToken(page.pageToken, query));
      return toTimeIdPage(rows, limit, query, (m) => ({ at: m.createdAt, id: m.id }));
    },

    async createPlan(command, caller) {
      const violations = validatePlan(command);
      if (violations.length > 0) throw new DomainError("invalid_argument", "INVALID_ARGUMENT", "invalid plan", { fieldViolations: violations });
      if ("vehicleId" in command.target) await requireVehicle(command.target.vehicleId);
      const plan: MaintenancePlan = {
        id: ids.newId(), name: command.name.trim(), target: command.target, intervalDays: command.intervalDays, intervalKm: command.intervalKm,
        leadDays: command.leadDays, leadKm: command.leadKm, plannedHours: command.plannedHours, jobDescription: command.jobDescription.trim(),
        archivedAt: null, rowVersion: 1n, createdAt: clock.now(), createdBy: by(caller),
      };
      await uow.run(() => plans.insert(plan));
      return plan;
    },
    async listPlans(filter, page) {
      const vehicle = filter.vehicleId === null ? null : await requireVehicle(filter.vehicleId);
      const limit = pageSize(page.pageSize);
      const query = `plans|${filter.includeArchived}|${filter.vehicleId ?? ""}`;
      const after = decodePageToken(page.pageToken, query, 2);
      const rows = await plans.list({ includeArchived: filter.includeArchived, vehicle }, limit + 1, after === null ? null : { name: after[0]!, id: after[1]! });
      return toPage(rows, limit, query, (p) => [p.name, p.id]);
    },
    async archivePlan(planId) {
      return uow.run(async () => (await plans.archive(planId, clock.now())) ?? throwError(planNotFound(planId)));
    },
    async listDue(filter, page) {
      const now = clock.now();
      const fleetNow = filter.vehicleId === null ? await vehicles.all() : [await requireVehicle(filter.vehicleId)];
      const out: MaintenanceDue[] = [];
      for (const plan of await plans.active()) {
        for (const vehicle of fleetNow) {
          if (vehicle.status === "decommissioned" || !planApplies(plan, vehicle)) continue;
          const due = await dueFor(plan, vehicle, now);
          if (!filter.withinLeadOnly || due.withinLead) out.push(due);
        }
      }
      const sorted = out.sort((a, b) => (a.dueKey < b.dueKey ? -1 : a.dueKey > b.dueKey ? 1 : 0));
      const limit = pageSize(page.pageSize);
      const query = `due|${filter.vehicleId ?? ""}|${filter.withinLeadOnly}`;
      const after = decodePageToken(page.pageToken, query, 1);
      const rest = after === null ? sorted : sorted.filter((d) => d.dueKey > after[0]!);
      return toPage(rest.slice(0, limit + 1), limit, query, (d) => [d.dueKey]);
    },

    applyFleetVehicle: (fact: FleetVehicleFact) => vehicles.upsert(fact, clock.now()),
    applyFleetVehicleStatus: (vehicleId, status, fleetRowVersion) => vehicles.updateStatus(vehicleId, status, fleetRowVersion, clock.now()),
    applyOdometerReading: (vehicleId, readingKm, at) => vehicles.recordOdometer(vehicleId, readingKm, at),
    async refreshVehicleProjection() {
      const facts: FleetVehicleFact[] = [];
      for await (const fact of fleet.allVehicles()) facts.push(fact);
      const now = clock.now();
      for (let i = 0; i < facts.length; i += 200) {
        await uow.run(async () => {
          for (const fact of facts.slice(i, i + 200)) await vehicles.upsert(fact, now);
        });
      }
      return facts.length;
    },

    async createDueJobs(now) {
      let created = 0;
      for (const plan of await plans.active()) {
        for (const vehicle of await vehicles.all()) {
          if (vehicle.status === "decommissioned" || !planApplies(plan, vehicle)) continue;
          const due = await dueFor(plan, vehicle, now);
          if (!due.withinLead || due.jobId !== null) continue;
          // The job's id comes from its due point: every replica, before or
          // after a restart, makes the same job and claims the same block.
          const jobId = dueJobId(due.dueKey);
          for (const window of dueWindowCandidates(due, plan.plannedHours, now)) {
            const job = newJob({
              id: jobId, vehicleId: vehicle.vehicleId, mechanicId: null, urgent: false, planId: plan.id, dueKey: due.dueKey, now, by: null,
              attributes: { kind: "preventive", description: plan.jobDescription, scheduleTime: window.start, estimatedCompletionTime: window.end },
            });
            try {
              await claimWindow(job, false);
            } catch (err) {
              if (err instanceof DomainError && err.reason === "VEHICLE_NOT_AVAILABLE") continue;
              throw err;
            }
            if (await insertJob(job, [{ type: "MaintenancePlanDue", due: { ...due, jobId } }])) created += 1;
            break;
          }
        }
      }
      return created;
    },

    async reconcileBlocks(now) {
      const stale = await jobs.staleIntents(new Date(now.getTime() - policy.orphanBlockAfterMinutes * MINUTE), 100);
      for (const intent of stale) {
        if (!intent.jobExists) await timeline.release(intent.blockReference);
        await jobs.deleteIntent(intent.jobId);
      }
      return stale.filter((i) => !i.jobExists).length;
    },
  };
}

function throwError(err: Error): never {
  throw err;
}

export type { Period };
export { blockReferenceOf };
