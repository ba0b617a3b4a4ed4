// Billing's use cases: invoices, credit notes, payments, refunds, customer
// credit, and rental's facts turned into invoices and postings.
//
// Every write runs in one transaction and takes its locks in one order
// (deadlock freedom): the customer's advisory lock first (every billing
// write of a customer is serialized by it, which also keeps customer credit
// from going below zero), then invoice rows, then payment rows, then a
// number series, and only then posts (posting.post takes the ledger head
// lock, held until commit).
import type { Caller } from "../../../platform/src/auth.js";
import type { Database } from "../../../platform/src/db.js";
import { DomainError, invalidArgument } from "../../../platform/src/errors.js";
import { money, type Money } from "../../../platform/src/money.js";
import { owns } from "../../../platform/src/ownership.js";
import { pageSize, type Page } from "../../../platform/src/paging.js";
import { runInTransaction, type ConstraintErrors } from "../../../platform/src/transactions.js";
import { addDays } from "../domain/calendar.js";
import { accountNotFound, fieldError } from "../domain/errors.js";
import { positionToRead } from "../domain/position.js";
import type {
  CreditNote,
  Invoice,
  InvoiceLineInput,
  InvoiceStatus,
  Payment,
  PaymentKind,
  PaymentProvider,
  Refund,
  RentalCharge,
} from "../domain/billing-model.js";
import {
  amountDue,
  applicableOf,
  applicationDraft,
  assertVoidable,
  billingCurrencyMismatch,
  creditExceedsInvoice,
  creditNoteContentHash,
  creditNoteDraft,
  documentNumber,
  invoiceAlreadyIssued,
  invoiceContentHash,
  invoiceDraft,
  invoiceLinesOf,
  invoiceNotFound,
  invoiceTotal,
  invalidInvoiceTransition,
  isOpen,
  paymentExceedsBalance,
  paymentNotFound,
  paymentOwnedByRental,
  paymentStatusOf,
  postsSomething,
  receiptDraft,
  refundDraft,
  refundExceedsPayment,
  refundSources,
  revenueAccountOfCharge,
  rowVersionMismatch,
  splitAgainstDue,
  userNotFound,
  voidDraft,
  withAmounts,
} from "../domain/billing.js";
import { ACCOUNTS, type ExternalRef } from "../domain/model.js";
import type { BillingReads, BillingStore, CustomerDirectory, InvoiceFilter, PaymentFilter, RentalUsageFact } from "./billing-ports.js";
import type { Posting } from "./journal-use-cases.js";
import type { ClosedPeriodPolicy, PageQuery } from "./ports.js";
import type { Outbox } from "./ports-outbox.js";

export interface Prepared<R> {
  run(): Promise<R>;
}

export interface IssueInvoiceCommand {
  readonly customerId: string;
  readonly rentalId: string | null;
  readonly currency: string;
  readonly lines: readonly InvoiceLineInput[];
  /** null: today. */
  readonly issueDate: string | null;
  /** null: due on receipt. */
  readonly dueDate: string | null;
  readonly notes: string;
  readonly externalRef: ExternalRef | null;
}

export interface InvoiceView {
  readonly invoice: Invoice;
  readonly payments: readonly Payment[];
  readonly creditNotes: readonly CreditNote[];
  readonly position: bigint;
}

export interface CapturePaymentCommand {
  readonly invoiceId: string;
  readonly amount: Money;
  readonly provider: PaymentProvider;
  readonly externalReference: string;
  /** null: now. */
  readonly captureTime: Date | null;
}

export interface RefundPaymentCommand {
  readonly paymentId: string;
  /** null: everything not yet refunded. */
  readonly amount: Money | null;
  readonly reason: string;
  readonly externalReference: string;
}

export interface IssueCreditNoteCommand {
  readonly invoiceId: string;
  /** null: everything not yet paid or credited. */
  readonly amount: Money | null;
  readonly reason: string;
  readonly issueDate: string | null;
  readonly externalRef: ExternalRef | null;
}

/** A rental that ended with charges to invoice (completed, cancelled with a fee, no-show). */
export interface RentalInvoiceFact {
  readonly source: "rental_completed" | "rental_cancelled" | "rental_no_show";
  readonly rentalId: string;
  readonly customerId: string;
  readonly vehicleId: string | null;
  /** When it ended: its accounting date is the issue date. */
  readonly at: Date;
  readonly charges: readonly RentalCharge[];
  /** Completed rentals: the usage fact for reports. */
  readonly usage: RentalUsageFact | null;
}

