import { create } from "@bufbuild/protobuf";
import {
  LocationAttributesSchema,
  LocationSchema,
  type Location as ProtoLocation,
  type LocationAttributes as ProtoLocationAttributes,
} from "../../../../../gen/fleetmesh/rental/v1/location_pb.js";
import {
  CancellationPolicySchema,
  PricingPlanRatesSchema,
  PricingPlanSchema,
  type PricingPlan as ProtoPricingPlan,
  type PricingPlanRates as ProtoPricingPlanRates,
} from "../../../../../gen/fleetmesh/rental/v1/pricing_plan_pb.js";
import {
  QuoteLineSchema,
  QuoteSchema,
  RentalChargeSchema,
  RentalPaymentSchema,
  RentalSchema,
  RentalStatus as ProtoRentalStatus,
  RentalTermsSchema,
  TimelineClaimSchema,
  VehicleAvailabilitySchema,
  VehicleBlockSchema,
  VehicleSummarySchema,
  type Quote as ProtoQuote,
  type QuoteLine as ProtoQuoteLine,
  type Rental as ProtoRental,
  type RentalCharge as ProtoRentalCharge,
  type RentalPayment as ProtoRentalPayment,
  type RentalTerms as ProtoRentalTerms,
  type TimelineClaim as ProtoTimelineClaim,
  type VehicleAvailability as ProtoVehicleAvailability,
  type VehicleBlock as ProtoVehicleBlock,
  type VehicleSummary as ProtoVehicleSummary,
} from "../../../../../gen/fleetmesh/rental/v1/rental_pb.js";
import type { VehicleAtLocation, VehicleAvailability } from "../../app/use-case-api.js";
import type {
  Location,
  LocationAttributes,
  PricingPlan,
  PricingRates,
  Quote,
  QuoteLine,
  Rental,
  RentalCharge,
  RentalPayment,
  RentalTerms,
  TimelineClaim,
  VehicleBlock,
} from "../../domain/model.js";
import {
  moneyToProto,
  optionalMoneyToProto,
  optionalTimeToProto,
  periodToProto,
  textOrEmpty,
  timeToProto,
} from "./common-proto.js";
import {
  CHARGE_TYPE_TO_PROTO,
  CLAIM_KIND_TO_PROTO,
  LOCATION_TYPE_TO_PROTO,
  PAYMENT_KIND_TO_PROTO,
  PAYMENT_PROVIDER_TO_PROTO,
  PAYMENT_STATUS_TO_PROTO,
  RENTAL_STATUS_TO_PROTO,
  UNAVAILABILITY_TO_PROTO,
} from "./rental-enums.js";

// Domain -> contract messages, shared by the gRPC handlers and the event
// outbox. Absent values (null) become unset optional fields or "" for
// proto3 strings; nothing here validates: the domain values are trusted.

export function locationAttributesToProto(a: LocationAttributes): ProtoLocationAttributes {
  return create(LocationAttributesSchema, {
    name: a.name,
    type: LOCATION_TYPE_TO_PROTO[a.type],
    address: a.address ?? undefined,
    timeZone: a.timeZone,
  });
}

export function locationToProto(l: Location): ProtoLocation {
  return create(LocationSchema, {
    id: l.id,
    attributes: locationAttributesToProto(l.attributes),
    rowVersion: l.rowVersion,
    createTime: timeToProto(l.createdAt),
    updateTime: timeToProto(l.updatedAt),
    createdBy: textOrEmpty(l.createdBy),
    updatedBy: textOrEmpty(l.updatedBy),
  });
}

