import { VehicleStatus as ProtoFleetStatus } from "../../../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { enumFromProto } from "../../../../platform/src/proto-common.js";
import { LocationType as ProtoLocationType } from "../../../../../gen/fleetmesh/rental/v1/location_pb.js";
import {
  PaymentProvider as ProtoPaymentProvider,
  RentalChargeType as ProtoChargeType,
  RentalPaymentKind as ProtoPaymentKind,
  RentalPaymentStatus as ProtoPaymentStatus,
  RentalStatus as ProtoRentalStatus,
  TimelineClaimKind as ProtoClaimKind,
  UnavailabilityReason as ProtoUnavailabilityReason,
} from "../../../../../gen/fleetmesh/rental/v1/rental_pb.js";
import type { VehicleAvailability } from "../../app/use-case-api.js";
import type {
  ChargeType,
  ClaimKind,
  FleetVehicleStatus,
  LocationType,
  PaymentKind,
  PaymentProvider,
  PaymentStatus,
  RentalStatus,
} from "../../domain/model.js";

// Domain <-> contract enums. Each table is total over the domain type (the
// compiler checks it), so a new domain value cannot be forgotten here.
// fromProto: null for UNSPECIFIED, undefined for a number this build does
// not know (a newer client); callers turn both into field violations.

type Unavailability = VehicleAvailability["reasons"][number];

const reverse = enumFromProto;

export const LOCATION_TYPE_TO_PROTO: Readonly<Record<LocationType, ProtoLocationType>> = {
  depot: ProtoLocationType.DEPOT,
  city: ProtoLocationType.CITY,
  custom: ProtoLocationType.CUSTOM,
};
export const locationTypeFromProto = reverse(LOCATION_TYPE_TO_PROTO);

export const RENTAL_STATUS_TO_PROTO: Readonly<Record<RentalStatus, ProtoRentalStatus>> = {
  reserved: ProtoRentalStatus.RESERVED,
  active: ProtoRentalStatus.ACTIVE,
  completed: ProtoRentalStatus.COMPLETED,
  cancelled: ProtoRentalStatus.CANCELLED,
  no_show: ProtoRentalStatus.NO_SHOW,
};
export const rentalStatusFromProto = reverse(RENTAL_STATUS_TO_PROTO);

export const CHARGE_TYPE_TO_PROTO: Readonly<Record<ChargeType, ProtoChargeType>> = {
  base: ProtoChargeType.BASE,
  extra_day: ProtoChargeType.EXTRA_DAY,
  distance: ProtoChargeType.DISTANCE,
  late_fee: ProtoChargeType.LATE_FEE,
  damage: ProtoChargeType.DAMAGE,
  fuel: ProtoChargeType.FUEL,
  cancellation_fee: ProtoChargeType.CANCELLATION_FEE,
  discount: ProtoChargeType.DISCOUNT,
  other: ProtoChargeType.OTHER,
  no_show_fee: ProtoChargeType.NO_SHOW_FEE,
  driver: ProtoChargeType.DRIVER,
  conductor: ProtoChargeType.CONDUCTOR,
  deposit: ProtoChargeType.DEPOSIT,
};
export const chargeTypeFromProto = reverse(CHARGE_TYPE_TO_PROTO);

export const PAYMENT_PROVIDER_TO_PROTO: Readonly<Record<PaymentProvider, ProtoPaymentProvider>> = {
  cash: ProtoPaymentProvider.CASH,
  card: ProtoPaymentProvider.CARD,
  transfer: ProtoPaymentProvider.TRANSFER,
};
export const paymentProviderFromProto = reverse(PAYMENT_PROVIDER_TO_PROTO);

export const PAYMENT_KIND_TO_PROTO: Readonly<Record<PaymentKind, ProtoPaymentKind>> = {
  payment: ProtoPaymentKind.PAYMENT,
  deposit: ProtoPaymentKind.DEPOSIT,
};
export const paymentKindFromProto = reverse(PAYMENT_KIND_TO_PROTO);

export const PAYMENT_STATUS_TO_PROTO: Readonly<Record<PaymentStatus, ProtoPaymentStatus>> = {
  pending: ProtoPaymentStatus.PENDING,
  captured: ProtoPaymentStatus.CAPTURED,
  failed: ProtoPaymentStatus.FAILED,
  refunded: ProtoPaymentStatus.REFUNDED,
  held: ProtoPaymentStatus.HELD,
  released: ProtoPaymentStatus.RELEASED,
  settled: ProtoPaymentStatus.SETTLED,
};
export const paymentStatusFromProto = reverse(PAYMENT_STATUS_TO_PROTO);

export const CLAIM_KIND_TO_PROTO: Readonly<Record<ClaimKind, ProtoClaimKind>> = {
  rental: ProtoClaimKind.RENTAL,
  block: ProtoClaimKind.BLOCK,
};
export const claimKindFromProto = reverse(CLAIM_KIND_TO_PROTO);

export const UNAVAILABILITY_TO_PROTO: Readonly<Record<Unavailability, ProtoUnavailabilityReason>> = {
  overlapping_rental: ProtoUnavailabilityReason.OVERLAPPING_RENTAL,
  vehicle_decommissioned: ProtoUnavailabilityReason.VEHICLE_DECOMMISSIONED,
  vehicle_not_found: ProtoUnavailabilityReason.VEHICLE_NOT_FOUND,
  vehicle_blocked: ProtoUnavailabilityReason.VEHICLE_BLOCKED,
  vehicle_out_of_service: ProtoUnavailabilityReason.VEHICLE_OUT_OF_SERVICE,
  at_other_location: ProtoUnavailabilityReason.AT_OTHER_LOCATION,
};
export const unavailabilityFromProto = reverse(UNAVAILABILITY_TO_PROTO);

/** Fleet's vehicle status as fleet.vehicle.v1 events carry it. */
export const FLEET_STATUS_TO_PROTO: Readonly<Record<FleetVehicleStatus, ProtoFleetStatus>> = {
  active: ProtoFleetStatus.ACTIVE,
  rented: ProtoFleetStatus.RENTED,
  under_maintenance: ProtoFleetStatus.UNDER_MAINTENANCE,
  decommissioned: ProtoFleetStatus.DECOMMISSIONED,
};
export const fleetStatusFromProto = reverse(FLEET_STATUS_TO_PROTO);