export type RentalPaymentStatusName = "PENDING" | "CAPTURED" | "FAILED" | "REFUNDED" | "HELD" | "RELEASED" | "SETTLED";

/** A rental payment as rental's event shows it (amounts cumulative). */
export interface RentalPaymentFact {
  readonly rentalPaymentId: string;
  readonly rentalId: string;
  readonly customerId: string;
  readonly kind: PaymentKind;
  readonly provider: PaymentProvider;
  readonly amount: Money;
  readonly status: RentalPaymentStatusName;
  /** Refunded so far. */
  readonly refunded: bigint;
  /** Deposits: applied to the rental's charges so far. */
  readonly applied: bigint;
  readonly externalReference: string;
  readonly statusReason: string;
  /** When the payment last changed. */
  readonly time: Date;
}

export interface BillingUseCases {
  issueInvoice(command: IssueInvoiceCommand, caller: Caller): Promise<Prepared<Invoice>>;
  // Reads take `asOf`: null for now, or a ledger position (the state then, derived from the journal; beyond the
  // readable position: OUT_OF_RANGE LEDGER_POSITION_AHEAD). Each answer says the position it reflects.
  getInvoice(id: string, asOf?: bigint | null): Promise<InvoiceView>;
  listInvoices(filter: InvoiceFilter, page: PageQuery, asOf?: bigint | null): Promise<{ readonly page: Page<Invoice>; readonly position: bigint }>;
  getOwnInvoice(id: string, caller: Caller, asOf?: bigint | null): Promise<InvoiceView>;
  listOwnInvoices(statuses: readonly InvoiceStatus[], page: PageQuery, caller: Caller, asOf?: bigint | null): Promise<{ readonly page: Page<Invoice>; readonly position: bigint }>;
  voidInvoice(command: { readonly invoiceId: string; readonly expectedRowVersion: bigint; readonly reason: string; readonly entryDate: string | null }, caller: Caller): Promise<Invoice>;
  capturePayment(command: CapturePaymentCommand, caller: Caller): Promise<{ readonly payment: Payment; readonly invoice: Invoice }>;
  refundPayment(command: RefundPaymentCommand, caller: Caller): Promise<{ readonly payment: Payment; readonly refund: Refund; readonly invoice: Invoice | null }>;
  getPayment(id: string, asOf?: bigint | null): Promise<{ readonly payment: Payment; readonly position: bigint }>;
  listPayments(filter: PaymentFilter, page: PageQuery, asOf?: bigint | null): Promise<{ readonly page: Page<Payment>; readonly position: bigint }>;
  issueCreditNote(command: IssueCreditNoteCommand, caller: Caller): Promise<{ readonly creditNote: CreditNote; readonly invoice: Invoice }>;
  listCreditNotes(invoiceId: string): Promise<CreditNote[]>;
  customerCredit(customerId: string): Promise<{ readonly available: readonly Money[]; readonly position: bigint }>;
  /** The ledger position readable now. */
  position(): Promise<bigint>;

  // ---- rental's facts (idempotent: a repeated fact changes nothing) ----
  /** Invoices the charges (if any post something) and records the usage fact; the existing invoice when repeated. */
  rentalInvoice(fact: RentalInvoiceFact): Promise<Invoice | null>;
  /** Mirrors a rental payment: its capture, the deposit part settled against charges, refunds. */
  rentalPayment(fact: RentalPaymentFact): Promise<void>;
}

export interface BillingDeps {
  readonly db: Database;
  readonly posting: Posting;
  readonly store: BillingStore;
  readonly outbox: Outbox;
  readonly customers: CustomerDirectory;
  readonly clock: { now(): Date };
  readonly ids: { newId(): string };
  readonly invoiceDueDays: number;
}

/** Constraints whose violation is a race the checks before them make rare. */
export const BILLING_CONSTRAINTS: ConstraintErrors = {
  invoices_external_ref_key: () => invoiceAlreadyIssued("(reference)", "(taken)", "(concurrent)"),
  credit_notes_external_ref_key: () => invoiceAlreadyIssued("(reference)", "(taken)", "(concurrent)"),
  journal_entries_period_open: () => new DomainError("failed_precondition", "PERIOD_CLOSED", "the accounting period is closed"),
};

const yearOf = (date: string): number => Number(date.slice(0, 4));
const daysBetween = (from: string, to: string): number => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const by = (caller: Caller): string => (caller.anonymous ? "" : caller.subject);

