import { isDeepStrictEqual } from "node:util";
import test from "ava";
import fc from "fast-check";
import { DomainError } from "../../platform/src/errors.js";
import type { Money } from "../../platform/src/money.js";
import { rentalDays } from "../src/domain/local-calendar.js";
import type { ChargeDraft, Period, PricingRates, StaffRate } from "../src/domain/model.js";
import {
  cancellationFee,
  completionCharges,
  dailyShares,
  extensionCharges,
  MAX_RENTAL_DAYS,
  noShowFee,
  priceTerms,
  reservationCharges,
  type PricingContext,
} from "../src/domain/pricing.js";

const BERLIN = "Europe/Berlin";
const NEW_YORK = "America/New_York";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MINUTE = 60_000;
const eur = (amountMinor: bigint): Money => ({ amountMinor, currency: "EUR" });
const at = (iso: string): Date => new Date(iso);
const period = (start: string, end: string): Period => ({ start: at(start), end: at(end) });
const later = (d: Date, ms: number): Date => new Date(d.getTime() + ms);

const rates: PricingRates = {
  currency: "EUR",
  dailyRate: eur(4900n),
  perKmRate: eur(25n),
  includedKmPerDay: 100,
  hourlyRate: eur(900n),
  lateFeePerHour: eur(1000n),
  lateGraceMinutes: 59,
  lateFeeCap: eur(5000n),
  cancellation: { freeUntilHoursBefore: 48, fee: eur(2500n) },
  noShowFee: eur(3000n),
  deposit: eur(30000n),
};
const bare: PricingRates = {
  currency: "EUR", dailyRate: eur(4900n), perKmRate: null, includedKmPerDay: null, hourlyRate: null, lateFeePerHour: null,
  lateGraceMinutes: 0, lateFeeCap: null, cancellation: null, noShowFee: null, deposit: null,
};
const driver: StaffRate = { userId: "driver-1", dailyRate: eur(12000n) };
const conductor: StaffRate = { userId: "conductor-1", dailyRate: eur(8000n) };
const ctx = (over: Partial<PricingContext> = {}): PricingContext => ({ rates, timeZone: BERLIN, driver: null, conductor: null, ...over });

/** Three Berlin days, 10:00 local to 10:00 local, across the spring change. */
const threeDays = period("2026-03-27T09:00:00Z", "2026-03-30T08:00:00Z");
const amounts = (lines: readonly ChargeDraft[]): Array<[string, bigint]> => lines.map((l) => [l.type, l.amount.amountMinor]);

// ---- quotes ---------------------------------------------------------------

test("a three-day quote: BASE days x daily rate, staff per day, estimated distance apart, deposit outside the total", (t) => {
  const priced = priceTerms(ctx({ driver, conductor: { userId: "c", dailyRate: null } }), threeDays, 450);
  t.is(priced.rentalDays, 3);
  t.false(priced.hourly);
  t.deepEqual(priced.lines.map((l) => [l.type, l.quantity, l.unitPrice.amountMinor, l.amount.amountMinor, l.estimated]), [
    ["base", 3, 4900n, 14700n, false],
    ["driver", 3, 12000n, 36000n, false],
    ["distance", 150, 25n, 3750n, true], // 450 km - 3 x 100 included
  ]);
  t.is(priced.lines[0]?.description, "3 rental days x 49.00 EUR");
  t.is(priced.lines[1]?.description, "Driver: 3 rental days x 120.00 EUR");
  t.is(priced.lines[2]?.description, "Estimated 150 km beyond 300 included km x 0.25 EUR");
  t.deepEqual(priced.total, eur(14700n + 36000n + 3750n));
  t.deepEqual(priced.deposit, eur(30000n));
  // The reservation carries the non-estimated lines only, without the `estimated` flag.
  t.deepEqual(reservationCharges(priced), [
    { type: "base", description: "3 rental days x 49.00 EUR", quantity: 3, unitPrice: eur(4900n), amount: eur(14700n) },
    { type: "driver", description: "Driver: 3 rental days x 120.00 EUR", quantity: 3, unitPrice: eur(12000n), amount: eur(36000n) },
  ]);
});

test("a staff member without a daily rate gets no line; a conductor with one does", (t) => {
  const priced = priceTerms(ctx({ driver: { userId: "d", dailyRate: null }, conductor }), threeDays, null);
  t.deepEqual(amounts(priced.lines), [["base", 14700n], ["conductor", 24000n]]);
  t.is(priced.lines[1]?.description, "Conductor: 3 rental days x 80.00 EUR");
});

