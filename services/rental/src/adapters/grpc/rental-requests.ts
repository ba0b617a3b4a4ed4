import { isTimeZone } from "../../domain/local-calendar.js";
import { MAX_RENTAL_DAYS } from "../../domain/pricing.js";
import type { Money as ProtoMoney } from "../../../../../gen/fleetmesh/common/v1/money_pb.js";
import type { LocationAttributes as ProtoLocationAttributes } from "../../../../../gen/fleetmesh/rental/v1/location_pb.js";
import type { PricingPlanRates as ProtoPricingPlanRates } from "../../../../../gen/fleetmesh/rental/v1/pricing_plan_pb.js";
import {
  RentalChargeType as ProtoChargeType,
  type RentalChargeInput as ProtoChargeInput,
  type RentalStatus as ProtoRentalStatus,
  type RentalTerms as ProtoRentalTerms,
} from "../../../../../gen/fleetmesh/rental/v1/rental_pb.js";
import {
  check,
  expectedRowVersion,
  nonNegativeInt,
  optionalText,
  optionalUuid,
  pageOf,
  periodOf,
  requiredText,
  requiredUuid,
  timeOf,
} from "../../../../platform/src/grpc/request-fields.js";
import { isCurrency, moneyViolations, type Money } from "../../../../platform/src/money.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { ChargeInput } from "../../app/use-case-api.js";
import type { ChargeType, LocationAttributes, PricingRates, RentalStatus, RentalTerms } from "../../domain/model.js";
import { moneyFromProto } from "../proto/common-proto.js";
import { chargeTypeFromProto, locationTypeFromProto, rentalStatusFromProto } from "../proto/rental-enums.js";

// Request shape checks of the rental RPCs: every violation of a request is
// collected with its proto field path, then one INVALID_ARGUMENT lists them
// all and nothing is called. Only what needs no data is checked here;
// existence, state, overlaps and the rental's currency are the use cases'.

/** Longest rental, block or timeline window. A year plus a leap day. */
export { MAX_RENTAL_DAYS };

export const MAX_LOCATION_NAME = 200;
export const MAX_ADDRESS = 500;
export const MAX_PLAN_NAME = 120;
export const MAX_PLAN_DESCRIPTION = 1000;
export const MAX_NOTES = 2000;
export const MAX_REASON = 500;
export const MAX_CHARGE_DESCRIPTION = 500;
export const MAX_EXTERNAL_REFERENCE = 200;
export const MAX_BLOCK_REFERENCE = 200;
export const MAX_AVAILABILITY_VEHICLES = 100;
/** More extra charges than any return needs; keeps one request's work bounded. */
export const MAX_EXTRA_CHARGES = 100;
export const MAX_LATE_GRACE_MINUTES = 1440;
export const MAX_FREE_CANCELLATION_HOURS = 8760;
const BLOCK_REFERENCE_PATTERN = /^[A-Za-z0-9_.:/-]+$/;

/** Charge types a caller may add; the others are computed by the server from the plan. */
export const CALLER_CHARGE_TYPES: ReadonlySet<ChargeType> = new Set<ChargeType>(["damage", "fuel", "discount", "other"]);

// ---- time zones ----

/** The domain's own check (the runtime's zone database, names spelt as it spells them). */
export const isKnownTimeZone = isTimeZone;

// ---- field helpers: the kit's, for every service ----

export { check, expectedRowVersion, nonNegativeInt, optionalText, optionalUuid, pageOf, periodOf, requiredText, requiredUuid, timeOf };

export interface MoneyRules {
  readonly required?: boolean;
  /** Strictly above zero (rates, payments). */
  readonly positive?: boolean;
  readonly allowNegative?: boolean;
  /** Every amount of a plan is in its currency. */
  readonly currency?: string | null;
}

/** A money field: ISO 4217 code, sign rules, currency of its context; null when absent. */
export function moneyOf(v: Violations, field: string, m: ProtoMoney | undefined, rules: MoneyRules = {}): Money | null {
  const money = moneyFromProto(m);
  if (money === null) {
    if (rules.required) v.add(field, "is required", "REQUIRED");
    return null;
  }
  const problems = moneyViolations(money, field, rules.allowNegative ? { allowNegative: true } : {});
  v.addAll(problems);
  if (rules.positive && money.amountMinor <= 0n && !problems.some((p) => p.field === `${field}.amount_minor`)) {
    v.add(`${field}.amount_minor`, "must be greater than zero", "OUT_OF_RANGE");
  }
  const expected = rules.currency ?? null;
  if (expected !== null && isCurrency(money.currency) && money.currency !== expected) {
    v.add(`${field}.currency_code`, `must be ${expected}, the currency of the request`, "CURRENCY_MISMATCH");
  }
  return money;
}