export function createBillingUseCases(deps: BillingDeps): BillingUseCases {
  const { db, posting, store, outbox, customers, clock, ids, invoiceDueDays } = deps;
  const tx = <T>(work: () => Promise<T>): Promise<T> => runInTransaction(db, work, { constraints: BILLING_CONSTRAINTS });
  const read = <T>(work: () => Promise<T>): Promise<T> => runInTransaction(db, work, { isolation: "repeatable read", readOnly: true });

  const requireInvoice = async (id: string, forUpdate = false): Promise<Invoice> =>
    (await store.findInvoice(id, forUpdate)) ?? (() => { throw invoiceNotFound(id); })();

  /** The invoice saved with its next row version. */
  const saveInvoice = async (next: Invoice, current: Invoice, updatedBy: string): Promise<Invoice> => {
    const saved = { ...next, rowVersion: current.rowVersion + 1n, updateTime: clock.now(), updatedBy };
    await store.updateInvoice(saved);
    return saved;
  };

  const savePayment = async (next: Payment, current: Payment): Promise<Payment> => {
    const saved = { ...next, status: paymentStatusOf(next), rowVersion: current.rowVersion + 1n, updateTime: clock.now() };
    await store.updatePayment(saved);
    return saved;
  };

  const creditAvailable = async (customerId: string, currency: string): Promise<bigint> =>
    (await store.availableCredit(customerId)).find((m) => m.currency === currency)?.amountMinor ?? 0n;

  const moveCredit = async (customerId: string, amount: Money, ref: ExternalRef, journalEntryId: string): Promise<void> => {
    if (amount.amountMinor === 0n) return;
    await store.insertCreditMovement({ id: ids.newId(), customerId, amount, sourceType: ref.type, sourceId: ref.id, journalEntryId });
  };

  const checkRevenueAccounts = async (lines: readonly InvoiceLineInput[]): Promise<void> => {
    const wanted = lines.map((l) => l.revenueAccountId).filter((id): id is string => id !== null);
    const types = await store.accountTypes(wanted);
    lines.forEach((l, i) => {
      if (l.revenueAccountId === null) return;
      const type = types.get(l.revenueAccountId);
      if (type === undefined) throw accountNotFound(l.revenueAccountId);
      if (type !== "REVENUE") throw fieldError(`lines[${i}].revenue_account_id`, `must be a REVENUE account, not ${type}`, "NOT_REVENUE_ACCOUNT");
    });
  };

  /** A held payment's part for charges applied to `invoice` (the excess to customer credit). */
  const applyHeld = async (p: Payment, invoice: Invoice, entryDate: string, policy: ClosedPeriodPolicy, ref: ExternalRef, postedBy: string): Promise<Invoice> => {
    const amount = applicableOf(p);
    if (amount <= 0n || p.amount.currency !== invoice.currency) return invoice;
    const { applied, excess } = splitAgainstDue(amount, amountDue(invoice));
    const { entry } = await posting.post(applicationDraft({
      ref, entryDate, description: `${p.kind === "DEPOSIT" ? "Deposit" : "Payment"} ${p.id} applied to invoice ${invoice.number}`,
      source: ACCOUNTS.CUSTOMER_DEPOSITS, currency: invoice.currency, applied, excess, invoiceId: invoice.id, postedBy,
    }), policy);
    await moveCredit(p.customerId, money(excess, invoice.currency), ref, entry.id);
    await savePayment({ ...p, invoiceId: invoice.id, applied: p.applied + applied, credit: p.credit + excess }, p);
    return withAmounts(invoice, { paid: applied });
  };

  /** The customer's available credit (same currency) applied to a new invoice. */
  const applyCustomerCredit = async (invoice: Invoice, entryDate: string, policy: ClosedPeriodPolicy, postedBy: string): Promise<Invoice> => {
    const due = amountDue(invoice);
    const available = await creditAvailable(invoice.customerId, invoice.currency);
    if (due <= 0n || available <= 0n) return invoice;
    const amount = min(due, available);
    const ref = { type: "customer_credit_apply", id: invoice.id };
    const { entry } = await posting.post(applicationDraft({
      ref, entryDate, description: `Customer credit applied to invoice ${invoice.number}`, source: ACCOUNTS.CUSTOMER_CREDIT,
      currency: invoice.currency, applied: amount, excess: 0n, invoiceId: invoice.id, postedBy,
    }), policy);
    await moveCredit(invoice.customerId, money(-amount, invoice.currency), ref, entry.id);
    return withAmounts(invoice, { paid: amount, creditApplied: amount });
  };

  /**
   * Issues in the current transaction: the existing invoice for a repeated
   * reference, else a new number, its posting, the rental's held payments
   * and the customer's credit applied. `created` false when it existed.
   */
  const issue = async (
    command: IssueInvoiceCommand, postedBy: string, policy: ClosedPeriodPolicy, sameFactByRef = false,
  ): Promise<{ invoice: Invoice; created: boolean }> => {
    await store.lockCustomer(command.customerId);
    const hash = invoiceContentHash(command);
    if (command.externalRef !== null) {
      const existing = await store.findInvoiceByRef(command.externalRef.type, command.externalRef.id);
      if (existing !== null) {
        // A rental's fact is its reference: replayed under another configuration (due days), it is still the invoice issued.
        if (existing.contentHash !== hash && !sameFactByRef) throw invoiceAlreadyIssued(command.externalRef.type, command.externalRef.id, existing.id);
        return { invoice: existing, created: false };
      }
    }
    const lines = invoiceLinesOf(command.lines, command.currency, ids.newId);
    const total = invoiceTotal(lines);
    const INT64_MAX = 2n ** 63n - 1n;
    const tooLarge = lines.findIndex((l) => l.amount.amountMinor > INT64_MAX || -l.amount.amountMinor > INT64_MAX);
    if (tooLarge >= 0 || total > INT64_MAX) {
      throw invalidArgument([{ field: tooLarge >= 0 ? `lines[${tooLarge}]` : "lines", description: "amounts must fit in a signed 64-bit integer of minor units", reason: "OUT_OF_RANGE" }]);
    }
    if (total < 0n) throw invalidArgument([{ field: "lines", description: "the invoice total must not be negative", reason: "NEGATIVE_TOTAL" }]);
    if (!postsSomething(lines)) throw invalidArgument([{ field: "lines", description: "every revenue account nets to zero: the invoice would post nothing", reason: "NOTHING_TO_POST" }]);
    await checkRevenueAccounts(command.lines);
    const issueDate = command.issueDate ?? posting.today();
    if (command.dueDate !== null && command.dueDate < issueDate) throw fieldError("due_date", `must not be before the issue date ${issueDate}`, "INVALID_PERIOD");
    // Locks in order: (customer above), the rental's held payments, the number series; then the postings.
    const held = command.rentalId === null ? [] : (await store.heldRentalPayments(command.rentalId, command.customerId))
      .sort((a, b) => a.captureTime.getTime() - b.captureTime.getTime() || a.id.localeCompare(b.id));
    const year = yearOf(issueDate);
    const number = documentNumber("INV", year, await store.nextNumber("INV", year));
    const id = ids.newId();
    const { entry } = await posting.post(invoiceDraft({ id, number, currency: command.currency, lines, total }, issueDate, postedBy), policy);
    // A fact of a closed month lands in the first open one: so does the invoice (its due date keeps its term).
    const postedDate = entry.entryDate;
    const dueDate = command.dueDate === null ? null : addDays(postedDate, daysBetween(issueDate, command.dueDate));
    const now = clock.now();
    let invoice: Invoice = {
      id, number, customerId: command.customerId, rentalId: command.rentalId, externalRef: command.externalRef, contentHash: hash,
      status: "ISSUED", currency: command.currency, lines, total, paid: 0n, credited: 0n, creditApplied: 0n,
      issueDate: postedDate, dueDate, notes: command.notes, journalEntryId: entry.id, voidReason: null, voidTime: null,
      rowVersion: 1n, createTime: now, updateTime: now, createdBy: postedBy, updatedBy: postedBy,
    };
    invoice = { ...invoice, status: withAmounts(invoice, {}).status };
    await store.insertInvoice(invoice);
    const issued = invoice;
    for (const p of held) {
      invoice = await applyHeld(p, invoice, postedDate, policy, { type: "payment_apply", id: `${p.id}:${invoice.id}` }, postedBy);
    }
    invoice = await applyCustomerCredit(invoice, postedDate, policy, postedBy);
    if (invoice !== issued) await store.updateInvoice(invoice);
    await outbox.append({ type: "InvoiceIssued", invoice });
    return { invoice, created: true };
  };

  /**
   * A refund of `amount` of payment `p` in the current transaction (the
   * customer, the invoice and the payment locked): from held deposits, then
   * customer credit, then the invoice's receivable.
   */
  const refund = async (
    p: Payment, invoice: Invoice | null, amount: bigint,
    r: { ref: ExternalRef | null; reason: string; externalReference: string; time: Date; postedBy: string; policy: ClosedPeriodPolicy },
  ): Promise<{ payment: Payment; refund: Refund; invoice: Invoice | null }> => {
    const refundable = p.amount.amountMinor - p.refunded;
    if (amount <= 0n || amount > refundable) throw refundExceedsPayment(p, amount, refundable);
    const sources = refundSources(p, amount, await creditAvailable(p.customerId, p.amount.currency));
    if (sources === null) {
      throw new DomainError("failed_precondition", "REFUND_EXCEEDS_PAYMENT",
        `payment ${p.id}: its overpaid part became customer credit that later invoices used; refund at most what is held, credited or applied`,
        { metadata: { payment_id: p.id } });
    }
    const id = ids.newId();
    const ref = r.ref ?? { type: "refund", id };
    const { entry } = await posting.post(refundDraft({
      ref, entryDate: posting.dateOf(r.time), description: `Refund of payment ${p.id}${r.reason ? `: ${r.reason}` : ""}`.slice(0, 500),
      provider: p.provider, currency: p.amount.currency, ...sources, invoiceId: p.invoiceId, postedBy: r.postedBy,
    }), r.policy);
    await moveCredit(p.customerId, money(-sources.fromCredit, p.amount.currency), ref, entry.id);
    const created: Refund = {
      id, paymentId: p.id, amount: money(amount, p.amount.currency), reason: r.reason, externalReference: r.externalReference,
      refundTime: r.time, journalEntryId: entry.id, createdBy: r.postedBy,
    };
    await store.insertRefund(created);
    const payment = await savePayment({
      ...p, applied: p.applied - sources.fromApplied, credit: p.credit - sources.fromCredit, refunded: p.refunded + amount,
      refunds: [...p.refunds, created],
    }, p);
    let after = invoice;
    if (invoice !== null && sources.fromApplied > 0n) after = await saveInvoice(withAmounts(invoice, { paid: -sources.fromApplied }), invoice, r.postedBy);
    await outbox.append({ type: "PaymentRefunded", payment, refund: created });
    return { payment, refund: created, invoice: after };
  };

  /** The rental invoice money for the rental goes to: the oldest open one with something due, else the oldest open one. */
  const rentalTarget = (invoices: readonly Invoice[], currency: string): Invoice | null => {
    const same = invoices.filter((i) => i.currency === currency && isOpen(i));
    return same.find((i) => amountDue(i) > 0n) ?? same[0] ?? null;
  };

  /** The reads at `asOf` (the tables when null) and the position they reflect; inside a read transaction. */
  const readsAt = async (asOf: bigint | null | undefined): Promise<{ reads: BillingReads; position: bigint }> => {
    const readable = await store.readablePosition();
    const position = positionToRead(asOf, readable);
    return { reads: position === readable ? store : store.asOf(position), position };
  };

  const invoiceView = async (invoice: Invoice, at: { reads: BillingReads; position: bigint }): Promise<InvoiceView> => ({
    invoice,
    payments: await at.reads.invoicePayments(invoice.id),
    creditNotes: await at.reads.creditNotes(invoice.id),
    position: at.position,
  });

  return {
    async issueInvoice(command, caller) {
      // Remote first: identity answers before any transaction opens.
      if (!(await customers.exists(command.customerId))) throw userNotFound(command.customerId);
      return { run: () => tx(async () => (await issue(command, by(caller), "refuse")).invoice) };
    },

    getInvoice: (id, asOf) => read(async () => {
      const at = await readsAt(asOf);
      const invoice = await at.reads.findInvoice(id, false);
      if (invoice === null) throw invoiceNotFound(id);
      return invoiceView(invoice, at);
    }),

    listInvoices: (filter, page, asOf) => read(async () => {
      const at = await readsAt(asOf);
      return { page: await at.reads.listInvoices(filter, { pageSize: pageSize(page.pageSize), pageToken: page.pageToken }), position: at.position };
    }),

    getOwnInvoice: (id, caller, asOf) => read(async () => {
      const at = await readsAt(asOf);
      const invoice = await at.reads.findInvoice(id, false);
      if (invoice === null || !owns(caller, { userId: invoice.customerId, customerId: invoice.customerId })) throw invoiceNotFound(id);
      return invoiceView(invoice, at);
    }),

    listOwnInvoices: (statuses, page, caller, asOf) => read(async () => {
      const at = await readsAt(asOf);
      return {
        page: await at.reads.listInvoices(
          { customerId: caller.anonymous ? "00000000-0000-0000-0000-000000000000" : caller.subject, rentalId: null, statuses, issuedWithin: null, number: null },
          { pageSize: pageSize(page.pageSize), pageToken: page.pageToken },
        ),
        position: at.position,
      };
    }),

    async voidInvoice(command, caller) {
      return tx(async () => {
        const seen = await requireInvoice(command.invoiceId);
        await store.lockCustomer(seen.customerId);
        const invoice = await requireInvoice(command.invoiceId, true);
        if (command.expectedRowVersion !== 0n && command.expectedRowVersion !== invoice.rowVersion) {
          throw rowVersionMismatch(invoice.id, command.expectedRowVersion, invoice.rowVersion);
        }
        assertVoidable(invoice);
        const { entry } = await posting.post(voidDraft(invoice, command.entryDate ?? posting.today(), command.reason, by(caller)), "refuse");
        const voided = await saveInvoice({ ...invoice, status: "VOID", voidReason: command.reason, voidTime: clock.now() }, invoice, by(caller));
        await outbox.append({ type: "InvoiceVoided", invoice: voided, journalEntryId: entry.id });
        return voided;
      });
    },

    async capturePayment(command, caller) {
      const now = clock.now();
      const captureTime = command.captureTime ?? now;
      if (captureTime.getTime() > now.getTime()) throw fieldError("capture_time", "must not be in the future", "IN_FUTURE");
      return tx(async () => {
        const seen = await requireInvoice(command.invoiceId);
        await store.lockCustomer(seen.customerId);
        const invoice = await requireInvoice(command.invoiceId, true);
        if (!isOpen(invoice)) throw invalidInvoiceTransition(invoice, "; a VOID invoice takes no payment");
        if (command.amount.currency !== invoice.currency) throw billingCurrencyMismatch("amount.currency_code", invoice.currency, command.amount.currency);
        if (command.amount.amountMinor > amountDue(invoice)) throw paymentExceedsBalance(invoice, command.amount.amountMinor);
        const id = ids.newId();
        const { entry } = await posting.post(receiptDraft({
          ref: { type: "payment", id }, entryDate: posting.dateOf(captureTime), description: `Payment for invoice ${invoice.number}`,
          provider: command.provider, currency: invoice.currency, applied: command.amount.amountMinor, excess: 0n, held: 0n,
          invoiceId: invoice.id, postedBy: by(caller),
        }), "refuse");
        const payment: Payment = {
          id, invoiceId: invoice.id, customerId: invoice.customerId, rentalId: invoice.rentalId, rentalPaymentId: null, kind: "PAYMENT",
          provider: command.provider, amount: command.amount, applied: command.amount.amountMinor, credit: 0n, refunded: 0n, rentalApplied: 0n,
          status: "CAPTURED", externalReference: command.externalReference, captureTime, journalEntryId: entry.id, rowVersion: 1n,
          createTime: now, updateTime: now, createdBy: by(caller), refunds: [],
        };
        await store.insertPayment(payment);
        const after = await saveInvoice(withAmounts(invoice, { paid: command.amount.amountMinor }), invoice, by(caller));
        await outbox.append({ type: "PaymentCaptured", payment, invoice: after });
        return { payment, invoice: after };
      });
    },

    async refundPayment(command, caller) {
      return tx(async () => {
        const seen = (await store.findPayment(command.paymentId, false)) ?? (() => { throw paymentNotFound(command.paymentId); })();
        if (seen.rentalPaymentId !== null) throw paymentOwnedByRental(seen);
        await store.lockCustomer(seen.customerId);
        const invoice = seen.invoiceId === null ? null : await requireInvoice(seen.invoiceId, true);
        const p = (await store.findPayment(command.paymentId, true))!;
        if (command.amount !== null && command.amount.currency !== p.amount.currency) {
          throw new DomainError("invalid_argument", "CURRENCY_MISMATCH", `amount: the payment is in ${p.amount.currency}`, {
            fieldViolations: [{ field: "amount.currency_code", description: `must be ${p.amount.currency}, the payment currency`, reason: "CURRENCY_MISMATCH" }],
          });
        }
        const amount = command.amount?.amountMinor ?? p.amount.amountMinor - p.refunded;
        return refund(p, invoice, amount, {
          ref: null, reason: command.reason, externalReference: command.externalReference, time: clock.now(), postedBy: by(caller), policy: "refuse",
        });
      });
    },

    getPayment: (id, asOf) => read(async () => {
      const at = await readsAt(asOf);
      return { payment: (await at.reads.findPayment(id, false)) ?? (() => { throw paymentNotFound(id); })(), position: at.position };
    }),

    listPayments: (filter, page, asOf) => read(async () => {
      const at = await readsAt(asOf);
      return { page: await at.reads.listPayments(filter, { pageSize: pageSize(page.pageSize), pageToken: page.pageToken }), position: at.position };
    }),

    async issueCreditNote(command, caller) {
      return tx(async () => {
        const seen = await requireInvoice(command.invoiceId);
        await store.lockCustomer(seen.customerId);
        const hash = creditNoteContentHash({ invoiceId: command.invoiceId, amount: command.amount?.amountMinor ?? null, reason: command.reason, issueDate: command.issueDate });
        if (command.externalRef !== null) {
          const existing = await store.findCreditNoteByRef(command.externalRef.type, command.externalRef.id);
          if (existing !== null) {
            if (existing.contentHash !== hash) throw invoiceAlreadyIssued(command.externalRef.type, command.externalRef.id, existing.invoiceId);
            return { creditNote: existing, invoice: await requireInvoice(existing.invoiceId) };
          }
        }
        const invoice = await requireInvoice(command.invoiceId, true);
        if (!isOpen(invoice)) throw invalidInvoiceTransition(invoice, "; a VOID invoice cannot be credited");
        if (command.amount !== null && command.amount.currency !== invoice.currency) {
          throw billingCurrencyMismatch("amount.currency_code", invoice.currency, command.amount.currency);
        }
        const amount = command.amount?.amountMinor ?? amountDue(invoice);
        if (amount <= 0n || amount > amountDue(invoice)) throw creditExceedsInvoice(invoice, amount);
        const issueDate = command.issueDate ?? posting.today();
        const year = yearOf(issueDate);
        const number = documentNumber("CN", year, await store.nextNumber("CN", year));
        const id = ids.newId();
        const { entry } = await posting.post(creditNoteDraft(invoice, { id, number, amount, reason: command.reason }, issueDate, by(caller)), "refuse");
        const creditNote: CreditNote = {
          id, number, invoiceId: invoice.id, customerId: invoice.customerId, amount: money(amount, invoice.currency), reason: command.reason,
          issueDate: entry.entryDate, journalEntryId: entry.id, externalRef: command.externalRef, contentHash: hash, createTime: clock.now(),
          createdBy: by(caller),
        };
        await store.insertCreditNote(creditNote);
        const after = await saveInvoice(withAmounts(invoice, { credited: amount }), invoice, by(caller));
        return { creditNote, invoice: after };
      });
    },

    async listCreditNotes(invoiceId) {
      await requireInvoice(invoiceId);
      return store.creditNotes(invoiceId);
    },

    customerCredit: (customerId) => read(async () => ({
      available: (await store.availableCredit(customerId)).filter((m) => m.amountMinor > 0n),
      position: await store.readablePosition(),
    })),

    position: () => store.readablePosition(),

    async rentalInvoice(fact) {
      return tx(async () => {
        let invoice: Invoice | null = null;
        const charges = fact.charges.filter((c) => c.amount.amountMinor !== 0n);
        if (charges.length > 0) {
          const issueDate = posting.dateOf(fact.at);
          const command: IssueInvoiceCommand = {
            customerId: fact.customerId, rentalId: fact.rentalId, currency: charges[0]!.amount.currency,
            lines: charges.map((c) => {
              // The charge's amount is what rental billed: a line that does not multiply out is invoiced as one unit of it.
              const exact = c.quantity >= 1 && c.unitPrice.currency === c.amount.currency && c.unitPrice.amountMinor * BigInt(c.quantity) === c.amount.amountMinor;
              return {
                description: (c.description.trim() || c.type).slice(0, 500), quantity: exact ? c.quantity : 1, unitPrice: exact ? c.unitPrice : c.amount,
                revenueAccountId: revenueAccountOfCharge(c.type), vehicleId: fact.vehicleId, rentalChargeId: c.id,
              };
            }),
            issueDate, dueDate: addDays(issueDate, invoiceDueDays), notes: "", externalRef: { type: fact.source, id: fact.rentalId },
          };
          const lines = invoiceLinesOf(command.lines, command.currency, ids.newId);
          if (postsSomething(lines) && invoiceTotal(lines) >= 0n) invoice = (await issue(command, "", "first_open_period", true)).invoice;
          else if (invoiceTotal(lines) < 0n) throw invalidArgument([{ field: "charges", description: "the charges total is negative", reason: "NEGATIVE_TOTAL" }]);
        }
        if (fact.usage !== null) await store.recordRentalUsage(fact.usage, () => posting.takePosition());
        return invoice;
      });
    },

    async rentalPayment(fact) {
      if (!["CAPTURED", "REFUNDED", "SETTLED"].includes(fact.status)) return; // pending, held, failed, released: no money moved
      await tx(async () => {
        await store.lockCustomer(fact.customerId);
        const invoices = await store.openRentalInvoices(fact.rentalId, fact.customerId, true);
        let p = await store.findPaymentByRentalPayment(fact.rentalPaymentId, true);
        const policy: ClosedPeriodPolicy = "first_open_period";
        const currency = fact.amount.currency;
        // 1. The capture, once per rental payment.
        if (p === null) {
          const ref = { type: "rental_payment_capture", id: fact.rentalPaymentId };
          const target = fact.kind === "PAYMENT" ? rentalTarget(invoices, currency) : null;
          const split = target === null ? { applied: 0n, excess: 0n } : splitAgainstDue(fact.amount.amountMinor, amountDue(target));
          const held = fact.amount.amountMinor - split.applied - split.excess;
          const { entry } = await posting.post(receiptDraft({
            ref, entryDate: posting.dateOf(fact.time),
            description: `Rental ${fact.kind === "DEPOSIT" ? "deposit" : "payment"} ${fact.rentalPaymentId}${target ? ` for invoice ${target.number}` : " held until invoiced"}`,
            provider: fact.provider, currency, applied: split.applied, excess: split.excess, held, invoiceId: target?.id ?? null, postedBy: "",
          }), policy);
          await moveCredit(fact.customerId, money(split.excess, currency), ref, entry.id);
          const now = clock.now();
          p = {
            id: ids.newId(), invoiceId: target?.id ?? null, customerId: fact.customerId, rentalId: fact.rentalId, rentalPaymentId: fact.rentalPaymentId,
            kind: fact.kind, provider: fact.provider, amount: fact.amount, applied: split.applied, credit: split.excess, refunded: 0n, rentalApplied: 0n,
            status: "CAPTURED", externalReference: fact.externalReference.slice(0, 200), captureTime: fact.time, journalEntryId: entry.id, rowVersion: 1n,
            createTime: now, updateTime: now, createdBy: "", refunds: [],
          };
          await store.insertPayment(p);
          let after: Invoice | null = null;
          if (target !== null) {
            after = await saveInvoice(withAmounts(target, { paid: split.applied }), target, "");
            invoices.splice(invoices.indexOf(target), 1, after);
          }
          await outbox.append({ type: "PaymentCaptured", payment: p, invoice: after });
        }
        // 2. A deposit settled: the part rental applied to the charges goes to the rental's invoice (or waits for it).
        if (fact.kind === "DEPOSIT" && fact.applied > p.rentalApplied) {
          const ref = { type: "rental_deposit_apply", id: `${fact.rentalPaymentId}:${fact.applied}` };
          if (!(await store.entryPosted(ref.type, ref.id))) {
            p = await savePayment({ ...p, rentalApplied: fact.applied }, p);
            const target = rentalTarget(invoices, currency);
            if (target !== null) {
              const after = await applyHeld(p, target, posting.dateOf(fact.time), policy, ref, "");
              if (after !== target) invoices.splice(invoices.indexOf(target), 1, await saveInvoice(after, target, ""));
              p = (await store.findPayment(p.id, false))!;
            }
          }
        }
        // 3. Refunds: what rental refunded beyond what the ledger mirrored.
        if (fact.refunded > p.refunded) {
          const ref = { type: "rental_payment_refund", id: `${fact.rentalPaymentId}:${fact.refunded}` };
          if (!(await store.entryPosted(ref.type, ref.id))) {
            const invoice = p.invoiceId === null ? null : invoices.find((i) => i.id === p!.invoiceId) ?? await requireInvoice(p.invoiceId, true);
            await refund(p, invoice, fact.refunded - p.refunded, {
              ref, reason: fact.statusReason.slice(0, 500), externalReference: fact.externalReference.slice(0, 200), time: fact.time, postedBy: "", policy,
            });
          }
        }
      });
    },
  };
}