test("estimated distance within the included kilometres adds no line; no per-km rate ignores the estimate", (t) => {
  t.deepEqual(amounts(priceTerms(ctx(), threeDays, 300).lines), [["base", 14700n]]);
  t.deepEqual(amounts(priceTerms(ctx({ rates: { ...rates, perKmRate: null } }), threeDays, 5000).lines), [["base", 14700n]]);
  // No included km: every estimated km is charged.
  t.deepEqual(amounts(priceTerms(ctx({ rates: { ...rates, includedKmPerDay: null } }), threeDays, 10).lines), [["base", 14700n], ["distance", 250n]]);
});

test("rental days follow the local calendar: 23 h and 25 h days are one day, a minute more is two", (t) => {
  const spring = period("2026-03-28T09:00:00Z", "2026-03-29T08:00:00Z"); // Berlin 10:00 to 10:00, 23 h
  const fall = period("2026-10-24T08:00:00Z", "2026-10-25T09:00:00Z"); // Berlin 10:00 to 10:00, 25 h
  const noHourly = ctx({ rates: bare });
  t.deepEqual(amounts(priceTerms(noHourly, spring, null).lines), [["base", 4900n]]);
  t.deepEqual(amounts(priceTerms(noHourly, fall, null).lines), [["base", 4900n]]);
  t.is(priceTerms(noHourly, { start: fall.start, end: later(fall.end, MINUTE) }, null).rentalDays, 2);
  const ny = { ...noHourly, timeZone: NEW_YORK };
  t.is(priceTerms(ny, period("2026-03-07T15:00:00Z", "2026-03-08T14:00:00Z"), null).rentalDays, 1);
  t.is(priceTerms(ny, period("2026-10-31T14:00:00Z", "2026-11-01T15:00:00Z"), null).rentalDays, 1);
  t.is(priceTerms(ny, period("2026-10-31T14:00:00Z", "2026-11-01T15:01:00Z"), null).rentalDays, 2);
});

test("hourly plan: 3 h cost 3 x the hourly rate; hours never cost more than one day", (t) => {
  const start = at("2026-05-04T08:00:00Z");
  const three = priceTerms(ctx(), { start, end: later(start, 3 * HOUR) }, null);
  t.true(three.hourly);
  t.is(three.rentalDays, 1);
  t.deepEqual(three.lines.map((l) => [l.type, l.quantity, l.unitPrice.amountMinor, l.amount.amountMinor, l.description]),
    [["base", 3, 900n, 2700n, "3 started hours x 9.00 EUR"]]);
  // 2 h 01 min is 3 started hours.
  t.deepEqual(priceTerms(ctx(), { start, end: later(start, 2 * HOUR + MINUTE) }, null).total, eur(2700n));
  // 5 h = 45.00 < 49.00: hourly; 5 h 01 min = 6 started hours = 54.00 > 49.00: one day.
  t.deepEqual(priceTerms(ctx(), { start, end: later(start, 5 * HOUR) }, null).total, eur(4500n));
  const capped = priceTerms(ctx(), { start, end: later(start, 5 * HOUR + MINUTE) }, null);
  t.false(capped.hourly);
  t.deepEqual(capped.lines.map((l) => [l.type, l.quantity, l.amount.amountMinor, l.description]), [["base", 1, 4900n, "1 rental day x 49.00 EUR"]]);
  // Without an hourly rate a short rental is one day; staff are always per day.
  t.deepEqual(amounts(priceTerms(ctx({ rates: bare, driver }), { start, end: later(start, 3 * HOUR) }, null).lines), [["base", 4900n], ["driver", 12000n]]);
  t.deepEqual(amounts(priceTerms(ctx({ driver }), { start, end: later(start, 3 * HOUR) }, null).lines), [["base", 2700n], ["driver", 12000n]]);
});

test("hourly pricing stops at one local day: a 23 h spring day is one day, not 23 hours", (t) => {
  const priced = priceTerms(ctx({ rates: { ...rates, hourlyRate: eur(100n) } }), period("2026-03-28T09:00:00Z", "2026-03-29T08:00:00Z"), null);
  t.false(priced.hourly);
  t.deepEqual(priced.total, eur(4900n));
  // One minute short of the local day is still hourly: 23 started hours.
  const short = priceTerms(ctx({ rates: { ...rates, hourlyRate: eur(100n) } }), period("2026-03-28T09:00:00Z", "2026-03-29T07:59:00Z"), null);
  t.true(short.hourly);
  t.deepEqual(short.total, eur(2300n));
});

