import { VehicleStatus as ProtoFleetStatus } from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { enumFromProto } from "../../../../platform/src/proto-common.js";
import {
  MaintenanceKind as ProtoKind,
  MaintenanceStatus as ProtoStatus,
  StockMovement_Kind as ProtoMovementKind,
} from "../../../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import type {
  FleetVehicleStatus,
  MaintenanceKind,
  MaintenanceStatus,
  StockMovementKind,
} from "../../domain/model.js";

// Domain <-> contract enums. Each table is total over the domain type (the
// compiler checks it), so a new domain value cannot be forgotten here.
// fromProto: null for UNSPECIFIED, undefined for a number this build does
// not know (a newer client); callers turn both into field violations.

const reverse = enumFromProto;

export const MAINTENANCE_STATUS_TO_PROTO: Readonly<Record<MaintenanceStatus, ProtoStatus>> = {
  scheduled: ProtoStatus.SCHEDULED,
  in_progress: ProtoStatus.IN_PROGRESS,
  completed: ProtoStatus.COMPLETED,
  cancelled: ProtoStatus.CANCELLED,
};
export const maintenanceStatusFromProto = reverse(MAINTENANCE_STATUS_TO_PROTO);

export const MAINTENANCE_KIND_TO_PROTO: Readonly<Record<MaintenanceKind, ProtoKind>> = {
  preventive: ProtoKind.PREVENTIVE,
  corrective: ProtoKind.CORRECTIVE,
  inspection: ProtoKind.INSPECTION,
};
export const maintenanceKindFromProto = reverse(MAINTENANCE_KIND_TO_PROTO);

export const STOCK_MOVEMENT_KIND_TO_PROTO: Readonly<Record<StockMovementKind, ProtoMovementKind>> = {
  receipt: ProtoMovementKind.RECEIPT,
  consumption: ProtoMovementKind.CONSUMPTION,
  adjustment: ProtoMovementKind.ADJUSTMENT,
};
export const stockMovementKindFromProto = reverse(STOCK_MOVEMENT_KIND_TO_PROTO);

/** Fleet's vehicle status as fleet.vehicle.v1 events carry it. */
export const FLEET_STATUS_TO_PROTO: Readonly<Record<FleetVehicleStatus, ProtoFleetStatus>> = {
  active: ProtoFleetStatus.ACTIVE,
  rented: ProtoFleetStatus.RENTED,
  under_maintenance: ProtoFleetStatus.UNDER_MAINTENANCE,
  decommissioned: ProtoFleetStatus.DECOMMISSIONED,
};
export const fleetStatusFromProto = reverse(FLEET_STATUS_TO_PROTO);
