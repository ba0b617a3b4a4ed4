// Rental pricing: quotes, reservation and extension charges, completion,
// cancellation and no-show charges (docs/rentals.md, "Pricing rules").
// Pure and deterministic: no transport or persistence imports, no clock; the
// same input always gives the same output. Every amount is integer minor
// units of the plan's currency (platform/money.ts); nothing is ever negative.
import { invalidArgument, type FieldViolation } from "../../../platform/src/errors.js";
import {
  allocateMoney,
  currencyMismatch,
  formatMoney,
  money,
  moneyViolations,
  multiplyMoney,
  sumMoney,
  type Money,
} from "../../../platform/src/money.js";
import { addLocalDays, localDateTime, localDeadlineBefore, rentalDays, startedHours } from "./local-calendar.js";
import type { ChargeDraft, ChargeType, Period, PricingRates, QuoteLine, StaffRate } from "./model.js";

/** Longest bookable period, in rental days on the pickup location's local calendar. */
export const MAX_RENTAL_DAYS = 366;

export interface PricingContext {
  readonly rates: PricingRates;
  /** IANA zone of the pickup (origin) location. */
  readonly timeZone: string;
  readonly driver: StaffRate | null;
  readonly conductor: StaffRate | null;
}

export interface PricedTerms {
  /** BASE, then DRIVER, CONDUCTOR, then the estimated DISTANCE line. */
  readonly lines: readonly QuoteLine[];
  /** Sum of every line, estimated ones included; the deposit is not part of it. */
  readonly total: Money;
  /** The plan's deposit, held apart from the price; null when the plan has none (or zero). */
  readonly deposit: Money | null;
  /** True when the BASE line is priced per started hour. */
  readonly hourly: boolean;
  readonly rentalDays: number;
}

const MS_PER_MINUTE = 60_000;

// ---- formatting ----------------------------------------------------------

const show = (m: Money): string => `${formatMoney(m)} ${m.currency}`;
const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
const daysText = (n: number): string => plural(n, "rental day", "rental days");
const hoursText = (n: number): string => plural(n, "started hour", "started hours");

// ---- validation ----------------------------------------------------------

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/**
 * Checks the plan's rates and the staff rates: every amount in the plan's
 * currency (CURRENCY_MISMATCH otherwise, never converted), none negative,
 * counts whole and >= 0 (INVALID_ARGUMENT).
 */
function checkContext(ctx: PricingContext): void {
  const { rates } = ctx;
  const currency = rates.currency;
  money(0n, currency); // an unknown currency code is INVALID_ARGUMENT
  const amounts: ReadonlyArray<readonly [string, Money | null]> = [
    ["rates.daily_rate", rates.dailyRate],
    ["rates.per_km_rate", rates.perKmRate],
    ["rates.hourly_rate", rates.hourlyRate],
    ["rates.late_fee_per_hour", rates.lateFeePerHour],
    ["rates.late_fee_cap", rates.lateFeeCap],
    ["rates.cancellation.fee", rates.cancellation?.fee ?? null],
    ["rates.no_show_fee", rates.noShowFee],
    ["rates.deposit", rates.deposit],
    ["driver.daily_rate", ctx.driver?.dailyRate ?? null],
    ["conductor.daily_rate", ctx.conductor?.dailyRate ?? null],
  ];
  for (const [, amount] of amounts) {
    if (amount !== null && amount.currency !== currency) throw currencyMismatch(currency, amount.currency);
  }
  const violations: FieldViolation[] = amounts.flatMap(([field, amount]) => moneyViolations(amount, field));
  const count = (field: string, value: number | null): void => {
    if (value !== null && !isCount(value)) {
      violations.push({ field, description: "must be a whole number >= 0", reason: "OUT_OF_RANGE" });
    }
  };
  count("rates.included_km_per_day", rates.includedKmPerDay);
  count("rates.late_grace_minutes", rates.lateGraceMinutes);
  count("rates.cancellation.free_until_hours_before", rates.cancellation?.freeUntilHoursBefore ?? null);
  if (violations.length > 0) throw invalidArgument(violations);
}

function checkKm(field: string, km: number | null): void {
  if (km !== null && !isCount(km)) {
    throw invalidArgument([{ field, description: "must be a whole number of kilometres >= 0", reason: "OUT_OF_RANGE" }]);
  }
}

// ---- lines ---------------------------------------------------------------

/** A line of `quantity` x `unitPrice` (quantity a whole number >= 0). */
const draft = (type: ChargeType, description: string, quantity: number, unitPrice: Money): ChargeDraft => ({
  type,
  description,
  quantity,
  unitPrice,
  amount: multiplyMoney(unitPrice, BigInt(quantity)),
});