test("periods: empty, reversed or longer than MAX_RENTAL_DAYS are INVALID_ARGUMENT; exactly the maximum is fine", (t) => {
  const start = at("2026-01-01T09:00:00Z");
  for (const end of [start, later(start, -HOUR)]) {
    const err = t.throws(() => priceTerms(ctx(), { start, end }, null), { instanceOf: DomainError });
    t.is(err?.reason, "INVALID_ARGUMENT");
    t.is(err?.fieldViolations[0]?.field, "period.end_time");
  }
  const longest = priceTerms(ctx(), { start, end: at("2027-01-02T09:00:00Z") }, null);
  t.is(longest.rentalDays, MAX_RENTAL_DAYS);
  const err = t.throws(() => priceTerms(ctx(), { start, end: at("2027-01-02T09:00:01Z") }, null), { instanceOf: DomainError });
  t.is(err?.fieldViolations[0]?.reason, "OUT_OF_RANGE");
  t.throws(() => priceTerms(ctx(), threeDays, -1), { instanceOf: DomainError });
  t.throws(() => priceTerms(ctx(), threeDays, 1.5), { instanceOf: DomainError });
});

test("a staff rate in another currency is CURRENCY_MISMATCH; so is a plan amount", (t) => {
  const err = t.throws(() => priceTerms(ctx({ driver: { userId: "d", dailyRate: { amountMinor: 10000n, currency: "USD" } } }), threeDays, null),
    { instanceOf: DomainError });
  t.is(err?.kind, "invalid_argument");
  t.is(err?.reason, "CURRENCY_MISMATCH");
  t.deepEqual(err?.metadata, { expected_currency: "EUR", actual_currency: "USD" });
  const conductorErr = t.throws(() => completionCharges(ctx({ conductor: { userId: "c", dailyRate: { amountMinor: 1n, currency: "GBP" } } }),
    threeDays, threeDays.end, null, null), { instanceOf: DomainError });
  t.is(conductorErr?.reason, "CURRENCY_MISMATCH");
  const planErr = t.throws(() => priceTerms(ctx({ rates: { ...rates, deposit: { amountMinor: 1n, currency: "CHF" } } }), threeDays, null),
    { instanceOf: DomainError });
  t.is(planErr?.reason, "CURRENCY_MISMATCH");
});

test("negative rates are refused with their field paths", (t) => {
  const err = t.throws(() => priceTerms(ctx({ rates: { ...rates, hourlyRate: eur(-1n) }, driver: { userId: "d", dailyRate: eur(-5n) } }), threeDays, null),
    { instanceOf: DomainError });
  t.deepEqual(err?.fieldViolations.map((v) => v.field), ["rates.hourly_rate.amount_minor", "driver.daily_rate.amount_minor"]);
});

test("a zero deposit is no deposit; a zero-rate driver gets no line", (t) => {
  const priced = priceTerms(ctx({ rates: { ...rates, deposit: eur(0n) }, driver: { userId: "d", dailyRate: eur(0n) } }), threeDays, null);
  t.is(priced.deposit, null);
  t.deepEqual(amounts(priced.lines), [["base", 14700n]]);
  t.is(priceTerms(ctx({ rates: bare }), threeDays, null).deposit, null);
});

// ---- extensions -----------------------------------------------------------

test("extension from 3 to 5 days adds 2 days of BASE and of each staff member", (t) => {
  const next = { start: threeDays.start, end: at("2026-04-01T08:00:00Z") };
  const charges = extensionCharges(ctx({ driver, conductor }), threeDays, next);
  t.deepEqual(charges, [
    { type: "base", description: "Extension: 2 more rental days x 49.00 EUR", quantity: 2, unitPrice: eur(4900n), amount: eur(9800n) },
    { type: "driver", description: "Driver extension: 2 more rental days x 120.00 EUR", quantity: 2, unitPrice: eur(12000n), amount: eur(24000n) },
    { type: "conductor", description: "Conductor extension: 2 more rental days x 80.00 EUR", quantity: 2, unitPrice: eur(8000n), amount: eur(16000n) },
  ]);
  // Within the same rental day (09:00 to 10:00 local on day three): nothing to add; nor for the same end.
  t.deepEqual(extensionCharges(ctx({ driver }), { start: threeDays.start, end: later(threeDays.end, -HOUR) }, threeDays), []);
  t.deepEqual(extensionCharges(ctx({ driver }), threeDays, threeDays), []);
});

