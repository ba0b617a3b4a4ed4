import { RentalService } from "../../../../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DomainError } from "../../../../platform/src/errors.js";
import type { PeerClient } from "../../../../platform/src/peers/peer-client.js";
import type { VehicleTimeline } from "../../app/ports.js";

const period = (p: { start: Date; end: Date }) => ({ startTime: timestampFromDate(p.start), endTime: timestampFromDate(p.end) });

/**
 * Rental's vehicle timeline, called as maintenance itself (its service
 * credential holds maintenance_service), within the peer's deadline; rental's
 * refusals (VEHICLE_NOT_AVAILABLE) and outages (DEPENDENCY_UNAVAILABLE) come
 * back as domain errors through the kit's peer client.
 */
export function rentalTimeline(rental: PeerClient<typeof RentalService>): VehicleTimeline {
  return {
    async block(input) {
      const res = await rental.blockVehicle({
        blockReference: input.reference, vehicleId: input.vehicleId, period: period(input.period), reason: input.reason, urgent: input.urgent,
      }, { as: "service", idempotencyKey: input.idempotencyKey });
      return { displaced: res.displacedRentals.map((r) => ({ rentalId: r.id, originLocationId: r.originLocationId })) };
    },
    async release(reference) {
      try {
        await rental.releaseVehicleBlock({ blockReference: reference }, { as: "service" });
      } catch (err) {
        if (err instanceof DomainError && err.kind === "not_found") return;
        throw err;
      }
    },
    async alternatives(input) {
      const res = await rental.listAvailableVehicles({
        period: period(input.period), locationId: input.locationId ?? "",
        ...(input.minPassengerCapacity !== null ? { minPassengerCapacity: input.minPassengerCapacity } : {}),
        ...(input.minLoadLimitKg !== null ? { minLoadLimitKg: input.minLoadLimitKg } : {}),
        page: { pageSize: 20 },
      }, { as: "service" });
      return res.vehicles.map((v) => ({ vehicleId: v.vehicleId, plateNumber: v.plateNumber, make: v.make, model: v.model }));
    },
  };
}