export function pricingRatesToProto(r: PricingRates): ProtoPricingPlanRates {
  return create(PricingPlanRatesSchema, {
    currencyCode: r.currency,
    dailyRate: moneyToProto(r.dailyRate),
    perKmRate: optionalMoneyToProto(r.perKmRate),
    includedKmPerDay: r.includedKmPerDay ?? undefined,
    hourlyRate: optionalMoneyToProto(r.hourlyRate),
    lateFeePerHour: optionalMoneyToProto(r.lateFeePerHour),
    lateGraceMinutes: r.lateGraceMinutes,
    lateFeeCap: optionalMoneyToProto(r.lateFeeCap),
    cancellation: r.cancellation === null
      ? undefined
      : create(CancellationPolicySchema, { freeUntilHoursBefore: r.cancellation.freeUntilHoursBefore, fee: moneyToProto(r.cancellation.fee) }),
    noShowFee: optionalMoneyToProto(r.noShowFee),
    deposit: optionalMoneyToProto(r.deposit),
  });
}

export function pricingPlanToProto(p: PricingPlan): ProtoPricingPlan {
  return create(PricingPlanSchema, {
    id: p.id,
    name: p.name,
    description: p.description,
    rates: pricingRatesToProto(p.rates),
    archived: p.archivedAt !== null,
    archiveTime: optionalTimeToProto(p.archivedAt),
    rowVersion: p.rowVersion,
    createTime: timeToProto(p.createdAt),
    updateTime: timeToProto(p.updatedAt),
    createdBy: textOrEmpty(p.createdBy),
    updatedBy: textOrEmpty(p.updatedBy),
  });
}

export function rentalTermsToProto(t: RentalTerms): ProtoRentalTerms {
  return create(RentalTermsSchema, {
    vehicleId: t.vehicleId,
    period: periodToProto(t.period),
    originLocationId: t.originLocationId,
    destinationLocationId: t.destinationLocationId,
    pricingPlanId: t.pricingPlanId,
    estimatedDistanceKm: t.estimatedDistanceKm ?? undefined,
    driverId: textOrEmpty(t.driverId),
    conductorId: textOrEmpty(t.conductorId),
  });
}

export function quoteLineToProto(l: QuoteLine): ProtoQuoteLine {
  return create(QuoteLineSchema, {
    type: CHARGE_TYPE_TO_PROTO[l.type],
    description: l.description,
    quantity: l.quantity,
    unitPrice: moneyToProto(l.unitPrice),
    amount: moneyToProto(l.amount),
    estimated: l.estimated,
  });
}

export function quoteToProto(q: Quote): ProtoQuote {
  return create(QuoteSchema, {
    id: q.id,
    terms: rentalTermsToProto(q.terms),
    lines: q.lines.map(quoteLineToProto),
    total: moneyToProto(q.total),
    expireTime: timeToProto(q.expiresAt),
    createTime: timeToProto(q.createdAt),
    createdBy: textOrEmpty(q.createdBy),
    customerId: q.customerId,
    deposit: optionalMoneyToProto(q.deposit),
    hourly: q.hourly,
    rentalDays: q.rentalDays,
  });
}

export function rentalToProto(r: Rental): ProtoRental {
  return create(RentalSchema, {
    id: r.id,
    vehicleId: r.vehicleId,
    customerId: r.customerId,
    driverId: textOrEmpty(r.driverId),
    period: periodToProto(r.period),
    originLocationId: r.originLocationId,
    destinationLocationId: r.destinationLocationId,
    pricingPlanId: r.pricingPlanId,
    quoteId: textOrEmpty(r.quoteId),
    status: RENTAL_STATUS_TO_PROTO[r.status],
    currencyCode: r.currency,
    chargesTotal: moneyToProto(r.chargesTotal),
    paidTotal: moneyToProto(r.paidTotal),
    pickupTime: optionalTimeToProto(r.pickupTime),
    pickupOdometerKm: r.pickupOdometerKm ?? undefined,
    returnTime: optionalTimeToProto(r.returnTime),
    returnOdometerKm: r.returnOdometerKm ?? undefined,
    returnLocationId: textOrEmpty(r.returnLocationId),
    notes: r.notes,
    cancelReason: textOrEmpty(r.cancelReason),
    cancelTime: optionalTimeToProto(r.cancelTime),
    rowVersion: r.rowVersion,
    createTime: timeToProto(r.createdAt),
    updateTime: timeToProto(r.updatedAt),
    createdBy: textOrEmpty(r.createdBy),
    updatedBy: textOrEmpty(r.updatedBy),
    conductorId: textOrEmpty(r.conductorId),
    atRisk: r.atRisk,
    atRiskReason: textOrEmpty(r.atRiskReason),
    timeZone: r.timeZone,
    deposit: optionalMoneyToProto(r.deposit),
    noShowTime: optionalTimeToProto(r.noShowTime),
  });
}

