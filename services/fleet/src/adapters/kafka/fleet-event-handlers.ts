import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  MaintenanceCancelledSchema,
  MaintenanceCompletedSchema,
  MaintenanceStartedSchema,
} from "../../../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { MaintenanceStatus } from "../../../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import {
  RentalActivatedSchema,
  RentalCancelledSchema,
  RentalCompletedSchema,
} from "../../../../../gen/fleetmesh/rental/v1/events_pb.js";
import { RentalStatus } from "../../../../../gen/fleetmesh/rental/v1/rental_pb.js";
import { handleEvent, type ConsumedEvent, type EventHandler } from "../../../../platform/src/events/consumer.js";
import { DomainError } from "../../../../platform/src/errors.js";
import { requireEventUuid } from "../../../../platform/src/events/event-fields.js";
import { DeferredEventError } from "../../../../platform/src/events/failures.js";
import type { Logger } from "../../../../platform/src/logger.js";
import type { FleetUseCases, HoldChangeResult } from "../../app/fleet-use-cases.js";
import type { VehicleHold } from "../../domain/vehicle.js";

const requireUuid = requireEventUuid;

/** The event's own time, else when it occurred, else now. */
const timeOf = (t: Timestamp | undefined, event: ConsumedEvent): Date =>
  t !== undefined ? timestampDate(t) : (event.occurredAt ?? new Date());

/**
 * Hold conflicts that a later event resolves: a take while another rental or
 * job holds the vehicle (its release has not arrived), a release by a rental
 * or job whose take has not arrived. Events of different rentals and jobs
 * come on different keys and topics, in any order.
 */
export const NOT_YET_REASONS: ReadonlySet<string> = new Set(["VEHICLE_IN_USE", "HOLD_NOT_TAKEN"]);

/**
 * Runs a hold change; a "not yet" conflict becomes a DeferredEventError
 * parked on the vehicle (the kit re-drives it, in arrival order per
 * vehicle, until the park window expires). Other domain errors stay what
 * they are: permanent (dead-lettered at once).
 */
export async function deferringConflicts<T>(vehicleId: string, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    if (err instanceof DomainError && err.kind === "failed_precondition" && NOT_YET_REASONS.has(err.reason)) {
      throw new DeferredEventError(err.reason, err.message, { parkKey: `vehicles/${vehicleId}`, cause: err });
    }
    throw err;
  }
}

/**
 * Fleet's reactions to rental and maintenance events: the vehicle state
 * machine driven from outside (docs/events.md, "Fleet consumer"). Each
 * runs in the consumer's inbox transaction. Hold conflicts that a later
 * event resolves are deferred (parked and retried, see deferringConflicts);
 * impossible transitions (a decommissioned vehicle taken, an unknown
 * vehicle) raise FAILED_PRECONDITION / NOT_FOUND domain errors, which the
 * consumer dead-letters at once.
 */
export function fleetEventHandlers(useCases: FleetUseCases, log: Logger): EventHandler[] {
  const rental = (id: string): VehicleHold => ({ kind: "rental", id: requireUuid("rental_id", id) });
  const job = (id: string): VehicleHold => ({ kind: "maintenance_job", id: requireUuid("maintenance_job_id", id) });
  const report = (result: HoldChangeResult, event: ConsumedEvent, vehicleId: string): void => {
    if (!result.changed) log.info({ messageId: event.messageId, eventType: event.eventType, vehicleId }, "vehicle already in the state the event asks for");
    if (result.odometerSkipped) {
      log.warn({ messageId: event.messageId, eventType: event.eventType, vehicleId, why: result.odometerSkipped },
        "odometer reading from the event not recorded");
    }
  };

  return [
    handleEvent(RentalActivatedSchema, async (m, event) => {
      const vehicleId = requireUuid("vehicle_id", m.vehicleId);
      report(await deferringConflicts(vehicleId, () => useCases.takeVehicle({
        vehicleId, hold: rental(m.rentalId), at: timeOf(m.pickupTime, event), odometerKm: m.pickupOdometerKm ?? null, reason: "rental activated",
      })), event, vehicleId);
    }),
    handleEvent(RentalCompletedSchema, async (m, event) => {
      const vehicleId = requireUuid("vehicle_id", m.vehicleId);
      report(await deferringConflicts(vehicleId, () => useCases.releaseVehicle({
        vehicleId, hold: rental(m.rentalId), at: timeOf(m.returnTime, event), odometerKm: m.returnOdometerKm ?? null, reason: "rental completed",
      })), event, vehicleId);
    }),
    handleEvent(RentalCancelledSchema, async (m, event) => {
      // A RESERVED rental never took the vehicle: nothing to release.
      if (m.previousStatus !== RentalStatus.ACTIVE) return;
      const vehicleId = requireUuid("vehicle_id", m.vehicleId);
      report(await deferringConflicts(vehicleId, () => useCases.releaseVehicle({
        vehicleId, hold: rental(m.rentalId), at: timeOf(m.cancelTime, event), odometerKm: null, reason: "rental cancelled",
      })), event, vehicleId);
    }),
    handleEvent(MaintenanceStartedSchema, async (m, event) => {
      const vehicleId = requireUuid("vehicle_id", m.vehicleId);
      report(await deferringConflicts(vehicleId, () => useCases.takeVehicle({
        vehicleId, hold: job(m.maintenanceJobId), at: timeOf(m.startTime, event), odometerKm: m.odometerKm ?? null, reason: "maintenance started",
      })), event, vehicleId);
    }),
    handleEvent(MaintenanceCompletedSchema, async (m, event) => {
      const vehicleId = requireUuid("vehicle_id", m.vehicleId);
      report(await deferringConflicts(vehicleId, () => useCases.releaseVehicle({
        vehicleId, hold: job(m.maintenanceJobId), at: timeOf(m.completeTime, event), odometerKm: m.odometerKm ?? null, reason: "maintenance completed",
      })), event, vehicleId);
    }),
    handleEvent(MaintenanceCancelledSchema, async (m, event) => {
      // A job cancelled before it started never took the vehicle.
      if (m.previousStatus !== MaintenanceStatus.IN_PROGRESS) return;
      const vehicleId = requireUuid("vehicle_id", m.vehicleId);
      report(await deferringConflicts(vehicleId, () => useCases.releaseVehicle({
        vehicleId, hold: job(m.maintenanceJobId), at: timeOf(m.cancelTime, event), odometerKm: null, reason: "maintenance cancelled",
      })), event, vehicleId);
    }),
  ];
}
