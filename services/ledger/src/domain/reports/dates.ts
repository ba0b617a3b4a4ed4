// Pure: accounting dates ("YYYY-MM-DD", days of the reporting time zone) and
// time buckets. Dates are handled as whole days since 1970-01-01 so that no
// time zone or clock ever enters the arithmetic.

import { Temporal } from "@js-temporal/polyfill";
export type Granularity = "PERIOD" | "DAY" | "WEEK" | "MONTH";

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a valid "YYYY-MM-DD" (year 2000..2099), else undefined. */
export function parseDate(text: string): number | undefined {
  const m = DATE_PATTERN.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 2000 || year > 2099 || month < 1 || month > 12 || day < 1) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined; // 2025-02-30
  return ms / DAY_MS;
}

export const isDate = (text: string): boolean => parseDate(text) !== undefined;

/** "YYYY-MM-DD" of a day number. */
export const formatDate = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** Day number of a date known to be valid (checked by the request parser). */
export function dayOf(text: string): number {
  const day = parseDate(text);
  if (day === undefined) throw new RangeError(`not a date: ${text}`);
  return day;
}

export const addDays = (date: string, days: number): string => formatDate(dayOf(date) + days);

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export const daysBetween = (from: string, to: string): number => dayOf(to) - dayOf(from);

/** Monday of the ISO week of `day` (1970-01-01 was a Thursday). */
export const isoWeekStart = (day: number): number => day - ((day + 3) % 7 + 7) % 7;

export function monthStart(day: number): number {
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS;
}

function nextMonthStart(day: number): number {
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY_MS;
}

/**
 * The first date of the bucket holding `date` within the period starting
 * `periodStart`: PERIOD buckets are the whole period (its start); a WEEK or
 * MONTH bucket cut by the period's start begins at the period's start.
 */
export function bucketStart(date: string, granularity: Granularity, periodStart: string): string {
  const day = dayOf(date);
  const start = dayOf(periodStart);
  switch (granularity) {
    case "PERIOD":
      return periodStart;
    case "DAY":
      return date;
    case "WEEK":
      return formatDate(Math.max(isoWeekStart(day), start));
    case "MONTH":
      return formatDate(Math.max(monthStart(day), start));
  }
}

export interface DateBucket {
  /** First date, "YYYY-MM-DD". */
  readonly start: string;
  /** Day after the last, "YYYY-MM-DD". */
  readonly end: string;
}

/** The buckets of [start, end) in order, clipped to the period. */
export function bucketsOf(start: string, end: string, granularity: Granularity): DateBucket[] {
  const first = dayOf(start);
  const last = dayOf(end);
  const out: DateBucket[] = [];
  let from = first;
  while (from < last) {
    let to: number;
    switch (granularity) {
      case "PERIOD": to = last; break;
      case "DAY": to = from + 1; break;
      case "WEEK": to = isoWeekStart(from) + 7; break;
      case "MONTH": to = nextMonthStart(from); break;
    }
    to = Math.min(to, last);
    out.push({ start: formatDate(from), end: formatDate(to) });
    from = to;
  }
  return out;
}

/** Epoch seconds of the midnight starting `date` in `timeZone` (an IANA name; DST-aware). */
export function dayStartSeconds(date: string, timeZone: string): bigint {
  const ms = Temporal.PlainDate.from(date).toZonedDateTime({ timeZone }).epochMilliseconds;
  return BigInt(Math.floor(ms / 1000));
}
