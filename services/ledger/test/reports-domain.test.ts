// The pure parts of the reports: date buckets (ISO weeks start Monday),
// canonical CSV quoting, half-even basis points, aging buckets, page cuts.
import test from "ava";
import fc from "fast-check";
import { agingBucketOf } from "../src/domain/reports/aging.js";
import { csvLine, cutAtLineEnd } from "../src/domain/reports/csv.js";
import { bucketsOf, bucketStart, dayStartSeconds, isDate, isoWeekStart, parseDate, formatDate } from "../src/domain/reports/dates.js";
import { clippedUnion, coveredSeconds, utilizationBasisPoints } from "../src/domain/reports/utilization.js";

test("dates are strict YYYY-MM-DD", (t) => {
  for (const ok of ["2025-01-01", "2024-02-29", "2099-12-31"]) t.true(isDate(ok), ok);
  for (const bad of ["2025-02-29", "2025-13-01", "2025-1-01", "25-01-01", "1999-12-31", "2025-01-01T00:00:00Z", ""]) t.false(isDate(bad), bad);
});

test("ISO weeks start on Monday; buckets are clipped to the period", (t) => {
  t.is(formatDate(isoWeekStart(parseDate("2025-01-05")!)), "2024-12-30"); // a Sunday
  t.is(formatDate(isoWeekStart(parseDate("2025-01-06")!)), "2025-01-06"); // a Monday
  t.is(bucketStart("2025-01-05", "WEEK", "2025-01-01"), "2025-01-01");
  t.is(bucketStart("2025-03-17", "MONTH", "2025-01-15"), "2025-03-01");
  t.is(bucketStart("2025-01-20", "MONTH", "2025-01-15"), "2025-01-15");
  t.is(bucketStart("2025-03-17", "PERIOD", "2025-01-15"), "2025-01-15");
  t.deepEqual(bucketsOf("2025-01-01", "2025-01-15", "WEEK"), [
    { start: "2025-01-01", end: "2025-01-06" },
    { start: "2025-01-06", end: "2025-01-13" },
    { start: "2025-01-13", end: "2025-01-15" },
  ]);
  t.deepEqual(bucketsOf("2025-01-15", "2025-03-02", "MONTH").map((b) => b.start), ["2025-01-15", "2025-02-01", "2025-03-01"]);
  t.is(bucketsOf("2024-01-01", "2025-01-01", "DAY").length, 366);
});

test("buckets tile the period exactly, for any period and granularity", (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 1, max: 400 }), fc.constantFrom("DAY", "WEEK", "MONTH", "PERIOD" as const), (from, len, g) => {
    const start = formatDate(parseDate("2020-01-01")! + from);
    const end = formatDate(parseDate(start)! + len);
    const buckets = bucketsOf(start, end, g);
    if (buckets[0]?.start !== start || buckets.at(-1)?.end !== end) return false;
    return buckets.every((b, i) => i === 0 || buckets[i - 1]!.end === b.start) && buckets.every((b) => bucketStart(b.start, g, start) === b.start);
  }));
  t.pass();
});

test("days start at the reporting zone's midnight (DST-aware)", (t) => {
  t.is(dayStartSeconds("2025-03-30", "UTC"), BigInt(Date.UTC(2025, 2, 30) / 1000));
  // Europe/Berlin springs forward on 2025-03-30: that day has 23 hours.
  t.is(dayStartSeconds("2025-03-31", "Europe/Berlin") - dayStartSeconds("2025-03-30", "Europe/Berlin"), 23n * 3600n);
});

test("CSV fields are quoted per RFC 4180 and lines end with CRLF", (t) => {
  t.is(csvLine(["a", "b,c", 'say "hi"', "x\r\ny", ""]), 'a,"b,c","say ""hi""","x\r\ny",\r\n');
});

test("pages are cut at line ends, at least one line each", (t) => {
  const text = "aaa\r\nbb\r\ncccc\r\n";
  t.is(cutAtLineEnd(text, 5), 5);
  t.is(cutAtLineEnd(text, 9), 9);
  t.is(cutAtLineEnd(text, 2), 5, "a longer first line is taken whole");
  t.is(cutAtLineEnd(text, 2, false), 0);
  t.is(cutAtLineEnd(text, 100), text.length);
  t.is(cutAtLineEnd("é\r\n", 3, false), 0, "bytes, not characters");
});

test("utilization in basis points rounds half to even", (t) => {
  t.is(utilizationBasisPoints(1n, 3n), 3333);
  t.is(utilizationBasisPoints(2n, 3n), 6667);
  t.is(utilizationBasisPoints(1n, 20_000n), 0, "0.5 bp -> 0 (even)");
  t.is(utilizationBasisPoints(3n, 20_000n), 2, "1.5 bp -> 2 (even)");
  t.is(utilizationBasisPoints(5n, 20_000n), 2, "2.5 bp -> 2 (even)");
  t.is(utilizationBasisPoints(5n, 0n), 0);
  t.is(utilizationBasisPoints(10n, 10n), 10_000);
});

test("rented time counts overlapping rentals once, clipped to the bucket", (t) => {
  const iv = (start: number, end: number) => ({ start: BigInt(start), end: BigInt(end) });
  t.deepEqual(clippedUnion([iv(5, 15), iv(0, 8), iv(20, 30)], 2n, 25n), [iv(2, 15), iv(20, 25)]);
  t.is(coveredSeconds([iv(5, 15), iv(0, 8), iv(20, 30)], 2n, 25n), 18n);
  t.is(coveredSeconds([], 0n, 10n), 0n);
});

test("aging buckets", (t) => {
  t.deepEqual([-5, 0, 1, 30, 31, 60, 61, 90, 91].map(agingBucketOf), [
    "CURRENT", "CURRENT", "DAYS_1_TO_30", "DAYS_1_TO_30", "DAYS_31_TO_60", "DAYS_31_TO_60", "DAYS_61_TO_90", "DAYS_61_TO_90", "OVER_90",
  ]);
});
