import test from "ava";
import fc from "fast-check";
import { DomainError } from "../../platform/src/errors.js";
import {
  addLocalDays,
  isTimeZone,
  localDateTime,
  localDeadlineBefore,
  rentalDays,
  startedHours,
} from "../src/domain/local-calendar.js";

const BERLIN = "Europe/Berlin";
const NEW_YORK = "America/New_York";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string): Date => new Date(iso);
const hoursBetween = (a: Date, b: Date): number => (b.getTime() - a.getTime()) / HOUR;

// ---- an oracle independent of Temporal: Intl's wall clock ------------------

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The local wall clock of `ms` in `zone` as "naive" milliseconds (the wall clock read as if it were UTC). */
function wallNaive(ms: number, zone: string): number {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    formatters.set(zone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const field = (name: string): number => Number(parts[name]);
  return Date.UTC(field("year"), field("month") - 1, field("day"), field("hour"), field("minute"), field("second"))
    + (((ms % 1000) + 1000) % 1000);
}

/** UTC offsets (ms) a zone uses around its 2026 DST changes. */
const OFFSETS: Readonly<Record<string, readonly number[]>> = {
  [BERLIN]: [1 * HOUR, 2 * HOUR],
  [NEW_YORK]: [-5 * HOUR, -4 * HOUR],
};

/**
 * Temporal's `compatible` rule, from first principles: the instants whose
 * wall clock is `targetWall`; the earlier of two (overlap); none (gap): the
 * wall clock read with the offset before the gap (the smaller, standard-time
 * offset in spring), which lands the gap's length later on the wall clock.
 */
function compatibleInstant(targetWall: number, zone: string): { readonly ms: number; readonly inGap: boolean } {
  const offsets = OFFSETS[zone]!;
  const matches = offsets.map((o) => targetWall - o).filter((ms) => wallNaive(ms, zone) === targetWall).sort((a, b) => a - b);
  if (matches.length > 0) return { ms: matches[0]!, inGap: false };
  return { ms: targetWall - Math.min(...offsets), inGap: true };
}

// ---- time zones -------------------------------------------------------------

test("isTimeZone: IANA names of the runtime's zone DB, spelt as the DB spells them", (t) => {
  for (const zone of [BERLIN, NEW_YORK, "UTC", "Etc/UTC", "Asia/Kolkata", "Asia/Calcutta", "America/Argentina/Buenos_Aires", "Etc/GMT+2", "Australia/Lord_Howe"]) {
    t.true(isTimeZone(zone), zone);
  }
  for (const zone of ["", " ", "+02:00", "-05:00", "UTC+2", "GMT+2", "europe/berlin", "Europe/Berlin ", "Europe/Berlin\0", "Europe/Atlantis",
    "Foo", "2026-01-01T00:00+01:00[Europe/Berlin]", "Europe/Berlin\n", "../etc/passwd", "x".repeat(200)]) {
    t.false(isTimeZone(zone), JSON.stringify(zone));
  }
});

test("an unknown zone given to the calendar is INVALID_ARGUMENT on field time_zone", (t) => {
  const err = t.throws(() => addLocalDays(at("2026-01-01T00:00:00Z"), 1, "+02:00"), { instanceOf: DomainError });
  t.is(err?.reason, "INVALID_ARGUMENT");
  t.is(err?.fieldViolations[0]?.field, "time_zone");
  t.throws(() => rentalDays({ start: at("2026-01-01T00:00:00Z"), end: at("2026-01-02T00:00:00Z") }, "Mars/Olympus"), { instanceOf: DomainError });
});

test("localDateTime: ISO local date-time with offset and zone", (t) => {
  t.is(localDateTime(at("2026-03-29T08:00:00Z"), BERLIN), "2026-03-29T10:00:00+02:00[Europe/Berlin]");
  t.is(localDateTime(at("2026-03-28T09:00:00Z"), BERLIN), "2026-03-28T10:00:00+01:00[Europe/Berlin]");
  t.is(localDateTime(at("2026-11-01T05:30:00Z"), NEW_YORK), "2026-11-01T01:30:00-04:00[America/New_York]");
  t.is(localDateTime(at("2026-11-01T06:30:00Z"), NEW_YORK), "2026-11-01T01:30:00-05:00[America/New_York]");
  t.is(localDateTime(at("2026-01-01T00:00:00.250Z"), "UTC"), "2026-01-01T00:00:00.25+00:00[UTC]");
});

// ---- rental days across DST: Europe/Berlin ----------------------------------

test("Berlin spring forward: 10:00 on 03-28 to 10:00 on 03-29 is one rental day of 23 hours; 10:01 is two", (t) => {
  const start = at("2026-03-28T09:00:00Z"); // 10:00+01:00
  const end = at("2026-03-29T08:00:00Z"); // 10:00+02:00
  t.is(addLocalDays(start, 1, BERLIN).getTime(), end.getTime());
  t.is(hoursBetween(start, end), 23);
  t.is(rentalDays({ start, end }, BERLIN), 1);
  t.is(rentalDays({ start, end: at("2026-03-29T08:01:00Z") }, BERLIN), 2);
  t.is(rentalDays({ start, end: at("2026-03-29T07:59:59.999Z") }, BERLIN), 1);
});

test("Berlin fall back: 10:00 on 10-24 to 10:00 on 10-25 is one rental day of 25 hours; 10:01 is two", (t) => {
  const start = at("2026-10-24T08:00:00Z"); // 10:00+02:00
  const end = at("2026-10-25T09:00:00Z"); // 10:00+01:00
  t.is(addLocalDays(start, 1, BERLIN).getTime(), end.getTime());
  t.is(hoursBetween(start, end), 25);
  t.is(rentalDays({ start, end }, BERLIN), 1);
  t.is(rentalDays({ start, end: at("2026-10-25T09:01:00Z") }, BERLIN), 2);
  // 24 elapsed hours are still inside day one.
  t.is(rentalDays({ start, end: at("2026-10-25T08:00:00Z") }, BERLIN), 1);
});

test("Berlin gap: a 02:30 pickup on 03-28 ends day one at 03:30+02:00 on 03-29 (02:30 does not exist; moved forward by the hour)", (t) => {
  const start = at("2026-03-28T01:30:00Z"); // 02:30+01:00
  const dayOne = addLocalDays(start, 1, BERLIN);
  t.is(localDateTime(dayOne, BERLIN), "2026-03-29T03:30:00+02:00[Europe/Berlin]");
  t.is(hoursBetween(start, dayOne), 24);
  t.is(rentalDays({ start, end: dayOne }, BERLIN), 1);
  t.is(rentalDays({ start, end: new Date(dayOne.getTime() + 1) }, BERLIN), 2);
  // Day two is back on the wall clock.
  t.is(localDateTime(addLocalDays(start, 2, BERLIN), BERLIN), "2026-03-30T02:30:00+02:00[Europe/Berlin]");
  // Going back into the gap from the day after moves forward too.
  t.is(localDateTime(addLocalDays(at("2026-03-30T00:30:00Z"), -1, BERLIN), BERLIN), "2026-03-29T03:30:00+02:00[Europe/Berlin]");
});

test("Berlin overlap: a 02:30 pickup on 10-24 ends day one at the earlier 02:30 (+02:00) on 10-25", (t) => {
  const start = at("2026-10-24T00:30:00Z"); // 02:30+02:00
  const dayOne = addLocalDays(start, 1, BERLIN);
  t.is(localDateTime(dayOne, BERLIN), "2026-10-25T02:30:00+02:00[Europe/Berlin]");
  t.is(hoursBetween(start, dayOne), 24);
  // The second 02:30 (+01:00) on 10-25 is already in day two.
  t.is(rentalDays({ start, end: at("2026-10-25T01:30:00Z") }, BERLIN), 2);
  // From either 02:30 on 10-25, one day later is 02:30+01:00 on 10-26.
  t.is(localDateTime(addLocalDays(at("2026-10-25T00:30:00Z"), 1, BERLIN), BERLIN), "2026-10-26T02:30:00+01:00[Europe/Berlin]");
  t.is(localDateTime(addLocalDays(at("2026-10-25T01:30:00Z"), 1, BERLIN), BERLIN), "2026-10-26T02:30:00+01:00[Europe/Berlin]");
  // Back one day from the second 02:30 lands on the only 02:30 of 10-24.
  t.is(addLocalDays(at("2026-10-25T01:30:00Z"), -1, BERLIN).getTime(), start.getTime());
});

// ---- rental days across DST: America/New_York -------------------------------

test("New York spring forward: 10:00 on 03-07 to 10:00 on 03-08 is one rental day of 23 hours; 10:01 is two", (t) => {
  const start = at("2026-03-07T15:00:00Z"); // 10:00-05:00
  const end = at("2026-03-08T14:00:00Z"); // 10:00-04:00
  t.is(addLocalDays(start, 1, NEW_YORK).getTime(), end.getTime());
  t.is(hoursBetween(start, end), 23);
  t.is(rentalDays({ start, end }, NEW_YORK), 1);
  t.is(rentalDays({ start, end: at("2026-03-08T14:01:00Z") }, NEW_YORK), 2);
});

test("New York fall back: 10:00 on 10-31 to 10:00 on 11-01 is one rental day of 25 hours; 10:01 is two", (t) => {
  const start = at("2026-10-31T14:00:00Z"); // 10:00-04:00
  const end = at("2026-11-01T15:00:00Z"); // 10:00-05:00
  t.is(addLocalDays(start, 1, NEW_YORK).getTime(), end.getTime());
  t.is(hoursBetween(start, end), 25);
  t.is(rentalDays({ start, end }, NEW_YORK), 1);
  t.is(rentalDays({ start, end: at("2026-11-01T15:01:00Z") }, NEW_YORK), 2);
});

test("New York gap: a 02:30 pickup on 03-07 ends day one at 03:30-04:00 on 03-08", (t) => {
  const start = at("2026-03-07T07:30:00Z"); // 02:30-05:00
  const dayOne = addLocalDays(start, 1, NEW_YORK);
  t.is(localDateTime(dayOne, NEW_YORK), "2026-03-08T03:30:00-04:00[America/New_York]");
  t.is(rentalDays({ start, end: dayOne }, NEW_YORK), 1);
  t.is(rentalDays({ start, end: at("2026-03-08T07:31:00Z") }, NEW_YORK), 2);
});

test("New York overlap: a 01:30 pickup on 10-31 ends day one at the earlier 01:30 (-04:00) on 11-01", (t) => {
  const start = at("2026-10-31T05:30:00Z"); // 01:30-04:00
  const dayOne = addLocalDays(start, 1, NEW_YORK);
  t.is(localDateTime(dayOne, NEW_YORK), "2026-11-01T01:30:00-04:00[America/New_York]");
  t.is(hoursBetween(start, dayOne), 24);
  t.is(rentalDays({ start, end: at("2026-11-01T06:30:00Z") }, NEW_YORK), 2); // the second 01:30
  // 02:30 happens once in New York on 11-01 (the repeated hour is 01:00-02:00).
  t.is(localDateTime(addLocalDays(at("2026-10-31T06:30:00Z"), 1, NEW_YORK), NEW_YORK), "2026-11-01T02:30:00-05:00[America/New_York]");
});

test("rentalDays: whole local days in winter and summer, many days across a DST change, an empty period is one day", (t) => {
  t.is(rentalDays({ start: at("2026-01-10T09:00:00Z"), end: at("2026-01-13T09:00:00Z") }, BERLIN), 3);
  t.is(rentalDays({ start: at("2026-03-25T09:00:00Z"), end: at("2026-04-01T08:00:00Z") }, BERLIN), 7); // 10:00 to 10:00, 167 h
  t.is(rentalDays({ start: at("2026-03-25T09:00:00Z"), end: at("2026-04-01T08:30:00Z") }, BERLIN), 8);
  t.is(rentalDays({ start: at("2026-01-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z") }, "UTC"), 365);
  t.is(rentalDays({ start: at("2026-01-01T00:00:00Z"), end: at("2026-01-01T00:00:00Z") }, "UTC"), 1);
});

// ---- hours and deadlines ----------------------------------------------------

test("startedHours: ceiling of elapsed real hours, 0 when not after", (t) => {
  const from = at("2026-03-29T00:00:00Z");
  t.is(startedHours(from, from), 0);
  t.is(startedHours(from, at("2026-03-28T23:00:00Z")), 0);
  t.is(startedHours(from, at("2026-03-29T00:00:00.001Z")), 1);
  t.is(startedHours(from, at("2026-03-29T01:00:00Z")), 1);
  t.is(startedHours(from, at("2026-03-29T01:00:01Z")), 2);
  // Real hours across the Berlin gap: 01:30+01:00 to 03:30+02:00 is one hour.
  t.is(startedHours(at("2026-03-29T00:30:00Z"), at("2026-03-29T01:30:00Z")), 1);
});

test("localDeadlineBefore: whole days on the local calendar, the rest in elapsed hours", (t) => {
  // 48 h before 10:00+02:00 on 03-30 is 10:00+01:00 on 03-28: 47 real hours.
  const start = at("2026-03-30T08:00:00Z");
  const deadline = localDeadlineBefore(start, 48, BERLIN);
  t.is(localDateTime(deadline, BERLIN), "2026-03-28T10:00:00+01:00[Europe/Berlin]");
  t.is(hoursBetween(deadline, start), 47);
  // 50 h: two local days, then 2 elapsed hours.
  t.is(localDateTime(localDeadlineBefore(start, 50, BERLIN), BERLIN), "2026-03-28T08:00:00+01:00[Europe/Berlin]");
  // 24 h before 10:00-05:00 on 11-01 in New York is 10:00-04:00 on 10-31: 25 real hours.
  const nyStart = at("2026-11-01T15:00:00Z");
  t.is(localDateTime(localDeadlineBefore(nyStart, 24, NEW_YORK), NEW_YORK), "2026-10-31T10:00:00-04:00[America/New_York]");
  // Under a day: elapsed hours only; 0: the start itself.
  t.is(localDeadlineBefore(start, 5, BERLIN).getTime(), start.getTime() - 5 * HOUR);
  t.is(localDeadlineBefore(start, 0, BERLIN).getTime(), start.getTime());
  t.throws(() => localDeadlineBefore(start, -1, BERLIN), { instanceOf: RangeError });
});

// ---- properties -------------------------------------------------------------

/** Instants in the week around each 2026 DST change of the two zones. */
const dstWeeks: ReadonlyArray<readonly [string, string]> = [
  [BERLIN, "2026-03-29T00:00:00Z"], [BERLIN, "2026-10-25T00:00:00Z"],
  [NEW_YORK, "2026-03-08T00:00:00Z"], [NEW_YORK, "2026-11-01T00:00:00Z"],
];
const dstPickup = fc.constantFrom(...dstWeeks).chain(([zone, change]) =>
  fc.integer({ min: Date.parse(change) - 4 * DAY, max: Date.parse(change) + 3 * DAY }).map((ms) => ({ zone, start: new Date(ms) })));

/**
 * Pickups whose wall clock is near the changing hour, some days before or
 * after the change, moved onto the change day: these hit the gap and the overlap.
 */
const transitions: ReadonlyArray<readonly [string, string]> = [
  [BERLIN, "2026-03-29T01:00:00Z"], [BERLIN, "2026-10-25T01:00:00Z"],
  [NEW_YORK, "2026-03-08T07:00:00Z"], [NEW_YORK, "2026-11-01T06:00:00Z"],
];
const ontoChangeDay = fc.tuple(fc.constantFrom(...transitions), fc.integer({ min: -3, max: 3 }).filter((k) => k !== 0),
  fc.integer({ min: -2 * HOUR, max: 2 * HOUR }))
  .map(([[zone, change], k, u]) => ({ zone, start: new Date(Date.parse(change) + k * DAY + u), days: -k }));

test("property: moving a pickup near the changing hour onto the change day follows the compatible rule", (t) => {
  let gaps = 0;
  let overlaps = 0;
  fc.assert(fc.property(ontoChangeDay, ({ zone, start, days }) => {
    const moved = addLocalDays(start, days, zone);
    const targetWall = wallNaive(start.getTime(), zone) + days * DAY;
    const expected = compatibleInstant(targetWall, zone);
    if (expected.inGap) gaps += 1;
    if (wallNaive(expected.ms + HOUR, zone) === targetWall) overlaps += 1;
    return moved.getTime() === expected.ms && wallNaive(moved.getTime(), zone) === targetWall + (expected.inGap ? HOUR : 0);
  }), { numRuns: 400 });
  t.true(gaps > 0, "some pickups fell into a gap");
  t.true(overlaps > 0, "some pickups fell into an overlap");
});

test("property: one local day later has the same wall clock, or Temporal's compatible instant when that wall clock is in a gap or an overlap", (t) => {
  // Zero days is the start itself, even for the second of two equal wall clocks.
  fc.assert(fc.property(dstPickup, fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0), ({ zone, start }, days) => {
    const moved = addLocalDays(start, days, zone);
    const targetWall = wallNaive(start.getTime(), zone) + days * DAY;
    const expected = compatibleInstant(targetWall, zone);
    if (moved.getTime() !== expected.ms) return false;
    // Same wall clock, or (in the gap) the wall clock moved forward by the gap's hour.
    return wallNaive(moved.getTime(), zone) === targetWall + (expected.inGap ? HOUR : 0);
  }), { numRuns: 500 });
  t.pass();
});

