// The journal on the ledger's PostgreSQL database: accounts, entries and
// their lines, the ledger position and the accounting periods. Every call
// joins the unit of work's transaction through db.executor().
//
// Posting (docs/ledger.md#the-ledger-position):
//   1. an entry already posted under the reference is returned (or refused
//      when its content differs) without touching the position;
//   2. otherwise the position row is updated, which locks it until commit:
//      concurrent postings queue here, so positions follow commit order;
//   3. under that lock the reference is checked again (a concurrent post of
//      the same reference has committed by now) and closed months are read
//      (closing takes the same lock);
//   4. the entry and its lines go in with one statement.
import type { Database, Knex } from "../../../../platform/src/db.js";
import { money } from "../../../../platform/src/money.js";
import { decodePageToken, pageSize, toPage } from "../../../../platform/src/paging.js";
import { entryAlreadyPosted, periodClosed } from "../../domain/errors.js";
import { entryContentHash } from "../../domain/journal.js";
import { monthStartAfter, periodOfDate } from "../../domain/calendar.js";
import type {
  Account,
  AccountingPeriod,
  AccountType,
  Direction,
  JournalEntry,
  JournalEntryDraft,
  JournalLine,
  PeriodStatus,
  PostResult,
} from "../../domain/model.js";
import { DEBIT_NORMAL } from "../../domain/model.js";
import type { Accounts, Journal, Periods } from "../../app/ports.js";

type Row = Record<string, unknown>;

/**
 * A PostgreSQL array literal: knex would expand a JS array binding into a
 * comma list, and `unnest(?::uuid[])` needs one value.
 */
export const pgArray = (values: readonly unknown[]): string =>
  `{${values.map((v) => (v === null || v === undefined ? "NULL" : `"${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)).join(",")}}`;

/** Rows of a raw statement; bigints go to the driver as decimal text, arrays as array literals. */
export async function rowsOf(executor: Knex | Knex.Transaction, text: string, values: readonly unknown[] = []): Promise<Row[]> {
  const bindings = values.map((v) => (typeof v === "bigint" ? v.toString() : Array.isArray(v) ? pgArray(v) : v)) as Knex.RawBinding[];
  const result = (await executor.raw(text, bindings)) as { rows: Row[] };
  return result.rows;
}
const str = (v: unknown): string => v as string;
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

const toAccount = (r: Row): Account => ({
  id: str(r["id"]), code: str(r["code"]), name: str(r["name"]), type: r["type"] as AccountType, description: str(r["description"]),
  rowVersion: r["row_version"] as bigint, createTime: r["create_time"] as Date, updateTime: r["update_time"] as Date,
  createdBy: str(r["created_by"]), updatedBy: str(r["updated_by"]),
});

const DIRECTION_OF: Readonly<Record<string, Direction>> = { D: "DEBIT", C: "CREDIT" };

const ENTRY_COLUMNS = `e.id, e.position, e.external_ref_type, e.external_ref_id, e.content_hash, e.entry_date, e.fact_date,
  e.description, e.post_time, e.posted_by, e.reverses_entry_id,
  (SELECT r.id FROM journal_entries r WHERE r.reverses_entry_id = e.id) AS reversed_by_entry_id`;

/** The committed value of the position row: every fact at or below it is committed (0001_ledger.sql). */
export const readablePositionOf = async (executor: Knex | Knex.Transaction): Promise<bigint> =>
  BigInt(String((await rowsOf(executor, "SELECT position FROM ledger_head"))[0]!["position"]));

