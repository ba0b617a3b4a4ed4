// Billing's request checks over a recording fake of the use cases (no
// database): every violation of a request at once, with proto field paths,
// and no use case called; plus the identity customer directory.
import { create } from "@bufbuild/protobuf";
import test from "ava";
import { IdentityService } from "../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { UserSchema } from "../../../gen/fleetmesh/identity/v1/user_pb.js";
import { InvoiceStatus } from "../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import {
  CapturePaymentRequestSchema,
  GetCustomerCreditRequestSchema,
  GetInvoiceRequestSchema,
  IssueCreditNoteRequestSchema,
  IssueInvoiceRequestSchema,
  LedgerService,
  ListCreditNotesRequestSchema,
  ListInvoicesRequestSchema,
  ListPaymentsRequestSchema,
  RefundPaymentRequestSchema,
  VoidInvoiceRequestSchema,
} from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { PaymentProvider } from "../../../gen/fleetmesh/ledger/v1/payment_pb.js";
import { DomainError } from "../../platform/src/errors.js";
import type { UnaryHandler } from "../../platform/src/grpc/server.js";
import { dependencyUnavailable } from "../../platform/src/peers/peer-errors.js";
import type { PeerClient } from "../../platform/src/peers/peer-client.js";
import { testCaller } from "../../platform/src/testing/fakes.js";
import { fakeHandlers, prepared, requestChecks } from "../../platform/src/testing/handlers.js";
import { billingHandlers } from "../src/adapters/grpc/billing-handlers.js";
import { identityCustomers } from "../src/adapters/peers/identity-customers.js";
import type { BillingUseCases } from "../src/app/billing-use-cases.js";
import type { Invoice, Payment } from "../src/domain/billing-model.js";
import { money } from "../../platform/src/money.js";
import { ADMIN, BILLING_PERMISSIONS, eur } from "./billing-support.js";

const ID = "00000000-0000-4000-8000-000000000001";
const bind = (uc: BillingUseCases) => ({ service: LedgerService, handlers: billingHandlers(uc) as unknown as Record<string, UnaryHandler> });
const now = new Date();
const invoice: Invoice = {
  id: ID, number: "INV-2026-000001", customerId: ID, rentalId: null, externalRef: null, contentHash: "", status: "ISSUED", currency: "EUR", lines: [],
  total: 100n, paid: 0n, credited: 0n, creditApplied: 0n, issueDate: "2026-12-01", dueDate: null, notes: "", journalEntryId: ID, voidReason: null,
  voidTime: null, rowVersion: 1n, createTime: now, updateTime: now, createdBy: "", updatedBy: "",
};
const payment: Payment = {
  id: ID, invoiceId: ID, customerId: ID, rentalId: null, rentalPaymentId: null, kind: "PAYMENT", provider: "TRANSFER", amount: money(5n, "EUR"),
  applied: 5n, credit: 0n, refunded: 0n, rentalApplied: 0n, status: "CAPTURED", externalReference: "", captureTime: now, journalEntryId: ID,
  rowVersion: 1n, createTime: now, updateTime: now, createdBy: "", refunds: [],
};
const checks = requestChecks(() => fakeHandlers<BillingUseCases>(bind, {
  issueInvoice: prepared(invoice), capturePayment: { payment, invoice },
}, testCaller(ADMIN, BILLING_PERMISSIONS)));

test("the handlers cover exactly billing's LedgerService methods", (t) => {
  const names = Object.keys(billingHandlers({} as BillingUseCases)).sort();
  t.deepEqual(names, [
    "capturePayment", "getCustomerCredit", "getInvoice", "getOwnInvoice", "getPayment", "issueCreditNote", "issueInvoice", "listCreditNotes",
    "listInvoices", "listOwnInvoices", "listPayments", "refundPayment", "voidInvoice",
  ]);
  for (const name of names) t.truthy(LedgerService.methods.find((m) => m.localName === name), name);
});

