// Billing's ports: persistence of invoices, credit notes, payments, refunds,
// customer credit and rental usage facts (adapters/db/billing-store.ts), and
// the customer directory (adapters/peers/identity-customers.ts).
import type { Page } from "../../../platform/src/paging.js";
import type { Money } from "../../../platform/src/money.js";
import type {
  CreditMovement,
  CreditNote,
  Invoice,
  InvoiceStatus,
  Payment,
  PaymentStatus,
  Refund,
} from "../domain/billing-model.js";
import type { PageQuery } from "./ports.js";

export interface InvoiceFilter {
  readonly customerId: string | null;
  readonly rentalId: string | null;
  readonly statuses: readonly InvoiceStatus[];
  /** Half-open [startDate, endDate) of issue dates. */
  readonly issuedWithin: { readonly startDate: string; readonly endDate: string } | null;
  readonly number: string | null;
}

export interface PaymentFilter {
  readonly invoiceId: string | null;
  readonly customerId: string | null;
  readonly rentalId: string | null;
  readonly statuses: readonly PaymentStatus[];
  readonly capturedWithin: { readonly start: Date; readonly end: Date } | null;
}

export interface RentalUsageFact {
  readonly rentalId: string;
  readonly vehicleId: string;
  readonly customerId: string;
  readonly pickupTime: Date;
  readonly returnTime: Date;
}

/** Every method joins the current transaction (db.executor()). */
/** The reads that can be asked for a ledger position (the state then, derived from the journal). */
export type BillingReads = Pick<BillingStore, "findInvoice" | "listInvoices" | "invoicePayments" | "findPayment" | "listPayments" | "creditNotes">;

export interface BillingStore {
  /** Invoices, payments, refunds and credit notes as they stood at `position` (reads only). */
  asOf(position: bigint): BillingReads;
  /** Serializes billing writes of one customer until the transaction ends (the first lock of every billing write). */
  lockCustomer(customerId: string): Promise<void>;
  /** The next number of a gapless series, in the current transaction (a rollback returns it). */
  nextNumber(series: string, year: number): Promise<bigint>;

  findInvoice(id: string, forUpdate: boolean): Promise<Invoice | null>;
  findInvoiceByRef(type: string, id: string): Promise<Invoice | null>;
  /** The customer's invoices of the rental that are not VOID, oldest first, locked in id order when asked. */
  openRentalInvoices(rentalId: string, customerId: string, forUpdate: boolean): Promise<Invoice[]>;
  insertInvoice(invoice: Invoice): Promise<void>;
  /** Saves status, amounts, void fields; row_version + 1 (the caller passes the new values). */
  updateInvoice(invoice: Invoice): Promise<void>;
  /** Newest issue date first. */
  listInvoices(filter: InvoiceFilter, page: PageQuery): Promise<Page<Invoice>>;

  findPayment(id: string, forUpdate: boolean): Promise<Payment | null>;
  findPaymentByRentalPayment(rentalPaymentId: string, forUpdate: boolean): Promise<Payment | null>;
  /** The customer's payments for the rental with money held on CUSTOMER_DEPOSITS, oldest first, locked. */
  heldRentalPayments(rentalId: string, customerId: string): Promise<Payment[]>;
  /** Payments applied to the invoice, oldest first, with their refunds. */
  invoicePayments(invoiceId: string): Promise<Payment[]>;
  insertPayment(payment: Payment): Promise<void>;
  updatePayment(payment: Payment): Promise<void>;
  insertRefund(refund: Refund): Promise<void>;
  /** Newest capture first. */
  listPayments(filter: PaymentFilter, page: PageQuery): Promise<Page<Payment>>;

  insertCreditNote(note: CreditNote): Promise<void>;
  findCreditNoteByRef(type: string, id: string): Promise<CreditNote | null>;
  /** Oldest first. */
  creditNotes(invoiceId: string): Promise<CreditNote[]>;

  insertCreditMovement(movement: CreditMovement): Promise<void>;
  /** Sum of the customer's movements per currency, non-zero ones, ordered by currency. */
  availableCredit(customerId: string): Promise<Money[]>;

  /** The types of those of `ids` that are accounts. */
  accountTypes(ids: readonly string[]): Promise<Map<string, string>>;
  /** True when an entry with this external reference was posted. */
  entryPosted(type: string, id: string): Promise<boolean>;
  /** Records the fact at a new ledger position unless it is recorded; false when it was. */
  recordRentalUsage(fact: RentalUsageFact, takePosition: () => Promise<bigint>): Promise<boolean>;
  /** Every fact at or below it is committed. */
  readablePosition(): Promise<bigint>;
}

export interface CustomerDirectory {
  /** True when identity knows the user; UNAVAILABLE DEPENDENCY_UNAVAILABLE when identity does not answer. */
  exists(userId: string): Promise<boolean>;
}