export function createJournal(db: Database): Journal {
  const q = (): Knex | Knex.Transaction => db.executor();
  const codes = new Map<string, string>();

  const accountCodes = async (ids: readonly string[]): Promise<Map<string, string>> => {
    const missing = [...new Set(ids)].filter((id) => !codes.has(id));
    if (missing.length > 0) {
      const rows = await rowsOf(q(), "SELECT id, code FROM accounts WHERE id = ANY(?::uuid[])", [missing]);
      for (const r of rows) codes.set(str(r["id"]), str(r["code"]));
    }
    return codes;
  };

  const withLines = async (entries: Row[]): Promise<JournalEntry[]> => {
    if (entries.length === 0) return [];
    const rows = await rowsOf(q(),
      `SELECT l.entry_id, l.id, l.account_id, a.code, l.direction, l.amount_minor, l.currency, l.vehicle_id, l.invoice_id, l.memo
         FROM journal_lines l JOIN accounts a ON a.id = l.account_id
        WHERE l.entry_id = ANY(?::uuid[]) ORDER BY l.entry_id, l.line_no`,
      [entries.map((e) => e["id"])],
    );
    const byEntry = new Map<string, JournalLine[]>();
    for (const r of rows) {
      const lines = byEntry.get(str(r["entry_id"])) ?? [];
      lines.push({
        id: str(r["id"]), accountId: str(r["account_id"]), accountCode: str(r["code"]), direction: DIRECTION_OF[str(r["direction"])]!,
        amount: money(r["amount_minor"] as bigint, str(r["currency"])), vehicleId: optStr(r["vehicle_id"]), invoiceId: optStr(r["invoice_id"]),
        memo: str(r["memo"]),
      });
      byEntry.set(str(r["entry_id"]), lines);
    }
    return entries.map((e) => ({
      id: str(e["id"]), position: e["position"] as bigint,
      externalRef: { type: str(e["external_ref_type"]), id: str(e["external_ref_id"]) },
      entryDate: str(e["entry_date"]), factDate: optStr(e["fact_date"]), description: str(e["description"]),
      lines: byEntry.get(str(e["id"])) ?? [], postTime: e["post_time"] as Date, postedBy: str(e["posted_by"]),
      reversesEntryId: optStr(e["reverses_entry_id"]), reversedByEntryId: optStr(e["reversed_by_entry_id"]),
    }));
  };

  const byRef = async (type: string, id: string): Promise<Row | undefined> =>
    (await rowsOf(q(), `SELECT ${ENTRY_COLUMNS} FROM journal_entries e WHERE e.external_ref_type = ? AND e.external_ref_id = ?`, [type, id]))[0];

  const existing = async (row: Row, draft: JournalEntryDraft, hash: string): Promise<PostResult> => {
    if (row["content_hash"] !== hash) throw entryAlreadyPosted(draft.externalRef.type, draft.externalRef.id, str(row["id"]));
    const [entry] = await withLines([row]);
    return { entry: entry!, alreadyPosted: true };
  };

  /** The first day of the first open month on or after `date`'s month (`closed`: closed month starts from it on, sorted), or `date` itself. */
  const openDateFor = (date: string, closed: readonly string[]): string => {
    let month = `${periodOfDate(date)}-01`;
    let resolved = date;
    for (const start of closed) {
      if (start !== month) break;
      month = monthStartAfter(month);
      resolved = month;
    }
    return resolved;
  };

  const takePosition = async (): Promise<bigint> =>
    (await rowsOf(q(), "UPDATE ledger_head SET position = position + 1 RETURNING position"))[0]!["position"] as bigint;

  return {
    takePosition,

    readablePosition: () => readablePositionOf(q()),

    async post(draft, policy, ids) {
      const hash = entryContentHash(draft);
      const before = await byRef(draft.externalRef.type, draft.externalRef.id);
      if (before) return existing(before, draft, hash);
      const names = await accountCodes(draft.lines.map((l) => l.accountId));
      const position = await takePosition();
      // Under the lock, one round trip: a concurrent post of the reference (committed by now) and the closed months.
      const [state] = await rowsOf(q(),
        `SELECT EXISTS (SELECT 1 FROM journal_entries WHERE external_ref_type = ? AND external_ref_id = ?) AS raced,
                ARRAY(SELECT period_start::text FROM accounting_periods
                       WHERE status = 'CLOSED' AND period_start >= date_trunc('month', ?::date)::date ORDER BY period_start) AS closed`,
        [draft.externalRef.type, draft.externalRef.id, draft.entryDate]);
      if (state!["raced"] === true) {
        // Still holding the lock: hand the number back, so positions stay gapless.
        await rowsOf(q(), "UPDATE ledger_head SET position = position - 1");
        return existing((await byRef(draft.externalRef.type, draft.externalRef.id))!, draft, hash);
      }
      const entryDate = openDateFor(draft.entryDate, state!["closed"] as string[]);
      if (entryDate !== draft.entryDate && policy === "refuse") throw periodClosed(periodOfDate(draft.entryDate));
      const factDate = entryDate === draft.entryDate ? null : draft.entryDate;
      const id = ids.newId();
      const lineIds = draft.lines.map(() => ids.newId());
      const rows = await rowsOf(q(),
        `WITH entry AS (
           INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, fact_date, description, posted_by, reverses_entry_id)
           VALUES (?, ?, ?, ?, ?, ?::date, ?::date, ?, ?, ?) RETURNING id, post_time)
         , lines AS (
           INSERT INTO journal_lines (id, entry_id, line_no, position, entry_date, account_id, direction, amount_minor, currency, vehicle_id, invoice_id, memo)
           SELECT l.id, ?::uuid, l.line_no, ?, ?::date, l.account_id, l.direction, l.amount_minor, l.currency, l.vehicle_id, l.invoice_id, l.memo
             FROM unnest(?::uuid[], ?::smallint[], ?::uuid[], ?::char(1)[], ?::bigint[], ?::char(3)[], ?::uuid[], ?::uuid[], ?::text[])
                  AS l(id, line_no, account_id, direction, amount_minor, currency, vehicle_id, invoice_id, memo)
           RETURNING 1)
         SELECT post_time, (SELECT count(*) FROM lines) AS line_count FROM entry`,
        [
          id, position, draft.externalRef.type, draft.externalRef.id, hash, entryDate, factDate, draft.description, draft.postedBy, draft.reversesEntryId,
          id, position, entryDate,
          lineIds, draft.lines.map((_, i) => i + 1), draft.lines.map((l) => l.accountId), draft.lines.map((l) => (l.direction === "DEBIT" ? "D" : "C")),
          draft.lines.map((l) => l.amount.amountMinor.toString()), draft.lines.map((l) => l.amount.currency), draft.lines.map((l) => l.vehicleId),
          draft.lines.map((l) => l.invoiceId), draft.lines.map((l) => l.memo),
        ],
      );
      return {
        alreadyPosted: false,
        entry: {
          id, position, externalRef: draft.externalRef, entryDate, factDate, description: draft.description,
          lines: draft.lines.map((l, i) => ({ ...l, id: lineIds[i]!, accountCode: names.get(l.accountId) ?? "" })),
          postTime: rows[0]!["post_time"] as Date, postedBy: draft.postedBy, reversesEntryId: draft.reversesEntryId, reversedByEntryId: null,
        },
      };
    },

    async get(id) {
      const rows = await rowsOf(q(), `SELECT ${ENTRY_COLUMNS} FROM journal_entries e WHERE e.id = ?`, [id]);
      return (await withLines(rows))[0] ?? null;
    },

    async getByRef(type, id) {
      const row = await byRef(type, id);
      return row ? (await withLines([row]))[0]! : null;
    },

    async list(filter, asOfPosition, page) {
      const query = JSON.stringify({ ...filter, asOfPosition: asOfPosition.toString() });
      const after = decodePageToken(page.pageToken, query, 3);
      const where: string[] = ["e.position <= ?"];
      const bindings: unknown[] = [asOfPosition.toString()];
      if (filter.accountId) { where.push("EXISTS (SELECT 1 FROM journal_lines l WHERE l.entry_id = e.id AND l.account_id = ?)"); bindings.push(filter.accountId); }
      if (filter.vehicleId) { where.push("EXISTS (SELECT 1 FROM journal_lines l WHERE l.entry_id = e.id AND l.vehicle_id = ?)"); bindings.push(filter.vehicleId); }
      if (filter.externalRefType) { where.push("e.external_ref_type = ?"); bindings.push(filter.externalRefType); }
      if (filter.externalRefId) { where.push("e.external_ref_id = ?"); bindings.push(filter.externalRefId); }
      if (filter.datedWithin) { where.push("e.entry_date >= ?::date AND e.entry_date < ?::date"); bindings.push(filter.datedWithin.startDate, filter.datedWithin.endDate); }
      if (after) { where.push("(e.entry_date, e.post_time, e.id) < (?::date, ?::timestamptz, ?::uuid)"); bindings.push(...after); }
      const rows = await rowsOf(q(),
        `SELECT ${ENTRY_COLUMNS} FROM journal_entries e WHERE ${where.join(" AND ")}
          ORDER BY e.entry_date DESC, e.post_time DESC, e.id DESC LIMIT ?`,
        [...bindings, pageSize(page.pageSize) + 1],
      );
      const entries = await withLines(rows);
      return toPage(entries, pageSize(page.pageSize), query, (e) => [e.entryDate, e.postTime.toISOString(), e.id]);
    },

    async balances(query, type) {
      const rows = await rowsOf(q(),
        `SELECT l.currency, coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'D'), 0)::bigint AS debit,
                coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'C'), 0)::bigint AS credit
           FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
          WHERE l.account_id = ? AND l.position <= ? AND e.post_time <= ? ${query.asOfDate ? "AND l.entry_date <= ?::date" : ""}
          GROUP BY l.currency ORDER BY l.currency`,
        [query.accountId, query.asOfPosition.toString(), query.cutoffTime, ...(query.asOfDate ? [query.asOfDate] : [])],
      );
      return rows.map((r) => {
        const debitTotal = r["debit"] as bigint;
        const creditTotal = r["credit"] as bigint;
        return {
          currency: str(r["currency"]), debitTotal, creditTotal,
          balance: DEBIT_NORMAL.has(type) ? debitTotal - creditTotal : creditTotal - debitTotal,
        };
      });
    },
  };
}

