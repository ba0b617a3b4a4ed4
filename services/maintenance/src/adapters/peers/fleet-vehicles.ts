import { FleetService } from "../../../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { VehicleStatus, type Vehicle } from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { DomainError } from "../../../../platform/src/errors.js";
import type { PeerClient } from "../../../../platform/src/peers/peer-client.js";
import type { FleetDirectory } from "../../app/ports.js";
import type { FleetVehicleFact } from "../../app/use-case-api.js";
import type { FleetVehicleStatus } from "../../domain/model.js";

export const FLEET_STATUS: Readonly<Record<number, FleetVehicleStatus>> = {
  [VehicleStatus.ACTIVE]: "active",
  [VehicleStatus.RENTED]: "rented",
  [VehicleStatus.UNDER_MAINTENANCE]: "under_maintenance",
  [VehicleStatus.DECOMMISSIONED]: "decommissioned",
};

/** Fleet's contract vehicle as maintenance's projection keeps it (with its odometer). */
export const fleetVehicleFact = (v: Vehicle): FleetVehicleFact => ({
  vehicleId: v.id,
  plateNumber: v.plateNumber,
  make: v.attributes?.make ?? "",
  model: v.attributes?.model ?? "",
  passengerCapacity: v.attributes?.passengerCapacity ?? null,
  loadLimitKg: v.attributes?.loadLimitKg ?? null,
  status: FLEET_STATUS[v.status] ?? "active",
  fleetRowVersion: v.rowVersion,
  odometerKm: v.odometerKm ?? null,
});

/** Fleet read as maintenance itself: backfills, and vehicles whose event is still on its way. */
export function fleetVehicles(fleet: PeerClient<typeof FleetService>): FleetDirectory {
  return {
    async vehicle(vehicleId) {
      try {
        const { vehicle } = await fleet.getVehicle({ vehicleId }, { as: "service" });
        return vehicle ? fleetVehicleFact(vehicle) : null;
      } catch (err) {
        if (err instanceof DomainError && err.kind === "not_found") return null;
        throw err;
      }
    },
    async *allVehicles() {
      let pageToken = "";
      do {
        const page = await fleet.listVehicles({ page: { pageSize: 500, pageToken } }, { as: "service" });
        for (const v of page.vehicles) yield fleetVehicleFact(v);
        pageToken = page.page?.nextPageToken ?? "";
      } while (pageToken !== "");
    },
  };
}
