// The reporting use cases: live reports (Get*), append-only snapshots, their
// CSV export and the checkpoints behind the balance reports.
//
// Every report runs in ONE REPEATABLE READ transaction: it resolves the
// ledger position P first (as_of_position, or the position committed in its
// snapshot), then reads only facts with position <= P. Positions are
// commit-ordered and gapless, so (parameters, P) determine the result; the
// canonical CSV and its SHA-256 are built from the very rows the typed
// result is built from, in the same order. (Joined to an outer transaction,
// e.g. the idempotency layer's around a keyed GenerateReportSnapshot, the
// isolation is the outer one's: the result is still exact, because every
// read is bounded by position <= P and the facts up to P are committed and
// immutable; REPEATABLE READ only keeps the reads of one snapshot cheap.)
import type { Database } from "../../../platform/src/db.js";
import { DomainError } from "../../../platform/src/errors.js";
import { decodeTimeIdToken, pageSize as pageSizeOf, toTimeIdPage, type Page } from "../../../platform/src/paging.js";
import { createCheckpointBuilder } from "../adapters/db/report-checkpoints.js";
import { createReportStore } from "../adapters/db/report-store.js";
import { agingBucketOf } from "../domain/reports/aging.js";
import { balanceSheetOf, incomeStatementOf, trialBalanceOf } from "../domain/reports/balances.js";
import { CsvAccumulator, cutAtLineEnd } from "../domain/reports/csv.js";
import { addDays, bucketsOf, dayStartSeconds, daysBetween } from "../domain/reports/dates.js";
import { positionToRead } from "../domain/position.js";
import { reportTooLarge, snapshotNotFound } from "../domain/reports/errors.js";
import {
  agingRowLine,
  agingTotalLine,
  csvDataLines,
  csvHeaderLine,
  hasCutoff,
  maintenanceRowLine,
  maintenanceTotalLine,
  revenueRowLine,
  revenueTotalLine,
  totalsByCurrency,
  utilizationRowLine,
  type AgingRow,
  type CurrencyAmount,
  type MaintenanceCostRow,
  type Report,
  type ReportMetadata,
  type ReportParams,
  type ReportResult,
  type ReportType,
  type ResolvedParams,
  type RevenueRow,
  type UtilizationRow,
} from "../domain/reports/model.js";
import { coveredSeconds, utilizationBasisPoints } from "../domain/reports/utilization.js";
import type { CheckpointBuilder, CheckpointInfo, ReportReader, ReportStore, SnapshotRecord } from "./reporting-ports.js";

/** Rows beyond which a result is not returned as one message (live: refused; snapshots: CSV only). */
export const MAX_RESULT_ROWS = 20_000;
/** CSV chunk size in storage. */
export const CSV_CHUNK_BYTES = 256 * 1024;
export const DEFAULT_CSV_PAGE_BYTES = 1024 * 1024;
export const MAX_CSV_PAGE_BYTES = 3 * 1024 * 1024;
/** Raw lines after the latest checkpoint beyond which a balance report triggers a new checkpoint. */
export const LARGE_TAIL_LINES = 20_000;
/** The job builds a checkpoint once this many lines are new. */
export const JOB_MIN_LINES = 2_000;
/** Vehicles whose facts the utilization report reads per query. */
const UTILIZATION_VEHICLE_BATCH = 200;

export interface CsvPage {
  readonly csv: Uint8Array;
  readonly nextPageToken: string;
  readonly metadata: ReportMetadata;
}

export interface ListSnapshotsQuery {
  readonly type: ReportType | null;
  readonly pageSize: number;
  readonly pageToken: string;
}

export interface ExportCsvQuery {
  readonly snapshotId: string;
  readonly pageToken: string;
  /** 0: the default (1 MiB). */
  readonly maxBytes: number;
}

