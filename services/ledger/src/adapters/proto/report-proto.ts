// Reports: domain <-> proto (fleetmesh.ledger.v1 report.proto). Only this
// module knows both shapes; nothing here validates (reporting-requests.ts does).
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { AccountType as ProtoAccountType } from "../../../../../gen/fleetmesh/ledger/v1/account_pb.js";
import {
  ReportGranularity as ProtoGranularity,
  ReportMetadataSchema,
  ReportParametersSchema,
  ReportSnapshotSchema,
  ReportSnapshotSummarySchema,
  ReportType as ProtoReportType,
  type BalanceSheet as ProtoBalanceSheet,
  type FleetUtilizationReport as ProtoUtilization,
  type IncomeStatement as ProtoIncomeStatement,
  type MaintenanceCostReport as ProtoMaintenanceCost,
  type ReceivablesAgingReport as ProtoAging,
  type ReportMetadata as ProtoMetadata,
  type ReportParameters as ProtoParameters,
  type ReportSnapshot as ProtoSnapshot,
  type ReportSnapshotSummary as ProtoSummary,
  type RevenueReport as ProtoRevenue,
  type TrialBalance as ProtoTrialBalance,
  BalanceSheetSchema,
  FleetUtilizationReportSchema,
  IncomeStatementSchema,
  MaintenanceCostReportSchema,
  ReceivablesAgingReportSchema,
  RevenueReportSchema,
  TrialBalanceSchema,
} from "../../../../../gen/fleetmesh/ledger/v1/report_pb.js";
import { enumFromProto, moneyToProto, optionalTimeToProto, timeToProto } from "../../../../platform/src/proto-common.js";
import type { SnapshotRecord } from "../../app/reporting-ports.js";
import type {
  AccountType,
  AmountLine,
  BalanceSheet,
  FleetUtilizationReport,
  Granularity,
  IncomeStatement,
  MaintenanceCostReport,
  ReceivablesAgingReport,
  ReportMetadata,
  ReportParams,
  ReportResult,
  ReportType,
  RevenueReport,
  TrialBalance,
} from "../../domain/reports/model.js";

export const REPORT_TYPE_TO_PROTO: Readonly<Record<ReportType, ProtoReportType>> = {
  TRIAL_BALANCE: ProtoReportType.TRIAL_BALANCE,
  INCOME_STATEMENT: ProtoReportType.INCOME_STATEMENT,
  REVENUE: ProtoReportType.REVENUE,
  MAINTENANCE_COST: ProtoReportType.MAINTENANCE_COST,
  BALANCE_SHEET: ProtoReportType.BALANCE_SHEET,
  FLEET_UTILIZATION: ProtoReportType.FLEET_UTILIZATION,
  RECEIVABLES_AGING: ProtoReportType.RECEIVABLES_AGING,
};
export const reportTypeFromProto = enumFromProto(REPORT_TYPE_TO_PROTO);

export const GRANULARITY_TO_PROTO: Readonly<Record<Granularity, ProtoGranularity>> = {
  PERIOD: ProtoGranularity.PERIOD,
  DAY: ProtoGranularity.DAY,
  WEEK: ProtoGranularity.WEEK,
  MONTH: ProtoGranularity.MONTH,
};
export const granularityFromProto = enumFromProto(GRANULARITY_TO_PROTO);

const ACCOUNT_TYPE_TO_PROTO: Readonly<Record<AccountType, ProtoAccountType>> = {
  ASSET: ProtoAccountType.ASSET,
  LIABILITY: ProtoAccountType.LIABILITY,
  EQUITY: ProtoAccountType.EQUITY,
  REVENUE: ProtoAccountType.REVENUE,
  EXPENSE: ProtoAccountType.EXPENSE,
};

const m = (amountMinor: bigint, currency: string) => moneyToProto({ amountMinor, currency });
const position = (p: bigint | null): bigint => p ?? 0n;