test("extension from an hourly rental: more hours stay hourly, past the cap it becomes the difference to one day", (t) => {
  const start = at("2026-05-04T08:00:00Z");
  const three = { start, end: later(start, 3 * HOUR) };
  t.deepEqual(extensionCharges(ctx(), three, { start, end: later(start, 4 * HOUR) }), [
    { type: "base", description: "Extension: 1 more started hour x 9.00 EUR", quantity: 1, unitPrice: eur(900n), amount: eur(900n) },
  ]);
  t.deepEqual(extensionCharges(ctx(), three, { start, end: later(start, 2 * DAY) }), [
    { type: "base", description: "Extension: from 3 started hours (27.00 EUR) to 2 rental days (98.00 EUR)", quantity: 1, unitPrice: eur(7100n), amount: eur(7100n) },
  ]);
});

test("an extension keeps the start and never shortens", (t) => {
  t.throws(() => extensionCharges(ctx(), threeDays, { start: later(threeDays.start, HOUR), end: threeDays.end }), { instanceOf: DomainError });
  t.throws(() => extensionCharges(ctx(), threeDays, { start: threeDays.start, end: later(threeDays.end, -DAY) }), { instanceOf: DomainError });
});

// ---- completion -----------------------------------------------------------

test("a return within the grace minutes costs nothing for time, even across a rental-day boundary", (t) => {
  t.deepEqual(completionCharges(ctx({ driver }), threeDays, later(threeDays.end, 59 * MINUTE), null, null), []);
  t.deepEqual(completionCharges(ctx(), threeDays, later(threeDays.end, -DAY), null, null), []); // early
});

test("a return past the grace: extra rental day (also for staff) and late fee per started hour from the booked end", (t) => {
  const returned = later(threeDays.end, 61 * MINUTE); // 11:01 local on 03-30
  const charges = completionCharges(ctx({ driver, conductor: { userId: "c", dailyRate: null } }), threeDays, returned, null, null);
  t.deepEqual(charges.map((c) => [c.type, c.quantity, c.unitPrice.amountMinor, c.amount.amountMinor]), [
    ["extra_day", 1, 4900n, 4900n],
    ["driver", 1, 12000n, 12000n],
    ["late_fee", 2, 1000n, 2000n], // 61 min = 2 started hours
  ]);
  t.is(charges[0]?.description,
    "1 extra rental day x 49.00 EUR (returned 2026-03-30T11:01:00+02:00[Europe/Berlin], booked until 2026-03-30T10:00:00+02:00[Europe/Berlin])");
  t.is(charges[1]?.description, "Driver: 1 extra day x 120.00 EUR");
  t.regex(charges[2]?.description ?? "", /^Late return: 2 started hours x 10\.00 EUR/);
});

test("the late fee is capped; without a late fee only extra days are charged", (t) => {
  const returned = later(threeDays.end, 8 * HOUR);
  const capped = completionCharges(ctx(), threeDays, returned, null, null);
  t.deepEqual(capped.map((c) => [c.type, c.quantity, c.unitPrice.amountMinor, c.amount.amountMinor]), [
    ["extra_day", 1, 4900n, 4900n],
    ["late_fee", 1, 5000n, 5000n], // 8 x 10.00 = 80.00, capped at 50.00
  ]);
  t.regex(capped[1]?.description ?? "", /^Late return: 8 started hours x 10\.00 EUR, capped at 50\.00 EUR/);
  // No cap: 8 x 10.00.
  t.deepEqual(amounts(completionCharges(ctx({ rates: { ...rates, lateFeeCap: null } }), threeDays, returned, null, null)),
    [["extra_day", 4900n], ["late_fee", 8000n]]);
  // No late fee, no grace: one minute late is one extra day.
  t.deepEqual(amounts(completionCharges(ctx({ rates: bare }), threeDays, later(threeDays.end, MINUTE), null, null)), [["extra_day", 4900n]]);
  // Late but within the booked last rental day's end on the local calendar: no extra day (booked 10:00 to 09:00).
  const shortOfDay = { start: threeDays.start, end: later(threeDays.end, -HOUR) };
  t.deepEqual(amounts(completionCharges(ctx({ rates: bare }), shortOfDay, later(shortOfDay.end, 30 * MINUTE), null, null)), []);
});

