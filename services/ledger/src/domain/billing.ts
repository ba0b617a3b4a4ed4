// Billing's rules: invoice amounts and status, how a payment or credit is
// allocated, credit-note splits, which revenue account a rental charge
// feeds, and the journal entry of every billing fact. Pure.
import { createHash } from "node:crypto";
import { allocateMoney, money, type Money } from "../../../platform/src/money.js";
import { DomainError, failedPrecondition, notFound } from "../../../platform/src/errors.js";
import { credit, debit } from "./journal.js";
import { ACCOUNTS, type ExternalRef, type JournalEntryDraft, type JournalLineDraft } from "./model.js";
import type {
  Invoice,
  InvoiceLine,
  InvoiceLineInput,
  InvoiceStatus,
  Payment,
  PaymentProvider,
  PaymentStatus,
  RentalChargeType,
} from "./billing-model.js";

// ---- errors -------------------------------------------------------------------

export const invoiceNotFound = (id: string): DomainError => notFound("INVOICE_NOT_FOUND", `invoice ${id} not found`, { invoice_id: id });
export const paymentNotFound = (id: string): DomainError => notFound("PAYMENT_NOT_FOUND", `payment ${id} not found`, { payment_id: id });
export const userNotFound = (id: string): DomainError => notFound("USER_NOT_FOUND", `user ${id} not found`, { user_id: id });

export const rowVersionMismatch = (id: string, expected: bigint, actual: bigint): DomainError =>
  new DomainError("aborted", "ROW_VERSION_MISMATCH", `invoice ${id} changed since row version ${expected} (now ${actual}); read it again`, {
    metadata: { id, expected_row_version: expected.toString(), row_version: actual.toString() },
  });

export const invoiceAlreadyIssued = (refType: string, refId: string, invoiceId: string): DomainError =>
  new DomainError("already_exists", "INVOICE_ALREADY_ISSUED", `${refType} ${refId} was invoiced as ${invoiceId} with other content`, {
    metadata: { external_ref_type: refType, external_ref_id: refId, invoice_id: invoiceId },
  });

export const invalidInvoiceTransition = (invoice: Invoice, action: string): DomainError =>
  failedPrecondition("INVALID_INVOICE_TRANSITION", `invoice ${invoice.number} is ${invoice.status}${action}`, {
    invoice_id: invoice.id, status: invoice.status,
  });

export const paymentExceedsBalance = (invoice: Invoice, amount: bigint): DomainError =>
  failedPrecondition("PAYMENT_EXCEEDS_BALANCE", `payment of ${amount} exceeds the ${amountDue(invoice)} due on invoice ${invoice.number}`, {
    invoice_id: invoice.id, amount_due_minor: amountDue(invoice).toString(),
  });

export const refundExceedsPayment = (payment: Payment, amount: bigint, refundable: bigint): DomainError =>
  failedPrecondition("REFUND_EXCEEDS_PAYMENT", `refund of ${amount} exceeds the ${refundable} of payment ${payment.id} not yet refunded`, {
    payment_id: payment.id, refundable_minor: refundable.toString(),
  });

export const creditExceedsInvoice = (invoice: Invoice, amount: bigint): DomainError =>
  failedPrecondition("CREDIT_EXCEEDS_INVOICE", `credit of ${amount} exceeds the ${amountDue(invoice)} not yet paid or credited on invoice ${invoice.number}`, {
    invoice_id: invoice.id, amount_due_minor: amountDue(invoice).toString(),
  });

export const paymentOwnedByRental = (payment: Payment): DomainError =>
  failedPrecondition("PAYMENT_OWNED_BY_RENTAL",
    `payment ${payment.id} mirrors rental payment ${payment.rentalPaymentId ?? ""}: refund it with RentalService.UpdateRentalPaymentStatus`,
    { payment_id: payment.id, rental_payment_id: payment.rentalPaymentId ?? "" });