export interface ReportingUseCases {
  /** A live report (nothing stored). REPORT_TOO_LARGE beyond MAX_RESULT_ROWS rows. */
  report(params: ReportParams, generatedBy: string): Promise<Report>;
  /** Computes and stores a snapshot, streaming its CSV into chunks; its result is kept when small enough. */
  generateSnapshot(params: ReportParams, generatedBy: string): Promise<SnapshotRecord>;
  /** A snapshot with its result; REPORT_SNAPSHOT_NOT_FOUND, or REPORT_TOO_LARGE when only its CSV is stored. */
  getSnapshot(id: string): Promise<SnapshotRecord & { readonly result: ReportResult }>;
  /** Newest first; results left out. */
  listSnapshots(query: ListSnapshotsQuery): Promise<Page<SnapshotRecord>>;
  exportCsv(query: ExportCsvQuery): Promise<CsvPage>;
  /** Builds a checkpoint when at least `minLines` journal lines are new (the job's work). */
  buildCheckpoint(minLines?: number): Promise<CheckpointInfo | null>;
}

export interface ReportingDeps {
  readonly db: Database;
  readonly clock: { now(): Date };
  readonly ids: { newId(): string };
  /** IANA zone whose midnights cut the utilization report's days. */
  readonly reportingTimeZone: string;
}

type LineSink = (line: string) => Promise<void>;

interface ComputeOptions {
  /** Throw REPORT_TOO_LARGE as soon as the result exceeds MAX_RESULT_ROWS (live reports). */
  readonly refuseLarge: boolean;
}

/** Collects typed rows up to MAX_RESULT_ROWS; beyond, only counts them (the CSV still gets every line). */
class RowCollector<T> {
  rows: T[] | null = [];
  count = 0;
  constructor(private readonly options: ComputeOptions, private readonly hint: string) {}
  add(row: T): void {
    this.count += 1;
    if (this.rows === null) return;
    if (this.count > MAX_RESULT_ROWS) {
      if (this.options.refuseLarge) throw reportTooLarge(this.count, MAX_RESULT_ROWS, this.hint);
      this.rows = null;
      return;
    }
    this.rows.push(row);
  }
}

const LIVE_HINT = "generate a snapshot (GenerateReportSnapshot) and export it as CSV";

export function createReportingUseCases(deps: ReportingDeps): ReportingUseCases {
  return reportingUseCasesOf({
    store: createReportStore(deps.db),
    checkpoints: createCheckpointBuilder(deps.db),
    clock: deps.clock,
    ids: deps.ids,
    reportingTimeZone: deps.reportingTimeZone,
  });
}

