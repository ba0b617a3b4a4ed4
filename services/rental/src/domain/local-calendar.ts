// A location's local calendar: rental days, deadlines and grace periods are
// counted in the pickup location's IANA time zone (docs/rentals.md, "Time
// zones and rental days"). Pure: no transport or persistence imports, no clock.
//
// Zone arithmetic is Temporal's, from the TC39 champions' polyfill: Node 24
// has no `Temporal` global without a flag. A local time that does not exist
// (spring-forward gap) or occurs twice (fall-back overlap) is resolved like
// Temporal's `compatible` disambiguation: a gap moves the wall clock forward
// by the gap's length, an overlap takes the earlier instant.
import { Temporal } from "@js-temporal/polyfill";
import { invalidArgument } from "../../../platform/src/errors.js";
import type { Period } from "./model.js";

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;
/** Longer than any IANA zone name (the longest is about 30 characters). */
const MAX_ZONE_LENGTH = 64;
/** Letters, digits and the punctuation IANA names use: "America/Argentina/Buenos_Aires", "Etc/GMT+2". */
const ZONE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

const knownZones = new Set<string>();

/**
 * True for a named IANA time zone that the runtime's zone database knows,
 * spelt exactly as the database spells it: canonical names ("Europe/Berlin"),
 * links ("Asia/Calcutta", "US/Eastern") and "UTC"/"Etc/UTC" are accepted.
 * Refused: "", a fixed UTC offset ("+02:00": it has no local calendar of its
 * own and no DST rules), a wrong case ("europe/berlin"), an unknown name,
 * anything with control characters, spaces or a bracketed annotation.
 */
export function isTimeZone(zone: string): boolean {
  if (knownZones.has(zone)) return true;
  if (zone.length === 0 || zone.length > MAX_ZONE_LENGTH || !ZONE_NAME_PATTERN.test(zone)) return false;
  let id: string;
  try {
    id = Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(zone).timeZoneId;
  } catch {
    return false;
  }
  if (id !== zone) return false;
  knownZones.add(zone);
  return true;
}

function checkedZone(timeZone: string): string {
  if (isTimeZone(timeZone)) return timeZone;
  throw invalidArgument([{
    field: "time_zone",
    description: "must be an IANA time zone known to the server, such as Europe/Berlin",
    reason: "INVALID_FORMAT",
  }]);
}

function checkedMillis(instant: Date, field: string): number {
  const ms = instant.getTime();
  if (Number.isFinite(ms)) return ms;
  throw invalidArgument([{ field, description: "must be a valid timestamp", reason: "INVALID_FORMAT" }]);
}

const zoned = (instant: Date, timeZone: string, field = "time"): Temporal.ZonedDateTime =>
  Temporal.Instant.fromEpochMilliseconds(checkedMillis(instant, field)).toZonedDateTimeISO(checkedZone(timeZone));

// ---- the steady-offset fast path ----
//
// Between two offset transitions of a zone (DST changes, rule changes) a
// local day is exactly 24 h and every wall-clock time occurs once, so
// "n local days later" is n x 24 h later. Temporal (the polyfill, on JSBI
// big integers) costs tens of microseconds per step, a measurable share of
// a reservation; the spans between transitions are asked of it once per
// zone and reused. A step whose range (with a day of margin on each side)
// is not inside one span goes to Temporal as before.

/** [from, until): no offset transition of the zone at any instant in it but possibly at `from` itself. */
interface SteadySpan {
  readonly from: number;
  readonly until: number;
}

const steadySpans = new Map<string, SteadySpan[]>();
const MAX_SPANS_PER_ZONE = 256;

/** The span from `ms` (or a cached one holding it) to the zone's next transition; `timeZone` checked already. */
function steadySpanAt(timeZone: string, ms: number): SteadySpan {
  let spans = steadySpans.get(timeZone);
  if (spans === undefined) steadySpans.set(timeZone, (spans = []));
  for (const span of spans) if (span.from <= ms && ms < span.until) return span;
  const next = Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(timeZone).getTimeZoneTransition("next");
  const span = { from: ms, until: next === null ? Infinity : next.epochMilliseconds };
  if (spans.length >= MAX_SPANS_PER_ZONE) spans.length = 0;
  spans.push(span);
  return span;
}

