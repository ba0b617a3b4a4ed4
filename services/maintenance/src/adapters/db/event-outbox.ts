import { create } from "@bufbuild/protobuf";
import {
  MaintenanceCancelledSchema,
  MaintenanceCompletedSchema,
  MaintenanceJobUpdatedSchema,
  MaintenancePlanDueSchema,
  MaintenanceScheduledSchema,
  MaintenanceStartedSchema,
  PartStockAdjustedSchema,
  PartStockConsumedSchema,
  PartStockLowSchema,
  PartStockReceivedSchema,
} from "../../../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import type { Database } from "../../../../platform/src/db.js";
import { appendToOutbox, outboxMessage, type OutboxMessage } from "../../../../platform/src/events/outbox.js";
import { optionalMoneyToProto, optionalTimeToProto, textOrEmpty } from "../../../../platform/src/proto-common.js";
import type { Outbox } from "../../app/ports-outbox.js";
import type { MaintenanceEvent } from "../../domain/events.js";
import { MAINTENANCE_KIND_TO_PROTO, MAINTENANCE_STATUS_TO_PROTO } from "../proto/maintenance-enums.js";
import {
  jobCosts,
  maintenanceDueToProto,
  maintenanceJobToProto,
  partToProto,
  partUsedToProto,
  stockMovementToProto,
} from "../proto/maintenance-proto.js";

/**
 * The contract message of a maintenance domain event
 * (proto/fleetmesh/maintenance/v1/events.proto). Job events are keyed by
 * the job id, so one job's events stay in order on one partition; part
 * events by the part id; MaintenancePlanDue by the vehicle id, as the
 * contract says.
 *
 * The job's amounts are those of its message (jobCosts): parts_cost is the
 * parts' sum (zero of the job's currency without a costed part) and
 * total_cost = labor + parts, so the ledger posts what the job shows.
 */
export function toEventMessage(event: MaintenanceEvent): OutboxMessage {
  switch (event.type) {
    case "MaintenanceScheduled":
      return outboxMessage(MaintenanceScheduledSchema, create(MaintenanceScheduledSchema, {
        job: maintenanceJobToProto(event.job),
      }), event.job.id);
    case "MaintenanceJobUpdated":
      return outboxMessage(MaintenanceJobUpdatedSchema, create(MaintenanceJobUpdatedSchema, {
        job: maintenanceJobToProto(event.job),
        changedFields: [...event.changedFields],
      }), event.job.id);
    case "MaintenanceStarted": {
      const { job } = event;
      return outboxMessage(MaintenanceStartedSchema, create(MaintenanceStartedSchema, {
        maintenanceJobId: job.id,
        vehicleId: job.vehicleId,
        kind: MAINTENANCE_KIND_TO_PROTO[job.attributes.kind],
        mechanicId: textOrEmpty(job.mechanicId),
        startTime: optionalTimeToProto(job.startTime),
        odometerKm: job.odometerKm ?? undefined,
        rowVersion: job.rowVersion,
      }), job.id);
    }
    case "MaintenanceCompleted": {
      const { job, parts } = event;
      const costs = jobCosts(job);
      // Completion records the labor cost; were it missing, zero keeps labor + parts = total for the ledger.
      const laborCost = costs.laborCost ?? (costs.currency === null ? null : { amountMinor: 0n, currency: costs.currency });
      return outboxMessage(MaintenanceCompletedSchema, create(MaintenanceCompletedSchema, {
        maintenanceJobId: job.id,
        vehicleId: job.vehicleId,
        kind: MAINTENANCE_KIND_TO_PROTO[job.attributes.kind],
        mechanicId: textOrEmpty(job.mechanicId),
        startTime: optionalTimeToProto(job.startTime),
        completeTime: optionalTimeToProto(job.completeTime),
        // Fleet records it as the vehicle's reading at completion.
        odometerKm: event.returnOdometerKm ?? job.odometerKm ?? undefined,
        laborCost: optionalMoneyToProto(laborCost),
        parts: parts.map(partUsedToProto),
        partsCost: optionalMoneyToProto(costs.partsCost),
        totalCost: optionalMoneyToProto(costs.totalCost),
        rowVersion: job.rowVersion,
      }), job.id);
    }
    case "MaintenanceCancelled": {
      const { job, parts } = event;
      return outboxMessage(MaintenanceCancelledSchema, create(MaintenanceCancelledSchema, {
        maintenanceJobId: job.id,
        vehicleId: job.vehicleId,
        previousStatus: MAINTENANCE_STATUS_TO_PROTO[event.previousStatus],
        reason: textOrEmpty(job.cancelReason),
        cancelTime: optionalTimeToProto(job.cancelTime),
        rowVersion: job.rowVersion,
        parts: parts.map(partUsedToProto),
        partsCost: optionalMoneyToProto(jobCosts(job).partsCost),
      }), job.id);
    }
    case "PartStockReceived":
      return outboxMessage(PartStockReceivedSchema, create(PartStockReceivedSchema, {
        part: partToProto(event.part),
        movement: stockMovementToProto(event.movement),
      }), event.part.id);
    case "PartStockAdjusted":
      return outboxMessage(PartStockAdjustedSchema, create(PartStockAdjustedSchema, {
        part: partToProto(event.part),
        movement: stockMovementToProto(event.movement),
      }), event.part.id);
    case "PartStockConsumed":
      return outboxMessage(PartStockConsumedSchema, create(PartStockConsumedSchema, {
        part: partToProto(event.part),
        movement: stockMovementToProto(event.movement),
        vehicleId: event.vehicleId,
      }), event.part.id);
    case "PartStockLow":
      return outboxMessage(PartStockLowSchema, create(PartStockLowSchema, {
        part: partToProto(event.part),
      }), event.part.id);
    case "MaintenancePlanDue":
      return outboxMessage(MaintenancePlanDueSchema, create(MaintenancePlanDueSchema, {
        due: maintenanceDueToProto(event.due),
      }), event.due.vehicleId);
  }
}

/** Maintenance's outbox on its own database: the row joins the use case's transaction. */
export const createEventOutbox = (db: Database): Outbox => ({
  async append(event) {
    await appendToOutbox(db.executor(), toEventMessage(event));
  },
});
