// Invoices' and payments' events (InvoiceIssued, InvoiceVoided,
// PaymentCaptured, PaymentRefunded).
import type { Invoice, Payment, Refund } from "./billing-model.js";

export type BillingEvent =
  /** The invoice as issued, with what was applied to it at once (held payments, customer credit). */
  | { readonly type: "InvoiceIssued"; readonly invoice: Invoice }
  /** The invoice after the void; `journalEntryId` is the reversing entry. */
  | { readonly type: "InvoiceVoided"; readonly invoice: Invoice; readonly journalEntryId: string }
  /** The payment as captured; `invoice` after the capture, null while the payment is unapplied. */
  | { readonly type: "PaymentCaptured"; readonly payment: Payment; readonly invoice: Invoice | null }
  | { readonly type: "PaymentRefunded"; readonly payment: Payment; readonly refund: Refund };
