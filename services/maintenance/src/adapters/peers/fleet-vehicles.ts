import { FleetService } from "../../../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import type { Vehicle } from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import type { PeerClient } from "../../../../platform/src/peers/peer-client.js";
import { fleetStatusName, fleetVehicleReader } from "../../../../platform/src/peers/fleet-vehicles.js";
import type { FleetDirectory } from "../../app/ports.js";
import type { FleetVehicleFact } from "../../app/use-case-api.js";

/** Fleet's contract vehicle as maintenance's projection keeps it (with its odometer). */
export const fleetVehicleFact = (v: Vehicle): FleetVehicleFact => ({
  vehicleId: v.id,
  plateNumber: v.plateNumber,
  make: v.attributes?.make ?? "",
  model: v.attributes?.model ?? "",
  passengerCapacity: v.attributes?.passengerCapacity ?? null,
  loadLimitKg: v.attributes?.loadLimitKg ?? null,
  status: fleetStatusName(v.status) ?? "active",
  fleetRowVersion: v.rowVersion,
  odometerKm: v.odometerKm ?? null,
});

/** Fleet read as maintenance itself: backfills, and vehicles whose event is still on its way. */
export function fleetVehicles(fleet: PeerClient<typeof FleetService>): FleetDirectory {
  const reader = fleetVehicleReader(fleet);
  return {
    vehicle: async (vehicleId) => {
      const v = await reader.vehicle(vehicleId);
      return v === null ? null : fleetVehicleFact(v);
    },
    async *allVehicles() {
      for await (const v of reader.all()) yield fleetVehicleFact(v);
    },
  };
}
