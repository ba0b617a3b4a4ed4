import { MaintenanceCancelledSchema, MaintenanceCompletedSchema } from "../../../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { ANONYMOUS } from "../../../../platform/src/auth.js";
import { DomainError } from "../../../../platform/src/errors.js";
import {
  VehicleRegisteredSchema,
  VehicleStateChangedSchema,
  VehicleUpdatedSchema,
} from "../../../../../gen/fleetmesh/fleet/v1/events_pb.js";
import type { Vehicle as ProtoVehicle } from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { handleEvent, type ConsumedEvent, type EventHandler } from "../../../../platform/src/events/consumer.js";
import { PermanentEventError } from "../../../../platform/src/events/failures.js";
import { requireEventUuid, requireFleetStatus } from "../../../../platform/src/events/event-fields.js";
import type { Logger } from "../../../../platform/src/logger.js";
import type { FleetVehicleFact, RentalUseCases } from "../../app/use-case-api.js";

// Rental's copy of fleet's vehicles, kept from fleet.vehicle.v1 events. The
// use cases apply a fact only when its fleet row_version is newer than the
// one stored, so redeliveries and out-of-order events are harmless.

const requireUuid = requireEventUuid;

const requireStatus = requireFleetStatus;

/** The projection's fact from the full Vehicle that VehicleRegistered / VehicleUpdated carry. */
export function fleetVehicleFactOf(vehicle: ProtoVehicle | undefined): FleetVehicleFact {
  if (vehicle === undefined) throw new PermanentEventError("INVALID_EVENT", "vehicle is missing");
  const a = vehicle.attributes;
  return {
    vehicleId: requireUuid("vehicle.id", vehicle.id),
    plateNumber: vehicle.plateNumber,
    make: a?.make ?? "",
    model: a?.model ?? "",
    variant: a?.variant ?? null,
    passengerCapacity: a?.passengerCapacity ?? null,
    loadLimitKg: a?.loadLimitKg ?? null,
    status: requireStatus("vehicle.status", vehicle.status),
    fleetRowVersion: vehicle.rowVersion,
  };
}

/** The consumer acts for no user: audit columns stay empty. */
const SYSTEM_CALLER = ANONYMOUS;

/** Rental's reactions to fleet's vehicle events and maintenance's finished jobs; each runs in the consumer's inbox transaction. */
export function rentalEventHandlers(useCases: RentalUseCases, log: Logger): EventHandler[] {
  const upsert = async (vehicle: ProtoVehicle | undefined, event: ConsumedEvent): Promise<void> => {
    const fact = fleetVehicleFactOf(vehicle);
    await useCases.applyFleetVehicle(fact);
    log.debug({ messageId: event.messageId, eventType: event.eventType, vehicleId: fact.vehicleId, fleetRowVersion: String(fact.fleetRowVersion) },
      "vehicle projection updated");
  };

  // A finished or cancelled maintenance job frees its window on the
  // timeline: maintenance never calls back after its transaction, this event
  // is the release (exactly once through the inbox; an unknown block is
  // one already released or never placed).
  const releaseJobBlock = async (jobId: string, event: ConsumedEvent): Promise<void> => {
    const reference = `maintenance-job:${requireUuid("maintenance_job_id", jobId)}`;
    try {
      await useCases.releaseBlock(reference, SYSTEM_CALLER);
    } catch (err) {
      if (err instanceof DomainError && err.kind === "not_found") return;
      throw err;
    }
    log.debug({ messageId: event.messageId, eventType: event.eventType, reference }, "maintenance block released");
  };

  return [
    handleEvent(MaintenanceCompletedSchema, (m, event) => releaseJobBlock(m.maintenanceJobId, event)),
    handleEvent(MaintenanceCancelledSchema, (m, event) => releaseJobBlock(m.maintenanceJobId, event)),
    handleEvent(VehicleRegisteredSchema, (m, event) => upsert(m.vehicle, event)),
    handleEvent(VehicleUpdatedSchema, (m, event) => upsert(m.vehicle, event)),
    handleEvent(VehicleStateChangedSchema, async (m, event) => {
      const vehicleId = requireUuid("vehicle_id", m.vehicleId);
      const status = requireStatus("new_status", m.newStatus);
      await useCases.applyFleetVehicleStatus(vehicleId, status, m.rowVersion);
      log.debug({ messageId: event.messageId, eventType: event.eventType, vehicleId, status, fleetRowVersion: String(m.rowVersion) },
        "vehicle status applied to the projection");
    }),
  ];
}