test("extra days count on the local calendar: a 25 h fall-back day returned at 10:00 local is on time", (t) => {
  const booked = period("2026-10-23T08:00:00Z", "2026-10-24T08:00:00Z"); // Berlin, 1 day
  // Returned 10:00 local on 10-25 (25 h after the booked end): 1 extra day.
  t.deepEqual(amounts(completionCharges(ctx({ rates: bare }), booked, at("2026-10-25T09:00:00Z"), null, null)), [["extra_day", 4900n]]);
  t.deepEqual(amounts(completionCharges(ctx({ rates: bare }), booked, at("2026-10-25T09:01:00Z"), null, null)), [["extra_day", 9800n]]);
});

test("distance at completion: km beyond included km x the days used (booked or to the return, the larger)", (t) => {
  // 3 booked days, 450 km driven: 150 km over 300.
  t.deepEqual(completionCharges(ctx(), threeDays, threeDays.end, 1000, 1450), [{
    type: "distance", description: "150 km beyond 300 included km (450 km driven, 3 rental days) x 0.25 EUR",
    quantity: 150, unitPrice: eur(25n), amount: eur(3750n),
  }]);
  // Returned early: still the booked days' allowance.
  t.deepEqual(amounts(completionCharges(ctx(), threeDays, later(threeDays.start, DAY), 1000, 1450)), [["distance", 3750n]]);
  // Returned a day late: 4 days used, 400 km included.
  t.deepEqual(amounts(completionCharges(ctx({ rates: { ...rates, lateFeePerHour: null } }), threeDays, later(threeDays.end, 2 * HOUR), 1000, 1450)),
    [["extra_day", 4900n], ["distance", 1250n]]);
  // Unknown odometer, within the allowance, or decreasing: no line.
  t.deepEqual(completionCharges(ctx(), threeDays, threeDays.end, null, 1450), []);
  t.deepEqual(completionCharges(ctx(), threeDays, threeDays.end, 1000, 1300), []);
  t.deepEqual(completionCharges(ctx(), threeDays, threeDays.end, 1000, 900), []);
});

// ---- cancellation and no-show -----------------------------------------------

test("cancellation is free before the local deadline and costs the fee from it on, the deadline moving with DST", (t) => {
  // Start 10:00+02:00 on 03-30; 48 h before on the local calendar is 10:00+01:00 on 03-28 = 09:00Z (47 real hours).
  const booked = period("2026-03-30T08:00:00Z", "2026-04-02T08:00:00Z");
  t.is(cancellationFee(ctx(), booked, at("2026-03-28T08:59:59.999Z")), null);
  // 08:30Z is 47.5 h before the start: an elapsed-hours deadline (08:00Z) would charge, the local one does not.
  t.is(cancellationFee(ctx(), booked, at("2026-03-28T08:30:00Z")), null);
  const fee = cancellationFee(ctx(), booked, at("2026-03-28T09:00:00Z"));
  t.deepEqual(fee && [fee.type, fee.quantity, fee.unitPrice.amountMinor, fee.amount.amountMinor], ["cancellation_fee", 1, 2500n, 2500n]);
  t.is(fee?.description, "Cancellation after the free-cancellation deadline 2026-03-28T10:00:00+01:00[Europe/Berlin] (48 hours before the start)");
  t.not(cancellationFee(ctx(), booked, booked.end), null);
  // New York fall back: 24 h before 10:00-05:00 on 11-01 is 10:00-04:00 on 10-31 (25 real hours).
  const ny = ctx({ timeZone: NEW_YORK, rates: { ...rates, cancellation: { freeUntilHoursBefore: 24, fee: eur(2500n) } } });
  const nyBooked = period("2026-11-01T15:00:00Z", "2026-11-02T15:00:00Z");
  t.is(cancellationFee(ny, nyBooked, at("2026-10-31T13:59:00Z")), null);
  t.not(cancellationFee(ny, nyBooked, at("2026-10-31T14:00:00Z")), null);
});