export function statusesOf(v: Violations, field: string, values: readonly ProtoRentalStatus[]): RentalStatus[] {
  const out: RentalStatus[] = [];
  values.forEach((value, i) => {
    const status = rentalStatusFromProto(value);
    if (status === null) v.add(`${field}[${i}]`, "must not be UNSPECIFIED", "REQUIRED");
    else if (status === undefined) v.add(`${field}[${i}]`, "unknown rental status", "UNKNOWN_ENUM_VALUE");
    else if (!out.includes(status)) out.push(status);
  });
  return out;
}

// ---- messages ----

export function locationAttributesOf(v: Violations, field: string, a: ProtoLocationAttributes | undefined): LocationAttributes {
  if (a === undefined) {
    v.add(field, "is required", "REQUIRED");
    return { name: "", type: "depot", address: null, timeZone: "" };
  }
  const name = requiredText(v, `${field}.name`, a.name, MAX_LOCATION_NAME);
  const type = locationTypeFromProto(a.type);
  if (type === null) v.add(`${field}.type`, "is required", "REQUIRED");
  else if (type === undefined) v.add(`${field}.type`, "unknown location type", "UNKNOWN_ENUM_VALUE");
  const address = a.address === undefined ? "" : optionalText(v, `${field}.address`, a.address, MAX_ADDRESS);
  const timeZone = a.timeZone;
  if (timeZone === "") v.add(`${field}.time_zone`, "is required", "REQUIRED");
  else if (!isKnownTimeZone(timeZone)) {
    v.add(`${field}.time_zone`, "must be an IANA time zone known to the server, e.g. Europe/Berlin", "INVALID_FORMAT");
  }
  return { name, type: type ?? "depot", address: address === "" ? null : address, timeZone };
}

/**
 * A plan's rates: every amount in `currency_code`; the daily rate (and the
 * hourly rate when given) above zero; fees, caps and the deposit >= 0.
 */
export function pricingRatesOf(v: Violations, field: string, r: ProtoPricingPlanRates | undefined): PricingRates {
  if (r === undefined) {
    v.add(field, "is required", "REQUIRED");
    return {
      currency: "", dailyRate: { amountMinor: 0n, currency: "" }, perKmRate: null, includedKmPerDay: null, hourlyRate: null,
      lateFeePerHour: null, lateGraceMinutes: 0, lateFeeCap: null, cancellation: null, noShowFee: null, deposit: null,
    };
  }
  const currency = r.currencyCode;
  if (currency === "") v.add(`${field}.currency_code`, "is required", "REQUIRED");
  else if (currency !== "" && !isCurrency(currency)) v.add(`${field}.currency_code`, "must be an ISO 4217 currency code such as EUR", "INVALID_FORMAT");
  const inPlan = isCurrency(currency) ? currency : null;
  const price = (name: string, m: ProtoMoney | undefined, rules: MoneyRules = {}) =>
    moneyOf(v, `${field}.${name}`, m, { currency: inPlan, ...rules });

  const dailyRate = price("daily_rate", r.dailyRate, { required: true, positive: true });
  const perKmRate = price("per_km_rate", r.perKmRate);
  const includedKmPerDay = nonNegativeInt(v, `${field}.included_km_per_day`, r.includedKmPerDay);
  const hourlyRate = price("hourly_rate", r.hourlyRate, { positive: true });
  const lateFeePerHour = price("late_fee_per_hour", r.lateFeePerHour);
  const lateGraceMinutes = r.lateGraceMinutes;
  v.intRange(`${field}.late_grace_minutes`, lateGraceMinutes, 0, MAX_LATE_GRACE_MINUTES);
  const lateFeeCap = price("late_fee_cap", r?.lateFeeCap);
  let cancellation: PricingRates["cancellation"] = null;
  if (r.cancellation !== undefined) {
    const c = r.cancellation;
    v.intRange(`${field}.cancellation.free_until_hours_before`, c.freeUntilHoursBefore, 0, MAX_FREE_CANCELLATION_HOURS);
    const fee = price("cancellation.fee", c.fee, { required: true });
    if (fee !== null) cancellation = { freeUntilHoursBefore: c.freeUntilHoursBefore, fee };
  }
  const noShowFee = price("no_show_fee", r.noShowFee);
  const deposit = price("deposit", r.deposit);
  return {
    currency,
    dailyRate: dailyRate ?? { amountMinor: 0n, currency },
    perKmRate,
    includedKmPerDay,
    hourlyRate,
    lateFeePerHour,
    lateGraceMinutes,
    lateFeeCap,
    cancellation,
    noShowFee,
    deposit,
  };
}

