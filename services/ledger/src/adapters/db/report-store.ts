// Report reads (one REPEATABLE READ snapshot per report) and the
// append-only snapshot store. Every query filters facts by ledger position,
// orders deterministically (byte-wise "C" collation for text) and returns
// dates as text and sums as exact numerics (never a JS number or Date).
import type { Database, Knex } from "../../../../platform/src/db.js";
import { runInTransaction } from "../../../../platform/src/transactions.js";
import { readablePositionOf } from "./journal-store.js";
import type { AccountBalance } from "../../domain/reports/balances.js";
import type {
  AccountType,
  Granularity,
  MaintenanceCostRow,
  ReportMetadata,
  ReportResult,
  ReportType,
  ResolvedParams,
  RevenueRow,
} from "../../domain/reports/model.js";
import type {
  BalanceAnswer,
  BalanceQuery,
  BucketedQuery,
  OpenReceivable,
  ReportReader,
  ReportStore,
  SnapshotCursor,
  SnapshotRecord,
  SnapshotWriter,
  VehicleUsage,
} from "../../app/reporting-ports.js";

// bigint parameters go to PostgreSQL as exact decimal text (knex's types do not know bigint).
export const toBindings = (values: readonly unknown[]): Knex.RawBinding[] =>
  values.map((v) => (typeof v === "bigint" ? v.toString() : v)) as Knex.RawBinding[];

/** `exec.raw` with bigint-safe positional bindings. */
export const rawOf = (exec: Knex | Knex.Transaction) =>
  <R = unknown>(sql: string, values: readonly unknown[] = []): Promise<R> => exec.raw<R>(sql, toBindings(values)) as unknown as Promise<R>;

export const toBig = (v: unknown): bigint => (typeof v === "bigint" ? v : BigInt(String(v ?? "0")));

/** Rows fetched per round trip when streaming a report. */
export const FETCH_BATCH = 5_000;
/** Statement timeouts inside report transactions: a large snapshot is one long read; a live report is bounded. */
const SNAPSHOT_STATEMENT_TIMEOUT = "600s";
const LIVE_STATEMENT_TIMEOUT = "60s";


interface BalanceRow {
  account_id: string;
  code: string;
  name: string;
  type: string;
  currency: string;
  debit: string;
  credit: string;
  tail: unknown;
}

const balanceOf = (r: BalanceRow): AccountBalance => ({
  accountId: r.account_id,
  accountCode: r.code,
  accountName: r.name,
  accountType: r.type as AccountType,
  currency: r.currency,
  debit: toBig(r.debit),
  credit: toBig(r.credit),
});

/** Raw lines of the query's dates and knowledge; `after` excludes positions up to a checkpoint. */
function rawLinesSql(q: BalanceQuery, after: bigint): { sql: string; bindings: unknown[] } {
  const bindings: unknown[] = [after, q.position, q.toDate];
  let sql = `SELECT l.account_id, l.currency,
      sum(CASE WHEN l.direction = 'D' THEN l.amount_minor::numeric ELSE 0 END) AS debit,
      sum(CASE WHEN l.direction = 'C' THEN l.amount_minor::numeric ELSE 0 END) AS credit,
      count(*) AS lines
    FROM journal_lines l`;
  if (q.cutoff !== null) {
    // The entries' own position range lets the planner read only the tail's
    // entries (by journal_entries_position_key), never the whole table.
    sql += " JOIN journal_entries e ON e.id = l.entry_id AND e.position > ? AND e.position <= ? AND e.post_time <= ?";
    bindings.unshift(after, q.position, q.cutoff);
  }
  sql += " WHERE l.position > ? AND l.position <= ? AND l.entry_date < ?::date";
  if (q.fromDate !== null) {
    sql += " AND l.entry_date >= ?::date";
    bindings.push(q.fromDate);
  }
  sql += " GROUP BY l.account_id, l.currency";
  return { sql, bindings };
}

const WITH_ACCOUNTS = `SELECT a.id::text AS account_id, a.code, a.name, a.type, s.currency::text AS currency,
    sum(s.debit)::text AS debit, sum(s.credit)::text AS credit, sum(s.tail) AS tail
  FROM summed s JOIN accounts a ON a.id = s.account_id
  GROUP BY a.id, a.code, a.name, a.type, s.currency
  ORDER BY a.code COLLATE "C", s.currency COLLATE "C"`;