test("property: addLocalDays(start, 1) is 23, 24 or 25 real hours later in the DST weeks", (t) => {
  fc.assert(fc.property(dstPickup, ({ zone, start }) => {
    const hours = hoursBetween(start, addLocalDays(start, 1, zone));
    return hours === 23 || hours === 24 || hours === 25;
  }), { numRuns: 300 });
  t.pass();
});

const zones = fc.constantFrom(BERLIN, NEW_YORK, "UTC", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo");
const instant2026 = fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2027-01-01T00:00:00Z") });
const duration = fc.integer({ min: 1, max: 40 * DAY });

test("property: rentalDays is the smallest n >= 1 with addLocalDays(start, n) >= end", (t) => {
  fc.assert(fc.property(zones, instant2026, duration, (zone, s, d) => {
    const period = { start: new Date(s), end: new Date(s + d) };
    const n = rentalDays(period, zone);
    return n >= 1
      && addLocalDays(period.start, n, zone).getTime() >= period.end.getTime()
      && (n === 1 || addLocalDays(period.start, n - 1, zone).getTime() < period.end.getTime());
  }), { numRuns: 300 });
  t.pass();
});

test("property: rentalDays is monotonic in the end and deterministic", (t) => {
  fc.assert(fc.property(zones, instant2026, duration, duration, (zone, s, d1, d2) => {
    const start = new Date(s);
    const [short, long] = d1 <= d2 ? [d1, d2] : [d2, d1];
    const a = rentalDays({ start, end: new Date(s + short) }, zone);
    const b = rentalDays({ start, end: new Date(s + long) }, zone);
    return a <= b && a === rentalDays({ start: new Date(s), end: new Date(s + short) }, zone);
  }), { numRuns: 300 });
  t.pass();
});

test("property: localDeadlineBefore is never after the start and moves back whole local days", (t) => {
  fc.assert(fc.property(zones, instant2026, fc.integer({ min: 0, max: 8760 }), (zone, s, hours) => {
    const start = new Date(s);
    const deadline = localDeadlineBefore(start, hours, zone);
    const days = Math.floor(hours / 24);
    return deadline.getTime() <= start.getTime()
      && deadline.getTime() === addLocalDays(start, -days, zone).getTime() - (hours - days * 24) * HOUR;
  }), { numRuns: 300 });
  t.pass();
});