const quoteLine = (line: ChargeDraft, estimated: boolean): QuoteLine => ({ ...line, estimated });

const toDraft = (line: QuoteLine): ChargeDraft => ({
  type: line.type,
  description: line.description,
  quantity: line.quantity,
  unitPrice: line.unitPrice,
  amount: line.amount,
});

const positive = (line: ChargeDraft): boolean => line.amount.amountMinor > 0n;

type StaffRole = "driver" | "conductor";
const STAFF_LABEL: Readonly<Record<StaffRole, string>> = { driver: "Driver", conductor: "Conductor" };

/** The staff member's daily rate; null (no charge, no line) without one. */
const staffRate = (staff: StaffRate | null): Money | null => staff?.dailyRate ?? null;

interface Base {
  readonly line: ChargeDraft;
  readonly hourly: boolean;
}

/**
 * BASE: rental days x daily rate; a period shorter than one local day on a
 * plan with an hourly rate costs its started hours x hourly rate when that
 * is less than one daily rate, else one day.
 */
function baseLine(rates: PricingRates, period: Period, days: number, timeZone: string): Base {
  const hourlyRate = rates.hourlyRate;
  if (hourlyRate !== null && period.end.getTime() < addLocalDays(period.start, 1, timeZone).getTime()) {
    const hours = startedHours(period.start, period.end);
    const line = draft("base", `${hoursText(hours)} x ${show(hourlyRate)}`, hours, hourlyRate);
    if (line.amount.amountMinor < rates.dailyRate.amountMinor) return { line, hourly: true };
  }
  return { line: draft("base", `${daysText(days)} x ${show(rates.dailyRate)}`, days, rates.dailyRate), hourly: false };
}

function staffLine(role: StaffRole, staff: StaffRate | null, days: number): ChargeDraft | null {
  const rate = staffRate(staff);
  if (rate === null) return null;
  const line = draft(role, `${STAFF_LABEL[role]}: ${daysText(days)} x ${show(rate)}`, days, rate);
  return positive(line) ? line : null;
}

/** Kilometres beyond the included distance of `days` rental days, and that included distance. */
function extraKm(rates: PricingRates, km: number, days: number): { readonly extra: number; readonly included: number } {
  const included = (rates.includedKmPerDay ?? 0) * days;
  return { extra: Math.max(0, km - included), included };
}

function checkInstant(field: string, instant: Date): void {
  if (!Number.isFinite(instant.getTime())) {
    throw invalidArgument([{ field, description: "must be a valid timestamp", reason: "INVALID_FORMAT" }]);
  }
}

function checkPeriod(period: Period): void {
  const start = period.start.getTime();
  const end = period.end.getTime();
  if (!Number.isFinite(start)) {
    throw invalidArgument([{ field: "period.start_time", description: "must be a valid timestamp", reason: "INVALID_FORMAT" }]);
  }
  if (!Number.isFinite(end) || end <= start) {
    throw invalidArgument([{ field: "period.end_time", description: "must be after the start time", reason: "OUT_OF_RANGE" }]);
  }
}

// ---- quotes and reservations ----------------------------------------------

/**
 * Prices a rental period for a quote. Lines: BASE (always), DRIVER and
 * CONDUCTOR (rental days x their daily rate; none for a staff member without
 * a rate or with a zero rate), and an estimated DISTANCE line for the
 * kilometres of `estimatedDistanceKm` beyond the included ones. Lines of zero
 * amount other than BASE are left out. `total` is the sum of the lines; the
 * deposit is apart. A period longer than MAX_RENTAL_DAYS, empty or reversed
 * is INVALID_ARGUMENT.
 */
export function priceTerms(ctx: PricingContext, period: Period, estimatedDistanceKm: number | null): PricedTerms {
  checkContext(ctx);
  checkPeriod(period);
  checkKm("estimated_distance_km", estimatedDistanceKm);
  const { rates } = ctx;
  const days = rentalDays(period, ctx.timeZone);
  if (days > MAX_RENTAL_DAYS) {
    throw invalidArgument([{
      field: "period.end_time",
      description: `must be at most ${MAX_RENTAL_DAYS} rental days after the start`,
      reason: "OUT_OF_RANGE",
    }]);
  }
  const base = baseLine(rates, period, days, ctx.timeZone);
  const lines: QuoteLine[] = [quoteLine(base.line, false)];
  for (const role of ["driver", "conductor"] as const) {
    const line = staffLine(role, ctx[role], days);
    if (line !== null) lines.push(quoteLine(line, false));
  }
  if (rates.perKmRate !== null && estimatedDistanceKm !== null) {
    const { extra, included } = extraKm(rates, estimatedDistanceKm, days);
    const line = draft(
      "distance",
      `Estimated ${extra} km beyond ${included} included km x ${show(rates.perKmRate)}`,
      extra,
      rates.perKmRate,
    );
    if (positive(line)) lines.push(quoteLine(line, true));
  }
  const deposit = rates.deposit !== null && rates.deposit.amountMinor > 0n ? rates.deposit : null;
  return {
    lines,
    total: sumMoney(lines.map((l) => l.amount), rates.currency),
    deposit,
    hourly: base.hourly,
    rentalDays: days,
  };
}

