// Billing's domain types: invoices, credit notes, payments, refunds and
// customer credit. Pure: no transport or persistence imports.
import type { Money } from "../../../platform/src/money.js";
import type { ExternalRef } from "./model.js";

export type InvoiceStatus = "ISSUED" | "PARTIALLY_PAID" | "PAID" | "VOID" | "CREDITED";
export type PaymentProvider = "CASH" | "CARD" | "TRANSFER";
export type PaymentStatus = "CAPTURED" | "PARTIALLY_REFUNDED" | "REFUNDED";
export type PaymentKind = "PAYMENT" | "DEPOSIT";

export interface InvoiceLineInput {
  readonly description: string;
  /** >= 1. */
  readonly quantity: number;
  /** Negative for discounts. */
  readonly unitPrice: Money;
  /** null: REVENUE_RENTAL. */
  readonly revenueAccountId: string | null;
  readonly vehicleId: string | null;
  readonly rentalChargeId: string | null;
}

export interface InvoiceLine {
  readonly id: string;
  readonly lineNo: number;
  readonly description: string;
  readonly quantity: number;
  readonly unitPrice: Money;
  /** quantity x unit price. */
  readonly amount: Money;
  readonly revenueAccountId: string;
  readonly vehicleId: string | null;
  readonly rentalChargeId: string | null;
}

export interface Invoice {
  readonly id: string;
  readonly number: string;
  readonly customerId: string;
  readonly rentalId: string | null;
  readonly externalRef: ExternalRef | null;
  readonly contentHash: string;
  readonly status: InvoiceStatus;
  readonly currency: string;
  readonly lines: readonly InvoiceLine[];
  /** Minor units of `currency`. */
  readonly total: bigint;
  readonly paid: bigint;
  readonly credited: bigint;
  readonly creditApplied: bigint;
  readonly issueDate: string;
  readonly dueDate: string | null;
  readonly notes: string;
  readonly journalEntryId: string;
  readonly voidReason: string | null;
  readonly voidTime: Date | null;
  readonly rowVersion: bigint;
  readonly createTime: Date;
  readonly updateTime: Date;
  readonly createdBy: string;
  readonly updatedBy: string;
}

export interface CreditNote {
  readonly id: string;
  readonly number: string;
  readonly invoiceId: string;
  readonly customerId: string;
  readonly amount: Money;
  readonly reason: string;
  readonly issueDate: string;
  readonly journalEntryId: string;
  readonly externalRef: ExternalRef | null;
  readonly contentHash: string;
  readonly createTime: Date;
  readonly createdBy: string;
}

export interface Refund {
  readonly id: string;
  readonly paymentId: string;
  readonly amount: Money;
  readonly reason: string;
  readonly externalReference: string;
  readonly refundTime: Date;
  readonly journalEntryId: string;
  readonly createdBy: string;
}

/**
 * Money received. Its amount sits in buckets: `applied` on the receivable of
 * `invoiceId`, `credit` as customer credit (overpaid), `refunded` returned;
 * the rest is held on CUSTOMER_DEPOSITS (see heldOf).
 */
export interface Payment {
  readonly id: string;
  readonly invoiceId: string | null;
  readonly customerId: string;
  readonly rentalId: string | null;
  readonly rentalPaymentId: string | null;
  readonly kind: PaymentKind;
  readonly provider: PaymentProvider;
  readonly amount: Money;
  readonly applied: bigint;
  readonly credit: bigint;
  readonly refunded: bigint;
  /** Deposits: what rental settled against the rental's charges (cumulative). */
  readonly rentalApplied: bigint;
  readonly status: PaymentStatus;
  readonly externalReference: string;
  readonly captureTime: Date;
  readonly journalEntryId: string;
  readonly rowVersion: bigint;
  readonly createTime: Date;
  readonly updateTime: Date;
  readonly createdBy: string;
  readonly refunds: readonly Refund[];
}

export interface CreditMovement {
  readonly id: string;
  readonly customerId: string;
  /** Positive: credit received (overpayment); negative: credit used or refunded. */
  readonly amount: Money;
  readonly sourceType: string;
  readonly sourceId: string;
  readonly journalEntryId: string;
}

/** One rental charge as the ledger needs it. */
export type RentalChargeType =
  | "BASE" | "EXTRA_DAY" | "DISTANCE" | "LATE_FEE" | "DAMAGE" | "FUEL" | "CANCELLATION_FEE" | "DISCOUNT" | "OTHER" | "NO_SHOW_FEE"
  | "DRIVER" | "CONDUCTOR" | "DEPOSIT";

export interface RentalCharge {
  readonly id: string;
  readonly type: RentalChargeType;
  readonly description: string;
  readonly quantity: number;
  readonly unitPrice: Money;
  readonly amount: Money;
}