export function rentalTermsOf(v: Violations, field: string, t: ProtoRentalTerms | undefined): RentalTerms | null {
  if (t === undefined) {
    v.add(field, "is required", "REQUIRED");
    return null;
  }
  const terms = {
    vehicleId: requiredUuid(v, `${field}.vehicle_id`, t.vehicleId),
    period: periodOf(v, `${field}.period`, t.period, { maxDays: MAX_RENTAL_DAYS }),
    originLocationId: requiredUuid(v, `${field}.origin_location_id`, t.originLocationId),
    destinationLocationId: requiredUuid(v, `${field}.destination_location_id`, t.destinationLocationId),
    pricingPlanId: requiredUuid(v, `${field}.pricing_plan_id`, t.pricingPlanId),
    estimatedDistanceKm: nonNegativeInt(v, `${field}.estimated_distance_km`, t.estimatedDistanceKm),
    driverId: optionalUuid(v, `${field}.driver_id`, t.driverId),
    conductorId: optionalUuid(v, `${field}.conductor_id`, t.conductorId),
  };
  const { period } = terms;
  return period === null ? null : { ...terms, period };
}

/**
 * A charge the caller adds: only DAMAGE, FUEL, DISCOUNT and OTHER (the rest
 * are computed by the server); quantity 0 means 1; a negative unit price
 * only, and always, for a DISCOUNT. The rental's currency is the use case's
 * check; `currency` (the first charge's, for a list) keeps one request in one.
 */
export function chargeInputOf(v: Violations, field: string, c: ProtoChargeInput | undefined, currency: string | null): ChargeInput | null {
  if (c === undefined) {
    v.add(field, "is required", "REQUIRED");
    return null;
  }
  const type = chargeTypeFromProto(c.type);
  if (type === null) v.add(`${field}.type`, "is required", "REQUIRED");
  else if (type === undefined) v.add(`${field}.type`, "unknown charge type", "UNKNOWN_ENUM_VALUE");
  else if (!CALLER_CHARGE_TYPES.has(type)) {
    v.add(`${field}.type`, `${ProtoChargeType[c.type]} charges are computed by the server; add DAMAGE, FUEL, DISCOUNT or OTHER`, "SERVER_COMPUTED");
  }
  const description = requiredText(v, `${field}.description`, c.description, MAX_CHARGE_DESCRIPTION);
  if (c.quantity < 0) v.add(`${field}.quantity`, "must not be negative (0 means 1)", "OUT_OF_RANGE");
  const discount = type === "discount";
  const unitPrice = moneyOf(v, `${field}.unit_price`, c.unitPrice, { required: true, allowNegative: discount, currency });
  if (discount && unitPrice !== null && unitPrice.amountMinor >= 0n) {
    v.add(`${field}.unit_price.amount_minor`, "a DISCOUNT's unit price must be negative", "OUT_OF_RANGE");
  }
  if (type === null || type === undefined || unitPrice === null) return null;
  return { type, description, quantity: c.quantity === 0 ? 1 : c.quantity, unitPrice };
}

/** Block references are the caller's keys ("maintenance-job:<uuid>"): 1-200 URL-safe characters. */
export function blockReferenceOf(v: Violations, field: string, value: string): string {
  if (value === "") v.add(field, "is required", "REQUIRED");
  else if (value.length > MAX_BLOCK_REFERENCE) v.maxLength(field, value, MAX_BLOCK_REFERENCE);
  else if (!BLOCK_REFERENCE_PATTERN.test(value)) v.add(field, "may hold only letters, digits and _ . : / -", "INVALID_FORMAT");
  return value;
}