test("no cancellation policy or a zero fee: always free; a zero-hour policy is free until the start", (t) => {
  const booked = period("2026-03-30T08:00:00Z", "2026-04-02T08:00:00Z");
  t.is(cancellationFee(ctx({ rates: bare }), booked, booked.end), null);
  t.is(cancellationFee(ctx({ rates: { ...rates, cancellation: { freeUntilHoursBefore: 48, fee: eur(0n) } } }), booked, booked.end), null);
  const zeroHours = ctx({ rates: { ...rates, cancellation: { freeUntilHoursBefore: 0, fee: eur(2500n) } } });
  t.is(cancellationFee(zeroHours, booked, later(booked.start, -1)), null);
  t.not(cancellationFee(zeroHours, booked, booked.start), null);
});

test("no-show fee: one line of the plan's fee, none without one", (t) => {
  t.deepEqual(noShowFee(ctx()), { type: "no_show_fee", description: "No-show: reservation not picked up", quantity: 1, unitPrice: eur(3000n), amount: eur(3000n) });
  t.is(noShowFee(ctx({ rates: bare })), null);
  t.is(noShowFee(ctx({ rates: { ...rates, noShowFee: eur(0n) } })), null);
});

test("dailyShares: 100.00 over 3 days is 33.34, 33.33, 33.33", (t) => {
  const line: ChargeDraft = { type: "base", description: "x", quantity: 1, unitPrice: eur(10000n), amount: eur(10000n) };
  t.deepEqual(dailyShares(line, 3), [eur(3334n), eur(3333n), eur(3333n)]);
  t.deepEqual(dailyShares(line, 1), [eur(10000n)]);
  t.throws(() => dailyShares(line, 0), { instanceOf: RangeError });
  t.throws(() => dailyShares(line, 1.5), { instanceOf: RangeError });
});

// ---- properties -------------------------------------------------------------

const amount = (max = 1_000_000n) => fc.bigInt({ min: 0n, max }).map(eur);
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const ratesArb: fc.Arbitrary<PricingRates> = fc.record({
  currency: fc.constant("EUR"),
  dailyRate: amount().map((m) => (m.amountMinor === 0n ? eur(1n) : m)),
  perKmRate: optional(amount(1000n)),
  includedKmPerDay: optional(fc.integer({ min: 0, max: 500 })),
  hourlyRate: optional(amount(200_000n)),
  lateFeePerHour: optional(amount(50_000n)),
  lateGraceMinutes: fc.integer({ min: 0, max: 1440 }),
  lateFeeCap: optional(amount()),
  cancellation: optional(fc.record({ freeUntilHoursBefore: fc.integer({ min: 0, max: 8760 }), fee: amount() })),
  noShowFee: optional(amount()),
  deposit: optional(amount()),
});
const staffArb = optional(fc.record({ userId: fc.constant("s"), dailyRate: optional(amount()) }));
const ctxArb: fc.Arbitrary<PricingContext> = fc.record({
  rates: ratesArb,
  timeZone: fc.constantFrom(BERLIN, NEW_YORK, "UTC", "Australia/Lord_Howe", "Asia/Kolkata"),
  driver: staffArb,
  conductor: staffArb,
});
const startArb = fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2027-01-01T00:00:00Z") });
/** Mostly short or a few days, sometimes up to two months. */
const durationArb = fc.oneof(fc.integer({ min: 1, max: DAY + 2 * HOUR }), fc.integer({ min: 1, max: 10 * DAY }), fc.integer({ min: 1, max: 60 * DAY }));
const periodArb = fc.tuple(startArb, durationArb).map(([s, d]): Period => ({ start: new Date(s), end: new Date(s + d) }));
const kmArb = optional(fc.integer({ min: 0, max: 20_000 }));

const sum = (lines: readonly ChargeDraft[]): bigint => lines.reduce((a, l) => a + l.amount.amountMinor, 0n);
/** Every line non-negative, in EUR, with quantity x unit price = amount and a description. */
const wellFormed = (lines: readonly ChargeDraft[]): boolean => lines.every((l) =>
  l.amount.amountMinor >= 0n && l.unitPrice.amountMinor >= 0n && Number.isSafeInteger(l.quantity) && l.quantity >= 0
  && l.amount.currency === "EUR" && l.unitPrice.currency === "EUR"
  && l.unitPrice.amountMinor * BigInt(l.quantity) === l.amount.amountMinor && l.description.length > 0);

