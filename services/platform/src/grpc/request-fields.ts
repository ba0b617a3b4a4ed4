// Shape checks of request fields, shared by every service's gRPC adapter:
// each records its violation under the field's proto path and returns the
// parsed value (or a neutral one), so that a handler collects every problem
// of a request and throws one INVALID_ARGUMENT before calling anything.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { PageRequest } from "../../../../gen/fleetmesh/common/v1/paging_pb.js";
import type { Period as ProtoPeriod } from "../../../../gen/fleetmesh/common/v1/period_pb.js";
import { invalidArgument } from "../errors.js";
import { Violations } from "../validation.js";

const DAY_MS = 86_400_000;
/** Timestamps outside [2000-01-01, 2100-01-01) are typos or unit mix-ups (ms as s), never business times. */
export const EARLIEST_TIME = new Date(Date.UTC(2000, 0, 1));
export const LATEST_TIME = new Date(Date.UTC(2100, 0, 1));
const EARLIEST_SECONDS = BigInt(EARLIEST_TIME.getTime() / 1000);
const LATEST_SECONDS = BigInt(LATEST_TIME.getTime() / 1000);
export const MAX_PAGE_TOKEN = 512;

/** Throws one INVALID_ARGUMENT listing every violation recorded, if any. */
export const check = (v: Violations): void => {
  if (!v.empty) throw invalidArgument(v.list);
};

/** Required text: trimmed, 1..max characters; "" when absent (a violation is recorded). */
export function requiredText(v: Violations, field: string, value: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed === "") v.add(field, "is required", "REQUIRED");
  else v.maxLength(field, trimmed, max);
  return trimmed;
}

/** Optional text: trimmed, at most max characters. */
export function optionalText(v: Violations, field: string, value: string, max: number): string {
  const trimmed = value.trim();
  v.maxLength(field, trimmed, max);
  return trimmed;
}

/** An optional id: "" is absent (null), anything else must be a UUID. */
export function optionalUuid(v: Violations, field: string, value: string): string | null {
  if (value === "") return null;
  v.uuid(field, value);
  return value;
}

export function requiredUuid(v: Violations, field: string, value: string): string {
  v.uuid(field, value);
  return value;
}

/** 0 skips the optimistic check (the contracts' "0 skips"); negative is a client bug. */
export function expectedRowVersion(v: Violations, value: bigint, field = "expected_row_version"): bigint {
  if (value < 0n) v.add(field, "must not be negative (0 skips the check)", "OUT_OF_RANGE");
  return value;
}

export function nonNegativeInt(v: Violations, field: string, value: number | undefined): number | null {
  if (value === undefined) return null;
  if (value < 0) v.add(field, "must not be negative", "OUT_OF_RANGE");
  return value;
}

/** page_size (0 = default) and page_token as sent, checked. */
export function pageOf(v: Violations, page: PageRequest | undefined): { readonly pageSize: number; readonly pageToken: string } {
  const pageSize = page?.pageSize ?? 0;
  if (pageSize < 0) v.add("page.page_size", "must not be negative", "OUT_OF_RANGE");
  const pageToken = page?.pageToken ?? "";
  v.maxLength("page.page_token", pageToken, MAX_PAGE_TOKEN);
  return { pageSize, pageToken };
}

/** A timestamp inside [2000-01-01, 2100-01-01); null when absent or absurd (a violation is recorded). */
export function timeOf(v: Violations, field: string, t: Timestamp | undefined, required: boolean): Date | null {
  if (t === undefined) {
    if (required) v.add(field, "is required", "REQUIRED");
    return null;
  }
  // Checked on the wire values: a huge `seconds` would be an Invalid Date.
  if (t.nanos < 0 || t.nanos > 999_999_999) {
    v.add(field, "nanos must be between 0 and 999999999", "OUT_OF_RANGE");
    return null;
  }
  if (t.seconds < EARLIEST_SECONDS || t.seconds >= LATEST_SECONDS) {
    v.add(field, `must be between ${EARLIEST_TIME.toISOString()} and ${LATEST_TIME.toISOString()}`, "OUT_OF_RANGE");
    return null;
  }
  return timestampDate(t);
}

/**
 * A half-open period: both ends required, end strictly after start (an
 * empty period holds nothing), at most `maxDays` long when given. Whether
 * the start may lie in the past needs the clock: the use case decides.
 */
export function periodOf(
  v: Violations,
  field: string,
  p: ProtoPeriod | undefined,
  options: { readonly maxDays: number | null },
): { start: Date; end: Date } | null {
  if (p === undefined) {
    v.add(field, "is required", "REQUIRED");
    return null;
  }
  const start = timeOf(v, `${field}.start_time`, p.startTime, true);
  const end = timeOf(v, `${field}.end_time`, p.endTime, true);
  if (start === null || end === null) return null;
  const length = end.getTime() - start.getTime();
  if (length < 0) {
    v.add(`${field}.end_time`, "must be after start_time", "INVALID_PERIOD");
    return null;
  }
  if (length === 0) {
    v.add(`${field}.end_time`, "must be after start_time: the period is empty", "INVALID_PERIOD");
    return null;
  }
  if (options.maxDays !== null && length > options.maxDays * DAY_MS) {
    v.add(`${field}.end_time`, `the period must be at most ${options.maxDays} days long`, "OUT_OF_RANGE");
    return null;
  }
  return { start, end };
}
