import { FleetService } from "../../../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { VehicleStatus, type Vehicle } from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { DomainError } from "../../../../platform/src/errors.js";
import type { PeerClient } from "../../../../platform/src/peers/peer-client.js";
import type { FleetDirectory } from "../../app/ports.js";
import type { FleetVehicleFact } from "../../app/use-case-api.js";
import type { FleetVehicleStatus } from "../../domain/model.js";

export const FLEET_STATUSES: Readonly<Record<number, FleetVehicleStatus>> = {
  [VehicleStatus.ACTIVE]: "active",
  [VehicleStatus.RENTED]: "rented",
  [VehicleStatus.UNDER_MAINTENANCE]: "under_maintenance",
  [VehicleStatus.DECOMMISSIONED]: "decommissioned",
};

/** Fleet's contract vehicle as rental's projection stores it. */
export const vehicleFact = (v: Vehicle): FleetVehicleFact => ({
  vehicleId: v.id,
  plateNumber: v.plateNumber,
  make: v.attributes?.make ?? "",
  model: v.attributes?.model ?? "",
  variant: v.attributes?.variant ?? null,
  passengerCapacity: v.attributes?.passengerCapacity ?? null,
  loadLimitKg: v.attributes?.loadLimitKg ?? null,
  status: FLEET_STATUSES[v.status] ?? "active",
  fleetRowVersion: v.rowVersion,
});

/** Fleet read with rental's own credential: backfills and vehicles whose event has not arrived yet. */
export function fleetDirectory(fleet: PeerClient<typeof FleetService>): FleetDirectory {
  return {
    async vehicle(vehicleId) {
      try {
        const { vehicle } = await fleet.getVehicle({ vehicleId }, { as: "service" });
        return vehicle ? vehicleFact(vehicle) : null;
      } catch (err) {
        if (err instanceof DomainError && err.kind === "not_found") return null;
        throw err;
      }
    },
    async *allVehicles() {
      let pageToken = "";
      do {
        const page = await fleet.listVehicles({ page: { pageSize: 500, pageToken } }, { as: "service" });
        for (const v of page.vehicles) yield vehicleFact(v);
        pageToken = page.page?.nextPageToken ?? "";
      } while (pageToken !== "");
    },
  };
}