export function createAccounts(db: Database): Accounts {
  const q = (): Knex | Knex.Transaction => db.executor();
  return {
    async create(a) {
      const rows = await rowsOf(q(),
        `INSERT INTO accounts (id, code, name, type, description, created_by, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        [a.id, a.code, a.name, a.type, a.description, a.createdBy, a.updatedBy],
      );
      return toAccount(rows[0]!);
    },
    async get(id) {
      const rows = await rowsOf(q(), "SELECT * FROM accounts WHERE id = ?", [id]);
      return rows[0] ? toAccount(rows[0]) : null;
    },
    async list(type, page) {
      const query = JSON.stringify({ type });
      const after = decodePageToken(page.pageToken, query, 1);
      const rows = await rowsOf(q(),
        `SELECT * FROM accounts WHERE (?::text IS NULL OR type = ?) AND (?::text IS NULL OR code > ?) ORDER BY code LIMIT ?`,
        [type, type, after?.[0] ?? null, after?.[0] ?? null, pageSize(page.pageSize) + 1],
      );
      return toPage(rows.map(toAccount), pageSize(page.pageSize), query, (a) => [a.code]);
    },
  };
}

export function createPeriods(db: Database): Periods {
  const q = (): Knex | Knex.Transaction => db.executor();
  const load = async (starts: readonly string[]): Promise<AccountingPeriod[]> => {
    if (starts.length === 0) return [];
    const rows = await rowsOf(q(),
      `SELECT p.period_start, p.status, c.status AS change_status, c.changed_by, c.reason, c.change_time
         FROM accounting_periods p LEFT JOIN period_status_changes c ON c.period_start = p.period_start
        WHERE p.period_start = ANY(?::date[]) ORDER BY p.period_start DESC, c.change_time, c.id`,
      [starts],
    );
    const byStart = new Map<string, { status: PeriodStatus; history: AccountingPeriod["history"][number][] }>();
    for (const r of rows) {
      const start = str(r["period_start"]);
      const p = byStart.get(start) ?? { status: r["status"] as PeriodStatus, history: [] };
      if (r["change_status"] !== null) {
        p.history.push({ status: r["change_status"] as PeriodStatus, changedBy: str(r["changed_by"]), reason: str(r["reason"]), changeTime: r["change_time"] as Date });
      }
      byStart.set(start, p);
    }
    return [...byStart].map(([start, p]) => ({
      period: periodOfDate(start), startDate: start, endDate: monthStartAfter(start), status: p.status, history: p.history,
    }));
  };
  return {
    async setStatus(period, status, change) {
      // The position lock: postings insert under it, so none dated in the month slips past the close.
      await rowsOf(q(), "SELECT position FROM ledger_head FOR UPDATE");
      await rowsOf(q(),
        `INSERT INTO accounting_periods (period_start, status) VALUES (?::date, ?)
           ON CONFLICT (period_start) DO UPDATE SET status = EXCLUDED.status, row_version = accounting_periods.row_version + 1`,
        [period.startDate, status],
      );
      await rowsOf(q(), "INSERT INTO period_status_changes (id, period_start, status, changed_by, reason) VALUES (?, ?::date, ?, ?, ?)",
        [change.id, period.startDate, status, change.by, change.reason]);
      return (await load([period.startDate]))[0]!;
    },
    async get(period) {
      return (await load([`${period}-01`]))[0] ?? null;
    },
    async list(page) {
      const after = decodePageToken(page.pageToken, "periods", 1);
      const rows = await rowsOf(q(),
        "SELECT period_start FROM accounting_periods WHERE (?::date IS NULL OR period_start < ?::date) ORDER BY period_start DESC LIMIT ?",
        [after?.[0] ?? null, after?.[0] ?? null, pageSize(page.pageSize) + 1],
      );
      const periods = await load(rows.map((r) => str(r["period_start"])));
      return toPage(periods, pageSize(page.pageSize), "periods", (p) => [p.startDate]);
    },
  };
}
