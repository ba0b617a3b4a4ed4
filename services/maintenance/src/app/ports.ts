// The I/O maintenance's use cases depend on, each behind a port.
import type { TimeIdCursor } from "../../../platform/src/paging.js";
import type {
  MaintenanceJob,
  MaintenancePlan,
  MaintenanceStatus,
  Part,
  PartUsed,
  Period,
  PlanAnchor,
  StockMovement,
  VehicleView,
} from "../domain/model.js";
import type { AlternativeVehicle, FleetVehicleFact, ListJobsFilter } from "./use-case-api.js";

export interface JobRepository {
  /** false when a job with the same due key exists already (another replica made it). */
  insert(job: MaintenanceJob): Promise<boolean>;
  find(id: string): Promise<MaintenanceJob | null>;
  findForUpdate(id: string): Promise<MaintenanceJob | null>;
  findByDueKey(dueKey: string): Promise<MaintenanceJob | null>;
  update(job: MaintenanceJob, expectedRowVersion: bigint): Promise<boolean>;
  list(filter: ListJobsFilter, limit: number, after: TimeIdCursor | null): Promise<MaintenanceJob[]>;
  listOfMechanic(mechanicId: string, statuses: readonly MaintenanceStatus[], limit: number, after: TimeIdCursor | null): Promise<MaintenanceJob[]>;
  insertParts(parts: readonly PartUsed[]): Promise<void>;
  parts(jobId: string): Promise<PartUsed[]>;
  partsPage(jobId: string, limit: number, after: TimeIdCursor | null): Promise<PartUsed[]>;
  /** Completed jobs of the vehicle (completed within the period, when given), and cancelled ones with parts. */
  costedJobs(vehicleId: string, completedWithin: Period | null): Promise<MaintenanceJob[]>;
  /** The plan's last completed job for the vehicle: the anchor of its next cycle. */
  lastCompletedOfPlan(planId: string, vehicleId: string): Promise<PlanAnchor | null>;
  /** Another IN_PROGRESS job of the vehicle, if any. */
  inProgressOf(vehicleId: string, except: string): Promise<MaintenanceJob | null>;
  insertIntent(intent: { readonly jobId: string; readonly vehicleId: string; readonly blockReference: string; readonly at: Date }): Promise<void>;
  deleteIntent(jobId: string): Promise<void>;
  /** Intents older than `before`, for the reconciliation job. */
  staleIntents(before: Date, limit: number): Promise<Array<{ readonly jobId: string; readonly blockReference: string; readonly jobExists: boolean }>>;
}

export interface PartRepository {
  insert(part: Part): Promise<void>;
  find(id: string): Promise<Part | null>;
  findMany(ids: readonly string[]): Promise<Part[]>;
  /** Atomically adds `delta` unless the result would be negative (then null). */
  changeStock(id: string, delta: number, at: Date): Promise<{ readonly before: Part; readonly after: Part } | null>;
  list(lowStockOnly: boolean, limit: number, after: { readonly partNumber: string; readonly id: string } | null): Promise<Part[]>;
  insertMovement(movement: StockMovement): Promise<void>;
  movements(partId: string, limit: number, after: TimeIdCursor | null): Promise<StockMovement[]>;
}

export interface PlanRepository {
  insert(plan: MaintenancePlan): Promise<void>;
  find(id: string): Promise<MaintenancePlan | null>;
  archive(id: string, at: Date): Promise<MaintenancePlan | null>;
  list(filter: { readonly includeArchived: boolean; readonly vehicle: VehicleView | null }, limit: number, after: { readonly name: string; readonly id: string } | null): Promise<MaintenancePlan[]>;
  active(): Promise<MaintenancePlan[]>;
}

export interface VehicleProjection {
  find(vehicleId: string): Promise<VehicleView | null>;
  all(): Promise<VehicleView[]>;
  upsert(fact: FleetVehicleFact, at: Date): Promise<void>;
  updateStatus(vehicleId: string, status: VehicleView["status"], fleetRowVersion: bigint, at: Date): Promise<void>;
  recordOdometer(vehicleId: string, km: number, at: Date): Promise<void>;
  count(): Promise<number>;
}

/** Rental's vehicle timeline, called with maintenance's own credential and a deadline. */
export interface VehicleTimeline {
  /**
   * Claims (or moves) the block. VEHICLE_NOT_AVAILABLE when the window collides;
   * DEPENDENCY_UNAVAILABLE when rental does not answer.
   */
  block(input: {
    readonly reference: string;
    readonly vehicleId: string;
    readonly period: Period;
    readonly reason: string;
    readonly urgent: boolean;
    readonly idempotencyKey: string;
  }): Promise<{ readonly displaced: ReadonlyArray<{ readonly rentalId: string; readonly originLocationId: string }> }>;
  /** Idempotent; an unknown reference is not an error. */
  release(reference: string): Promise<void>;
  /** Vehicles free over the period at a location, at least as big as the given ones. */
  alternatives(input: {
    readonly period: Period;
    readonly locationId: string | null;
    readonly minPassengerCapacity: number | null;
    readonly minLoadLimitKg: number | null;
  }): Promise<AlternativeVehicle[]>;
}

export interface StaffDirectory {
  /** The user's staff type, null when the user has no staff profile; USER_NOT_FOUND for an unknown user. */
  staffType(userId: string): Promise<string | null>;
}

export interface FleetDirectory {
  vehicle(vehicleId: string): Promise<FleetVehicleFact | null>;
  allVehicles(): AsyncIterable<FleetVehicleFact>;
}

export interface UnitOfWork {
  run<T>(work: () => Promise<T>): Promise<T>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  newId(): string;
}