/** True when [lo, hi] is free of offset transitions of the zone, with a day of margin on each side. */
function steadyBetween(timeZone: string, lo: number, hi: number): boolean {
  const from = lo - MS_PER_DAY;
  const until = hi + MS_PER_DAY;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(until)) return false;
  return until < steadySpanAt(timeZone, from).until;
}

/**
 * The instant with the same local wall-clock time `days` local calendar days
 * later (earlier when negative) in `timeZone`: a local day lasts 23, 24 or 25
 * hours across DST changes. A wall-clock time that does not exist on the
 * target day is moved forward by the gap; one that occurs twice takes the
 * earlier instant (Temporal's `compatible`). Zero days returns the instant.
 */
export function addLocalDays(instant: Date, days: number, timeZone: string): Date {
  if (!Number.isSafeInteger(days)) throw new RangeError(`addLocalDays needs a whole number of days, got ${days}`);
  const ms = checkedMillis(instant, "time");
  const zone = checkedZone(timeZone);
  const target = ms + days * MS_PER_DAY;
  if (steadyBetween(zone, Math.min(ms, target), Math.max(ms, target))) return new Date(target);
  const start = zoned(instant, timeZone);
  return new Date(start.add({ days }).epochMilliseconds);
}

/**
 * Rental days of [start, end) on the local calendar of `timeZone`: the
 * smallest n >= 1 with addLocalDays(start, n) >= end. A period that is empty
 * or reversed counts as one day.
 */
export function rentalDays(period: Period, timeZone: string): number {
  const startMs = checkedMillis(period.start, "period.start_time");
  const zone = checkedZone(timeZone);
  const endMs = checkedMillis(period.end, "period.end_time");
  // Steady offset over the days counted: each local day is 24 h.
  const days = Math.max(1, Math.ceil((endMs - startMs) / MS_PER_DAY));
  if (steadyBetween(zone, startMs, startMs + days * MS_PER_DAY)) return days;
  const start = zoned(period.start, timeZone, "period.start_time");
  const at = (n: number): number => start.add({ days: n }).epochMilliseconds;
  // A local day is 24 h give or take a DST shift (at most a day in history:
  // Samoa skipped 2011-12-30), so the elapsed-time guess is within a step or two.
  let n = Math.max(1, Math.floor((endMs - start.epochMilliseconds) / MS_PER_DAY));
  while (n > 1 && at(n - 1) >= endMs) n -= 1;
  while (at(n) < endMs) n += 1;
  return n;
}

/** Started hours of real (elapsed) time from `from` to `to`: the ceiling; 0 when `to` <= `from`. */
export function startedHours(from: Date, to: Date): number {
  const elapsed = checkedMillis(to, "to") - checkedMillis(from, "from");
  return elapsed <= 0 ? 0 : Math.ceil(elapsed / MS_PER_HOUR);
}

/**
 * The instant `hoursBefore` hours before `start` as a local deadline: the
 * whole days in it (floor(hoursBefore / 24)) go back on the local calendar
 * (addLocalDays(start, -days)), the remaining hours are elapsed hours before
 * that. "48 hours before 10:00 local" is 10:00 local two calendar days
 * earlier, even across a DST change.
 */
export function localDeadlineBefore(start: Date, hoursBefore: number, timeZone: string): Date {
  if (!Number.isFinite(hoursBefore) || hoursBefore < 0) {
    throw new RangeError(`localDeadlineBefore needs hours >= 0, got ${hoursBefore}`);
  }
  const days = Math.floor(hoursBefore / 24);
  const restMs = Math.round((hoursBefore - days * 24) * MS_PER_HOUR);
  return new Date(addLocalDays(start, -days, timeZone).getTime() - restMs);
}

/**
 * The instant as a local date-time with offset and zone, for descriptions
 * and logs: "2026-03-29T10:00:00+02:00[Europe/Berlin]" (fractional seconds
 * only when there are any).
 */
export function localDateTime(instant: Date, timeZone: string): string {
  return zoned(instant, timeZone).toString();
}
