// Request shape checks of the ReportingService RPCs: every violation is
// collected with its proto field path, then one INVALID_ARGUMENT lists them
// all and no use case is called. Position and existence checks (as_of_position
// beyond the readable position, unknown snapshots) are the use cases'.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type {
  BalanceSheetParameters,
  DateRange as ProtoDateRange,
  FleetUtilizationParameters,
  IncomeStatementParameters,
  MaintenanceCostReportParameters,
  ReceivablesAgingParameters,
  ReportGranularity as ProtoGranularity,
  ReportParameters,
  ReportType as ProtoReportType,
  RevenueReportParameters,
  TrialBalanceParameters,
} from "../../../../../gen/fleetmesh/ledger/v1/report_pb.js";
import { check, MAX_PAGE_TOKEN, pageOf, timeOf } from "../../../../platform/src/grpc/request-fields.js";
import { Violations } from "../../../../platform/src/validation.js";
import { MAX_CSV_PAGE_BYTES } from "../../app/reporting-use-cases.js";
import { daysBetween, isDate, type Granularity } from "../../domain/reports/dates.js";
import type { DateRange, ReportParams, ReportType } from "../../domain/reports/model.js";
import { granularityFromProto, reportTypeFromProto } from "../proto/report-proto.js";

export { check, pageOf };

export const MAX_VEHICLE_IDS = 500;
/** Longest period of a bucketed report at DAY granularity. */
export const MAX_DAY_BUCKET_DAYS = 366;
/** Longest period of any report (ten years). */
export const MAX_PERIOD_DAYS = 3_660;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function dateOf(v: Violations, field: string, value: string): string {
  if (value === "") v.add(field, "is required", "REQUIRED");
  else if (!isDate(value)) v.add(field, 'must be a date "YYYY-MM-DD" between 2000-01-01 and 2099-12-31', "INVALID_FORMAT");
  return value;
}

export function rangeOf(v: Violations, field: string, r: ProtoDateRange | undefined, granularity: Granularity | null): DateRange {
  if (r === undefined) {
    v.add(field, "is required", "REQUIRED");
    return { start: "", end: "" };
  }
  const before = v.list.length;
  const start = dateOf(v, `${field}.start_date`, r.startDate);
  const end = dateOf(v, `${field}.end_date`, r.endDate);
  if (v.list.length === before) {
    const days = daysBetween(start, end);
    if (days <= 0) v.add(`${field}.end_date`, "must be after start_date", "INVALID_PERIOD");
    else if (granularity === "DAY" && days > MAX_DAY_BUCKET_DAYS) {
      v.add(`${field}.end_date`, `the period must be at most ${MAX_DAY_BUCKET_DAYS} days long at DAY granularity`, "OUT_OF_RANGE");
    } else if (days > MAX_PERIOD_DAYS) v.add(`${field}.end_date`, `the period must be at most ${MAX_PERIOD_DAYS} days long`, "OUT_OF_RANGE");
  }
  return { start, end };
}

/** Up to 500 UUIDs, lower-cased, duplicates dropped, sorted. */
export function vehicleIdsOf(v: Violations, field: string, ids: readonly string[]): string[] {
  if (ids.length > MAX_VEHICLE_IDS) {
    v.add(field, `must list at most ${MAX_VEHICLE_IDS} vehicles`, "OUT_OF_RANGE");
    return [];
  }
  ids.forEach((id, i) => {
    if (!UUID.test(id)) v.add(`${field}[${i}]`, "must be a UUID", "INVALID_FORMAT");
  });
  return [...new Set(ids.map((id) => id.toLowerCase()))].sort();
}

export function granularityOf(v: Violations, field: string, g: ProtoGranularity): Granularity {
  const parsed = granularityFromProto(g);
  if (parsed === undefined) v.add(field, "is not a known granularity", "INVALID_ARGUMENT");
  return parsed ?? "PERIOD";
}

export function positionOf(v: Violations, field: string, p: bigint): bigint | null {
  if (p < 0n) v.add(field, "must not be negative (0 means the readable position)", "OUT_OF_RANGE");
  return p > 0n ? p : null;
}

const cutoffOf = (v: Violations, field: string, t: Timestamp | undefined): Date | null => timeOf(v, field, t, false);

export const trialBalanceParamsOf = (v: Violations, f: string, p: TrialBalanceParameters | undefined): ReportParams => ({
  type: "TRIAL_BALANCE",
  asOfDate: dateOf(v, `${f}.as_of_date`, p?.asOfDate ?? ""),
  cutoffTime: cutoffOf(v, `${f}.cutoff_time`, p?.cutoffTime),
  asOfPosition: positionOf(v, `${f}.as_of_position`, p?.asOfPosition ?? 0n),
});

export const balanceSheetParamsOf = (v: Violations, f: string, p: BalanceSheetParameters | undefined): ReportParams => ({
  type: "BALANCE_SHEET",
  asOfDate: dateOf(v, `${f}.as_of_date`, p?.asOfDate ?? ""),
  cutoffTime: cutoffOf(v, `${f}.cutoff_time`, p?.cutoffTime),
  asOfPosition: positionOf(v, `${f}.as_of_position`, p?.asOfPosition ?? 0n),
});

