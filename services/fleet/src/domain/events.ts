import type { OdometerReading, UpdatableAttribute, Vehicle, VehicleStatus } from "./vehicle.js";

/**
 * Fleet's domain events, as the domain sees them. Adapters turn them into
 * the fleetmesh.fleet.v1 event messages of the contract (proto/fleetmesh/fleet/v1/events.proto).
 */
export type FleetEvent =
  | { readonly type: "VehicleRegistered"; readonly vehicle: Vehicle }
  | { readonly type: "VehicleUpdated"; readonly vehicle: Vehicle; readonly changedFields: readonly UpdatableAttribute[] }
  | {
    readonly type: "VehicleStateChanged";
    readonly vehicle: Vehicle;
    readonly previousStatus: VehicleStatus;
    /** Free text from the caller, or why an event changed it. */
    readonly reason: string;
    /** The rental or maintenance job behind the change (`rentals/<id>`, `maintenance_jobs/<id>`), or "". */
    readonly causeRef: string;
  }
  | { readonly type: "OdometerReadingRecorded"; readonly reading: OdometerReading };