/** The charges a reservation carries: the quote's lines that are not estimates. */
export function reservationCharges(priced: PricedTerms): ChargeDraft[] {
  return priced.lines.filter((l) => !l.estimated).map(toDraft);
}

/**
 * What moving the end from `previous.end` to `next.end` (same start, not
 * earlier) adds, per line type (BASE, DRIVER, CONDUCTOR): the next period's
 * line minus the previous one's, only lines that grow. The amounts sum to the
 * difference of the two periods' non-estimated totals. A line whose pricing
 * unit stays the same is "more days (or hours) x the rate"; a BASE line going
 * from hourly to daily pricing is one line of the difference.
 */
export function extensionCharges(ctx: PricingContext, previous: Period, next: Period): ChargeDraft[] {
  if (next.start.getTime() !== previous.start.getTime()) {
    throw invalidArgument([{ field: "period.start_time", description: "an extension keeps the start time", reason: "OUT_OF_RANGE" }]);
  }
  if (next.end.getTime() < previous.end.getTime()) {
    throw invalidArgument([{ field: "period.end_time", description: "must not be before the current end time", reason: "OUT_OF_RANGE" }]);
  }
  const before = priceTerms(ctx, previous, null);
  const after = priceTerms(ctx, next, null);
  const out: ChargeDraft[] = [];
  for (const type of ["base", "driver", "conductor"] as const) {
    const a = before.lines.find((l) => l.type === type) ?? null;
    const b = after.lines.find((l) => l.type === type) ?? null;
    if (b === null) continue; // lines only grow: none after means none before
    const added = b.amount.amountMinor - (a?.amount.amountMinor ?? 0n);
    if (added <= 0n) continue;
    const label = type === "base" ? "Extension" : `${STAFF_LABEL[type]} extension`;
    // Only BASE changes unit (hourly to daily); staff lines are always per day.
    const hourlyBefore = type === "base" && before.hourly;
    const hourlyAfter = type === "base" && after.hourly;
    if (a === null || hourlyBefore === hourlyAfter) {
      const more = b.quantity - (a?.quantity ?? 0);
      const unit = hourlyAfter
        ? plural(more, "more started hour", "more started hours")
        : plural(more, "more rental day", "more rental days");
      out.push(draft(type, `${label}: ${unit} x ${show(b.unitPrice)}`, more, b.unitPrice));
    } else {
      const from = hourlyBefore ? hoursText(a.quantity) : daysText(a.quantity);
      out.push(draft(
        type,
        `${label}: from ${from} (${show(a.amount)}) to ${daysText(b.quantity)} (${show(b.amount)})`,
        1,
        { amountMinor: added, currency: b.amount.currency },
      ));
    }
  }
  return out;
}

// ---- completion ----------------------------------------------------------

/**
 * Charges added when the vehicle comes back at `returnTime`:
 * - within the grace period (returnTime <= booked.end + lateGraceMinutes):
 *   nothing for time;
 * - past it: EXTRA_DAY for the rental days counted to the return beyond the
 *   booked ones, at the daily rate (plus DRIVER/CONDUCTOR "extra day" lines
 *   at their daily rates), and LATE_FEE for every started hour from the
 *   booked end (not from the end of the grace period) at lateFeePerHour,
 *   capped at lateFeeCap;
 * - DISTANCE when the plan has a per-km rate and both odometer readings are
 *   known: kilometres driven beyond includedKmPerDay x the days used (the
 *   larger of the booked days and the days counted to the return).
 * Lines of zero amount are left out. A return odometer below the pickup one
 * counts as no distance here; the caller refuses it (ODOMETER_DECREASING).
 */
