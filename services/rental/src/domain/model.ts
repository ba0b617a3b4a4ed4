// Rental's domain model: plain data, no transport or persistence.
import type { Money } from "../../../platform/src/money.js";

/** Half-open [start, end). */
export interface Period {
  readonly start: Date;
  readonly end: Date;
}

export type LocationType = "depot" | "city" | "custom";

export interface LocationAttributes {
  readonly name: string;
  readonly type: LocationType;
  readonly address: string | null;
  /** IANA zone, e.g. "Europe/Berlin". */
  readonly timeZone: string;
}

export interface Location {
  readonly id: string;
  readonly attributes: LocationAttributes;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string | null;
  readonly updatedBy: string | null;
}

export interface CancellationPolicy {
  /** Free until this many hours before the booked start. */
  readonly freeUntilHoursBefore: number;
  readonly fee: Money;
}

/** Every amount is in `currency`. */
export interface PricingRates {
  readonly currency: string;
  readonly dailyRate: Money;
  readonly perKmRate: Money | null;
  readonly includedKmPerDay: number | null;
  readonly hourlyRate: Money | null;
  readonly lateFeePerHour: Money | null;
  readonly lateGraceMinutes: number;
  readonly lateFeeCap: Money | null;
  readonly cancellation: CancellationPolicy | null;
  readonly noShowFee: Money | null;
  readonly deposit: Money | null;
}

export interface PricingPlan {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly rates: PricingRates;
  readonly archivedAt: Date | null;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string | null;
  readonly updatedBy: string | null;
}

export type ChargeType =
  | "base" | "extra_day" | "distance" | "late_fee" | "damage" | "fuel" | "cancellation_fee"
  | "discount" | "other" | "no_show_fee" | "driver" | "conductor" | "deposit";

/** A priced line before it is stored: quantity x unitPrice = amount. */
export interface ChargeDraft {
  readonly type: ChargeType;
  readonly description: string;
  readonly quantity: number;
  readonly unitPrice: Money;
  readonly amount: Money;
}

export interface QuoteLine extends ChargeDraft {
  /** Derived from an estimate (distance); not carried into a reservation. */
  readonly estimated: boolean;
}

/** A staff member priced on a quote or rental: their identity staff profile's daily rate. */
export interface StaffRate {
  readonly userId: string;
  readonly dailyRate: Money | null;
}

export interface RentalTerms {
  readonly vehicleId: string;
  readonly period: Period;
  readonly originLocationId: string;
  readonly destinationLocationId: string;
  readonly pricingPlanId: string;
  readonly estimatedDistanceKm: number | null;
  readonly driverId: string | null;
  readonly conductorId: string | null;
}

export interface Quote {
  readonly id: string;
  readonly terms: RentalTerms;
  readonly customerId: string;
  readonly lines: readonly QuoteLine[];
  /** Sum of every line (estimated ones included), deposit excluded. */
  readonly total: Money;
  readonly deposit: Money | null;
  readonly hourly: boolean;
  readonly rentalDays: number;
  readonly expiresAt: Date;
  readonly createdAt: Date;
  readonly createdBy: string | null;
  readonly usedByRentalId: string | null;
}

export type RentalStatus = "reserved" | "active" | "completed" | "cancelled" | "no_show";

export interface Rental {
  readonly id: string;
  readonly vehicleId: string;
  readonly customerId: string;
  readonly driverId: string | null;
  readonly conductorId: string | null;
  readonly period: Period;
  readonly originLocationId: string;
  readonly destinationLocationId: string;
  readonly pricingPlanId: string;
  readonly quoteId: string | null;
  readonly status: RentalStatus;
  readonly currency: string;
  readonly timeZone: string;
  readonly chargesTotal: Money;
  readonly paidTotal: Money;
  readonly deposit: Money | null;
  readonly pickupTime: Date | null;
  readonly pickupOdometerKm: number | null;
  readonly returnTime: Date | null;
  readonly returnOdometerKm: number | null;
  readonly returnLocationId: string | null;
  readonly notes: string;
  readonly cancelReason: string | null;
  readonly cancelTime: Date | null;
  readonly noShowTime: Date | null;
  readonly atRisk: boolean;
  readonly atRiskReason: string | null;
  readonly overdueNotifiedAt: Date | null;
  /** Daily rates of the driver and conductor when they were assigned: extensions and extra days use them. */
  readonly driverDailyRate: Money | null;
  readonly conductorDailyRate: Money | null;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Subject that created it: a user id or a service client id (partners). */
  readonly createdBy: string | null;
  readonly updatedBy: string | null;
}

export interface RentalCharge extends ChargeDraft {
  readonly id: string;
  readonly rentalId: string;
  readonly createdAt: Date;
  readonly createdBy: string | null;
}

export type PaymentProvider = "cash" | "card" | "transfer";
export type PaymentKind = "payment" | "deposit";
export type PaymentStatus = "pending" | "captured" | "failed" | "refunded" | "held" | "released" | "settled";

export interface RentalPayment {
  readonly id: string;
  readonly rentalId: string;
  readonly kind: PaymentKind;
  readonly provider: PaymentProvider;
  readonly amount: Money;
  readonly status: PaymentStatus;
  readonly refundedAmount: Money;
  readonly appliedAmount: Money;
  readonly externalReference: string;
  readonly statusReason: string;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string | null;
  readonly updatedBy: string | null;
}

export interface VehicleBlock {
  readonly reference: string;
  readonly vehicleId: string;
  readonly period: Period;
  readonly reason: string;
  readonly urgent: boolean;
  readonly releasedAt: Date | null;
  readonly createdAt: Date;
  readonly createdBy: string | null;
}

export type ClaimKind = "rental" | "block";

export interface TimelineClaim {
  readonly kind: ClaimKind;
  readonly period: Period;
  /** Rental id or block reference. */
  readonly reference: string;
  readonly rentalStatus: RentalStatus | null;
  readonly reason: string;
  readonly urgent: boolean;
  readonly atRisk: boolean;
}

/** Fleet's vehicle as rental knows it (from fleet's events and ListVehicles). */
export type FleetVehicleStatus = "active" | "rented" | "under_maintenance" | "decommissioned";

export interface VehicleView {
  readonly vehicleId: string;
  readonly plateNumber: string;
  readonly make: string;
  readonly model: string;
  readonly variant: string | null;
  readonly passengerCapacity: number | null;
  readonly loadLimitKg: number | null;
  readonly status: FleetVehicleStatus;
  /** Fleet's row_version of the last change applied; older events are ignored. */
  readonly fleetRowVersion: bigint;
  readonly homeLocationId: string | null;
}
