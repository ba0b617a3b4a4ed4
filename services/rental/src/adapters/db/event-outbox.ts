import { create } from "@bufbuild/protobuf";
import {
  RentalActivatedSchema,
  RentalCancelledSchema,
  RentalCompletedSchema,
  RentalDriverAssignedSchema,
  RentalExtendedSchema,
  RentalMarkedAtRiskSchema,
  RentalMarkedNoShowSchema,
  RentalOverdueSchema,
  RentalPaymentRecordedSchema,
  RentalPaymentStatusChangedSchema,
  RentalReservedSchema,
  VehicleBlockPlacedSchema,
  VehicleBlockReleasedSchema,
} from "../../../../../gen/fleetmesh/rental/v1/events_pb.js";
import type { Database } from "../../../../platform/src/db.js";
import { appendToOutbox, outboxMessage, type OutboxMessage } from "../../../../platform/src/events/outbox.js";
import type { Outbox } from "../../app/ports-outbox.js";
import type { RentalEvent } from "../../domain/events.js";
import {
  moneyToProto,
  optionalMoneyToProto,
  optionalTimeToProto,
  periodToProto,
  textOrEmpty,
  timeToProto,
} from "../proto/common-proto.js";
import { PAYMENT_STATUS_TO_PROTO, RENTAL_STATUS_TO_PROTO } from "../proto/rental-enums.js";
import { rentalChargeToProto, rentalPaymentToProto, rentalToProto, vehicleBlockToProto } from "../proto/rental-proto.js";

/**
 * The contract message of a rental domain event
 * (proto/fleetmesh/rental/v1/events.proto). Rental events are keyed by the
 * rental id, so one rental's events stay in order on one partition; block
 * events by the vehicle id, so a vehicle's blocks do.
 */