export function reportingUseCasesOf(deps: {
  readonly store: ReportStore;
  readonly checkpoints: CheckpointBuilder;
  readonly clock: { now(): Date };
  readonly ids: { newId(): string };
  readonly reportingTimeZone: string;
}): ReportingUseCases {
  const { store, checkpoints, clock, ids, reportingTimeZone } = deps;
  let building: Promise<unknown> | null = null;

  /** A long tail after the latest checkpoint: build the next one in the background (results are the same either way). */
  const noteTail = (tailLines: number): void => {
    if (tailLines < LARGE_TAIL_LINES || building !== null) return;
    building = checkpoints.build(0).catch(() => undefined).finally(() => {
      building = null;
    });
  };

  async function resolve(reader: ReportReader, params: ReportParams, now: Date): Promise<ResolvedParams> {
    return {
      ...params,
      asOfPosition: positionToRead(params.asOfPosition, await reader.readablePosition()),
      cutoffTime: hasCutoff(params.type) ? params.cutoffTime ?? now : null,
    } as ResolvedParams;
  }

  /** Streams the report's data lines to `sink` and returns its typed result (null when too large to keep). */
  async function compute(reader: ReportReader, p: ResolvedParams, sink: LineSink, options: ComputeOptions): Promise<ReportResult | null> {
    const position = p.asOfPosition;
    const cutoff = p.cutoffTime;
    const emitAll = async (result: ReportResult): Promise<ReportResult> => {
      for (const line of csvDataLines(result)) await sink(line);
      return result;
    };
    switch (p.type) {
      case "TRIAL_BALANCE":
      case "BALANCE_SHEET": {
        const answer = await reader.accountBalances({ fromDate: null, toDate: addDays(p.asOfDate, 1), position, cutoff });
        noteTail(answer.tailLines);
        return emitAll(p.type === "TRIAL_BALANCE"
          ? { type: "TRIAL_BALANCE", trialBalance: trialBalanceOf(p.asOfDate, answer.balances) }
          : { type: "BALANCE_SHEET", balanceSheet: balanceSheetOf(p.asOfDate, answer.balances) });
      }
      case "INCOME_STATEMENT": {
        const answer = await reader.accountBalances({ fromDate: p.period.start, toDate: p.period.end, position, cutoff });
        noteTail(answer.tailLines);
        return emitAll({ type: "INCOME_STATEMENT", incomeStatement: incomeStatementOf(p.period, answer.balances) });
      }
      case "REVENUE": {
        const rows = new RowCollector<RevenueRow>(options, LIVE_HINT);
        const totals = new Map<string, bigint>();
        for await (const batch of reader.revenueRows({ ...p, position, cutoff })) {
          for (const row of batch) {
            rows.add(row);
            totals.set(row.currency, (totals.get(row.currency) ?? 0n) + row.revenue);
            await sink(revenueRowLine(row));
          }
        }
        const totalList = sortedTotals(totals);
        for (const t of totalList) await sink(revenueTotalLine(t));
        return rows.rows === null ? null : { type: "REVENUE", revenue: { period: p.period, granularity: p.granularity, rows: rows.rows, totals: totalList } };
      }
      case "MAINTENANCE_COST": {
        const rows = new RowCollector<MaintenanceCostRow>(options, LIVE_HINT);
        const totals = new Map<string, bigint>();
        for await (const batch of reader.maintenanceRows({ ...p, position, cutoff })) {
          for (const row of batch) {
            rows.add(row);
            totals.set(row.currency, (totals.get(row.currency) ?? 0n) + row.total);
            await sink(maintenanceRowLine(row));
          }
        }
        const totalList = sortedTotals(totals);
        for (const t of totalList) await sink(maintenanceTotalLine(t));
        return rows.rows === null
          ? null
          : { type: "MAINTENANCE_COST", maintenanceCost: { period: p.period, granularity: p.granularity, rows: rows.rows, totals: totalList } };
      }
      case "FLEET_UTILIZATION": {
        const rows = new RowCollector<UtilizationRow>(options, LIVE_HINT);
        const from = dayStartSeconds(p.period.start, reportingTimeZone);
        const to = dayStartSeconds(p.period.end, reportingTimeZone);
        const buckets = bucketsOf(p.period.start, p.period.end, p.granularity).map((b) => ({
          start: b.start,
          from: dayStartSeconds(b.start, reportingTimeZone),
          to: dayStartSeconds(b.end, reportingTimeZone),
        }));
        const vehicles = await reader.utilizationVehicles(p.vehicleIds, from, to, position);
        for (let i = 0; i < vehicles.length; i += UTILIZATION_VEHICLE_BATCH) {
          const usage = await reader.vehicleUsage(vehicles.slice(i, i + UTILIZATION_VEHICLE_BATCH), from, to, position);
          for (const v of usage) {
            for (const b of buckets) {
              const rentedSeconds = coveredSeconds(v.rentals, b.from, b.to);
              const availableSeconds = b.to - b.from - coveredSeconds(v.downtime, b.from, b.to);
              const row: UtilizationRow = {
                vehicleId: v.vehicleId,
                bucketStart: b.start,
                rentedSeconds,
                availableSeconds,
                basisPoints: utilizationBasisPoints(rentedSeconds, availableSeconds),
              };
              rows.add(row);
              await sink(utilizationRowLine(row));
            }
          }
        }
        return rows.rows === null ? null : { type: "FLEET_UTILIZATION", fleetUtilization: { period: p.period, granularity: p.granularity, rows: rows.rows } };
      }
      case "RECEIVABLES_AGING": {
        const open = await reader.openReceivables(p.asOfDate, position);
        const grouped = new Map<string, { customerId: string; currency: string; amounts: Record<string, bigint> }>();
        for (const r of open) {
          const key = `${r.customerId}\u0000${r.currency}`;
          const g = grouped.get(key) ?? { customerId: r.customerId, currency: r.currency, amounts: {} };
          const bucket = agingBucketOf(daysBetween(r.dueDate, p.asOfDate));
          g.amounts[bucket] = (g.amounts[bucket] ?? 0n) + r.balance;
          grouped.set(key, g);
        }
        // The reader returns customers and currencies in order; the map keeps insertion order.
        const rows: AgingRow[] = [...grouped.values()].map((g) => {
          const a = (k: string): bigint => g.amounts[k] ?? 0n;
          return {
            customerId: g.customerId,
            currency: g.currency,
            current: a("CURRENT"),
            days1To30: a("DAYS_1_TO_30"),
            days31To60: a("DAYS_31_TO_60"),
            days61To90: a("DAYS_61_TO_90"),
            over90: a("OVER_90"),
            total: a("CURRENT") + a("DAYS_1_TO_30") + a("DAYS_31_TO_60") + a("DAYS_61_TO_90") + a("OVER_90"),
          };
        });
        const totals = totalsByCurrency(rows, (r) => r.currency, (r) => r.total);
        for (const r of rows) await sink(agingRowLine(r));
        for (const t of totals) await sink(agingTotalLine(t));
        if (rows.length > MAX_RESULT_ROWS) {
          if (options.refuseLarge) throw reportTooLarge(rows.length, MAX_RESULT_ROWS, LIVE_HINT);
          return null;
        }
        return { type: "RECEIVABLES_AGING", receivablesAging: { asOfDate: p.asOfDate, rows, totals } };
      }
    }
  }

  const metadataOf = (p: ResolvedParams, snapshotId: string, generateTime: Date, generatedBy: string, sha: string, lines: number): ReportMetadata => ({
    reportType: p.type,
    snapshotId,
    generateTime,
    cutoffTime: p.cutoffTime,
    generatedBy,
    ledgerPosition: p.asOfPosition,
    contentSha256: sha,
    // The header is not a data row.
    rowCount: BigInt(lines - 1),
  });

  return {
    async report(params, generatedBy) {
      const now = clock.now();
      return store.inSnapshot(async (reader) => {
        const resolved = await resolve(reader, params, now);
        const csv = new CsvAccumulator(CSV_CHUNK_BYTES, () => undefined);
        await csv.add(csvHeaderLine(resolved.type));
        const result = await compute(reader, resolved, (line) => csv.add(line), { refuseLarge: true });
        const done = await csv.finish();
        if (result === null) throw reportTooLarge(done.lines - 1, MAX_RESULT_ROWS, LIVE_HINT);
        return { params: resolved, result, metadata: metadataOf(resolved, "", now, generatedBy, done.sha256, done.lines) };
      }, { write: false });
    },

    async generateSnapshot(params, generatedBy) {
      const now = clock.now();
      const id = ids.newId();
      return store.inSnapshot(async (reader, writer) => {
        const resolved = await resolve(reader, params, now);
        const csv = new CsvAccumulator(CSV_CHUNK_BYTES, (chunkNo, content, bytes) => writer.insertChunk(id, chunkNo, content, bytes));
        await csv.add(csvHeaderLine(resolved.type));
        const result = await compute(reader, resolved, (line) => csv.add(line), { refuseLarge: false });
        const done = await csv.finish();
        const record: SnapshotRecord = {
          id,
          params: resolved,
          metadata: metadataOf(resolved, id, now, generatedBy, done.sha256, done.lines),
          byteCount: done.bytes,
          chunkCount: done.chunks,
          result,
        };
        await writer.insertSnapshot(record);
        return record;
      }, { write: true });
    },

    async getSnapshot(id) {
      const record = await store.getSnapshot(id, true);
      if (record === null) throw snapshotNotFound(id);
      if (record.result === null) {
        throw reportTooLarge(Number(record.metadata.rowCount), MAX_RESULT_ROWS, "export it with ExportReportSnapshotCsv or GET /v1/reports/snapshots/{id}.csv");
      }
      return { ...record, result: record.result };
    },

    async listSnapshots(query) {
      const filter = `type=${query.type ?? ""}`;
      const after = decodeTimeIdToken(query.pageToken, filter);
      const limit = pageSizeOf(query.pageSize);
      const rows = await store.listSnapshots(query.type, limit + 1, after === null ? null : { generateTime: after.at, id: after.id });
      return toTimeIdPage(rows, limit, filter, (r) => ({ at: r.metadata.generateTime, id: r.id }));
    },

    async exportCsv(query) {
      const record = await store.getSnapshot(query.snapshotId, false);
      if (record === null) throw snapshotNotFound(query.snapshotId);
      const maxBytes = query.maxBytes <= 0 ? DEFAULT_CSV_PAGE_BYTES : Math.min(query.maxBytes, MAX_CSV_PAGE_BYTES);
      let { chunkNo, offset } = decodeCsvToken(query.pageToken, record.id, record.chunkCount);
      const parts: string[] = [];
      let bytes = 0;
      while (chunkNo < record.chunkCount) {
        const content = await store.readChunk(record.id, chunkNo);
        if (content === null) throw new Error(`snapshot ${record.id} lacks chunk ${chunkNo}`);
        const rest = content.slice(offset);
        const take = cutAtLineEnd(rest, maxBytes - bytes, parts.length === 0);
        if (take > 0) {
          const piece = rest.slice(0, take);
          parts.push(piece);
          bytes += Buffer.byteLength(piece, "utf8");
        }
        if (take < rest.length) {
          offset += take;
          break;
        }
        chunkNo += 1;
        offset = 0;
        if (bytes >= maxBytes) break;
      }
      const nextPageToken = chunkNo < record.chunkCount ? encodeCsvToken(record.id, chunkNo, offset) : "";
      return { csv: Buffer.from(parts.join(""), "utf8"), nextPageToken, metadata: record.metadata };
    },

    buildCheckpoint: (minLines = JOB_MIN_LINES) => checkpoints.build(minLines),
  };
}