export function paramsToProto(p: ReportParams): ProtoParameters {
  const cutoffTime = optionalTimeToProto(p.cutoffTime);
  const cutoff = cutoffTime === undefined ? {} : { cutoffTime };
  const range = (r: { start: string; end: string }) => ({ startDate: r.start, endDate: r.end });
  let parameters: MessageInitShape<typeof ReportParametersSchema>["parameters"];
  switch (p.type) {
    case "TRIAL_BALANCE":
      parameters = { case: "trialBalance", value: { asOfDate: p.asOfDate, asOfPosition: position(p.asOfPosition), ...cutoff } };
      break;
    case "BALANCE_SHEET":
      parameters = { case: "balanceSheet", value: { asOfDate: p.asOfDate, asOfPosition: position(p.asOfPosition), ...cutoff } };
      break;
    case "INCOME_STATEMENT":
      parameters = { case: "incomeStatement", value: { period: range(p.period), asOfPosition: position(p.asOfPosition), ...cutoff } };
      break;
    case "REVENUE":
      parameters = {
        case: "revenue",
        value: { period: range(p.period), vehicleIds: [...p.vehicleIds], granularity: GRANULARITY_TO_PROTO[p.granularity], asOfPosition: position(p.asOfPosition), ...cutoff },
      };
      break;
    case "MAINTENANCE_COST":
      parameters = {
        case: "maintenanceCost",
        value: { period: range(p.period), vehicleIds: [...p.vehicleIds], granularity: GRANULARITY_TO_PROTO[p.granularity], asOfPosition: position(p.asOfPosition), ...cutoff },
      };
      break;
    case "FLEET_UTILIZATION":
      parameters = {
        case: "fleetUtilization",
        value: { period: range(p.period), vehicleIds: [...p.vehicleIds], granularity: GRANULARITY_TO_PROTO[p.granularity], asOfPosition: position(p.asOfPosition) },
      };
      break;
    case "RECEIVABLES_AGING":
      parameters = { case: "receivablesAging", value: { asOfDate: p.asOfDate, asOfPosition: position(p.asOfPosition) } };
      break;
  }
  return create(ReportParametersSchema, { parameters });
}

export function metadataToProto(md: ReportMetadata): ProtoMetadata {
  const cutoffTime = optionalTimeToProto(md.cutoffTime);
  return create(ReportMetadataSchema, {
    reportType: REPORT_TYPE_TO_PROTO[md.reportType],
    snapshotId: md.snapshotId,
    generateTime: timeToProto(md.generateTime),
    ...(cutoffTime === undefined ? {} : { cutoffTime }),
    generatedBy: md.generatedBy,
    ledgerPosition: md.ledgerPosition,
    contentSha256: md.contentSha256,
    rowCount: md.rowCount,
  });
}

export const trialBalanceToProto = (tb: TrialBalance): ProtoTrialBalance =>
  create(TrialBalanceSchema, {
    asOfDate: tb.asOfDate,
    rows: tb.rows.map((r) => ({
      accountId: r.accountId,
      accountCode: r.accountCode,
      accountName: r.accountName,
      accountType: ACCOUNT_TYPE_TO_PROTO[r.accountType],
      currencyCode: r.currency,
      debitBalance: m(r.debitBalance, r.currency),
      creditBalance: m(r.creditBalance, r.currency),
    })),
    totals: tb.totals.map((t) => ({ currencyCode: t.currency, debitTotal: m(t.debitTotal, t.currency), creditTotal: m(t.creditTotal, t.currency) })),
  });

const lineToProto = (l: AmountLine, currency: string) => ({
  accountId: l.accountId,
  accountCode: l.accountCode,
  accountName: l.accountName,
  amount: m(l.amount, currency),
});

export const incomeStatementToProto = (is: IncomeStatement): ProtoIncomeStatement =>
  create(IncomeStatementSchema, {
    period: { startDate: is.period.start, endDate: is.period.end },
    sections: is.sections.map((s) => ({
      currencyCode: s.currency,
      revenue: s.revenue.map((l) => lineToProto(l, s.currency)),
      expenses: s.expenses.map((l) => lineToProto(l, s.currency)),
      totalRevenue: m(s.totalRevenue, s.currency),
      totalExpenses: m(s.totalExpenses, s.currency),
      netIncome: m(s.netIncome, s.currency),
    })),
  });

export const balanceSheetToProto = (bs: BalanceSheet): ProtoBalanceSheet =>
  create(BalanceSheetSchema, {
    asOfDate: bs.asOfDate,
    sections: bs.sections.map((s) => ({
      currencyCode: s.currency,
      assets: s.assets.map((l) => lineToProto(l, s.currency)),
      liabilities: s.liabilities.map((l) => lineToProto(l, s.currency)),
      equity: s.equity.map((l) => lineToProto(l, s.currency)),
      totalAssets: m(s.totalAssets, s.currency),
      totalLiabilities: m(s.totalLiabilities, s.currency),
      totalEquity: m(s.totalEquity, s.currency),
      currentEarnings: m(s.currentEarnings, s.currency),
    })),
  });

