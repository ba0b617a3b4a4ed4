// The ReportingService adapter's request checks: bad input is
// INVALID_ARGUMENT listing every bad field by its proto path and no use case
// runs; valid input reaches the use case as domain parameters, as the caller.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import test from "ava";
import { ReportGranularity, ReportType } from "../../../gen/fleetmesh/ledger/v1/report_pb.js";
import {
  ExportReportSnapshotCsvRequestSchema,
  GenerateReportSnapshotRequestSchema,
  GetFleetUtilizationRequestSchema,
  GetIncomeStatementRequestSchema,
  GetReceivablesAgingRequestSchema,
  GetReportSnapshotRequestSchema,
  GetRevenueReportRequestSchema,
  GetTrialBalanceRequestSchema,
  ListReportSnapshotsRequestSchema,
} from "../../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import type { Caller } from "../../platform/src/auth.js";
import { fakeHandlers, requestChecks } from "../../platform/src/testing/handlers.js";
import { reportingServiceBinding } from "../src/adapters/grpc/reporting-handlers.js";
import type { ReportingUseCases } from "../src/app/reporting-use-cases.js";

const caller: Caller = { subject: "00000000-0000-4000-8000-0000000000aa", roles: ["accountant"], permissions: new Set(["reports.read"]), anonymous: false };
const tb = { asOfDate: "2025-01-31", rows: [], totals: [] };
const metadata = {
  reportType: "TRIAL_BALANCE", snapshotId: "", generateTime: new Date(0), cutoffTime: new Date(0), generatedBy: caller.subject,
  ledgerPosition: 3n, contentSha256: "0".repeat(64), rowCount: 0n,
};
const answers: Partial<Record<keyof ReportingUseCases, unknown>> = {
  report: { params: {}, result: { type: "TRIAL_BALANCE", trialBalance: tb }, metadata },
  listSnapshots: { items: [], nextPageToken: "" },
};
const handlers = () => fakeHandlers(reportingServiceBinding, answers, caller);
const { expectViolations, expectAccepted } = requestChecks(handlers);

test("trial balance: date required and strict, position not negative, cutoff sane", async (t) => {
  await expectViolations(t, "getTrialBalance", GetTrialBalanceRequestSchema, {}, { "parameters.as_of_date": "REQUIRED" });
  await expectViolations(t, "getTrialBalance", GetTrialBalanceRequestSchema, {
    parameters: { asOfDate: "2025-02-30", asOfPosition: -1n, cutoffTime: { seconds: 1n } },
  }, { "parameters.as_of_date": "INVALID_FORMAT", "parameters.as_of_position": "OUT_OF_RANGE", "parameters.cutoff_time": "OUT_OF_RANGE" });
});

test("periods: both dates, end after start, at most 366 days at DAY granularity", async (t) => {
  await expectViolations(t, "getIncomeStatement", GetIncomeStatementRequestSchema, {}, { "parameters.period": "REQUIRED" });
  await expectViolations(t, "getIncomeStatement", GetIncomeStatementRequestSchema, { parameters: { period: { startDate: "2025-02-01", endDate: "2025-02-01" } } },
    { "parameters.period.end_date": "INVALID_PERIOD" });
  await expectViolations(t, "getRevenueReport", GetRevenueReportRequestSchema, {
    parameters: { period: { startDate: "2025-01-01", endDate: "2026-01-03" }, granularity: ReportGranularity.DAY },
  }, { "parameters.period.end_date": "OUT_OF_RANGE" });
  const weekly = handlers();
  // The fake answers a trial balance, so mapping the answer fails: what counts is that the use case was called.
  await weekly.call("getRevenueReport", create(GetRevenueReportRequestSchema, {
    parameters: { period: { startDate: "2025-01-01", endDate: "2026-01-03" }, granularity: ReportGranularity.WEEK },
  })).catch(() => undefined);
  t.is(weekly.calls.length, 1, "a year and two days is fine at WEEK granularity");
  await expectViolations(t, "getRevenueReport", GetRevenueReportRequestSchema, {
    parameters: { period: { startDate: "2025-01-01", endDate: "2025-02-01" }, granularity: 99 as ReportGranularity },
  }, { "parameters.granularity": "INVALID_ARGUMENT" });
});

test("vehicle ids: UUIDs, at most 500", async (t) => {
  const period = { startDate: "2025-01-01", endDate: "2025-02-01" };
  await expectViolations(t, "getFleetUtilization", GetFleetUtilizationRequestSchema, { parameters: { period, vehicleIds: ["nope"] } },
    { "parameters.vehicle_ids[0]": "INVALID_FORMAT" });
  const many = Array.from({ length: 501 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`);
  await expectViolations(t, "getFleetUtilization", GetFleetUtilizationRequestSchema, { parameters: { period, vehicleIds: many } },
    { "parameters.vehicle_ids": "OUT_OF_RANGE" });
});

test("snapshots: parameters required, ids are UUIDs, max_bytes bounded, report type known", async (t) => {
  await expectViolations(t, "generateReportSnapshot", GenerateReportSnapshotRequestSchema, {}, { parameters: "REQUIRED" });
  await expectViolations(t, "generateReportSnapshot", GenerateReportSnapshotRequestSchema, {
    parameters: { parameters: { case: "receivablesAging", value: { asOfDate: "tomorrow" } } },
  }, { "parameters.receivables_aging.as_of_date": "INVALID_FORMAT" });
  await expectViolations(t, "getReportSnapshot", GetReportSnapshotRequestSchema, { snapshotId: "x" }, { snapshot_id: "INVALID_FORMAT" });
  await expectViolations(t, "exportReportSnapshotCsv", ExportReportSnapshotCsvRequestSchema, {
    snapshotId: "00000000-0000-4000-8000-000000000001", maxBytes: 4 * 1024 * 1024,
  }, { max_bytes: "OUT_OF_RANGE" });
  await expectViolations(t, "listReportSnapshots", ListReportSnapshotsRequestSchema, { reportType: 42 as ReportType, page: { pageSize: -1 } },
    { report_type: "INVALID_ARGUMENT", "page.page_size": "OUT_OF_RANGE" });
});

test("valid requests reach the use case as domain parameters, as the caller", async (t) => {
  const call = await expectAccepted(t, "getTrialBalance", GetTrialBalanceRequestSchema, {
    parameters: { asOfDate: "2025-01-31", asOfPosition: 3n, cutoffTime: timestampFromDate(new Date("2025-02-01T00:00:00Z")) },
  });
  t.is(call.method, "report");
  t.deepEqual(call.args, [
    { type: "TRIAL_BALANCE", asOfDate: "2025-01-31", cutoffTime: new Date("2025-02-01T00:00:00Z"), asOfPosition: 3n },
    caller.subject,
  ]);
  const list = await expectAccepted(t, "listReportSnapshots", ListReportSnapshotsRequestSchema, { reportType: ReportType.REVENUE });
  t.deepEqual(list.args, [{ type: "REVENUE", pageSize: 0, pageToken: "" }]);
  const aging = handlers();
  await aging.call("getReceivablesAging", create(GetReceivablesAgingRequestSchema, { parameters: { asOfDate: "2025-01-31" } })).catch(() => undefined);
  t.deepEqual(aging.calls.map((c) => c.args), [[{ type: "RECEIVABLES_AGING", asOfDate: "2025-01-31", cutoffTime: null, asOfPosition: null }, caller.subject]]);
});