export const billingCurrencyMismatch = (field: string, expected: string, actual: string): DomainError =>
  new DomainError("invalid_argument", "CURRENCY_MISMATCH", `${field}: cannot use ${actual} on a ${expected} invoice`, {
    fieldViolations: [{ field, description: `must be ${expected}, the invoice currency`, reason: "CURRENCY_MISMATCH" }],
    metadata: { expected_currency: expected, actual_currency: actual },
  });

// ---- amounts and status ----------------------------------------------------------

/** total - paid - credited. */
export const amountDue = (i: Pick<Invoice, "total" | "paid" | "credited">): bigint => i.total - i.paid - i.credited;

/** The status that the amounts give (VOID stays VOID). */
export function invoiceStatusOf(i: Pick<Invoice, "status" | "total" | "paid" | "credited">): InvoiceStatus {
  if (i.status === "VOID") return "VOID";
  if (amountDue(i) === 0n) return i.credited > 0n ? "CREDITED" : "PAID";
  return i.paid > 0n ? "PARTIALLY_PAID" : "ISSUED";
}

/** The invoice with its amounts changed and the status they give. */
export function withAmounts(i: Invoice, change: { paid?: bigint; credited?: bigint; creditApplied?: bigint }): Invoice {
  const next = {
    ...i,
    paid: i.paid + (change.paid ?? 0n),
    credited: i.credited + (change.credited ?? 0n),
    creditApplied: i.creditApplied + (change.creditApplied ?? 0n),
  };
  if (next.paid < 0n || next.credited < 0n || next.creditApplied < 0n || amountDue(next) < 0n || next.creditApplied > next.paid) {
    throw new Error(`invoice ${i.id}: amounts out of range`);
  }
  return { ...next, status: invoiceStatusOf(next) };
}

/** Open for payments and credit: not VOID. */
export const isOpen = (i: Invoice): boolean => i.status !== "VOID";

/** Voidable: ISSUED, nothing paid (no payment, no credit used) and nothing credited. */
export function assertVoidable(i: Invoice): void {
  if (i.status !== "ISSUED" || i.paid !== 0n || i.credited !== 0n) {
    throw invalidInvoiceTransition(i, i.status === "ISSUED" ? " with money applied or credited; only an invoice without captured payments can be voided" : "; only an ISSUED invoice can be voided");
  }
}

export const paymentStatusOf = (p: Pick<Payment, "amount" | "refunded">): PaymentStatus =>
  p.refunded === 0n ? "CAPTURED" : p.refunded === p.amount.amountMinor ? "REFUNDED" : "PARTIALLY_REFUNDED";

/** What a payment still holds on CUSTOMER_DEPOSITS. */
export const heldOf = (p: Pick<Payment, "amount" | "applied" | "credit" | "refunded">): bigint =>
  p.amount.amountMinor - p.applied - p.credit - p.refunded;

/** What of a held payment goes to the rental's charges: all of a payment; of a deposit, what rental settled. */
export function applicableOf(p: Payment): bigint {
  const held = heldOf(p);
  if (p.kind === "PAYMENT") return held;
  const pending = p.rentalApplied - p.applied - p.credit;
  return pending <= 0n ? 0n : pending < held ? pending : held;
}

/** `amount` against what is due: the part applied, the rest (overpaid) to customer credit. */
export function splitAgainstDue(amount: bigint, due: bigint): { readonly applied: bigint; readonly excess: bigint } {
  const applied = amount < due ? amount : due < 0n ? 0n : due;
  return { applied, excess: amount - applied };
}

/** Where a refund of `amount` comes from: held deposits first, then customer credit, then the receivable. */
export function refundSources(p: Payment, amount: bigint, availableCredit: bigint):
  { readonly fromHeld: bigint; readonly fromCredit: bigint; readonly fromApplied: bigint } | null {
  const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
  let rest = amount;
  const fromHeld = min(rest, heldOf(p));
  rest -= fromHeld;
  const fromCredit = min(rest, min(p.credit, availableCredit < 0n ? 0n : availableCredit));
  rest -= fromCredit;
  const fromApplied = min(rest, p.applied);
  rest -= fromApplied;
  return rest === 0n ? { fromHeld, fromCredit, fromApplied } : null;
}

