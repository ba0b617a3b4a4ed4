// Billing on the ledger's PostgreSQL database: invoices and their lines,
// credit notes, payments and refunds, customer credit movements, gapless
// number series and rental usage facts. Every call joins the unit of work's
// transaction through db.executor().
import type { Database, Knex } from "../../../../platform/src/db.js";
import { money, type Money } from "../../../../platform/src/money.js";
import { decodePageToken, toPage } from "../../../../platform/src/paging.js";
import type { BillingStore } from "../../app/billing-ports.js";
import type {
  CreditNote,
  Invoice,
  InvoiceLine,
  InvoiceStatus,
  Payment,
  PaymentKind,
  PaymentProvider,
  PaymentStatus,
  Refund,
} from "../../domain/billing-model.js";
import { readablePositionOf, rowsOf } from "./journal-store.js";

type Row = Record<string, unknown>;
const str = (v: unknown): string => v as string;
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
const optDate = (v: unknown): Date | null => (v === null || v === undefined ? null : (v as Date));
const big = (v: unknown): bigint => v as bigint;

const refOf = (type: unknown, id: unknown) => (type === null || type === undefined ? null : { type: str(type), id: str(id) });

const toInvoice = (r: Row, lines: readonly InvoiceLine[]): Invoice => ({
  id: str(r["id"]), number: str(r["number"]), customerId: str(r["customer_id"]), rentalId: optStr(r["rental_id"]),
  externalRef: refOf(r["external_ref_type"], r["external_ref_id"]), contentHash: str(r["content_hash"]),
  status: r["status"] as InvoiceStatus, currency: str(r["currency"]), lines,
  total: big(r["total_minor"]), paid: big(r["paid_minor"]), credited: big(r["credited_minor"]), creditApplied: big(r["credit_applied_minor"]),
  issueDate: str(r["issue_date"]), dueDate: optStr(r["due_date"]), notes: str(r["notes"]), journalEntryId: str(r["journal_entry_id"]),
  voidReason: optStr(r["void_reason"]), voidTime: optDate(r["void_time"]), rowVersion: big(r["row_version"]),
  createTime: r["create_time"] as Date, updateTime: r["update_time"] as Date, createdBy: str(r["created_by"]), updatedBy: str(r["updated_by"]),
});

const toRefund = (r: Row): Refund => ({
  id: str(r["id"]), paymentId: str(r["payment_id"]), amount: money(big(r["amount_minor"]), str(r["currency"])), reason: str(r["reason"]),
  externalReference: str(r["external_reference"]), refundTime: r["refund_time"] as Date, journalEntryId: str(r["journal_entry_id"]),
  createdBy: str(r["created_by"]),
});

const toPayment = (r: Row, refunds: readonly Refund[]): Payment => ({
  id: str(r["id"]), invoiceId: optStr(r["invoice_id"]), customerId: str(r["customer_id"]), rentalId: optStr(r["rental_id"]),
  rentalPaymentId: optStr(r["rental_payment_id"]), kind: r["kind"] as PaymentKind, provider: r["provider"] as PaymentProvider,
  amount: money(big(r["amount_minor"]), str(r["currency"])), applied: big(r["applied_minor"]), credit: big(r["credit_minor"]),
  refunded: big(r["refunded_minor"]), rentalApplied: big(r["rental_applied_minor"]), status: r["status"] as PaymentStatus,
  externalReference: str(r["external_reference"]), captureTime: r["capture_time"] as Date, journalEntryId: str(r["journal_entry_id"]),
  rowVersion: big(r["row_version"]), createTime: r["create_time"] as Date, updateTime: r["update_time"] as Date, createdBy: str(r["created_by"]),
  refunds,
});

const toCreditNote = (r: Row): CreditNote => ({
  id: str(r["id"]), number: str(r["number"]), invoiceId: str(r["invoice_id"]), customerId: str(r["customer_id"]),
  amount: money(big(r["amount_minor"]), str(r["currency"])), reason: str(r["reason"]), issueDate: str(r["issue_date"]),
  journalEntryId: str(r["journal_entry_id"]), externalRef: refOf(r["external_ref_type"], r["external_ref_id"]),
  contentHash: str(r["content_hash"]), createTime: r["create_time"] as Date, createdBy: str(r["created_by"]),
});