export const incomeStatementParamsOf = (v: Violations, f: string, p: IncomeStatementParameters | undefined): ReportParams => ({
  type: "INCOME_STATEMENT",
  period: rangeOf(v, `${f}.period`, p?.period, null),
  cutoffTime: cutoffOf(v, `${f}.cutoff_time`, p?.cutoffTime),
  asOfPosition: positionOf(v, `${f}.as_of_position`, p?.asOfPosition ?? 0n),
});

export function revenueParamsOf(v: Violations, f: string, p: RevenueReportParameters | undefined): ReportParams {
  const granularity = granularityOf(v, `${f}.granularity`, p?.granularity ?? 0);
  return {
    type: "REVENUE",
    period: rangeOf(v, `${f}.period`, p?.period, granularity),
    vehicleIds: vehicleIdsOf(v, `${f}.vehicle_ids`, p?.vehicleIds ?? []),
    granularity,
    cutoffTime: cutoffOf(v, `${f}.cutoff_time`, p?.cutoffTime),
    asOfPosition: positionOf(v, `${f}.as_of_position`, p?.asOfPosition ?? 0n),
  };
}

export function maintenanceCostParamsOf(v: Violations, f: string, p: MaintenanceCostReportParameters | undefined): ReportParams {
  const granularity = granularityOf(v, `${f}.granularity`, p?.granularity ?? 0);
  return {
    type: "MAINTENANCE_COST",
    period: rangeOf(v, `${f}.period`, p?.period, granularity),
    vehicleIds: vehicleIdsOf(v, `${f}.vehicle_ids`, p?.vehicleIds ?? []),
    granularity,
    cutoffTime: cutoffOf(v, `${f}.cutoff_time`, p?.cutoffTime),
    asOfPosition: positionOf(v, `${f}.as_of_position`, p?.asOfPosition ?? 0n),
  };
}

export function utilizationParamsOf(v: Violations, f: string, p: FleetUtilizationParameters | undefined): ReportParams {
  const granularity = granularityOf(v, `${f}.granularity`, p?.granularity ?? 0);
  return {
    type: "FLEET_UTILIZATION",
    period: rangeOf(v, `${f}.period`, p?.period, granularity),
    vehicleIds: vehicleIdsOf(v, `${f}.vehicle_ids`, p?.vehicleIds ?? []),
    granularity,
    cutoffTime: null,
    asOfPosition: positionOf(v, `${f}.as_of_position`, p?.asOfPosition ?? 0n),
  };
}

export const agingParamsOf = (v: Violations, f: string, p: ReceivablesAgingParameters | undefined): ReportParams => ({
  type: "RECEIVABLES_AGING",
  asOfDate: dateOf(v, `${f}.as_of_date`, p?.asOfDate ?? ""),
  cutoffTime: null,
  asOfPosition: positionOf(v, `${f}.as_of_position`, p?.asOfPosition ?? 0n),
});

/** GenerateReportSnapshot's oneof: exactly one report's parameters. */
export function anyParamsOf(v: Violations, field: string, p: ReportParameters | undefined): ReportParams | null {
  const o = p?.parameters;
  switch (o?.case) {
    case "trialBalance": return trialBalanceParamsOf(v, `${field}.trial_balance`, o.value);
    case "incomeStatement": return incomeStatementParamsOf(v, `${field}.income_statement`, o.value);
    case "revenue": return revenueParamsOf(v, `${field}.revenue`, o.value);
    case "maintenanceCost": return maintenanceCostParamsOf(v, `${field}.maintenance_cost`, o.value);
    case "balanceSheet": return balanceSheetParamsOf(v, `${field}.balance_sheet`, o.value);
    case "fleetUtilization": return utilizationParamsOf(v, `${field}.fleet_utilization`, o.value);
    case "receivablesAging": return agingParamsOf(v, `${field}.receivables_aging`, o.value);
    default:
      v.add(field, "must hold one report's parameters", "REQUIRED");
      return null;
  }
}

export function snapshotIdOf(v: Violations, field: string, id: string): string {
  v.uuid(field, id);
  return id.toLowerCase();
}

export function reportTypeFilterOf(v: Violations, field: string, t: ProtoReportType): ReportType | null {
  const parsed = reportTypeFromProto(t);
  if (parsed === undefined) v.add(field, "is not a known report type", "INVALID_ARGUMENT");
  return parsed ?? null;
}

export function maxBytesOf(v: Violations, field: string, n: number): number {
  if (n < 0 || n > MAX_CSV_PAGE_BYTES) v.add(field, `must be between 0 (1 MiB) and ${MAX_CSV_PAGE_BYTES}`, "OUT_OF_RANGE");
  return n;
}

export function csvPageTokenOf(v: Violations, field: string, token: string): string {
  v.maxLength(field, token, MAX_PAGE_TOKEN);
  return token;
}

export const newViolations = (): Violations => new Violations();
