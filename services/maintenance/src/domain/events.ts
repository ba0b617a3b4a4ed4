// Maintenance's domain events; adapters/db/event-outbox.ts turns them into the
// contract's messages (proto/fleetmesh/maintenance/v1/events.proto).
import type { MaintenanceDue, MaintenanceJob, MaintenanceStatus, Part, PartUsed, StockMovement } from "./model.js";

export type MaintenanceEvent =
  | { readonly type: "MaintenanceScheduled"; readonly job: MaintenanceJob }
  | { readonly type: "MaintenanceJobUpdated"; readonly job: MaintenanceJob; readonly changedFields: readonly string[] }
  | { readonly type: "MaintenanceStarted"; readonly job: MaintenanceJob }
  | {
    readonly type: "MaintenanceCompleted";
    readonly job: MaintenanceJob;
    readonly parts: readonly PartUsed[];
    /** The odometer at completion, fleet's new reading; the job keeps the one taken at start. */
    readonly returnOdometerKm: number | null;
  }
  | { readonly type: "MaintenanceCancelled"; readonly job: MaintenanceJob; readonly previousStatus: MaintenanceStatus; readonly parts: readonly PartUsed[] }
  | { readonly type: "PartStockReceived"; readonly part: Part; readonly movement: StockMovement }
  | { readonly type: "PartStockAdjusted"; readonly part: Part; readonly movement: StockMovement }
  | { readonly type: "PartStockConsumed"; readonly part: Part; readonly movement: StockMovement; readonly vehicleId: string }
  | { readonly type: "PartStockLow"; readonly part: Part }
  | { readonly type: "MaintenancePlanDue"; readonly due: MaintenanceDue };
