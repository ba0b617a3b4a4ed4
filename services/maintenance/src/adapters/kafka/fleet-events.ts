import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  OdometerReadingRecordedSchema,
  VehicleRegisteredSchema,
  VehicleStateChangedSchema,
  VehicleUpdatedSchema,
} from "../../../../../gen/fleetmesh/fleet/v1/events_pb.js";
import {
  type OdometerReading as ProtoOdometerReading,
  type Vehicle as ProtoVehicle,
} from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { handleEvent, type ConsumedEvent, type EventHandler } from "../../../../platform/src/events/consumer.js";
import { PermanentEventError } from "../../../../platform/src/events/failures.js";
import { requireEventUuid, requireFleetStatus } from "../../../../platform/src/events/event-fields.js";
import type { Logger } from "../../../../platform/src/logger.js";
import type { FleetVehicleFact, MaintenanceUseCases } from "../../app/use-case-api.js";

// Maintenance's copy of fleet's vehicles, kept from fleet.vehicle.v1 events:
// status (a decommissioned vehicle gets no job; a rented one cannot start),
// make and model (plans by make and model), odometer (plans by kilometres,
// cost per km). The use cases apply a fact only when its fleet row_version
// is newer than the one stored, and a reading only when it is newer, so
// redeliveries and out-of-order events are harmless.

const requireUuid = requireEventUuid;

const requireStatus = requireFleetStatus;

const requireKm = (field: string, value: number): number => {
  if (!Number.isInteger(value) || value < 0) throw new PermanentEventError("INVALID_EVENT", `${field} must not be negative, got ${value}`);
  return value;
};

/** The projection's fact from the full Vehicle that VehicleRegistered / VehicleUpdated carry. */
export function fleetVehicleFactOf(vehicle: ProtoVehicle | undefined): FleetVehicleFact {
  if (vehicle === undefined) throw new PermanentEventError("INVALID_EVENT", "vehicle is missing");
  const a = vehicle.attributes;
  return {
    vehicleId: requireUuid("vehicle.id", vehicle.id),
    plateNumber: vehicle.plateNumber,
    make: a?.make ?? "",
    model: a?.model ?? "",
    passengerCapacity: a?.passengerCapacity ?? null,
    loadLimitKg: a?.loadLimitKg ?? null,
    status: requireStatus("vehicle.status", vehicle.status),
    fleetRowVersion: vehicle.rowVersion,
    odometerKm: vehicle.odometerKm === undefined ? null : requireKm("vehicle.odometer_km", vehicle.odometerKm),
  };
}

/** A reading: its vehicle, kilometres >= 0, and when it was taken (the envelope's time when the reading has none). */
export function odometerReadingOf(
  reading: ProtoOdometerReading | undefined,
  occurredAt: Date | undefined,
): { readonly vehicleId: string; readonly readingKm: number; readonly at: Date } {
  if (reading === undefined) throw new PermanentEventError("INVALID_EVENT", "reading is missing");
  const at = reading.recordTime === undefined ? occurredAt : timestampDate(reading.recordTime);
  if (at === undefined || Number.isNaN(at.getTime())) throw new PermanentEventError("INVALID_EVENT", "reading.record_time is missing");
  return {
    vehicleId: requireUuid("reading.vehicle_id", reading.vehicleId),
    readingKm: requireKm("reading.reading_km", reading.readingKm),
    at,
  };
}

/** Maintenance's reactions to fleet's vehicle events; each runs in the consumer's inbox transaction. */
export function maintenanceEventHandlers(useCases: MaintenanceUseCases, log: Logger): EventHandler[] {
  const upsert = async (vehicle: ProtoVehicle | undefined, event: ConsumedEvent): Promise<void> => {
    const fact = fleetVehicleFactOf(vehicle);
    await useCases.applyFleetVehicle(fact);
    log.debug({ messageId: event.messageId, eventType: event.eventType, vehicleId: fact.vehicleId, fleetRowVersion: String(fact.fleetRowVersion) },
      "vehicle projection updated");
  };

  return [
    handleEvent(VehicleRegisteredSchema, (m, event) => upsert(m.vehicle, event)),
    handleEvent(VehicleUpdatedSchema, (m, event) => upsert(m.vehicle, event)),
    handleEvent(VehicleStateChangedSchema, async (m, event) => {
      const vehicleId = requireUuid("vehicle_id", m.vehicleId);
      const status = requireStatus("new_status", m.newStatus);
      await useCases.applyFleetVehicleStatus(vehicleId, status, m.rowVersion);
      log.debug({ messageId: event.messageId, eventType: event.eventType, vehicleId, status, fleetRowVersion: String(m.rowVersion) },
        "vehicle status applied to the projection");
    }),
    handleEvent(OdometerReadingRecordedSchema, async (m, event) => {
      const { vehicleId, readingKm, at } = odometerReadingOf(m.reading, event.occurredAt);
      await useCases.applyOdometerReading(vehicleId, readingKm, at);
      log.debug({ messageId: event.messageId, eventType: event.eventType, vehicleId, readingKm }, "odometer reading applied to the projection");
    }),
  ];
}
