// Invoices' and payments' events (InvoiceIssued, InvoiceVoided,
// PaymentCaptured, PaymentRefunded).
export type BillingEvent = never;
