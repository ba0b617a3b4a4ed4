// Maintenance's domain model: plain data, no transport or persistence.
import type { Money } from "../../../platform/src/money.js";

/** Half-open [start, end). */
export interface Period {
  readonly start: Date;
  readonly end: Date;
}

export type MaintenanceStatus = "scheduled" | "in_progress" | "completed" | "cancelled";
export type MaintenanceKind = "preventive" | "corrective" | "inspection";

export interface JobAttributes {
  readonly kind: MaintenanceKind;
  readonly description: string;
  /** Planned start: the window's start on the vehicle's timeline. */
  readonly scheduleTime: Date;
  /** Planned end: the window's end. */
  readonly estimatedCompletionTime: Date;
}

export interface MaintenanceJob {
  readonly id: string;
  readonly vehicleId: string;
  readonly attributes: JobAttributes;
  readonly status: MaintenanceStatus;
  readonly mechanicId: string | null;
  readonly startTime: Date | null;
  readonly completeTime: Date | null;
  readonly odometerKm: number | null;
  /** Currency of every cost of the job: set by the first cost recorded. */
  readonly currency: string | null;
  readonly laborCost: Money | null;
  /** Sum of the parts' costs (those with a known cost). */
  readonly partsCost: Money | null;
  readonly notes: string;
  readonly cancelReason: string | null;
  readonly cancelTime: Date | null;
  /** "maintenance-job:<id>": the job's claim on rental's vehicle timeline. */
  readonly blockReference: string;
  readonly urgent: boolean;
  readonly planId: string | null;
  /** The plan's due point this job serves (unique per plan and vehicle). */
  readonly dueKey: string | null;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string | null;
  readonly updatedBy: string | null;
}

export interface PartUsed {
  readonly id: string;
  readonly jobId: string;
  /** The catalog part stock was taken from; null for a part bought in for the job. */
  readonly partId: string | null;
  readonly partName: string;
  readonly partNumber: string;
  readonly quantity: number;
  readonly unitCost: Money | null;
  readonly totalCost: Money | null;
  readonly costOverrideReason: string | null;
  readonly recordedAt: Date;
  readonly recordedBy: string | null;
}

/** What a mechanic records: a catalog part (by id) or a free-text part. */
export interface PartUsedInput {
  readonly partId: string | null;
  readonly partName: string;
  readonly partNumber: string;
  readonly quantity: number;
  /** For a catalog part: an override of the catalog's unit cost, with a reason. */
  readonly unitCost: Money | null;
  readonly costOverrideReason: string | null;
}

export interface Part {
  readonly id: string;
  readonly partNumber: string;
  readonly name: string;
  readonly unitCost: Money;
  readonly stockOnHand: number;
  readonly reorderLevel: number;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type StockMovementKind = "receipt" | "consumption" | "adjustment";

export interface StockMovement {
  readonly id: string;
  readonly partId: string;
  readonly kind: StockMovementKind;
  readonly quantityDelta: number;
  readonly totalCost: Money | null;
  readonly jobId: string | null;
  readonly reason: string;
  readonly stockAfter: number;
  readonly createdAt: Date;
  readonly createdBy: string | null;
}

export type PlanTarget = { readonly vehicleId: string } | { readonly make: string; readonly model: string };

export interface MaintenancePlan {
  readonly id: string;
  readonly name: string;
  readonly target: PlanTarget;
  readonly intervalDays: number | null;
  readonly intervalKm: number | null;
  readonly leadDays: number;
  readonly leadKm: number;
  readonly plannedHours: number;
  readonly jobDescription: string;
  readonly archivedAt: Date | null;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly createdBy: string | null;
}

/** Where a plan's current cycle starts for one vehicle: its last completed job, else the plan's creation. */
export interface PlanAnchor {
  /** The completed job the cycle starts from; null for the first cycle. */
  readonly jobId: string | null;
  readonly at: Date;
  /** The odometer at the anchor (the job's, or the first reading known since the plan); null when unknown. */
  readonly odometerKm: number | null;
}

export interface MaintenanceDue {
  readonly planId: string;
  readonly vehicleId: string;
  readonly dueTime: Date | null;
  readonly dueOdometerKm: number | null;
  readonly odometerKm: number | null;
  readonly withinLead: boolean;
  /** Identifies the due point: one job at most per plan, vehicle and key. */
  readonly dueKey: string;
  readonly jobId: string | null;
}

/** Fleet's vehicle as maintenance knows it (fleet's events, ListVehicles). */
export type FleetVehicleStatus = "active" | "rented" | "under_maintenance" | "decommissioned";

export interface VehicleView {
  readonly vehicleId: string;
  readonly plateNumber: string;
  readonly make: string;
  readonly model: string;
  readonly passengerCapacity: number | null;
  readonly loadLimitKg: number | null;
  readonly status: FleetVehicleStatus;
  readonly fleetRowVersion: bigint;
  /** Latest odometer reading from OdometerReadingRecorded (or the backfill). */
  readonly odometerKm: number | null;
  readonly odometerAt: Date | null;
  /** The first reading known: the start of cost per kilometre. */
  readonly firstOdometerKm: number | null;
}
