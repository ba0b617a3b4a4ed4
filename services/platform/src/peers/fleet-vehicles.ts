// Fleet's vehicles read by a service as itself (its service credential):
// the backfill of a service's copy of the fleet, and a vehicle whose
// registration event has not reached that copy yet. Services map the
// contract's Vehicle to their own projection rows.
import { FleetService } from "../../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { VehicleStatus, type Vehicle } from "../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { DomainError } from "../errors.js";
import type { PeerClient } from "./peer-client.js";

export type FleetStatusName = "active" | "rented" | "under_maintenance" | "decommissioned";

/** Fleet's status by the names projections store; undefined for UNSPECIFIED or a value this build does not know. */
export const fleetStatusName = (status: VehicleStatus): FleetStatusName | undefined =>
  ({
    [VehicleStatus.ACTIVE]: "active",
    [VehicleStatus.RENTED]: "rented",
    [VehicleStatus.UNDER_MAINTENANCE]: "under_maintenance",
    [VehicleStatus.DECOMMISSIONED]: "decommissioned",
  } as Partial<Record<VehicleStatus, FleetStatusName>>)[status];

export interface FleetVehicleReader {
  /** null when fleet does not know the vehicle. */
  vehicle(vehicleId: string): Promise<Vehicle | null>;
  /** Every vehicle, page by page. */
  all(): AsyncIterable<Vehicle>;
}

export function fleetVehicleReader(fleet: PeerClient<typeof FleetService>): FleetVehicleReader {
  return {
    async vehicle(vehicleId) {
      try {
        return (await fleet.getVehicle({ vehicleId }, { as: "service" })).vehicle ?? null;
      } catch (err) {
        if (err instanceof DomainError && err.kind === "not_found") return null;
        throw err;
      }
    },
    async *all() {
      let pageToken = "";
      do {
        const page = await fleet.listVehicles({ page: { pageSize: 500, pageToken } }, { as: "service" });
        yield* page.vehicles;
        pageToken = page.page?.nextPageToken ?? "";
      } while (pageToken !== "");
    },
  };
}