export const cashAccountOf = (provider: PaymentProvider): string => (provider === "CASH" ? ACCOUNTS.CASH : ACCOUNTS.BANK);

// ---- invoices ------------------------------------------------------------------

export const MAX_INVOICE_LINES = 200;

/** The invoice's lines with their amounts and accounts; every line in `currency` or CURRENCY_MISMATCH. */
export function invoiceLinesOf(inputs: readonly InvoiceLineInput[], currency: string, newId: () => string): InvoiceLine[] {
  return inputs.map((l, i) => {
    if (l.unitPrice.currency !== currency) throw billingCurrencyMismatch(`lines[${i}].unit_price.currency_code`, currency, l.unitPrice.currency);
    return {
      id: newId(), lineNo: i + 1, description: l.description, quantity: l.quantity, unitPrice: l.unitPrice,
      amount: money(l.unitPrice.amountMinor * BigInt(l.quantity), currency),
      revenueAccountId: l.revenueAccountId ?? ACCOUNTS.REVENUE_RENTAL, vehicleId: l.vehicleId, rentalChargeId: l.rentalChargeId,
    };
  });
}

export const invoiceTotal = (lines: readonly InvoiceLine[]): bigint => lines.reduce((s, l) => s + l.amount.amountMinor, 0n);

/** SHA-256 of what makes two issue requests the same invoice (defaults not applied: a retry tomorrow is the same request). */
export function invoiceContentHash(c: {
  customerId: string; rentalId: string | null; currency: string; lines: readonly InvoiceLineInput[];
  issueDate: string | null; dueDate: string | null; notes: string;
}): string {
  return createHash("sha256").update(JSON.stringify([
    c.customerId, c.rentalId ?? "", c.currency, c.issueDate ?? "", c.dueDate ?? "", c.notes,
    c.lines.map((l) => [l.description, l.quantity, l.unitPrice.amountMinor.toString(), l.unitPrice.currency, l.revenueAccountId ?? "", l.vehicleId ?? "", l.rentalChargeId ?? ""]),
  ])).digest("hex");
}

export const creditNoteContentHash = (c: { invoiceId: string; amount: bigint | null; reason: string; issueDate: string | null }): string =>
  createHash("sha256").update(JSON.stringify([c.invoiceId, c.amount?.toString() ?? "", c.reason, c.issueDate ?? ""])).digest("hex");

export const documentNumber = (series: "INV" | "CN", year: number, n: bigint): string => `${series}-${year}-${n.toString().padStart(6, "0")}`;

export interface RevenueBucket {
  readonly accountId: string;
  readonly vehicleId: string | null;
  /** Net of the bucket's lines; negative when discounts exceed it. */
  readonly net: bigint;
}

/** Lines netted per (revenue account, vehicle), in first-appearance order; zero buckets dropped. */
export function revenueBuckets(lines: readonly InvoiceLine[]): RevenueBucket[] {
  const buckets = new Map<string, { accountId: string; vehicleId: string | null; net: bigint }>();
  for (const l of lines) {
    const key = `${l.revenueAccountId}|${l.vehicleId ?? ""}`;
    const b = buckets.get(key) ?? { accountId: l.revenueAccountId, vehicleId: l.vehicleId, net: 0n };
    b.net += l.amount.amountMinor;
    buckets.set(key, b);
  }
  return [...buckets.values()].filter((b) => b.net !== 0n);
}

/** True when issuing posts something: some revenue bucket is not zero. */
export const postsSomething = (lines: readonly InvoiceLine[]): boolean => revenueBuckets(lines).length > 0;

/**
 * The invoice's entry: debit ACCOUNTS_RECEIVABLE with the total, credit each
 * revenue bucket (a bucket that discounts turned negative is debited:
 * every journal amount stays positive), all lines carrying the invoice.
 */
