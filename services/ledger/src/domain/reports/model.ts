// Pure: what the reports are. Parameters (as requested, and resolved to a
// ledger position and cutoff), typed results, and each report's canonical
// CSV lines, from which the content hash is taken. The typed result and the
// CSV are always built from the same rows, in the same order.
import { csvLine } from "./csv.js";
import type { Granularity } from "./dates.js";

export type { Granularity };

export type ReportType =
  | "TRIAL_BALANCE"
  | "INCOME_STATEMENT"
  | "REVENUE"
  | "MAINTENANCE_COST"
  | "BALANCE_SHEET"
  | "FLEET_UTILIZATION"
  | "RECEIVABLES_AGING";

export const REPORT_TYPES: readonly ReportType[] = [
  "TRIAL_BALANCE", "INCOME_STATEMENT", "REVENUE", "MAINTENANCE_COST", "BALANCE_SHEET", "FLEET_UTILIZATION", "RECEIVABLES_AGING",
];

export type AccountType = "ASSET" | "LIABILITY" | "EQUITY" | "REVENUE" | "EXPENSE";

/** Half-open [start, end) of "YYYY-MM-DD" dates. */
export interface DateRange {
  readonly start: string;
  readonly end: string;
}

/** What every report's knowledge is cut at. */
export interface Knowledge {
  /** null: the position readable when the report starts. */
  readonly asOfPosition: bigint | null;
  /** null: the generation time (reports without cutoff_time in the contract keep it null). */
  readonly cutoffTime: Date | null;
}

export type ReportParams =
  | ({ readonly type: "TRIAL_BALANCE"; readonly asOfDate: string } & Knowledge)
  | ({ readonly type: "BALANCE_SHEET"; readonly asOfDate: string } & Knowledge)
  | ({ readonly type: "INCOME_STATEMENT"; readonly period: DateRange } & Knowledge)
  | ({ readonly type: "REVENUE"; readonly period: DateRange; readonly vehicleIds: readonly string[]; readonly granularity: Granularity } & Knowledge)
  | ({ readonly type: "MAINTENANCE_COST"; readonly period: DateRange; readonly vehicleIds: readonly string[]; readonly granularity: Granularity } & Knowledge)
  | ({ readonly type: "FLEET_UTILIZATION"; readonly period: DateRange; readonly vehicleIds: readonly string[]; readonly granularity: Granularity } & Knowledge)
  | ({ readonly type: "RECEIVABLES_AGING"; readonly asOfDate: string } & Knowledge);

/** Whether the contract gives a report type a cutoff_time (utilization and aging have none). */
export const hasCutoff = (type: ReportType): boolean => type !== "FLEET_UTILIZATION" && type !== "RECEIVABLES_AGING";

/** Parameters with the knowledge cutoff resolved: what reproduces the result exactly. */
export type ResolvedParams = ReportParams & { readonly asOfPosition: bigint };

export interface ReportMetadata {
  readonly reportType: ReportType;
  /** "" for live reports. */
  readonly snapshotId: string;
  readonly generateTime: Date;
  readonly cutoffTime: Date | null;
  readonly generatedBy: string;
  readonly ledgerPosition: bigint;
  readonly contentSha256: string;
  readonly rowCount: bigint;
}

// ---- results ----

export interface AccountRef {
  readonly accountId: string;
  readonly accountCode: string;
  readonly accountName: string;
}

export interface TrialBalanceRow extends AccountRef {
  readonly accountType: AccountType;
  readonly currency: string;
  readonly debitBalance: bigint;
  readonly creditBalance: bigint;
}

export interface CurrencyTotals {
  readonly currency: string;
  readonly debitTotal: bigint;
  readonly creditTotal: bigint;
}

export interface TrialBalance {
  readonly asOfDate: string;
  readonly rows: readonly TrialBalanceRow[];
  readonly totals: readonly CurrencyTotals[];
}

export interface AmountLine extends AccountRef {
  readonly amount: bigint;
}

export interface IncomeStatementSection {
  readonly currency: string;
  readonly revenue: readonly AmountLine[];
  readonly expenses: readonly AmountLine[];
  readonly totalRevenue: bigint;
  readonly totalExpenses: bigint;
  readonly netIncome: bigint;
}

export interface IncomeStatement {
  readonly period: DateRange;
  readonly sections: readonly IncomeStatementSection[];
}

export interface BalanceSheetSection {
  readonly currency: string;
  readonly assets: readonly AmountLine[];
  readonly liabilities: readonly AmountLine[];
  readonly equity: readonly AmountLine[];
  readonly totalAssets: bigint;
  readonly totalLiabilities: bigint;
  readonly totalEquity: bigint;
  readonly currentEarnings: bigint;
}

export interface BalanceSheet {
  readonly asOfDate: string;
  readonly sections: readonly BalanceSheetSection[];
}