const sortedTotals = (totals: Map<string, bigint>): CurrencyAmount[] =>
  [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([currency, amount]) => ({ currency, amount }));

// ---- CSV page tokens: opaque, bound to the snapshot ----

const invalidCsvToken = (): DomainError =>
  new DomainError("invalid_argument", "INVALID_PAGE_TOKEN", "page token is invalid or belongs to a different snapshot", {
    fieldViolations: [{ field: "page_token", description: "invalid or from a different snapshot", reason: "INVALID_PAGE_TOKEN" }],
  });

export const encodeCsvToken = (snapshotId: string, chunkNo: number, offset: number): string =>
  Buffer.from(JSON.stringify(["csv", snapshotId, chunkNo, offset])).toString("base64url");

function decodeCsvToken(token: string, snapshotId: string, chunkCount: number): { chunkNo: number; offset: number } {
  if (token === "") return { chunkNo: 0, offset: 0 };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalidCsvToken();
  }
  if (!Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== "csv" || parsed[1] !== snapshotId) throw invalidCsvToken();
  const [, , chunkNo, offset] = parsed as [string, string, unknown, unknown];
  if (!Number.isSafeInteger(chunkNo) || !Number.isSafeInteger(offset) || (chunkNo as number) < 0 || (offset as number) < 0 || (chunkNo as number) >= chunkCount) {
    throw invalidCsvToken();
  }
  return { chunkNo: chunkNo as number, offset: offset as number };
}