test("IssueInvoice: every violation at once", async (t) => {
  await checks.expectViolations(t, "issueInvoice", IssueInvoiceRequestSchema, {
    customerId: "", rentalId: "r", currencyCode: "EUR",
    lines: [
      { description: " ", quantity: -1, unitPrice: { amountMinor: 1n, currencyCode: "USD" }, vehicleId: "v" },
      { description: "ok" },
    ],
    issueDate: "2026-12-10", dueDate: "2026-12-01", notes: "x".repeat(2001), externalRefId: "only-id",
  }, {
    customer_id: "REQUIRED", rental_id: "INVALID_FORMAT", "lines[0].description": "REQUIRED", "lines[0].quantity": "OUT_OF_RANGE",
    "lines[0].unit_price.currency_code": "CURRENCY_MISMATCH", "lines[0].vehicle_id": "INVALID_FORMAT", "lines[1].unit_price": "REQUIRED",
    due_date: "INVALID_PERIOD", notes: "TOO_LONG", external_ref_type: "REQUIRED",
  });
  const call = await checks.expectAccepted(t, "issueInvoice", IssueInvoiceRequestSchema, {
    customerId: ID, currencyCode: "EUR", lines: [{ description: " Base ", unitPrice: eur(100) }],
  });
  const command = call.args[0] as { lines: Array<{ quantity: number; description: string }>; issueDate: null; externalRef: null };
  t.is(command.lines[0]!.quantity, 1, "0 means 1");
  t.is(command.lines[0]!.description, "Base");
  t.is(command.issueDate, null);
  t.is(command.externalRef, null);
});

test("reads, lists, void, capture, refund and credit notes check their fields", async (t) => {
  await checks.expectViolations(t, "getInvoice", GetInvoiceRequestSchema, { invoiceId: "x" }, { invoice_id: "INVALID_FORMAT" });
  await checks.expectViolations(t, "listInvoices", ListInvoicesRequestSchema, {
    customerId: "c", statuses: [InvoiceStatus.UNSPECIFIED, 99 as InvoiceStatus], issuedWithin: { startDate: "2026-02-01", endDate: "2026-01-01" },
    page: { pageSize: -1 },
  }, { customer_id: "INVALID_FORMAT", "statuses[0]": "REQUIRED", "statuses[1]": "UNKNOWN_ENUM_VALUE", "issued_within.end_date": "INVALID_PERIOD", "page.page_size": "OUT_OF_RANGE" });
  await checks.expectViolations(t, "voidInvoice", VoidInvoiceRequestSchema, { invoiceId: ID, expectedRowVersion: -1n, reason: "", entryDate: "01/02/2026" },
    { expected_row_version: "OUT_OF_RANGE", reason: "REQUIRED", entry_date: "INVALID_FORMAT" });
  await checks.expectViolations(t, "capturePayment", CapturePaymentRequestSchema, { invoiceId: ID, amount: { amountMinor: -5n, currencyCode: "XXZ" }, externalReference: "r".repeat(201) },
    { "amount.currency_code": "INVALID_FORMAT", "amount.amount_minor": "OUT_OF_RANGE", provider: "REQUIRED", external_reference: "TOO_LONG" });
  await checks.expectViolations(t, "refundPayment", RefundPaymentRequestSchema, { paymentId: "", amount: eur(0) },
    { payment_id: "REQUIRED", "amount.amount_minor": "OUT_OF_RANGE", reason: "REQUIRED" });
  await checks.expectViolations(t, "listPayments", ListPaymentsRequestSchema, { rentalId: "r", capturedWithin: {} },
    { rental_id: "INVALID_FORMAT", "captured_within.start_time": "REQUIRED", "captured_within.end_time": "REQUIRED" });
  await checks.expectViolations(t, "issueCreditNote", IssueCreditNoteRequestSchema, { invoiceId: ID, reason: "", externalRefType: "Bad Type", externalRefId: "1" },
    { reason: "REQUIRED", external_ref_type: "INVALID_FORMAT" });
  await checks.expectViolations(t, "listCreditNotes", ListCreditNotesRequestSchema, { invoiceId: "" }, { invoice_id: "REQUIRED" });
  await checks.expectViolations(t, "getCustomerCredit", GetCustomerCreditRequestSchema, { customerId: "me" }, { customer_id: "INVALID_FORMAT" });
  const capture = await checks.expectAccepted(t, "capturePayment", CapturePaymentRequestSchema, { invoiceId: ID, amount: eur(5), provider: PaymentProvider.TRANSFER });
  t.like(capture.args[0] as object, { provider: "TRANSFER", captureTime: null });
});

const identity = (getUser: () => Promise<unknown>) => ({ getUser }) as unknown as PeerClient<typeof IdentityService>;

test("identityCustomers: a user exists, NOT_FOUND is false, identity down is UNAVAILABLE", async (t) => {
  t.true(await identityCustomers(identity(async () => ({ user: create(UserSchema, { id: ID }) }))).exists(ID));
  t.false(await identityCustomers(identity(async () => { throw new DomainError("not_found", "USER_NOT_FOUND", "no"); })).exists(ID));
  const err = await t.throwsAsync(identityCustomers(identity(async () => { throw dependencyUnavailable("identity"); })).exists(ID), { instanceOf: DomainError });
  t.is(`${err?.kind}/${err?.reason}`, "unavailable/DEPENDENCY_UNAVAILABLE");
});
