import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  OdometerReadingRecordedSchema,
  VehicleRegisteredSchema,
  VehicleStateChangedSchema,
  VehicleUpdatedSchema,
} from "../../../../../gen/fleetmesh/fleet/v1/events_pb.js";
import type { Database } from "../../../../platform/src/db.js";
import { appendToOutbox, outboxMessage, type OutboxMessage } from "../../../../platform/src/events/outbox.js";
import type { Outbox } from "../../app/ports.js";
import type { FleetEvent } from "../../domain/events.js";
import { readingToProto, STATUS_TO_PROTO, vehicleToProto } from "../proto/vehicle-proto.js";

/** The contract message of a fleet domain event (proto/fleetmesh/fleet/v1/events.proto). */
export function toEventMessage(event: FleetEvent): OutboxMessage {
  switch (event.type) {
    case "VehicleRegistered":
      return outboxMessage(VehicleRegisteredSchema, create(VehicleRegisteredSchema, { vehicle: vehicleToProto(event.vehicle) }), event.vehicle.id);
    case "VehicleUpdated":
      return outboxMessage(VehicleUpdatedSchema, create(VehicleUpdatedSchema, {
        vehicle: vehicleToProto(event.vehicle),
        // Paths of Vehicle, as an update mask names them.
        changedFields: event.changedFields.map((f) => `attributes.${f}`),
      }), event.vehicle.id);
    case "VehicleStateChanged":
      return outboxMessage(VehicleStateChangedSchema, create(VehicleStateChangedSchema, {
        vehicleId: event.vehicle.id,
        previousStatus: STATUS_TO_PROTO[event.previousStatus],
        newStatus: STATUS_TO_PROTO[event.vehicle.status],
        reason: event.reason,
        causeRef: event.causeRef,
        rowVersion: event.vehicle.rowVersion,
        changeTime: timestampFromDate(event.vehicle.updatedAt),
      }), event.vehicle.id);
    case "OdometerReadingRecorded":
      return outboxMessage(OdometerReadingRecordedSchema, create(OdometerReadingRecordedSchema, {
        reading: readingToProto(event.reading),
      }), event.reading.vehicleId);
  }
}

/** Fleet's outbox on its own database: the row joins the use case's transaction. */
export const createEventOutbox = (db: Database): Outbox => ({
  async append(event) {
    await appendToOutbox(db.executor(), toEventMessage(event));
  },
});
