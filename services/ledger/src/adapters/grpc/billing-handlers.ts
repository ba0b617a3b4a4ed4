import { create } from "@bufbuild/protobuf";
import { PageResponseSchema } from "../../../../../gen/fleetmesh/common/v1/paging_pb.js";
import {
  CapturePaymentResponseSchema,
  GetCustomerCreditResponseSchema,
  GetInvoiceResponseSchema,
  GetOwnInvoiceResponseSchema,
  GetPaymentResponseSchema,
  IssueCreditNoteResponseSchema,
  IssueInvoiceResponseSchema,
  LedgerService,
  ListCreditNotesResponseSchema,
  ListInvoicesResponseSchema,
  ListOwnInvoicesResponseSchema,
  ListPaymentsResponseSchema,
  RefundPaymentResponseSchema,
  VoidInvoiceResponseSchema,
  type IssueInvoiceRequest,
} from "../../../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { remoteFirst, type ServiceHandlers } from "../../../../platform/src/grpc/server.js";
import { moneyToProto } from "../../../../platform/src/proto-common.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { BillingUseCases } from "../../app/billing-use-cases.js";
import { creditNoteToProto, invoiceToProto, paymentToProto, refundToProto } from "../proto/billing-proto.js";
import { positionOf } from "./journal-requests.js";
import {
  check,
  expectedRowVersion,
  invoiceLinesOf,
  invoiceStatusesOf,
  MAX_EXTERNAL_REFERENCE,
  MAX_NOTES,
  MAX_REASON,
  optionalDate,
  optionalDateRange,
  optionalExternalRef,
  optionalPeriodFromProto,
  optionalText,
  optionalUuid,
  pageOf,
  paymentStatusesOf,
  positiveMoney,
  requiredCurrency,
  requiredProvider,
  requiredText,
  requiredUuid,
  timeOf,
} from "./billing-requests.js";

// Billing's LedgerService RPCs: check the request's shape (every violation
// at once, with proto field paths), map it to a use-case command, call the
// use case as ctx.caller, map the result back. IssueInvoice asks identity
// whether the customer exists first (remoteFirst: no transaction is open
// while identity answers). The lead binds these with the journal's handlers
// in one bindService(LedgerService, {...}).

export type BillingMethods =
  | "issueInvoice" | "getInvoice" | "listInvoices" | "getOwnInvoice" | "listOwnInvoices" | "voidInvoice"
  | "capturePayment" | "refundPayment" | "getPayment" | "listPayments"
  | "issueCreditNote" | "listCreditNotes" | "getCustomerCredit";

export type BillingHandlers = Pick<ServiceHandlers<typeof LedgerService>, BillingMethods>;

const pageResponse = (nextPageToken: string) => create(PageResponseSchema, { nextPageToken });