export function toEventMessage(event: RentalEvent): OutboxMessage {
  switch (event.type) {
    case "RentalReserved": {
      const { rental, charges } = event;
      return outboxMessage(RentalReservedSchema, create(RentalReservedSchema, {
        rental: rentalToProto(rental),
        charges: charges.map(rentalChargeToProto),
      }), rental.id);
    }
    case "RentalActivated": {
      const { rental } = event;
      return outboxMessage(RentalActivatedSchema, create(RentalActivatedSchema, {
        rentalId: rental.id,
        vehicleId: rental.vehicleId,
        customerId: rental.customerId,
        driverId: textOrEmpty(rental.driverId),
        period: periodToProto(rental.period),
        pickupTime: optionalTimeToProto(rental.pickupTime),
        pickupOdometerKm: rental.pickupOdometerKm ?? undefined,
        originLocationId: rental.originLocationId,
        rowVersion: rental.rowVersion,
      }), rental.id);
    }
    case "RentalCompleted": {
      const { rental, charges } = event;
      return outboxMessage(RentalCompletedSchema, create(RentalCompletedSchema, {
        rentalId: rental.id,
        vehicleId: rental.vehicleId,
        customerId: rental.customerId,
        driverId: textOrEmpty(rental.driverId),
        pricingPlanId: rental.pricingPlanId,
        period: periodToProto(rental.period),
        pickupTime: optionalTimeToProto(rental.pickupTime),
        returnTime: optionalTimeToProto(rental.returnTime),
        pickupOdometerKm: rental.pickupOdometerKm ?? undefined,
        returnOdometerKm: rental.returnOdometerKm ?? undefined,
        originLocationId: rental.originLocationId,
        // Completion sets it (the destination by default); the adapter adds nothing of its own.
        returnLocationId: textOrEmpty(rental.returnLocationId),
        conductorId: textOrEmpty(rental.conductorId),
        charges: charges.map(rentalChargeToProto),
        chargesTotal: moneyToProto(rental.chargesTotal),
        paidTotal: moneyToProto(rental.paidTotal),
        rowVersion: rental.rowVersion,
      }), rental.id);
    }
    case "RentalCancelled": {
      const { rental, charges } = event;
      return outboxMessage(RentalCancelledSchema, create(RentalCancelledSchema, {
        rentalId: rental.id,
        vehicleId: rental.vehicleId,
        customerId: rental.customerId,
        period: periodToProto(rental.period),
        previousStatus: RENTAL_STATUS_TO_PROTO[event.previousStatus],
        reason: textOrEmpty(rental.cancelReason),
        cancelTime: optionalTimeToProto(rental.cancelTime),
        charges: charges.map(rentalChargeToProto),
        rowVersion: rental.rowVersion,
        driverId: textOrEmpty(rental.driverId),
        paidTotal: moneyToProto(rental.paidTotal),
        conductorId: textOrEmpty(rental.conductorId),
      }), rental.id);
    }
    case "RentalPaymentRecorded": {
      const { rental, payment } = event;
      return outboxMessage(RentalPaymentRecordedSchema, create(RentalPaymentRecordedSchema, {
        payment: rentalPaymentToProto(payment),
        vehicleId: rental.vehicleId,
        customerId: rental.customerId,
      }), rental.id);
    }
    case "RentalPaymentStatusChanged": {
      const { rental, payment } = event;
      return outboxMessage(RentalPaymentStatusChangedSchema, create(RentalPaymentStatusChangedSchema, {
        payment: rentalPaymentToProto(payment),
        previousStatus: PAYMENT_STATUS_TO_PROTO[event.previousStatus],
        customerId: rental.customerId,
        changeAmount: moneyToProto(event.changeAmount),
        refundedAmount: optionalMoneyToProto(event.refundedAmount),
      }), rental.id);
    }
    case "RentalDriverAssigned": {
      const { rental } = event;
      return outboxMessage(RentalDriverAssignedSchema, create(RentalDriverAssignedSchema, {
        rentalId: rental.id,
        vehicleId: rental.vehicleId,
        driverId: textOrEmpty(rental.driverId),
        previousDriverId: textOrEmpty(event.previousDriverId),
        rowVersion: rental.rowVersion,
      }), rental.id);
    }
    case "RentalExtended": {
      const { rental, charges } = event;
      return outboxMessage(RentalExtendedSchema, create(RentalExtendedSchema, {
        rentalId: rental.id,
        vehicleId: rental.vehicleId,
        customerId: rental.customerId,
        previousPeriod: periodToProto(event.previousPeriod),
        period: periodToProto(rental.period),
        charges: charges.map(rentalChargeToProto),
        rowVersion: rental.rowVersion,
      }), rental.id);
    }
    case "RentalMarkedAtRisk": {
      const { rental } = event;
      return outboxMessage(RentalMarkedAtRiskSchema, create(RentalMarkedAtRiskSchema, {
        rentalId: rental.id,
        vehicleId: rental.vehicleId,
        customerId: rental.customerId,
        period: periodToProto(rental.period),
        reason: event.reason,
        causeRef: event.causeRef,
        rowVersion: rental.rowVersion,
      }), rental.id);
    }
    case "RentalOverdue": {
      const { rental } = event;
      return outboxMessage(RentalOverdueSchema, create(RentalOverdueSchema, {
        rentalId: rental.id,
        vehicleId: rental.vehicleId,
        customerId: rental.customerId,
        period: periodToProto(rental.period),
        detectTime: timeToProto(event.detectedAt),
        nextRentalId: textOrEmpty(event.nextRentalId),
      }), rental.id);
    }
    case "RentalMarkedNoShow": {
      const { rental, charges } = event;
      return outboxMessage(RentalMarkedNoShowSchema, create(RentalMarkedNoShowSchema, {
        rentalId: rental.id,
        vehicleId: rental.vehicleId,
        customerId: rental.customerId,
        period: periodToProto(rental.period),
        noShowTime: optionalTimeToProto(rental.noShowTime),
        charges: charges.map(rentalChargeToProto),
        paidTotal: moneyToProto(rental.paidTotal),
        rowVersion: rental.rowVersion,
      }), rental.id);
    }
    case "VehicleBlockPlaced":
      return outboxMessage(VehicleBlockPlacedSchema, create(VehicleBlockPlacedSchema, {
        block: vehicleBlockToProto(event.block),
        displacedRentalIds: [...event.displacedRentalIds],
      }), event.block.vehicleId);
    case "VehicleBlockReleased":
      return outboxMessage(VehicleBlockReleasedSchema, create(VehicleBlockReleasedSchema, {
        block: vehicleBlockToProto(event.block),
      }), event.block.vehicleId);
  }
}

/** Rental's outbox on its own database: the row joins the use case's transaction. */
export const createEventOutbox = (db: Database): Outbox => ({
  async append(event) {
    await appendToOutbox(db.executor(), toEventMessage(event));
  },
});