export function completionCharges(
  ctx: PricingContext,
  booked: Period,
  returnTime: Date,
  pickupOdometerKm: number | null,
  returnOdometerKm: number | null,
): ChargeDraft[] {
  checkContext(ctx);
  checkPeriod(booked);
  checkKm("pickup_odometer_km", pickupOdometerKm);
  checkKm("return_odometer_km", returnOdometerKm);
  checkInstant("return_time", returnTime);
  const { rates, timeZone } = ctx;
  const bookedDays = rentalDays(booked, timeZone);
  const daysToReturn = rentalDays({ start: booked.start, end: returnTime }, timeZone);
  const out: ChargeDraft[] = [];
  const graceEnd = booked.end.getTime() + rates.lateGraceMinutes * MS_PER_MINUTE;
  if (returnTime.getTime() > graceEnd) {
    const extraDays = daysToReturn - bookedDays;
    const returned = `returned ${localDateTime(returnTime, timeZone)}, booked until ${localDateTime(booked.end, timeZone)}`;
    if (extraDays > 0) {
      out.push(draft("extra_day", `${plural(extraDays, "extra rental day", "extra rental days")} x ${show(rates.dailyRate)} (${returned})`, extraDays, rates.dailyRate));
      for (const role of ["driver", "conductor"] as const) {
        const rate = staffRate(ctx[role]);
        if (rate !== null) {
          out.push(draft(role, `${STAFF_LABEL[role]}: ${plural(extraDays, "extra day", "extra days")} x ${show(rate)}`, extraDays, rate));
        }
      }
    }
    if (rates.lateFeePerHour !== null) {
      const hours = startedHours(booked.end, returnTime);
      const fee = draft("late_fee", `Late return: ${hoursText(hours)} x ${show(rates.lateFeePerHour)} (${returned})`, hours, rates.lateFeePerHour);
      const cap = rates.lateFeeCap;
      out.push(cap !== null && fee.amount.amountMinor > cap.amountMinor
        ? draft("late_fee", `Late return: ${hoursText(hours)} x ${show(rates.lateFeePerHour)}, capped at ${show(cap)} (${returned})`, 1, cap)
        : fee);
    }
  }
  if (rates.perKmRate !== null && pickupOdometerKm !== null && returnOdometerKm !== null) {
    const driven = Math.max(0, returnOdometerKm - pickupOdometerKm);
    const daysUsed = Math.max(bookedDays, daysToReturn);
    const { extra, included } = extraKm(rates, driven, daysUsed);
    out.push(draft(
      "distance",
      `${extra} km beyond ${included} included km (${driven} km driven, ${daysText(daysUsed)}) x ${show(rates.perKmRate)}`,
      extra,
      rates.perKmRate,
    ));
  }
  return out.filter(positive);
}

// ---- cancellation and no-show ---------------------------------------------

/**
 * The fee for cancelling at `cancelTime`: null without a cancellation
 * policy, when cancelling before the local deadline
 * (localDeadlineBefore(booked.start, freeUntilHoursBefore)), or when the
 * policy's fee is zero; otherwise one CANCELLATION_FEE of the policy's fee.
 * Cancelling exactly at the deadline is no longer free.
 */
export function cancellationFee(ctx: PricingContext, booked: Period, cancelTime: Date): ChargeDraft | null {
  checkContext(ctx);
  checkPeriod(booked);
  checkInstant("cancel_time", cancelTime);
  const policy = ctx.rates.cancellation;
  if (policy === null) return null;
  const deadline = localDeadlineBefore(booked.start, policy.freeUntilHoursBefore, ctx.timeZone);
  if (cancelTime.getTime() < deadline.getTime() || policy.fee.amountMinor === 0n) return null;
  return draft(
    "cancellation_fee",
    `Cancellation after the free-cancellation deadline ${localDateTime(deadline, ctx.timeZone)} ` +
      `(${plural(policy.freeUntilHoursBefore, "hour", "hours")} before the start)`,
    1,
    policy.fee,
  );
}

/** The plan's no-show fee as one NO_SHOW_FEE line; null when the plan has none or it is zero. */
export function noShowFee(ctx: PricingContext): ChargeDraft | null {
  checkContext(ctx);
  const fee = ctx.rates.noShowFee;
  if (fee === null || fee.amountMinor === 0n) return null;
  return draft("no_show_fee", "No-show: reservation not picked up", 1, fee);
}

// ---- revenue per day ------------------------------------------------------

/**
 * The line's amount spread over `days` (>= 1) days for revenue per day, with
 * allocateMoney: the shares sum exactly to the amount and differ by at most
 * one minor unit, earlier days taking the extra units.
 */
export function dailyShares(line: ChargeDraft, days: number): Money[] {
  if (!Number.isSafeInteger(days) || days < 1) throw new RangeError(`dailyShares needs a whole number of days >= 1, got ${days}`);
  return allocateMoney(line.amount, Array.from({ length: days }, () => 1n));
}
