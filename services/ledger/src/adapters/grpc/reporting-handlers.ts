import { create } from "@bufbuild/protobuf";
import { PageResponseSchema } from "../../../../../gen/fleetmesh/common/v1/paging_pb.js";
import {
  ExportReportSnapshotCsvResponseSchema,
  GenerateReportSnapshotResponseSchema,
  GetBalanceSheetResponseSchema,
  GetFleetUtilizationResponseSchema,
  GetIncomeStatementResponseSchema,
  GetMaintenanceCostReportResponseSchema,
  GetReceivablesAgingResponseSchema,
  GetReportSnapshotResponseSchema,
  GetRevenueReportResponseSchema,
  GetTrialBalanceResponseSchema,
  ListReportSnapshotsResponseSchema,
  ReportingService,
} from "../../../../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import type { RequestContext } from "../../../../platform/src/context.js";
import { bindService, type ServiceBinding } from "../../../../platform/src/grpc/server.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { ReportingUseCases } from "../../app/reporting-use-cases.js";
import type { Report, ReportParams, ReportResult } from "../../domain/reports/model.js";
import {
  agingToProto,
  balanceSheetToProto,
  incomeStatementToProto,
  maintenanceCostToProto,
  metadataToProto,
  revenueToProto,
  snapshotSummaryToProto,
  snapshotToProto,
  trialBalanceToProto,
  utilizationToProto,
} from "../proto/report-proto.js";
import {
  agingParamsOf,
  anyParamsOf,
  balanceSheetParamsOf,
  check,
  csvPageTokenOf,
  incomeStatementParamsOf,
  maintenanceCostParamsOf,
  maxBytesOf,
  pageOf,
  reportTypeFilterOf,
  revenueParamsOf,
  snapshotIdOf,
  trialBalanceParamsOf,
  utilizationParamsOf,
} from "./reporting-requests.js";

// The ReportingService RPCs: check the request's shape (every violation at
// once, with proto field paths), call the use case as ctx.caller (its
// subject is the report's generated_by), map the result back. Get* compute
// live results and store nothing; GenerateReportSnapshot stores one.

/** Parses with `parse`, throws one INVALID_ARGUMENT if anything is wrong. */
function parsed<T>(parse: (v: Violations) => T): T {
  const v = new Violations();
  const out = parse(v);
  check(v);
  return out;
}

/** The result of a live report, narrowed to the type asked for. */
function live<T extends ReportResult["type"]>(useCases: ReportingUseCases, params: ReportParams, ctx: RequestContext) {
  return useCases.report(params, ctx.caller.subject) as Promise<Report & { result: Extract<ReportResult, { type: T }> }>;
}

export function reportingServiceBinding(useCases: ReportingUseCases): ServiceBinding {
  return bindService(ReportingService, {
    async getTrialBalance(req, ctx) {
      const params = parsed((v) => trialBalanceParamsOf(v, "parameters", req.parameters));
      const r = await live<"TRIAL_BALANCE">(useCases, params, ctx);
      return create(GetTrialBalanceResponseSchema, { trialBalance: trialBalanceToProto(r.result.trialBalance), metadata: metadataToProto(r.metadata) });
    },
    async getIncomeStatement(req, ctx) {
      const params = parsed((v) => incomeStatementParamsOf(v, "parameters", req.parameters));
      const r = await live<"INCOME_STATEMENT">(useCases, params, ctx);
      return create(GetIncomeStatementResponseSchema, {
        incomeStatement: incomeStatementToProto(r.result.incomeStatement),
        metadata: metadataToProto(r.metadata),
      });
    },
    async getRevenueReport(req, ctx) {
      const params = parsed((v) => revenueParamsOf(v, "parameters", req.parameters));
      const r = await live<"REVENUE">(useCases, params, ctx);
      return create(GetRevenueReportResponseSchema, { report: revenueToProto(r.result.revenue), metadata: metadataToProto(r.metadata) });
    },
    async getMaintenanceCostReport(req, ctx) {
      const params = parsed((v) => maintenanceCostParamsOf(v, "parameters", req.parameters));
      const r = await live<"MAINTENANCE_COST">(useCases, params, ctx);
      return create(GetMaintenanceCostReportResponseSchema, {
        report: maintenanceCostToProto(r.result.maintenanceCost),
        metadata: metadataToProto(r.metadata),
      });
    },
    async getBalanceSheet(req, ctx) {
      const params = parsed((v) => balanceSheetParamsOf(v, "parameters", req.parameters));
      const r = await live<"BALANCE_SHEET">(useCases, params, ctx);
      return create(GetBalanceSheetResponseSchema, { balanceSheet: balanceSheetToProto(r.result.balanceSheet), metadata: metadataToProto(r.metadata) });
    },
    async getFleetUtilization(req, ctx) {
      const params = parsed((v) => utilizationParamsOf(v, "parameters", req.parameters));
      const r = await live<"FLEET_UTILIZATION">(useCases, params, ctx);
      return create(GetFleetUtilizationResponseSchema, { report: utilizationToProto(r.result.fleetUtilization), metadata: metadataToProto(r.metadata) });
    },
    async getReceivablesAging(req, ctx) {
      const params = parsed((v) => agingParamsOf(v, "parameters", req.parameters));
      const r = await live<"RECEIVABLES_AGING">(useCases, params, ctx);
      return create(GetReceivablesAgingResponseSchema, { report: agingToProto(r.result.receivablesAging), metadata: metadataToProto(r.metadata) });
    },
    async generateReportSnapshot(req, ctx) {
      const params = parsed((v) => anyParamsOf(v, "parameters", req.parameters))!;
      const snapshot = await useCases.generateSnapshot(params, ctx.caller.subject);
      return create(GenerateReportSnapshotResponseSchema, { snapshot: snapshotToProto(snapshot) });
    },
    async getReportSnapshot(req) {
      const id = parsed((v) => snapshotIdOf(v, "snapshot_id", req.snapshotId));
      return create(GetReportSnapshotResponseSchema, { snapshot: snapshotToProto(await useCases.getSnapshot(id)) });
    },
    async listReportSnapshots(req) {
      const q = parsed((v) => ({ type: reportTypeFilterOf(v, "report_type", req.reportType), ...pageOf(v, req.page) }));
      const page = await useCases.listSnapshots(q);
      return create(ListReportSnapshotsResponseSchema, {
        snapshots: page.items.map(snapshotSummaryToProto),
        page: create(PageResponseSchema, { nextPageToken: page.nextPageToken }),
      });
    },
    async exportReportSnapshotCsv(req) {
      const q = parsed((v) => ({
        snapshotId: snapshotIdOf(v, "snapshot_id", req.snapshotId),
        pageToken: csvPageTokenOf(v, "page_token", req.pageToken),
        maxBytes: maxBytesOf(v, "max_bytes", req.maxBytes),
      }));
      const page = await useCases.exportCsv(q);
      return create(ExportReportSnapshotCsvResponseSchema, { csv: page.csv, nextPageToken: page.nextPageToken, metadata: metadataToProto(page.metadata) });
    },
  });
}