/** Where reads find invoices, payments, refunds and credit notes: the tables (now), or their state at a ledger position. */
interface Sources {
  readonly invoices: string;
  readonly payments: string;
  readonly refunds: string;
  readonly creditNotes: string;
}

const CURRENT: Sources = { invoices: "invoices", payments: "payments", refunds: "refunds", creditNotes: "credit_notes" };

/** The SQL functions of migrations/ledger/0004_billing_as_of.sql; a bigint prints as digits only. */
const sourcesAt = (position: bigint): Sources => ({
  invoices: `invoices_as_of(${position.toString()}::bigint) AS invoices`,
  payments: `payments_as_of(${position.toString()}::bigint) AS payments`,
  refunds: `refunds_as_of(${position.toString()}::bigint) AS refunds`,
  creditNotes: `credit_notes_as_of(${position.toString()}::bigint) AS credit_notes`,
});

export const createBillingStore = (db: Database): BillingStore => billingStoreOn(db, CURRENT);

function billingStoreOn(db: Database, src: Sources): BillingStore {
  const q = (): Knex | Knex.Transaction => db.executor();
  const rows = (text: string, values: readonly unknown[] = []): Promise<Row[]> => rowsOf(q(), text, values);

  const withLines = async (invoiceRows: Row[]): Promise<Invoice[]> => {
    if (invoiceRows.length === 0) return [];
    const lineRows = await rows(
      `SELECT * FROM invoice_lines WHERE invoice_id = ANY(?::uuid[]) ORDER BY invoice_id, line_no`,
      [invoiceRows.map((r) => r["id"])],
    );
    const byInvoice = new Map<string, InvoiceLine[]>();
    const currencyOf = new Map(invoiceRows.map((r) => [str(r["id"]), str(r["currency"])]));
    for (const l of lineRows) {
      const invoiceId = str(l["invoice_id"]);
      const currency = currencyOf.get(invoiceId)!;
      const list = byInvoice.get(invoiceId) ?? [];
      list.push({
        id: str(l["id"]), lineNo: Number(l["line_no"]), description: str(l["description"]), quantity: Number(l["quantity"]),
        unitPrice: money(big(l["unit_price_minor"]), currency), amount: money(big(l["amount_minor"]), currency),
        revenueAccountId: str(l["revenue_account_id"]), vehicleId: optStr(l["vehicle_id"]), rentalChargeId: optStr(l["rental_charge_id"]),
      });
      byInvoice.set(invoiceId, list);
    }
    return invoiceRows.map((r) => toInvoice(r, byInvoice.get(str(r["id"])) ?? []));
  };

  const withRefunds = async (paymentRows: Row[]): Promise<Payment[]> => {
    if (paymentRows.length === 0) return [];
    const refundRows = await rows(`SELECT * FROM ${src.refunds} WHERE payment_id = ANY(?::uuid[]) ORDER BY refund_time, id`, [paymentRows.map((r) => r["id"])]);
    const byPayment = new Map<string, Refund[]>();
    for (const r of refundRows) {
      const list = byPayment.get(str(r["payment_id"])) ?? [];
      list.push(toRefund(r));
      byPayment.set(str(r["payment_id"]), list);
    }
    return paymentRows.map((r) => toPayment(r, byPayment.get(str(r["id"])) ?? []));
  };

  const oneInvoice = async (where: string, values: unknown[], forUpdate: boolean): Promise<Invoice | null> =>
    (await withLines(await rows(`SELECT * FROM ${src.invoices} WHERE ${where}${forUpdate ? " FOR UPDATE" : ""}`, values)))[0] ?? null;

  const onePayment = async (where: string, values: unknown[], forUpdate: boolean): Promise<Payment | null> =>
    (await withRefunds(await rows(`SELECT * FROM ${src.payments} WHERE ${where}${forUpdate ? " FOR UPDATE" : ""}`, values)))[0] ?? null;

  return {
    asOf: (position) => billingStoreOn(db, sourcesAt(position)),

    async lockCustomer(customerId) {
      await rows("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [`ledger.customer:${customerId}`]);
    },

    async nextNumber(series, year) {
      const [row] = await rows(
        `INSERT INTO number_series (series, year, last_number) VALUES (?, ?, 1)
           ON CONFLICT (series, year) DO UPDATE SET last_number = number_series.last_number + 1
         RETURNING last_number`,
        [series, year],
      );
      return big(row!["last_number"]);
    },

    findInvoice: (id, forUpdate) => oneInvoice("id = ?", [id], forUpdate),
    findInvoiceByRef: (type, id) => oneInvoice("external_ref_type = ? AND external_ref_id = ?", [type, id], false),

    async openRentalInvoices(rentalId, customerId, forUpdate) {
      const locked = await rows(
        `SELECT * FROM invoices WHERE rental_id = ? AND customer_id = ? AND status <> 'VOID' ORDER BY id${forUpdate ? " FOR UPDATE" : ""}`, [rentalId, customerId]);
      const invoices = await withLines(locked);
      return invoices.sort((a, b) => a.createTime.getTime() - b.createTime.getTime() || a.number.localeCompare(b.number));
    },

    async insertInvoice(i) {
      await rows(
        `INSERT INTO invoices (id, number, customer_id, rental_id, external_ref_type, external_ref_id, content_hash, status, currency,
           total_minor, paid_minor, credited_minor, credit_applied_minor, issue_date, due_date, notes, journal_entry_id, row_version,
           create_time, update_time, created_by, updated_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::date, ?::date, ?, ?, ?, ?, ?, ?, ?)`,
        [i.id, i.number, i.customerId, i.rentalId, i.externalRef?.type ?? null, i.externalRef?.id ?? null, i.contentHash, i.status, i.currency,
          i.total, i.paid, i.credited, i.creditApplied, i.issueDate, i.dueDate, i.notes, i.journalEntryId, i.rowVersion,
          i.createTime, i.updateTime, i.createdBy, i.updatedBy],
      );
      await rows(
        `INSERT INTO invoice_lines (id, invoice_id, line_no, description, quantity, unit_price_minor, amount_minor, revenue_account_id, vehicle_id, rental_charge_id)
         SELECT l.id, ?::uuid, l.line_no, l.description, l.quantity, l.unit_price_minor, l.amount_minor, l.revenue_account_id, l.vehicle_id, l.rental_charge_id
           FROM unnest(?::uuid[], ?::smallint[], ?::text[], ?::integer[], ?::bigint[], ?::bigint[], ?::uuid[], ?::uuid[], ?::uuid[])
                AS l(id, line_no, description, quantity, unit_price_minor, amount_minor, revenue_account_id, vehicle_id, rental_charge_id)`,
        [i.id, i.lines.map((l) => l.id), i.lines.map((l) => l.lineNo), i.lines.map((l) => l.description), i.lines.map((l) => l.quantity),
          i.lines.map((l) => l.unitPrice.amountMinor.toString()), i.lines.map((l) => l.amount.amountMinor.toString()),
          i.lines.map((l) => l.revenueAccountId), i.lines.map((l) => l.vehicleId), i.lines.map((l) => l.rentalChargeId)],
      );
    },

    async updateInvoice(i) {
      await rows(
        `UPDATE invoices SET status = ?, paid_minor = ?, credited_minor = ?, credit_applied_minor = ?, void_reason = ?, void_time = ?,
           row_version = ?, update_time = ?, updated_by = ? WHERE id = ?`,
        [i.status, i.paid, i.credited, i.creditApplied, i.voidReason, i.voidTime, i.rowVersion, i.updateTime, i.updatedBy, i.id],
      );
    },

    async listInvoices(filter, page) {
      const query = JSON.stringify(["invoices", filter]);
      const after = decodePageToken(page.pageToken, query, 3);
      const where: string[] = ["true"];
      const values: unknown[] = [];
      if (filter.customerId) { where.push("customer_id = ?"); values.push(filter.customerId); }
      if (filter.rentalId) { where.push("rental_id = ?"); values.push(filter.rentalId); }
      if (filter.statuses.length > 0) { where.push("status = ANY(?::text[])"); values.push([...filter.statuses]); }
      if (filter.issuedWithin) { where.push("issue_date >= ?::date AND issue_date < ?::date"); values.push(filter.issuedWithin.startDate, filter.issuedWithin.endDate); }
      if (filter.number) { where.push("number = ?"); values.push(filter.number); }
      if (after) { where.push("(issue_date, create_time, id) < (?::date, ?::timestamptz, ?::uuid)"); values.push(...after); }
      const found = await withLines(await rows(
        `SELECT * FROM ${src.invoices} WHERE ${where.join(" AND ")} ORDER BY issue_date DESC, create_time DESC, id DESC LIMIT ?`,
        [...values, page.pageSize + 1],
      ));
      return toPage(found, page.pageSize, query, (i) => [i.issueDate, i.createTime.toISOString(), i.id]);
    },

    findPayment: (id, forUpdate) => onePayment("id = ?", [id], forUpdate),
    findPaymentByRentalPayment: (id, forUpdate) => onePayment("rental_payment_id = ?", [id], forUpdate),

    async heldRentalPayments(rentalId, customerId) {
      return withRefunds(await rows(
        `SELECT * FROM payments WHERE rental_id = ? AND customer_id = ? AND amount_minor - applied_minor - credit_minor - refunded_minor > 0
          ORDER BY id FOR UPDATE`, [rentalId, customerId]));
    },

    async invoicePayments(invoiceId) {
      return withRefunds(await rows(`SELECT * FROM ${src.payments} WHERE invoice_id = ? ORDER BY capture_time, id`, [invoiceId]));
    },

    async insertPayment(p) {
      await rows(
        `INSERT INTO payments (id, invoice_id, customer_id, rental_id, rental_payment_id, kind, provider, currency, amount_minor, applied_minor,
           credit_minor, refunded_minor, rental_applied_minor, status, external_reference, capture_time, journal_entry_id, row_version,
           create_time, update_time, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [p.id, p.invoiceId, p.customerId, p.rentalId, p.rentalPaymentId, p.kind, p.provider, p.amount.currency, p.amount.amountMinor, p.applied,
          p.credit, p.refunded, p.rentalApplied, p.status, p.externalReference, p.captureTime, p.journalEntryId, p.rowVersion,
          p.createTime, p.updateTime, p.createdBy],
      );
    },

    async updatePayment(p) {
      await rows(
        `UPDATE payments SET invoice_id = ?, applied_minor = ?, credit_minor = ?, refunded_minor = ?, rental_applied_minor = ?, status = ?,
           row_version = ?, update_time = ? WHERE id = ?`,
        [p.invoiceId, p.applied, p.credit, p.refunded, p.rentalApplied, p.status, p.rowVersion, p.updateTime, p.id],
      );
    },

    async insertRefund(r) {
      await rows(
        `INSERT INTO refunds (id, payment_id, currency, amount_minor, reason, external_reference, refund_time, journal_entry_id, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [r.id, r.paymentId, r.amount.currency, r.amount.amountMinor, r.reason, r.externalReference, r.refundTime, r.journalEntryId, r.createdBy],
      );
    },

    async listPayments(filter, page) {
      const query = JSON.stringify(["payments", { ...filter, capturedWithin: filter.capturedWithin ? [filter.capturedWithin.start.toISOString(), filter.capturedWithin.end.toISOString()] : null }]);
      const after = decodePageToken(page.pageToken, query, 2);
      const where: string[] = ["true"];
      const values: unknown[] = [];
      if (filter.invoiceId) { where.push("invoice_id = ?"); values.push(filter.invoiceId); }
      if (filter.customerId) { where.push("customer_id = ?"); values.push(filter.customerId); }
      if (filter.rentalId) { where.push("rental_id = ?"); values.push(filter.rentalId); }
      if (filter.statuses.length > 0) { where.push("status = ANY(?::text[])"); values.push([...filter.statuses]); }
      if (filter.capturedWithin) { where.push("capture_time >= ? AND capture_time < ?"); values.push(filter.capturedWithin.start, filter.capturedWithin.end); }
      if (after) { where.push("(capture_time, id) < (?::timestamptz, ?::uuid)"); values.push(...after); }
      const found = await withRefunds(await rows(
        `SELECT * FROM ${src.payments} WHERE ${where.join(" AND ")} ORDER BY capture_time DESC, id DESC LIMIT ?`, [...values, page.pageSize + 1]));
      return toPage(found, page.pageSize, query, (p) => [p.captureTime.toISOString(), p.id]);
    },

    async insertCreditNote(n) {
      await rows(
        `INSERT INTO credit_notes (id, number, invoice_id, customer_id, currency, amount_minor, reason, issue_date, journal_entry_id,
           external_ref_type, external_ref_id, content_hash, create_time, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?::date, ?, ?, ?, ?, ?, ?)`,
        [n.id, n.number, n.invoiceId, n.customerId, n.amount.currency, n.amount.amountMinor, n.reason, n.issueDate, n.journalEntryId,
          n.externalRef?.type ?? null, n.externalRef?.id ?? null, n.contentHash, n.createTime, n.createdBy],
      );
    },

    async findCreditNoteByRef(type, id) {
      const [row] = await rows("SELECT * FROM credit_notes WHERE external_ref_type = ? AND external_ref_id = ?", [type, id]);
      return row ? toCreditNote(row) : null;
    },

    async creditNotes(invoiceId) {
      return (await rows(`SELECT * FROM ${src.creditNotes} WHERE invoice_id = ? ORDER BY create_time, number`, [invoiceId])).map(toCreditNote);
    },

    async insertCreditMovement(m) {
      await rows(
        `INSERT INTO customer_credit_movements (id, customer_id, currency, amount_minor, source_type, source_id, journal_entry_id)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [m.id, m.customerId, m.amount.currency, m.amount.amountMinor, m.sourceType, m.sourceId, m.journalEntryId],
      );
    },

    async availableCredit(customerId) {
      const found = await rows(
        `SELECT currency, sum(amount_minor)::bigint AS available FROM customer_credit_movements WHERE customer_id = ?
          GROUP BY currency HAVING sum(amount_minor) <> 0 ORDER BY currency`, [customerId]);
      return found.map((r): Money => money(big(r["available"]), str(r["currency"])));
    },

    async accountTypes(ids) {
      if (ids.length === 0) return new Map();
      const found = await rows("SELECT id, type FROM accounts WHERE id = ANY(?::uuid[])", [[...new Set(ids)]]);
      return new Map(found.map((r) => [str(r["id"]), str(r["type"])]));
    },

    async entryPosted(type, id) {
      return (await rows("SELECT 1 FROM journal_entries WHERE external_ref_type = ? AND external_ref_id = ?", [type, id])).length > 0;
    },

    async recordRentalUsage(fact, takePosition) {
      if ((await rows("SELECT 1 FROM rental_usage_facts WHERE rental_id = ?", [fact.rentalId])).length > 0) return false;
      const position = await takePosition();
      const inserted = await rows(
        `INSERT INTO rental_usage_facts (rental_id, vehicle_id, customer_id, pickup_time, return_time, position)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (rental_id) DO NOTHING RETURNING rental_id`,
        [fact.rentalId, fact.vehicleId, fact.customerId, fact.pickupTime, fact.returnTime, position],
      );
      if (inserted.length === 0) {
        // Recorded concurrently; still holding the position lock: hand the number back so positions stay gapless.
        await rows("UPDATE ledger_head SET position = position - 1");
        return false;
      }
      return true;
    },

    readablePosition: () => readablePositionOf(q()),
  };
}
