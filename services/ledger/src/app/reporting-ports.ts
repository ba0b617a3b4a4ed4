// Ports of the reporting use cases: reads of the immutable facts inside one
// REPEATABLE READ snapshot, the checkpoint builder and the snapshot store.
import type { AccountBalance } from "../domain/reports/balances.js";
import type { Interval } from "../domain/reports/utilization.js";
import type {
  MaintenanceCostRow,
  ReportMetadata,
  ReportResult,
  ReportType,
  ResolvedParams,
  RevenueRow,
  Granularity,
  DateRange,
} from "../domain/reports/model.js";

/** Which lines a balance query sums: entry dates in [fromDate, toDate), knowledge up to position and cutoff. */
export interface BalanceQuery {
  /** null: from the beginning. */
  readonly fromDate: string | null;
  /** Exclusive. */
  readonly toDate: string;
  readonly position: bigint;
  /** null: no post_time filter. */
  readonly cutoff: Date | null;
}

export interface BalanceAnswer {
  readonly balances: AccountBalance[];
  /** The checkpoint used (0 when none). */
  readonly checkpoint: bigint;
  /** Raw journal lines read after the checkpoint. */
  readonly tailLines: number;
}

export interface BucketedQuery {
  readonly period: DateRange;
  readonly granularity: Granularity;
  /** Empty: all. */
  readonly vehicleIds: readonly string[];
  readonly position: bigint;
  readonly cutoff: Date | null;
}

/** One vehicle's facts overlapping a time range (epoch seconds). */
export interface VehicleUsage {
  readonly vehicleId: string;
  readonly rentals: readonly Interval[];
  readonly downtime: readonly Interval[];
}

/** One open invoice's receivable. */
export interface OpenReceivable {
  readonly customerId: string;
  readonly currency: string;
  /** due_date, or issue_date when due on receipt. */
  readonly dueDate: string;
  readonly balance: bigint;
}

/** Reads inside one REPEATABLE READ transaction: every answer is of the same database snapshot. */
export interface ReportReader {
  /** The committed ledger position in this snapshot. */
  readablePosition(): Promise<bigint>;
  /** Balances from the latest usable checkpoint plus the raw lines after it. */
  accountBalances(q: BalanceQuery): Promise<BalanceAnswer>;
  /** The same sums straight from journal_lines (tests, bench baseline). */
  accountBalancesRaw(q: BalanceQuery): Promise<AccountBalance[]>;
  /** Revenue rows in report order, in batches. */
  revenueRows(q: BucketedQuery): AsyncIterable<readonly RevenueRow[]>;
  maintenanceRows(q: BucketedQuery): AsyncIterable<readonly MaintenanceCostRow[]>;
  /** Vehicles (sorted) with a fact overlapping [from, to), or the given ones. */
  utilizationVehicles(vehicleIds: readonly string[], from: bigint, to: bigint, position: bigint): Promise<string[]>;
  /** Facts of these vehicles overlapping [from, to), in the given order. */
  vehicleUsage(vehicleIds: readonly string[], from: bigint, to: bigint, position: bigint): Promise<VehicleUsage[]>;
  /** Open invoices as of the date (issued on or before it; AR lines dated on or before it). */
  openReceivables(asOfDate: string, position: bigint): Promise<OpenReceivable[]>;
}

/** What a stored snapshot holds besides its CSV. */
export interface SnapshotRecord {
  readonly id: string;
  readonly params: ResolvedParams;
  readonly metadata: ReportMetadata;
  readonly byteCount: number;
  readonly chunkCount: number;
  /** null when too large to return in one message. */
  readonly result: ReportResult | null;
}

export interface SnapshotWriter {
  insertChunk(snapshotId: string, chunkNo: number, content: string, bytes: number): Promise<void>;
  insertSnapshot(record: SnapshotRecord): Promise<void>;
}

export interface SnapshotCursor {
  readonly generateTime: Date;
  readonly id: string;
}

export interface ReportStore {
  /** Runs `work` in one REPEATABLE READ transaction (read-only unless `write`), with a long statement timeout. */
  inSnapshot<T>(work: (reader: ReportReader, writer: SnapshotWriter) => Promise<T>, options: { readonly write: boolean }): Promise<T>;
  /** Without `withResult`, the record's result is null (lists, CSV pages). */
  getSnapshot(id: string, withResult: boolean): Promise<SnapshotRecord | null>;
  listSnapshots(type: ReportType | null, limit: number, after: SnapshotCursor | null): Promise<SnapshotRecord[]>;
  /** The chunk's content, or null beyond the last. */
  readChunk(snapshotId: string, chunkNo: number): Promise<string | null>;
}

export interface CheckpointInfo {
  readonly position: bigint;
  readonly previousPosition: bigint;
  readonly lineCount: bigint;
}

export interface CheckpointBuilder {
  /**
   * Builds a checkpoint at the readable position from the previous one plus
   * the lines after it, when at least `minLines` lines are new; null otherwise.
   */
  build(minLines: number): Promise<CheckpointInfo | null>;
  latest(): Promise<CheckpointInfo | null>;
}