test("property: a quote's total is the sum of its lines, nothing is negative, and the deposit stays apart", (t) => {
  fc.assert(fc.property(ctxArb, periodArb, kmArb, (c, p, km) => {
    const priced = priceTerms(c, p, km);
    return priced.total.amountMinor === sum(priced.lines) && priced.total.currency === "EUR"
      && wellFormed(priced.lines)
      && priced.lines.filter((l) => l.type === "deposit").length === 0
      && (priced.deposit === null || priced.deposit.amountMinor > 0n)
      && priced.rentalDays >= 1 && priced.rentalDays <= MAX_RENTAL_DAYS
      && priced.lines[0]?.type === "base"
      && priced.lines.every((l) => l.estimated === (l.type === "distance"))
      && (!priced.hourly || priced.lines[0].amount.amountMinor < c.rates.dailyRate.amountMinor);
  }), { numRuns: 300 });
  t.pass();
});

test("property: pricing is deterministic (same input twice, deep-equal output)", (t) => {
  fc.assert(fc.property(ctxArb, periodArb, kmArb, fc.integer({ min: -2 * DAY, max: 3 * DAY }), fc.integer({ min: 0, max: 5000 }),
    (c, p, km, lateness, driven) => {
      const returned = new Date(p.end.getTime() + lateness);
      const run = () => ({
        priced: priceTerms(c, p, km),
        completion: completionCharges(c, p, returned, 1000, 1000 + driven),
        cancel: cancellationFee(c, p, returned),
        noShow: noShowFee(c),
      });
      return isDeepStrictEqual(run(), run());
    }), { numRuns: 200 });
  t.pass();
});

test("property: extension charges sum to the difference of the non-estimated totals and are all positive", (t) => {
  fc.assert(fc.property(ctxArb, periodArb, durationArb, (c, previous, more) => {
    const next = { start: previous.start, end: new Date(previous.end.getTime() + more) };
    const charges = extensionCharges(c, previous, next);
    const difference = sum(reservationCharges(priceTerms(c, next, null))) - sum(reservationCharges(priceTerms(c, previous, null)));
    return sum(charges) === difference && wellFormed(charges) && charges.every((l) => l.amount.amountMinor > 0n)
      && new Set(charges.map((l) => l.type)).size === charges.length;
  }), { numRuns: 300 });
  t.pass();
});

test("property: completion charges are never negative, extra days match the local calendar, the late fee respects its cap", (t) => {
  fc.assert(fc.property(ctxArb, periodArb, fc.integer({ min: -3 * DAY, max: 5 * DAY }), kmArb, fc.integer({ min: 0, max: 5000 }),
    (c, booked, lateness, pickupKm, driven) => {
      const returned = new Date(booked.end.getTime() + lateness);
      const charges = completionCharges(c, booked, returned, pickupKm, pickupKm === null ? null : pickupKm + driven);
      const late = returned.getTime() > booked.end.getTime() + c.rates.lateGraceMinutes * MINUTE;
      const extra = charges.filter((l) => l.type === "extra_day");
      const fee = charges.find((l) => l.type === "late_fee");
      const extraDays = late ? rentalDays({ start: booked.start, end: returned }, c.timeZone) - rentalDays(booked, c.timeZone) : 0;
      return wellFormed(charges) && charges.every((l) => l.amount.amountMinor > 0n)
        && (late || (extra.length === 0 && fee === undefined))
        && extra.length === (extraDays > 0 ? 1 : 0) && (extra[0]?.quantity ?? 0) === extraDays
        && (fee === undefined || c.rates.lateFeeCap === null || fee.amount.amountMinor <= c.rates.lateFeeCap.amountMinor);
    }), { numRuns: 300 });
  t.pass();
});

test("property: dailyShares loses no minor unit and the shares differ by at most one", (t) => {
  fc.assert(fc.property(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.integer({ min: 1, max: MAX_RENTAL_DAYS }), (total, days) => {
    const line: ChargeDraft = { type: "base", description: "x", quantity: 1, unitPrice: eur(total), amount: eur(total) };
    const shares = dailyShares(line, days).map((m) => m.amountMinor);
    const max = shares.reduce((a, b) => (a > b ? a : b));
    const min = shares.reduce((a, b) => (a < b ? a : b));
    return shares.length === days && shares.reduce((a, b) => a + b, 0n) === total && max - min <= 1n;
  }), { numRuns: 500 });
  t.pass();
});
