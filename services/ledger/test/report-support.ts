// Test support of the reporting tests: a migrated ledger database, the
// reporting use cases on it, and writers of journal entries and facts as the
// app role (each takes the next ledger position in its own transaction, as
// the ledger's posting code does).
import { randomUUID } from "node:crypto";
import { createDatabase, type Database, type Knex } from "../../platform/src/db.js";
import { createTestDatabase, type TestDatabase } from "../../platform/src/testing/harness.js";
import { createReportingUseCases, type ReportingUseCases } from "../src/app/reporting-use-cases.js";
import { ACCOUNTS } from "../src/domain/model.js";

export interface ReportWorld {
  readonly testDb: TestDatabase;
  readonly db: Database;
  readonly useCases: ReportingUseCases;
  readonly clock: { now(): Date; set(d: Date): void };
  stop(): Promise<void>;
}

export async function startReportWorld(timeZone = "UTC"): Promise<ReportWorld> {
  const testDb = await createTestDatabase("ledger", "migrations/ledger");
  const db = createDatabase(testDb.config, "ledger-reports-test");
  let now = new Date("2030-01-01T00:00:00Z");
  const clock = { now: () => now, set: (d: Date) => { now = d; } };
  const useCases = createReportingUseCases({ db, clock, ids: { newId: () => randomUUID() }, reportingTimeZone: timeZone });
  return {
    testDb,
    db,
    useCases,
    clock,
    async stop() {
      await db.close();
      await testDb.drop();
    },
  };
}

/** The seeded accounts' ids (migrations/ledger/0001_ledger.sql). */
export const ACCOUNT_IDS: Readonly<Record<string, string>> = ACCOUNTS;

export interface TestLine {
  readonly account: keyof typeof ACCOUNT_IDS | string;
  readonly direction: "D" | "C";
  readonly amount: bigint;
  readonly currency: string;
  readonly vehicleId?: string;
  readonly invoiceId?: string;
}

const nextPosition = async (trx: Knex.Transaction): Promise<bigint> => {
  const res = await trx.raw<{ rows: Array<{ position: bigint }> }>("UPDATE ledger_head SET position = position + 1 RETURNING position");
  return BigInt(res.rows[0]!.position);
};

