// Checks of consumed events' fields, shared by every service's consumer: a
// value no handler could ever apply is a PermanentEventError (dead-lettered
// at once, with its reason), never a retry.
import type { VehicleStatus } from "../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { fleetStatusName, type FleetStatusName } from "../peers/fleet-vehicles.js";
import { isUuid } from "../validation.js";
import { PermanentEventError } from "./failures.js";

export function requireEventUuid(field: string, value: string): string {
  if (!isUuid(value)) throw new PermanentEventError("INVALID_EVENT", `${field} must be a UUID, got "${value.slice(0, 64)}"`);
  return value;
}

/** Fleet never publishes UNSPECIFIED; a status this build does not know cannot be stored either. */
export function requireFleetStatus(field: string, value: VehicleStatus): FleetStatusName {
  const status = fleetStatusName(value);
  if (status === undefined) throw new PermanentEventError("INVALID_EVENT", `${field} must be a known vehicle status, got ${value}`);
  return status;
}
