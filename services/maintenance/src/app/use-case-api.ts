// What maintenance's use cases offer the adapters (gRPC handlers, event
// handlers, jobs). Commands carry domain types only; the gRPC adapter has
// validated their shape, the use cases check everything that needs data.
import type { Caller } from "../../../platform/src/auth.js";
import type { Money } from "../../../platform/src/money.js";
import type { Page } from "../../../platform/src/paging.js";
import type {
  FleetVehicleStatus,
  JobAttributes,
  MaintenanceDue,
  MaintenanceJob,
  MaintenanceKind,
  MaintenancePlan,
  MaintenanceStatus,
  Part,
  PartUsed,
  PartUsedInput,
  Period,
  PlanTarget,
  StockMovement,
} from "../domain/model.js";

export type { Page };

export interface PageQuery {
  readonly pageSize: number;
  readonly pageToken: string;
}

/** Use cases that read peers (identity, fleet) or call rental first: run() does the transaction. */
export interface Prepared<R> {
  run(): Promise<R>;
}

export interface AlternativeVehicle {
  readonly vehicleId: string;
  readonly plateNumber: string;
  readonly make: string;
  readonly model: string;
}

export interface ScheduleResult {
  readonly job: MaintenanceJob;
  readonly displacedRentalIds: readonly string[];
  readonly alternatives: readonly AlternativeVehicle[];
}

export interface ListJobsFilter {
  readonly vehicleId: string | null;
  readonly statuses: readonly MaintenanceStatus[];
  readonly kind: MaintenanceKind | null;
  readonly mechanicId: string | null;
  readonly scheduledWithin: Period | null;
}

export interface CostSummary {
  readonly currency: string;
  readonly laborCost: Money;
  readonly partsCost: Money;
  readonly totalCost: Money;
  readonly jobCount: number;
}

export interface VehicleCosts {
  readonly vehicleId: string;
  readonly costs: readonly CostSummary[];
  readonly kmDriven: number | null;
  /** One per currency of `costs`, when kmDriven > 0. */
  readonly costPerKm: readonly Money[];
}

export interface CreatePlanCommand {
  readonly name: string;
  readonly target: PlanTarget;
  readonly intervalDays: number | null;
  readonly intervalKm: number | null;
  readonly leadDays: number;
  readonly leadKm: number;
  readonly plannedHours: number;
  readonly jobDescription: string;
}

/** Fleet's view of a vehicle as the projection stores it. */
export interface FleetVehicleFact {
  readonly vehicleId: string;
  readonly plateNumber: string;
  readonly make: string;
  readonly model: string;
  readonly passengerCapacity: number | null;
  readonly loadLimitKg: number | null;
  readonly status: FleetVehicleStatus;
  readonly fleetRowVersion: bigint;
  readonly odometerKm: number | null;
}

export interface MaintenanceUseCases {
  schedule(command: {
    readonly vehicleId: string;
    readonly attributes: JobAttributes;
    readonly mechanicId: string | null;
    readonly urgent: boolean;
  }, caller: Caller): Promise<Prepared<ScheduleResult>>;
  /** Only while SCHEDULED; a new window moves the block in rental first. */
  update(command: {
    readonly jobId: string;
    readonly expectedRowVersion: bigint;
    readonly attributes: Partial<JobAttributes>;
  }, caller: Caller): Promise<Prepared<MaintenanceJob>>;
  assignMechanic(command: { readonly jobId: string; readonly expectedRowVersion: bigint; readonly mechanicId: string | null }, caller: Caller): Promise<Prepared<MaintenanceJob>>;
  start(command: {
    readonly jobId: string;
    readonly expectedRowVersion: bigint;
    readonly startTime: Date | null;
    readonly odometerKm: number | null;
    readonly mechanicId: string | null;
  }, caller: Caller): Promise<Prepared<MaintenanceJob>>;
  addParts(jobId: string, parts: readonly PartUsedInput[], caller: Caller): Promise<{ readonly parts: readonly PartUsed[]; readonly job: MaintenanceJob }>;
  complete(command: {
    readonly jobId: string;
    readonly expectedRowVersion: bigint;
    readonly laborCost: Money | null;
    readonly parts: readonly PartUsedInput[];
    readonly notes: string;
    readonly odometerKm: number | null;
    readonly completeTime: Date | null;
  }, caller: Caller): Promise<{ readonly job: MaintenanceJob; readonly parts: readonly PartUsed[] }>;
  cancel(command: { readonly jobId: string; readonly expectedRowVersion: bigint; readonly reason: string }, caller: Caller): Promise<MaintenanceJob>;

  getJob(jobId: string): Promise<{ readonly job: MaintenanceJob; readonly parts: readonly PartUsed[] }>;
  listJobs(filter: ListJobsFilter, page: PageQuery): Promise<Page<MaintenanceJob>>;
  /** Jobs assigned to the caller (a mechanic). */
  listOwnJobs(statuses: readonly MaintenanceStatus[], page: PageQuery, caller: Caller): Promise<Page<MaintenanceJob>>;
  listParts(jobId: string, page: PageQuery): Promise<Page<PartUsed>>;
  vehicleCosts(vehicleId: string, completedWithin: Period | null): Promise<VehicleCosts>;

  createPart(command: { readonly partNumber: string; readonly name: string; readonly unitCost: Money; readonly reorderLevel: number }, caller: Caller): Promise<Part>;
  getPart(partId: string): Promise<Part>;
  listCatalog(lowStockOnly: boolean, page: PageQuery): Promise<Page<Part>>;
  receiveStock(command: { readonly partId: string; readonly quantity: number; readonly totalCost: Money; readonly reference: string }, caller: Caller): Promise<{ readonly part: Part; readonly movement: StockMovement }>;
  adjustStock(command: { readonly partId: string; readonly quantityDelta: number; readonly reason: string }, caller: Caller): Promise<{ readonly part: Part; readonly movement: StockMovement }>;
  listStockMovements(partId: string, page: PageQuery): Promise<Page<StockMovement>>;

  createPlan(command: CreatePlanCommand, caller: Caller): Promise<MaintenancePlan>;
  listPlans(filter: { readonly includeArchived: boolean; readonly vehicleId: string | null }, page: PageQuery): Promise<Page<MaintenancePlan>>;
  archivePlan(planId: string, caller: Caller): Promise<MaintenancePlan>;
  listDue(filter: { readonly vehicleId: string | null; readonly withinLeadOnly: boolean }, page: PageQuery): Promise<Page<MaintenanceDue>>;

  /** Fleet's events and the backfill. */
  applyFleetVehicle(fact: FleetVehicleFact): Promise<void>;
  applyFleetVehicleStatus(vehicleId: string, status: FleetVehicleStatus, fleetRowVersion: bigint): Promise<void>;
  applyOdometerReading(vehicleId: string, readingKm: number, at: Date): Promise<void>;
  refreshVehicleProjection(): Promise<number>;

  /** Jobs: due plans create their jobs (once per due point); orphan blocks are released. */
  createDueJobs(now: Date): Promise<number>;
  reconcileBlocks(now: Date): Promise<number>;
}