export interface CurrencyAmount {
  readonly currency: string;
  readonly amount: bigint;
}

export interface RevenueRow {
  /** null: revenue not attributed to a vehicle. */
  readonly vehicleId: string | null;
  readonly bucketStart: string;
  readonly currency: string;
  readonly revenue: bigint;
  readonly rentalCount: number;
}

export interface RevenueReport {
  readonly period: DateRange;
  readonly granularity: Granularity;
  readonly rows: readonly RevenueRow[];
  readonly totals: readonly CurrencyAmount[];
}

export interface MaintenanceCostRow {
  readonly vehicleId: string;
  readonly bucketStart: string;
  readonly currency: string;
  readonly labor: bigint;
  readonly parts: bigint;
  readonly total: bigint;
  readonly jobCount: number;
}

export interface MaintenanceCostReport {
  readonly period: DateRange;
  readonly granularity: Granularity;
  readonly rows: readonly MaintenanceCostRow[];
  readonly totals: readonly CurrencyAmount[];
}

export interface UtilizationRow {
  readonly vehicleId: string;
  readonly bucketStart: string;
  readonly rentedSeconds: bigint;
  readonly availableSeconds: bigint;
  readonly basisPoints: number;
}

export interface FleetUtilizationReport {
  readonly period: DateRange;
  readonly granularity: Granularity;
  readonly rows: readonly UtilizationRow[];
}

export interface AgingRow {
  readonly customerId: string;
  readonly currency: string;
  readonly current: bigint;
  readonly days1To30: bigint;
  readonly days31To60: bigint;
  readonly days61To90: bigint;
  readonly over90: bigint;
  readonly total: bigint;
}

export interface ReceivablesAgingReport {
  readonly asOfDate: string;
  readonly rows: readonly AgingRow[];
  readonly totals: readonly CurrencyAmount[];
}

export type ReportResult =
  | { readonly type: "TRIAL_BALANCE"; readonly trialBalance: TrialBalance }
  | { readonly type: "INCOME_STATEMENT"; readonly incomeStatement: IncomeStatement }
  | { readonly type: "BALANCE_SHEET"; readonly balanceSheet: BalanceSheet }
  | { readonly type: "REVENUE"; readonly revenue: RevenueReport }
  | { readonly type: "MAINTENANCE_COST"; readonly maintenanceCost: MaintenanceCostReport }
  | { readonly type: "FLEET_UTILIZATION"; readonly fleetUtilization: FleetUtilizationReport }
  | { readonly type: "RECEIVABLES_AGING"; readonly receivablesAging: ReceivablesAgingReport };

/** A computed report: its result and its provenance. */
export interface Report {
  readonly params: ResolvedParams;
  readonly result: ReportResult;
  readonly metadata: ReportMetadata;
}

// ---- ordering ----

/** Byte-wise (code unit) order, never locale order: the same everywhere. */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sums per currency, in currency order. */
export function totalsByCurrency<T>(items: Iterable<T>, currencyOf: (t: T) => string, amountOf: (t: T) => bigint): CurrencyAmount[] {
  const sums = new Map<string, bigint>();
  for (const item of items) sums.set(currencyOf(item), (sums.get(currencyOf(item)) ?? 0n) + amountOf(item));
  return [...sums.entries()].sort(([a], [b]) => compareText(a, b)).map(([currency, amount]) => ({ currency, amount }));
}

// ---- canonical CSV ----
// Every report's CSV starts with a `line` column naming what the line is:
// detail lines first, in the report's order, then its totals.

export const CSV_HEADERS: Readonly<Record<ReportType, readonly string[]>> = {
  TRIAL_BALANCE: ["line", "account_code", "account_id", "account_name", "account_type", "currency", "debit_minor", "credit_minor"],
  INCOME_STATEMENT: ["line", "currency", "account_code", "account_id", "account_name", "amount_minor"],
  BALANCE_SHEET: ["line", "currency", "account_code", "account_id", "account_name", "amount_minor"],
  REVENUE: ["line", "vehicle_id", "bucket_start_date", "currency", "revenue_minor", "rental_count"],
  MAINTENANCE_COST: ["line", "vehicle_id", "bucket_start_date", "currency", "labor_minor", "parts_minor", "total_minor", "job_count"],
  FLEET_UTILIZATION: ["line", "vehicle_id", "bucket_start_date", "rented_seconds", "available_seconds", "utilization_basis_points"],
  RECEIVABLES_AGING: ["line", "customer_id", "currency", "current_minor", "days_1_to_30_minor", "days_31_to_60_minor", "days_61_to_90_minor", "over_90_days_minor", "total_minor"],
};

export const csvHeaderLine = (type: ReportType): string => csvLine(CSV_HEADERS[type]);

const s = (n: bigint | number): string => n.toString();