export const revenueToProto = (r: RevenueReport): ProtoRevenue =>
  create(RevenueReportSchema, {
    period: { startDate: r.period.start, endDate: r.period.end },
    granularity: GRANULARITY_TO_PROTO[r.granularity],
    rows: r.rows.map((row) => ({
      vehicleId: row.vehicleId ?? "",
      bucketStartDate: row.bucketStart,
      revenue: m(row.revenue, row.currency),
      rentalCount: row.rentalCount,
    })),
    totals: r.totals.map((t) => m(t.amount, t.currency)),
  });

export const maintenanceCostToProto = (r: MaintenanceCostReport): ProtoMaintenanceCost =>
  create(MaintenanceCostReportSchema, {
    period: { startDate: r.period.start, endDate: r.period.end },
    granularity: GRANULARITY_TO_PROTO[r.granularity],
    rows: r.rows.map((row) => ({
      vehicleId: row.vehicleId,
      bucketStartDate: row.bucketStart,
      laborCost: m(row.labor, row.currency),
      partsCost: m(row.parts, row.currency),
      totalCost: m(row.total, row.currency),
      jobCount: row.jobCount,
    })),
    totals: r.totals.map((t) => m(t.amount, t.currency)),
  });

export const utilizationToProto = (r: FleetUtilizationReport): ProtoUtilization =>
  create(FleetUtilizationReportSchema, {
    period: { startDate: r.period.start, endDate: r.period.end },
    granularity: GRANULARITY_TO_PROTO[r.granularity],
    rows: r.rows.map((row) => ({
      vehicleId: row.vehicleId,
      bucketStartDate: row.bucketStart,
      rentedSeconds: row.rentedSeconds,
      availableSeconds: row.availableSeconds,
      utilizationBasisPoints: row.basisPoints,
    })),
  });

export const agingToProto = (r: ReceivablesAgingReport): ProtoAging =>
  create(ReceivablesAgingReportSchema, {
    asOfDate: r.asOfDate,
    rows: r.rows.map((row) => ({
      customerId: row.customerId,
      currencyCode: row.currency,
      current: m(row.current, row.currency),
      days1To30: m(row.days1To30, row.currency),
      days31To60: m(row.days31To60, row.currency),
      days61To90: m(row.days61To90, row.currency),
      over90Days: m(row.over90, row.currency),
      total: m(row.total, row.currency),
    })),
    totals: r.totals.map((t) => m(t.amount, t.currency)),
  });

/** The ReportSnapshot.result oneof of a result. */
export function resultToProto(result: ReportResult): ProtoSnapshot["result"] {
  switch (result.type) {
    case "TRIAL_BALANCE": return { case: "trialBalance", value: trialBalanceToProto(result.trialBalance) };
    case "INCOME_STATEMENT": return { case: "incomeStatement", value: incomeStatementToProto(result.incomeStatement) };
    case "BALANCE_SHEET": return { case: "balanceSheet", value: balanceSheetToProto(result.balanceSheet) };
    case "REVENUE": return { case: "revenue", value: revenueToProto(result.revenue) };
    case "MAINTENANCE_COST": return { case: "maintenanceCost", value: maintenanceCostToProto(result.maintenanceCost) };
    case "FLEET_UTILIZATION": return { case: "fleetUtilization", value: utilizationToProto(result.fleetUtilization) };
    case "RECEIVABLES_AGING": return { case: "receivablesAging", value: agingToProto(result.receivablesAging) };
  }
}

/** A stored snapshot; without a result when only its CSV is kept (too large). */
export const snapshotToProto = (s: SnapshotRecord): ProtoSnapshot =>
  create(ReportSnapshotSchema, {
    id: s.id,
    parameters: paramsToProto(s.params),
    metadata: metadataToProto(s.metadata),
    ...(s.result === null ? {} : { result: resultToProto(s.result) }),
  });

export const snapshotSummaryToProto = (s: SnapshotRecord): ProtoSummary =>
  create(ReportSnapshotSummarySchema, { id: s.id, parameters: paramsToProto(s.params), metadata: metadataToProto(s.metadata) });