export function invoiceDraft(i: Pick<Invoice, "id" | "number" | "currency" | "lines" | "total">, entryDate: string, postedBy: string): JournalEntryDraft {
  const lines: JournalLineDraft[] = [];
  if (i.total > 0n) lines.push(debit(ACCOUNTS.ACCOUNTS_RECEIVABLE, money(i.total, i.currency), { invoiceId: i.id, memo: i.number }));
  for (const b of revenueBuckets(i.lines)) {
    const line = b.net > 0n ? credit : debit;
    lines.push(line(b.accountId, money(b.net > 0n ? b.net : -b.net, i.currency), { invoiceId: i.id, vehicleId: b.vehicleId, memo: i.number }));
  }
  return { externalRef: { type: "invoice", id: i.id }, entryDate, description: `Invoice ${i.number}`, lines, postedBy, reversesEntryId: null };
}

/** The entry that voids an invoice: its entry's lines on the other side. */
export function voidDraft(i: Invoice, entryDate: string, reason: string, postedBy: string): JournalEntryDraft {
  const original = invoiceDraft(i, entryDate, postedBy);
  return {
    externalRef: { type: "invoice_void", id: i.id },
    entryDate,
    description: `Void invoice ${i.number}: ${reason}`.slice(0, 500),
    lines: original.lines.map((l) => ({ ...l, direction: l.direction === "DEBIT" ? "CREDIT" : "DEBIT" })),
    postedBy,
    reversesEntryId: i.journalEntryId,
  };
}

/** A credit note's split over the invoice's revenue buckets, pro rata to their positive nets. */
export function creditNoteSplit(i: Invoice, amount: bigint): Array<{ readonly bucket: RevenueBucket; readonly amount: bigint }> {
  const positive = revenueBuckets(i.lines).filter((b) => b.net > 0n);
  const shares = allocateMoney(money(amount, i.currency), positive.map((b) => b.net));
  return positive.map((bucket, k) => ({ bucket, amount: shares[k]!.amountMinor })).filter((s) => s.amount > 0n);
}

export function creditNoteDraft(i: Invoice, note: { id: string; number: string; amount: bigint; reason: string }, entryDate: string, postedBy: string): JournalEntryDraft {
  const m = (a: bigint): Money => money(a, i.currency);
  return {
    externalRef: { type: "credit_note", id: note.id },
    entryDate,
    description: `Credit note ${note.number} for invoice ${i.number}`,
    lines: [
      ...creditNoteSplit(i, note.amount).map((s) => debit(s.bucket.accountId, m(s.amount), { invoiceId: i.id, vehicleId: s.bucket.vehicleId, memo: note.number })),
      credit(ACCOUNTS.ACCOUNTS_RECEIVABLE, m(note.amount), { invoiceId: i.id, memo: note.number }),
    ],
    postedBy,
    reversesEntryId: null,
  };
}

/**
 * Money received: debit cash or bank, credit the receivable with what is
 * applied to the invoice, customer credit with the excess and customer
 * deposits with what is held (no invoice yet, or a deposit).
 */
export function receiptDraft(r: {
  ref: ExternalRef; entryDate: string; description: string; provider: PaymentProvider; currency: string;
  applied: bigint; excess: bigint; held: bigint; invoiceId: string | null; postedBy: string;
}): JournalEntryDraft {
  const m = (a: bigint): Money => money(a, r.currency);
  const total = r.applied + r.excess + r.held;
  const lines: JournalLineDraft[] = [debit(cashAccountOf(r.provider), m(total))];
  if (r.applied > 0n) lines.push(credit(ACCOUNTS.ACCOUNTS_RECEIVABLE, m(r.applied), { invoiceId: r.invoiceId }));
  if (r.excess > 0n) lines.push(credit(ACCOUNTS.CUSTOMER_CREDIT, m(r.excess), { invoiceId: r.invoiceId, memo: "overpayment" }));
  if (r.held > 0n) lines.push(credit(ACCOUNTS.CUSTOMER_DEPOSITS, m(r.held)));
  return { externalRef: r.ref, entryDate: r.entryDate, description: r.description, lines, postedBy: r.postedBy, reversesEntryId: null };
}