export const revenueRowLine = (r: RevenueRow): string =>
  csvLine(["ROW", r.vehicleId ?? "", r.bucketStart, r.currency, s(r.revenue), s(r.rentalCount)]);
export const revenueTotalLine = (t: CurrencyAmount): string => csvLine(["TOTAL", "", "", t.currency, s(t.amount), ""]);

export const maintenanceRowLine = (r: MaintenanceCostRow): string =>
  csvLine(["ROW", r.vehicleId, r.bucketStart, r.currency, s(r.labor), s(r.parts), s(r.total), s(r.jobCount)]);
export const maintenanceTotalLine = (t: CurrencyAmount): string => csvLine(["TOTAL", "", "", t.currency, "", "", s(t.amount), ""]);

export const utilizationRowLine = (r: UtilizationRow): string =>
  csvLine(["ROW", r.vehicleId, r.bucketStart, s(r.rentedSeconds), s(r.availableSeconds), s(r.basisPoints)]);

export const agingRowLine = (r: AgingRow): string =>
  csvLine(["ROW", r.customerId, r.currency, s(r.current), s(r.days1To30), s(r.days31To60), s(r.days61To90), s(r.over90), s(r.total)]);
export const agingTotalLine = (t: CurrencyAmount): string => csvLine(["TOTAL", "", t.currency, "", "", "", "", "", s(t.amount)]);

const amountLine = (kind: string, currency: string, l: AmountLine): string =>
  csvLine([kind, currency, l.accountCode, l.accountId, l.accountName, s(l.amount)]);
const sectionTotal = (kind: string, currency: string, amount: bigint): string => csvLine([kind, currency, "", "", "", s(amount)]);

/** The data lines (after the header) of a result, in order. */
export function* csvDataLines(result: ReportResult): Generator<string> {
  switch (result.type) {
    case "TRIAL_BALANCE": {
      for (const r of result.trialBalance.rows) {
        yield csvLine(["ACCOUNT", r.accountCode, r.accountId, r.accountName, r.accountType, r.currency, s(r.debitBalance), s(r.creditBalance)]);
      }
      for (const t of result.trialBalance.totals) yield csvLine(["TOTAL", "", "", "", "", t.currency, s(t.debitTotal), s(t.creditTotal)]);
      return;
    }
    case "INCOME_STATEMENT": {
      for (const sec of result.incomeStatement.sections) {
        for (const l of sec.revenue) yield amountLine("REVENUE", sec.currency, l);
        for (const l of sec.expenses) yield amountLine("EXPENSE", sec.currency, l);
        yield sectionTotal("TOTAL_REVENUE", sec.currency, sec.totalRevenue);
        yield sectionTotal("TOTAL_EXPENSES", sec.currency, sec.totalExpenses);
        yield sectionTotal("NET_INCOME", sec.currency, sec.netIncome);
      }
      return;
    }
    case "BALANCE_SHEET": {
      for (const sec of result.balanceSheet.sections) {
        for (const l of sec.assets) yield amountLine("ASSET", sec.currency, l);
        for (const l of sec.liabilities) yield amountLine("LIABILITY", sec.currency, l);
        for (const l of sec.equity) yield amountLine("EQUITY", sec.currency, l);
        yield sectionTotal("TOTAL_ASSETS", sec.currency, sec.totalAssets);
        yield sectionTotal("TOTAL_LIABILITIES", sec.currency, sec.totalLiabilities);
        yield sectionTotal("TOTAL_EQUITY", sec.currency, sec.totalEquity);
        yield sectionTotal("CURRENT_EARNINGS", sec.currency, sec.currentEarnings);
      }
      return;
    }
    case "REVENUE":
      for (const r of result.revenue.rows) yield revenueRowLine(r);
      for (const t of result.revenue.totals) yield revenueTotalLine(t);
      return;
    case "MAINTENANCE_COST":
      for (const r of result.maintenanceCost.rows) yield maintenanceRowLine(r);
      for (const t of result.maintenanceCost.totals) yield maintenanceTotalLine(t);
      return;
    case "FLEET_UTILIZATION":
      for (const r of result.fleetUtilization.rows) yield utilizationRowLine(r);
      return;
    case "RECEIVABLES_AGING":
      for (const r of result.receivablesAging.rows) yield agingRowLine(r);
      for (const t of result.receivablesAging.totals) yield agingTotalLine(t);
      return;
  }
}

/** The whole canonical CSV of a result (header first). */
export function renderCsv(result: ReportResult): string {
  let out = csvHeaderLine(result.type);
  for (const line of csvDataLines(result)) out += line;
  return out;
}

/** Number of data lines of a result's CSV. */
export function csvRowCount(result: ReportResult): number {
  let n = 0;
  for (const _ of csvDataLines(result)) n += 1;
  return n;
}
