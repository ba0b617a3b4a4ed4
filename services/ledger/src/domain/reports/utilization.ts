// Pure: rented and available time of a vehicle in a bucket, and utilization
// in basis points rounded half-even. Times are epoch seconds (bigint).

export interface Interval {
  readonly start: bigint;
  readonly end: bigint;
}

/** The union of intervals clipped to [from, to), as disjoint sorted intervals. */
export function clippedUnion(intervals: readonly Interval[], from: bigint, to: bigint): Interval[] {
  const clipped = intervals
    .map((i) => ({ start: i.start > from ? i.start : from, end: i.end < to ? i.end : to }))
    .filter((i) => i.end > i.start)
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Interval[] = [];
  for (const i of clipped) {
    const last = out.at(-1);
    if (last !== undefined && i.start <= last.end) out[out.length - 1] = { start: last.start, end: i.end > last.end ? i.end : last.end };
    else out.push(i);
  }
  return out;
}

export const lengthOf = (intervals: readonly Interval[]): bigint => intervals.reduce((acc, i) => acc + (i.end - i.start), 0n);

/** Seconds of [from, to) covered by the intervals (overlaps counted once). */
export const coveredSeconds = (intervals: readonly Interval[], from: bigint, to: bigint): bigint =>
  lengthOf(clippedUnion(intervals, from, to));

/** numerator / denominator rounded to the nearest integer, ties to even; both non-negative. */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const q = numerator / denominator;
  const r = numerator % denominator;
  const twice = 2n * r;
  if (twice > denominator || (twice === denominator && q % 2n === 1n)) return q + 1n;
  return q;
}

/** rented / available in basis points (10000 = 100 %), half-even; 0 when nothing was available. */
export function utilizationBasisPoints(rented: bigint, available: bigint): number {
  if (available <= 0n) return 0;
  return Number(divideHalfEven(rented * 10_000n, available));
}