/**
 * Money already held (customer deposits, or customer credit) applied to an
 * invoice: debit the source, credit the receivable; the part above what is
 * due moves from deposits to customer credit.
 */
export function applicationDraft(r: {
  ref: ExternalRef; entryDate: string; description: string; source: string; currency: string;
  applied: bigint; excess: bigint; invoiceId: string; postedBy: string;
}): JournalEntryDraft {
  const m = (a: bigint): Money => money(a, r.currency);
  const lines: JournalLineDraft[] = [debit(r.source, m(r.applied + r.excess))];
  if (r.applied > 0n) lines.push(credit(ACCOUNTS.ACCOUNTS_RECEIVABLE, m(r.applied), { invoiceId: r.invoiceId }));
  if (r.excess > 0n) lines.push(credit(ACCOUNTS.CUSTOMER_CREDIT, m(r.excess), { invoiceId: r.invoiceId, memo: "overpayment" }));
  return { externalRef: r.ref, entryDate: r.entryDate, description: r.description, lines, postedBy: r.postedBy, reversesEntryId: null };
}

/** Money returned: debit where it sat (deposits, customer credit, the receivable), credit cash or bank. */
export function refundDraft(r: {
  ref: ExternalRef; entryDate: string; description: string; provider: PaymentProvider; currency: string;
  fromHeld: bigint; fromCredit: bigint; fromApplied: bigint; invoiceId: string | null; postedBy: string;
}): JournalEntryDraft {
  const m = (a: bigint): Money => money(a, r.currency);
  const lines: JournalLineDraft[] = [];
  if (r.fromApplied > 0n) lines.push(debit(ACCOUNTS.ACCOUNTS_RECEIVABLE, m(r.fromApplied), { invoiceId: r.invoiceId }));
  if (r.fromCredit > 0n) lines.push(debit(ACCOUNTS.CUSTOMER_CREDIT, m(r.fromCredit)));
  if (r.fromHeld > 0n) lines.push(debit(ACCOUNTS.CUSTOMER_DEPOSITS, m(r.fromHeld)));
  lines.push(credit(cashAccountOf(r.provider), m(r.fromApplied + r.fromCredit + r.fromHeld)));
  return { externalRef: r.ref, entryDate: r.entryDate, description: r.description, lines, postedBy: r.postedBy, reversesEntryId: null };
}

// ---- rental charges -------------------------------------------------------------

const REVENUE_OF_CHARGE: Readonly<Record<RentalChargeType, string>> = {
  BASE: ACCOUNTS.REVENUE_RENTAL,
  EXTRA_DAY: ACCOUNTS.REVENUE_RENTAL,
  FUEL: ACCOUNTS.REVENUE_RENTAL,
  DRIVER: ACCOUNTS.REVENUE_RENTAL,
  CONDUCTOR: ACCOUNTS.REVENUE_RENTAL,
  // A discount reduces the rental revenue it discounts (a negative line netted in its bucket).
  DISCOUNT: ACCOUNTS.REVENUE_RENTAL,
  LATE_FEE: ACCOUNTS.REVENUE_LATE_FEES,
  DISTANCE: ACCOUNTS.REVENUE_EXTRA_KM,
  CANCELLATION_FEE: ACCOUNTS.REVENUE_CANCELLATION_FEES,
  NO_SHOW_FEE: ACCOUNTS.REVENUE_NO_SHOW_FEES,
  DAMAGE: ACCOUNTS.REVENUE_DAMAGE,
  OTHER: ACCOUNTS.REVENUE_OTHER,
  // Shown on quotes only; never a charge of a rental. Should one arrive, it is other revenue.
  DEPOSIT: ACCOUNTS.REVENUE_OTHER,
};

export const revenueAccountOfCharge = (type: RentalChargeType): string => REVENUE_OF_CHARGE[type];