export function rentalChargeToProto(c: RentalCharge): ProtoRentalCharge {
  return create(RentalChargeSchema, {
    id: c.id,
    rentalId: c.rentalId,
    type: CHARGE_TYPE_TO_PROTO[c.type],
    description: c.description,
    quantity: c.quantity,
    unitPrice: moneyToProto(c.unitPrice),
    amount: moneyToProto(c.amount),
    createTime: timeToProto(c.createdAt),
    createdBy: textOrEmpty(c.createdBy),
  });
}

export function rentalPaymentToProto(p: RentalPayment): ProtoRentalPayment {
  return create(RentalPaymentSchema, {
    id: p.id,
    rentalId: p.rentalId,
    provider: PAYMENT_PROVIDER_TO_PROTO[p.provider],
    amount: moneyToProto(p.amount),
    status: PAYMENT_STATUS_TO_PROTO[p.status],
    externalReference: p.externalReference,
    statusReason: p.statusReason,
    rowVersion: p.rowVersion,
    createTime: timeToProto(p.createdAt),
    updateTime: timeToProto(p.updatedAt),
    createdBy: textOrEmpty(p.createdBy),
    updatedBy: textOrEmpty(p.updatedBy),
    kind: PAYMENT_KIND_TO_PROTO[p.kind],
    refundedAmount: moneyToProto(p.refundedAmount),
    appliedAmount: moneyToProto(p.appliedAmount),
  });
}

export function vehicleBlockToProto(b: VehicleBlock): ProtoVehicleBlock {
  return create(VehicleBlockSchema, {
    blockReference: b.reference,
    vehicleId: b.vehicleId,
    period: periodToProto(b.period),
    reason: b.reason,
    urgent: b.urgent,
    released: b.releasedAt !== null,
    createTime: timeToProto(b.createdAt),
    releaseTime: optionalTimeToProto(b.releasedAt),
    createdBy: textOrEmpty(b.createdBy),
  });
}

export function timelineClaimToProto(c: TimelineClaim): ProtoTimelineClaim {
  return create(TimelineClaimSchema, {
    kind: CLAIM_KIND_TO_PROTO[c.kind],
    period: periodToProto(c.period),
    reference: c.reference,
    rentalStatus: c.rentalStatus === null ? ProtoRentalStatus.UNSPECIFIED : RENTAL_STATUS_TO_PROTO[c.rentalStatus],
    reason: c.reason,
    urgent: c.urgent,
    atRisk: c.atRisk,
  });
}

/** The picker's view of a projected vehicle; its fleet status and row version stay internal. */
export function vehicleSummaryToProto(v: VehicleAtLocation): ProtoVehicleSummary {
  return create(VehicleSummarySchema, {
    vehicleId: v.vehicleId,
    plateNumber: v.plateNumber,
    make: v.make,
    model: v.model,
    variant: v.variant ?? undefined,
    passengerCapacity: v.passengerCapacity ?? undefined,
    loadLimitKg: v.loadLimitKg ?? undefined,
    locationId: textOrEmpty(v.locationId),
  });
}

export function vehicleAvailabilityToProto(a: VehicleAvailability): ProtoVehicleAvailability {
  return create(VehicleAvailabilitySchema, {
    vehicleId: a.vehicleId,
    available: a.available,
    reasons: a.reasons.map((r) => UNAVAILABILITY_TO_PROTO[r]),
    conflictingPeriods: a.conflictingPeriods.map(periodToProto),
  });
}