function bucketSql(granularity: Granularity, column: string): string {
  switch (granularity) {
    case "PERIOD": return "?::date";
    case "DAY": return column;
    case "WEEK": return `greatest(date_trunc('week', ${column})::date, ?::date)`;
    case "MONTH": return `greatest(date_trunc('month', ${column})::date, ?::date)`;
  }
}
const bucketBindings = (q: BucketedQuery): unknown[] => (q.granularity === "DAY" ? [] : [q.period.start]);

/** Streams a query's rows in batches through a server-side cursor of the current transaction. */
async function* cursorBatches<R>(trx: Knex.Transaction, sql: string, bindings: readonly unknown[]): AsyncGenerator<R[]> {
  const name = `report_cursor_${Math.random().toString(36).slice(2, 10)}`;
  await rawOf(trx)(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql}`, bindings as unknown[]);
  try {
    for (;;) {
      const res = await rawOf(trx)<{ rows: R[] }>(`FETCH ${FETCH_BATCH} FROM ${name}`);
      if (res.rows.length === 0) return;
      yield res.rows;
      if (res.rows.length < FETCH_BATCH) return;
    }
  } finally {
    await rawOf(trx)(`CLOSE ${name}`).catch(() => undefined);
  }
}

function readerOf(trx: Knex.Transaction): ReportReader {
  return {
    readablePosition: () => readablePositionOf(trx),

    async accountBalances(q): Promise<BalanceAnswer> {
      const cp = await rawOf(trx)<{ rows: Array<{ position: bigint }> }>(
        `SELECT position FROM report_checkpoints
          WHERE position <= ? AND (?::timestamptz IS NULL OR max_post_time IS NULL OR max_post_time <= ?::timestamptz)
          ORDER BY position DESC LIMIT 1`,
        [q.position, q.cutoff, q.cutoff],
      );
      const checkpoint = toBig(cp.rows[0]?.position ?? 0n);
      const tail = rawLinesSql(q, checkpoint);
      const summaryBindings: unknown[] = [checkpoint, q.toDate];
      let summarySql = `SELECT account_id, currency, sum(debit_minor) AS debit, sum(credit_minor) AS credit, 0::bigint AS tail
          FROM report_checkpoint_balances WHERE checkpoint_position <= ? AND entry_date < ?::date`;
      if (q.fromDate !== null) {
        summarySql += " AND entry_date >= ?::date";
        summaryBindings.push(q.fromDate);
      }
      summarySql += " GROUP BY account_id, currency";
      const res = await rawOf(trx)<{ rows: BalanceRow[] }>(
        `WITH summed AS (
           ${summarySql}
           UNION ALL
           SELECT account_id, currency, debit, credit, lines AS tail FROM (${tail.sql}) t
         ) ${WITH_ACCOUNTS}`,
        [...summaryBindings, ...tail.bindings],
      );
      let tailLines = 0;
      for (const r of res.rows) tailLines += Number(toBig(r.tail));
      return { balances: res.rows.map(balanceOf), checkpoint, tailLines };
    },

    async accountBalancesRaw(q) {
      const raw = rawLinesSql(q, 0n);
      const res = await rawOf(trx)<{ rows: BalanceRow[] }>(
        `WITH summed AS (SELECT account_id, currency, debit, credit, lines AS tail FROM (${raw.sql}) t) ${WITH_ACCOUNTS}`,
        raw.bindings,
      );
      return res.rows.map(balanceOf);
    },

    async *revenueRows(q) {
      const bucket = bucketSql(q.granularity, "l.entry_date");
      const bindings: unknown[] = [...bucketBindings(q), q.position, q.cutoff, q.cutoff, q.position, q.period.start, q.period.end];
      let where = "";
      if (q.vehicleIds.length > 0) {
        where = " AND l.vehicle_id = ANY(?::uuid[])";
        bindings.push([...q.vehicleIds]);
      }
      const sql = `SELECT coalesce(l.vehicle_id::text, '') AS vehicle_id, to_char(${bucket}, 'YYYY-MM-DD') AS bucket,
            l.currency::text AS currency,
            sum(CASE WHEN l.direction = 'C' THEN l.amount_minor::numeric ELSE -l.amount_minor::numeric END)::text AS revenue,
            count(DISTINCT i.rental_id) AS rentals
          FROM journal_lines l
          JOIN accounts a ON a.id = l.account_id AND a.type = 'REVENUE'
          JOIN journal_entries e ON e.id = l.entry_id AND e.position <= ? AND (?::timestamptz IS NULL OR e.post_time <= ?::timestamptz)
          LEFT JOIN invoices i ON i.id = l.invoice_id
          WHERE l.position <= ? AND l.entry_date >= ?::date AND l.entry_date < ?::date${where}
          GROUP BY l.vehicle_id, 2, l.currency
          ORDER BY l.vehicle_id NULLS FIRST, 2, l.currency COLLATE "C"`;
      type Row = { vehicle_id: string; bucket: string; currency: string; revenue: string; rentals: unknown };
      for await (const batch of cursorBatches<Row>(trx, sql, bindings)) {
        yield batch.map((r): RevenueRow => ({
          vehicleId: r.vehicle_id === "" ? null : r.vehicle_id,
          bucketStart: r.bucket,
          currency: r.currency,
          revenue: toBig(r.revenue),
          rentalCount: Number(toBig(r.rentals)),
        }));
      }
    },

    async *maintenanceRows(q) {
      const bucket = bucketSql(q.granularity, "f.complete_date");
      const bindings: unknown[] = [...bucketBindings(q), q.position, q.cutoff, q.cutoff, q.period.start, q.period.end];
      let where = "";
      if (q.vehicleIds.length > 0) {
        where = " AND f.vehicle_id = ANY(?::uuid[])";
        bindings.push([...q.vehicleIds]);
      }
      const sql = `SELECT f.vehicle_id::text AS vehicle_id, to_char(${bucket}, 'YYYY-MM-DD') AS bucket, f.currency::text AS currency,
            sum(f.labor_minor)::text AS labor, sum(f.parts_minor)::text AS parts,
            sum(f.labor_minor::numeric + f.parts_minor::numeric)::text AS total, count(*) AS jobs
          FROM maintenance_facts f
          WHERE f.position <= ? AND (?::timestamptz IS NULL OR f.record_time <= ?::timestamptz)
            AND f.complete_date >= ?::date AND f.complete_date < ?::date${where}
          GROUP BY f.vehicle_id, 2, f.currency
          ORDER BY f.vehicle_id, 2, f.currency COLLATE "C"`;
      type Row = { vehicle_id: string; bucket: string; currency: string; labor: string; parts: string; total: string; jobs: unknown };
      for await (const batch of cursorBatches<Row>(trx, sql, bindings)) {
        yield batch.map((r): MaintenanceCostRow => ({
          vehicleId: r.vehicle_id,
          bucketStart: r.bucket,
          currency: r.currency,
          labor: toBig(r.labor),
          parts: toBig(r.parts),
          total: toBig(r.total),
          jobCount: Number(toBig(r.jobs)),
        }));
      }
    },

    async utilizationVehicles(vehicleIds, from, to, position) {
      if (vehicleIds.length > 0) return [...new Set(vehicleIds.map((v) => v.toLowerCase()))].sort();
      const res = await rawOf(trx)<{ rows: Array<{ vehicle_id: string }> }>(
        `SELECT v.vehicle_id::text AS vehicle_id FROM (
           SELECT vehicle_id FROM rental_usage_facts
            WHERE position <= ? AND pickup_time < to_timestamp(?) AND return_time > to_timestamp(?)
           UNION
           SELECT vehicle_id FROM maintenance_facts
            WHERE position <= ? AND start_time IS NOT NULL AND start_time < to_timestamp(?) AND complete_time > to_timestamp(?)
         ) v ORDER BY v.vehicle_id`,
        [position, Number(to), Number(from), position, Number(to), Number(from)],
      );
      return res.rows.map((r) => r.vehicle_id);
    },

    async vehicleUsage(vehicleIds, from, to, position) {
      if (vehicleIds.length === 0) return [];
      type Row = { vehicle_id: string; kind: string; s: string; e: string };
      const res = await rawOf(trx)<{ rows: Row[] }>(
        `SELECT vehicle_id::text AS vehicle_id, 'R' AS kind, floor(extract(epoch FROM pickup_time))::bigint::text AS s,
                ceil(extract(epoch FROM return_time))::bigint::text AS e
           FROM rental_usage_facts
          WHERE vehicle_id = ANY(?::uuid[]) AND position <= ? AND pickup_time < to_timestamp(?) AND return_time > to_timestamp(?)
         UNION ALL
         SELECT vehicle_id::text, 'M', floor(extract(epoch FROM start_time))::bigint::text, ceil(extract(epoch FROM complete_time))::bigint::text
           FROM maintenance_facts
          WHERE vehicle_id = ANY(?::uuid[]) AND position <= ? AND start_time IS NOT NULL
            AND start_time < to_timestamp(?) AND complete_time > to_timestamp(?)`,
        [[...vehicleIds], position, Number(to), Number(from), [...vehicleIds], position, Number(to), Number(from)],
      );
      const byVehicle = new Map<string, { rentals: Array<{ start: bigint; end: bigint }>; downtime: Array<{ start: bigint; end: bigint }> }>();
      for (const id of vehicleIds) byVehicle.set(id, { rentals: [], downtime: [] });
      for (const r of res.rows) {
        const v = byVehicle.get(r.vehicle_id);
        if (v === undefined) continue;
        (r.kind === "R" ? v.rentals : v.downtime).push({ start: BigInt(r.s), end: BigInt(r.e) });
      }
      return vehicleIds.map((vehicleId): VehicleUsage => ({ vehicleId, ...byVehicle.get(vehicleId)! }));
    },

    async openReceivables(asOfDate, position) {
      type Row = { customer_id: string; currency: string; due: string; balance: string };
      const res = await rawOf(trx)<{ rows: Row[] }>(
        `SELECT i.customer_id::text AS customer_id, l.currency::text AS currency,
                to_char(coalesce(i.due_date, i.issue_date), 'YYYY-MM-DD') AS due,
                sum(CASE WHEN l.direction = 'D' THEN l.amount_minor::numeric ELSE -l.amount_minor::numeric END)::text AS balance
           FROM journal_lines l
           JOIN accounts a ON a.id = l.account_id AND a.code = 'ACCOUNTS_RECEIVABLE'
           JOIN invoices i ON i.id = l.invoice_id
          WHERE l.position <= ? AND l.entry_date <= ?::date AND i.issue_date <= ?::date
          GROUP BY l.invoice_id, i.customer_id, l.currency, coalesce(i.due_date, i.issue_date)
         HAVING sum(CASE WHEN l.direction = 'D' THEN l.amount_minor::numeric ELSE -l.amount_minor::numeric END) <> 0
          ORDER BY i.customer_id, l.currency COLLATE "C", l.invoice_id`,
        [position, asOfDate, asOfDate],
      );
      return res.rows.map((r): OpenReceivable => ({ customerId: r.customer_id, currency: r.currency, dueDate: r.due, balance: toBig(r.balance) }));
    },
  };
}

// ---- snapshot persistence ----

/** JSON with bigints as {"$n": "digits"}: exact, and revived as bigint. */
const BIG = "$n";
export const encodeJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? { [BIG]: v.toString() } : v));
export const decodeJson = (text: string): unknown =>
  JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === BIG) return BigInt((v as Record<string, string>)[BIG]!);
    }
    return v;
  });

function paramsFromJson(json: unknown): ResolvedParams {
  const p = decodeJson(JSON.stringify(json)) as Record<string, unknown>;
  return { ...p, cutoffTime: typeof p["cutoffTime"] === "string" ? new Date(p["cutoffTime"]) : null } as unknown as ResolvedParams;
}

interface SnapshotRow {
  id: string;
  report_type: string;
  parameters: unknown;
  generate_time: Date;
  cutoff_time: Date | null;
  generated_by: string;
  ledger_position: bigint;
  content_sha256: string;
  row_count: bigint;
  byte_count: bigint;
  chunk_count: number;
  result: unknown;
}

function recordOf(r: SnapshotRow): SnapshotRecord {
  const metadata: ReportMetadata = {
    reportType: r.report_type as ReportType,
    snapshotId: r.id,
    generateTime: r.generate_time,
    cutoffTime: r.cutoff_time,
    generatedBy: r.generated_by,
    ledgerPosition: toBig(r.ledger_position),
    contentSha256: r.content_sha256,
    rowCount: toBig(r.row_count),
  };
  return {
    id: r.id,
    params: paramsFromJson(r.parameters),
    metadata,
    byteCount: Number(toBig(r.byte_count)),
    chunkCount: r.chunk_count,
    result: r.result === null || r.result === undefined ? null : (decodeJson(JSON.stringify(r.result)) as ReportResult),
  };
}

const SUMMARY_COLUMNS = "id, report_type, parameters, generate_time, cutoff_time, generated_by, ledger_position, content_sha256, row_count, byte_count, chunk_count";

function writerOf(trx: Knex.Transaction): SnapshotWriter {
  return {
    async insertChunk(snapshotId, chunkNo, content, bytes) {
      await rawOf(trx)("INSERT INTO report_snapshot_chunks (snapshot_id, chunk_no, content, byte_count) VALUES (?, ?, ?, ?)", [
        snapshotId, chunkNo, content, bytes,
      ]);
    },
    async insertSnapshot(rec) {
      await rawOf(trx)(
        `INSERT INTO report_snapshots (id, report_type, parameters, generate_time, cutoff_time, generated_by, ledger_position,
           content_sha256, row_count, byte_count, chunk_count, result)
         VALUES (?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)`,
        [
          rec.id, rec.metadata.reportType, encodeJson(rec.params), rec.metadata.generateTime, rec.metadata.cutoffTime,
          rec.metadata.generatedBy, rec.metadata.ledgerPosition, rec.metadata.contentSha256, rec.metadata.rowCount,
          rec.byteCount, rec.chunkCount, rec.result === null ? null : encodeJson(rec.result),
        ],
      );
    },
  };
}

export function createReportStore(db: Database): ReportStore {
  return {
    inSnapshot(work, options) {
      return runInTransaction(
        db,
        async (trx) => {
          await rawOf(trx)(`SET LOCAL statement_timeout = '${options.write ? SNAPSHOT_STATEMENT_TIMEOUT : LIVE_STATEMENT_TIMEOUT}'`);
          return work(readerOf(trx), writerOf(trx));
        },
        { isolation: "repeatable read", readOnly: !options.write, maxAttempts: 3 },
      );
    },
    async getSnapshot(id, withResult) {
      const res = await rawOf(db.executor())<{ rows: SnapshotRow[] }>(
        `SELECT ${SUMMARY_COLUMNS}, ${withResult ? "result" : "NULL::jsonb AS result"} FROM report_snapshots WHERE id = ?`,
        [id],
      );
      const row = res.rows[0];
      return row === undefined ? null : recordOf(row);
    },
    async listSnapshots(type, limit, after: SnapshotCursor | null) {
      const bindings: unknown[] = [];
      let where = "WHERE true";
      if (type !== null) {
        where += " AND report_type = ?";
        bindings.push(type);
      }
      if (after !== null) {
        where += " AND (generate_time, id) < (?, ?)";
        bindings.push(after.generateTime, after.id);
      }
      bindings.push(limit);
      const res = await rawOf(db.executor())<{ rows: SnapshotRow[] }>(
        `SELECT ${SUMMARY_COLUMNS}, NULL::jsonb AS result FROM report_snapshots ${where} ORDER BY generate_time DESC, id DESC LIMIT ?`,
        bindings,
      );
      return res.rows.map(recordOf);
    },
    async readChunk(snapshotId, chunkNo) {
      const res = await rawOf(db.executor())<{ rows: Array<{ content: string }> }>(
        "SELECT content FROM report_snapshot_chunks WHERE snapshot_id = ? AND chunk_no = ?",
        [snapshotId, chunkNo],
      );
      return res.rows[0]?.content ?? null;
    },
  };
}