async function insertEntry(trx: Knex.Transaction, position: bigint, entryDate: string, lines: readonly TestLine[], postTime?: Date): Promise<string> {
  const id = randomUUID();
  await trx.raw(
    `INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, description, post_time)
     VALUES (?, ?, 'test', ?, 'test', ?, 'test entry', coalesce(?::timestamptz, now()))`,
    [id, position.toString(), id, entryDate, postTime ?? null],
  );
  let no = 1;
  for (const l of lines) {
    await trx.raw(
      `INSERT INTO journal_lines (id, entry_id, line_no, position, entry_date, account_id, direction, amount_minor, currency, vehicle_id, invoice_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [randomUUID(), id, no++, position.toString(), entryDate, ACCOUNT_IDS[l.account] ?? l.account, l.direction, l.amount.toString(), l.currency,
        l.vehicleId ?? null, l.invoiceId ?? null],
    );
  }
  return id;
}

/** Posts one balanced entry; returns its position. */
export async function post(db: Database, entryDate: string, lines: readonly TestLine[], postTime?: Date): Promise<bigint> {
  return db.knex.transaction(async (trx) => {
    const position = await nextPosition(trx);
    await insertEntry(trx, position, entryDate, lines, postTime);
    return position;
  });
}

export interface TestInvoice {
  readonly customerId: string;
  readonly rentalId?: string;
  readonly vehicleId?: string;
  readonly currency: string;
  readonly amount: bigint;
  readonly issueDate: string;
  readonly dueDate?: string;
  readonly revenueAccount?: string;
}

/** Issues an invoice: AR debit and revenue credit carrying the invoice (and vehicle) dimension. */
export async function issueInvoice(db: Database, inv: TestInvoice): Promise<{ invoiceId: string; position: bigint }> {
  return db.knex.transaction(async (trx) => {
    const position = await nextPosition(trx);
    const invoiceId = randomUUID();
    const entryId = await insertEntry(trx, position, inv.issueDate, [
      { account: "ACCOUNTS_RECEIVABLE", direction: "D", amount: inv.amount, currency: inv.currency, invoiceId },
      { account: inv.revenueAccount ?? "REVENUE_RENTAL", direction: "C", amount: inv.amount, currency: inv.currency, invoiceId,
        ...(inv.vehicleId === undefined ? {} : { vehicleId: inv.vehicleId }) },
    ]);
    await trx.raw(
      `INSERT INTO invoices (id, number, customer_id, rental_id, content_hash, status, currency, total_minor, issue_date, due_date, journal_entry_id)
       VALUES (?, ?, ?, ?, 'test', 'ISSUED', ?, ?, ?, ?, ?)`,
      [invoiceId, `INV-${invoiceId.slice(0, 8)}`, inv.customerId, inv.rentalId ?? null, inv.currency, inv.amount.toString(), inv.issueDate,
        inv.dueDate ?? null, entryId],
    );
    return { invoiceId, position };
  });
}

/** A payment of an invoice into the bank: AR credit with the invoice dimension. */
export const payInvoice = (db: Database, invoiceId: string, amount: bigint, currency: string, date: string): Promise<bigint> =>
  post(db, date, [
    { account: "BANK", direction: "D", amount, currency },
    { account: "ACCOUNTS_RECEIVABLE", direction: "C", amount, currency, invoiceId },
  ]);

export async function recordRental(db: Database, vehicleId: string, pickup: string, ret: string): Promise<bigint> {
  return db.knex.transaction(async (trx) => {
    const position = await nextPosition(trx);
    await trx.raw(
      "INSERT INTO rental_usage_facts (rental_id, vehicle_id, customer_id, pickup_time, return_time, position) VALUES (?, ?, ?, ?, ?, ?)",
      [randomUUID(), vehicleId, randomUUID(), pickup, ret, position.toString()],
    );
    return position;
  });
}

export interface TestMaintenance {
  readonly vehicleId: string;
  readonly start: string | null;
  readonly complete: string;
  readonly currency: string;
  readonly labor: bigint;
  readonly parts: bigint;
}

export async function recordMaintenance(db: Database, m: TestMaintenance): Promise<bigint> {
  return db.knex.transaction(async (trx) => {
    const position = await nextPosition(trx);
    await trx.raw(
      `INSERT INTO maintenance_facts (maintenance_job_id, vehicle_id, start_time, complete_time, complete_date, currency, labor_minor, parts_minor, position)
       VALUES (?, ?, ?, ?, (?::timestamptz AT TIME ZONE 'UTC')::date, ?, ?, ?, ?)`,
      [randomUUID(), m.vehicleId, m.start, m.complete, m.complete, m.currency, m.labor.toString(), m.parts.toString(), position.toString()],
    );
    return position;
  });
}

export const VEHICLE_A = "0a000000-0000-4000-8000-00000000000a";
export const VEHICLE_B = "0b000000-0000-4000-8000-00000000000b";
export const CUSTOMER_1 = "c1000000-0000-4000-8000-0000000000c1";
export const CUSTOMER_2 = "c2000000-0000-4000-8000-0000000000c2";
/** 2^53 + 1: not representable as a JS number. */
export const HUGE = 9_007_199_254_740_993n;

/**
 * Bulk revenue as the superuser, triggers off (balanced by construction):
 * one invoice-less entry per (vehicle, day) pair, `vehicles` vehicles over
 * `days` days from 2025-01-01; AR debit, REVENUE_RENTAL credit with the
 * vehicle dimension. Positions continue the ledger head.
 */
export async function bulkRevenue(admin: import("pg").Client, vehicles: number, days: number, currency = "EUR"): Promise<void> {
  await admin.query("BEGIN");
  try {
    await admin.query("SET LOCAL session_replication_role = replica");
    const head = await admin.query<{ position: string }>("SELECT position::text FROM ledger_head FOR UPDATE");
    const p0 = BigInt(head.rows[0]!.position);
    const n = vehicles * days;
    await admin.query(
      `INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, description)
       SELECT gen_random_uuid(), $1::bigint + i, 'bulk', 'bulk-' || ($1::bigint + i), 'x', date '2025-01-01' + ((i - 1) / $2)::int, 'bulk'
         FROM generate_series(1, $3::int) i`,
      [p0.toString(), vehicles, n],
    );
    await admin.query(
      `INSERT INTO journal_lines (id, entry_id, line_no, position, entry_date, account_id, direction, amount_minor, currency, vehicle_id)
       SELECT gen_random_uuid(), e.id, k.line_no, e.position, e.entry_date, k.account_id::uuid, k.direction, 100 + (e.position % 997), $2,
              CASE WHEN k.line_no = 2 THEN ('00000000-0000-4000-8000-' || lpad(to_hex(((e.position - $1::bigint - 1) % $3)::int), 12, '0'))::uuid END
         FROM journal_entries e
        CROSS JOIN (VALUES (1, '00000000-0000-4000-8000-000000001100', 'D'), (2, '00000000-0000-4000-8000-000000004000', 'C')) k(line_no, account_id, direction)
        WHERE e.position > $1::bigint`,
      [p0.toString(), currency, vehicles],
    );
    await admin.query("UPDATE ledger_head SET position = position + $1", [n]);
    await admin.query("COMMIT");
  } catch (err) {
    await admin.query("ROLLBACK");
    throw err;
  }
}