export function billingHandlers(useCases: BillingUseCases): BillingHandlers {
  return {
    issueInvoice: remoteFirst(async (req: IssueInvoiceRequest, ctx) => {
      const v = new Violations();
      const customerId = requiredUuid(v, "customer_id", req.customerId);
      const rentalId = optionalUuid(v, "rental_id", req.rentalId);
      const currency = requiredCurrency(v, "currency_code", req.currencyCode);
      const lines = invoiceLinesOf(v, "lines", req.lines, currency);
      const issueDate = optionalDate(v, "issue_date", req.issueDate);
      const dueDate = optionalDate(v, "due_date", req.dueDate);
      if (issueDate !== null && dueDate !== null && dueDate < issueDate) v.add("due_date", "must not be before issue_date", "INVALID_PERIOD");
      const notes = optionalText(v, "notes", req.notes, MAX_NOTES);
      const externalRef = optionalExternalRef(v, "external_ref_type", "external_ref_id", req.externalRefType, req.externalRefId);
      check(v);
      return useCases.issueInvoice({ customerId, rentalId, currency, lines, issueDate, dueDate, notes, externalRef }, ctx.caller);
    }, async (_req, _ctx, prepared) => create(IssueInvoiceResponseSchema, { invoice: invoiceToProto(await prepared.run()) })),

    async getInvoice(req) {
      const v = new Violations().uuid("invoice_id", req.invoiceId);
      const asOf = positionOf(v, "as_of_position", req.asOfPosition);
      check(v);
      const view = await useCases.getInvoice(req.invoiceId, asOf);
      return create(GetInvoiceResponseSchema, {
        invoice: invoiceToProto(view.invoice), payments: view.payments.map(paymentToProto),
        creditNotes: view.creditNotes.map(creditNoteToProto), ledgerPosition: view.position,
      });
    },

    async listInvoices(req) {
      const v = new Violations();
      const customerId = optionalUuid(v, "customer_id", req.customerId);
      const rentalId = optionalUuid(v, "rental_id", req.rentalId);
      const statuses = invoiceStatusesOf(v, "statuses", req.statuses);
      const issuedWithin = optionalDateRange(v, "issued_within", req.issuedWithin);
      const number = optionalText(v, "number", req.number, 50);
      const page = pageOf(v, req.page);
      const asOf = positionOf(v, "as_of_position", req.asOfPosition);
      check(v);
      const result = await useCases.listInvoices({ customerId, rentalId, statuses, issuedWithin, number: number === "" ? null : number }, page, asOf);
      return create(ListInvoicesResponseSchema, {
        invoices: result.page.items.map(invoiceToProto), page: pageResponse(result.page.nextPageToken), ledgerPosition: result.position,
      });
    },

    async getOwnInvoice(req, ctx) {
      const v = new Violations().uuid("invoice_id", req.invoiceId);
      const asOf = positionOf(v, "as_of_position", req.asOfPosition);
      check(v);
      const view = await useCases.getOwnInvoice(req.invoiceId, ctx.caller, asOf);
      return create(GetOwnInvoiceResponseSchema, {
        invoice: invoiceToProto(view.invoice), payments: view.payments.map(paymentToProto), ledgerPosition: view.position,
      });
    },

    async listOwnInvoices(req, ctx) {
      const v = new Violations();
      const statuses = invoiceStatusesOf(v, "statuses", req.statuses);
      const page = pageOf(v, req.page);
      const asOf = positionOf(v, "as_of_position", req.asOfPosition);
      check(v);
      const result = await useCases.listOwnInvoices(statuses, page, ctx.caller, asOf);
      return create(ListOwnInvoicesResponseSchema, {
        invoices: result.page.items.map(invoiceToProto), page: pageResponse(result.page.nextPageToken), ledgerPosition: result.position,
      });
    },

    async voidInvoice(req, ctx) {
      const v = new Violations().uuid("invoice_id", req.invoiceId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const reason = requiredText(v, "reason", req.reason, MAX_REASON);
      const entryDate = optionalDate(v, "entry_date", req.entryDate);
      check(v);
      const invoice = await useCases.voidInvoice({ invoiceId: req.invoiceId, expectedRowVersion: rowVersion, reason, entryDate }, ctx.caller);
      return create(VoidInvoiceResponseSchema, { invoice: invoiceToProto(invoice) });
    },

    async capturePayment(req, ctx) {
      const v = new Violations().uuid("invoice_id", req.invoiceId);
      const amount = positiveMoney(v, "amount", req.amount, true);
      const provider = requiredProvider(v, "provider", req.provider);
      const externalReference = optionalText(v, "external_reference", req.externalReference, MAX_EXTERNAL_REFERENCE);
      const captureTime = timeOf(v, "capture_time", req.captureTime, false);
      check(v);
      const result = await useCases.capturePayment({ invoiceId: req.invoiceId, amount: amount!, provider, externalReference, captureTime }, ctx.caller);
      return create(CapturePaymentResponseSchema, { payment: paymentToProto(result.payment), invoice: invoiceToProto(result.invoice) });
    },

    async refundPayment(req, ctx) {
      const v = new Violations().uuid("payment_id", req.paymentId);
      const amount = positiveMoney(v, "amount", req.amount, false);
      const reason = requiredText(v, "reason", req.reason, MAX_REASON);
      const externalReference = optionalText(v, "external_reference", req.externalReference, MAX_EXTERNAL_REFERENCE);
      check(v);
      const result = await useCases.refundPayment({ paymentId: req.paymentId, amount, reason, externalReference }, ctx.caller);
      return create(RefundPaymentResponseSchema, {
        payment: paymentToProto(result.payment), refund: refundToProto(result.refund),
        ...(result.invoice === null ? {} : { invoice: invoiceToProto(result.invoice) }),
      });
    },

    async getPayment(req) {
      const v = new Violations().uuid("payment_id", req.paymentId);
      const asOf = positionOf(v, "as_of_position", req.asOfPosition);
      check(v);
      const result = await useCases.getPayment(req.paymentId, asOf);
      return create(GetPaymentResponseSchema, { payment: paymentToProto(result.payment), ledgerPosition: result.position });
    },

    async listPayments(req) {
      const v = new Violations();
      const invoiceId = optionalUuid(v, "invoice_id", req.invoiceId);
      const customerId = optionalUuid(v, "customer_id", req.customerId);
      const rentalId = optionalUuid(v, "rental_id", req.rentalId);
      const statuses = paymentStatusesOf(v, "statuses", req.statuses);
      const capturedWithin = optionalPeriodFromProto(v, "captured_within", req.capturedWithin);
      const page = pageOf(v, req.page);
      const asOf = positionOf(v, "as_of_position", req.asOfPosition);
      check(v);
      const result = await useCases.listPayments({ invoiceId, customerId, rentalId, statuses, capturedWithin }, page, asOf);
      return create(ListPaymentsResponseSchema, {
        payments: result.page.items.map(paymentToProto), page: pageResponse(result.page.nextPageToken), ledgerPosition: result.position,
      });
    },

    async issueCreditNote(req, ctx) {
      const v = new Violations().uuid("invoice_id", req.invoiceId);
      const amount = positiveMoney(v, "amount", req.amount, false);
      const reason = requiredText(v, "reason", req.reason, MAX_REASON);
      const issueDate = optionalDate(v, "issue_date", req.issueDate);
      const externalRef = optionalExternalRef(v, "external_ref_type", "external_ref_id", req.externalRefType, req.externalRefId);
      check(v);
      const result = await useCases.issueCreditNote({ invoiceId: req.invoiceId, amount, reason, issueDate, externalRef }, ctx.caller);
      return create(IssueCreditNoteResponseSchema, { creditNote: creditNoteToProto(result.creditNote), invoice: invoiceToProto(result.invoice) });
    },

    async listCreditNotes(req) {
      check(new Violations().uuid("invoice_id", req.invoiceId));
      const notes = await useCases.listCreditNotes(req.invoiceId);
      return create(ListCreditNotesResponseSchema, { creditNotes: notes.map(creditNoteToProto) });
    },

    async getCustomerCredit(req) {
      check(new Violations().uuid("customer_id", req.customerId));
      const result = await useCases.customerCredit(req.customerId);
      return create(GetCustomerCreditResponseSchema, { available: result.available.map(moneyToProto), ledgerPosition: result.position });
    },
  };
}
