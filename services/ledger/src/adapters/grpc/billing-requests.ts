// Request shape checks of billing's RPCs: every violation of a request is
// collected with its proto field path, then one INVALID_ARGUMENT lists them
// all and nothing is called. Existence, state and the invoice's currency
// are the use cases'.
import type { Money as ProtoMoney } from "../../../../../gen/fleetmesh/common/v1/money_pb.js";
import type { InvoiceLineInput as ProtoLineInput, InvoiceStatus as ProtoInvoiceStatus } from "../../../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import type { PaymentProvider as ProtoPaymentProvider, PaymentStatus as ProtoPaymentStatus } from "../../../../../gen/fleetmesh/ledger/v1/payment_pb.js";
import type { Period as ProtoPeriod } from "../../../../../gen/fleetmesh/common/v1/period_pb.js";
import type { DateRange as ProtoDateRange } from "../../../../../gen/fleetmesh/ledger/v1/report_pb.js";
import { isCurrency, type Money } from "../../../../platform/src/money.js";
import { moneyFromProto } from "../../../../platform/src/proto-common.js";
import { timeOf } from "../../../../platform/src/grpc/request-fields.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { InvoiceLineInput, InvoiceStatus, PaymentProvider, PaymentStatus } from "../../domain/billing-model.js";
import { MAX_INVOICE_LINES } from "../../domain/billing.js";
import { isValidDate } from "../../domain/calendar.js";
import type { ExternalRef } from "../../domain/model.js";
import { invoiceStatusFromProto, paymentProviderFromProto, paymentStatusFromProto } from "../proto/billing-proto.js";

export {
  check, expectedRowVersion, optionalText, optionalUuid, pageOf, requiredText, requiredUuid, timeOf,
} from "../../../../platform/src/grpc/request-fields.js";

export const MAX_LINE_DESCRIPTION = 500;
export const MAX_NOTES = 2000;
export const MAX_REASON = 500;
export const MAX_EXTERNAL_REFERENCE = 200;
export const MAX_QUANTITY = 1_000_000;
const REF_TYPE = /^[a-z][a-z0-9_]{0,49}$/;

/** An optional "YYYY-MM-DD"; null when empty. */
export function optionalDate(v: Violations, field: string, value: string): string | null {
  if (value === "") return null;
  if (!isValidDate(value)) v.add(field, 'must be a date "YYYY-MM-DD"', "INVALID_FORMAT");
  return value;
}

/** An optional half-open date range; null when unset. */
export function optionalDateRange(v: Violations, field: string, r: ProtoDateRange | undefined): { startDate: string; endDate: string } | null {
  if (r === undefined) return null;
  const startDate = optionalDate(v, `${field}.start_date`, r.startDate);
  const endDate = optionalDate(v, `${field}.end_date`, r.endDate);
  if (startDate === null) v.add(`${field}.start_date`, "is required", "REQUIRED");
  if (endDate === null) v.add(`${field}.end_date`, "is required", "REQUIRED");
  if (startDate !== null && endDate !== null && isValidDate(startDate) && isValidDate(endDate) && endDate <= startDate) {
    v.add(`${field}.end_date`, "must be after start_date", "INVALID_PERIOD");
  }
  return startDate !== null && endDate !== null ? { startDate, endDate } : null;
}

/** Both or neither; the type in lower snake case, the id 1-200 characters. */
export function optionalExternalRef(v: Violations, typeField: string, idField: string, type: string, id: string): ExternalRef | null {
  if (type === "" && id === "") return null;
  if (type === "") v.add(typeField, `is required with ${idField}`, "REQUIRED");
  else if (!REF_TYPE.test(type)) v.add(typeField, "must be lower snake case, e.g. rental_completed", "INVALID_FORMAT");
  if (id === "") v.add(idField, `is required with ${typeField}`, "REQUIRED");
  else v.maxLength(idField, id, 200);
  return { type, id };
}

export function requiredCurrency(v: Violations, field: string, code: string): string {
  if (code === "") v.add(field, "is required", "REQUIRED");
  else if (!isCurrency(code)) v.add(field, "must be an ISO 4217 currency code such as EUR", "INVALID_FORMAT");
  return code;
}

/** Money that must be positive when given; null when absent (required adds a violation). */
export function positiveMoney(v: Violations, field: string, m: ProtoMoney | undefined, required: boolean): Money | null {
  const value = moneyFromProto(m);
  if (value === null) {
    if (required) v.add(field, "is required", "REQUIRED");
    return null;
  }
  if (!isCurrency(value.currency)) v.add(`${field}.currency_code`, "must be an ISO 4217 currency code such as EUR", "INVALID_FORMAT");
  if (value.amountMinor <= 0n) v.add(`${field}.amount_minor`, "must be positive", "OUT_OF_RANGE");
  return value;
}

export function invoiceLinesOf(v: Violations, field: string, lines: readonly ProtoLineInput[], currency: string): InvoiceLineInput[] {
  if (lines.length < 1 || lines.length > MAX_INVOICE_LINES) v.add(field, `an invoice has 1 to ${MAX_INVOICE_LINES} lines`, "OUT_OF_RANGE");
  return lines.slice(0, MAX_INVOICE_LINES).map((l, i) => {
    const at = `${field}[${i}]`;
    const description = l.description.trim();
    if (description === "") v.add(`${at}.description`, "is required", "REQUIRED");
    else v.maxLength(`${at}.description`, description, MAX_LINE_DESCRIPTION);
    if (l.quantity < 0 || l.quantity > MAX_QUANTITY) v.add(`${at}.quantity`, `must be between 0 (meaning 1) and ${MAX_QUANTITY}`, "OUT_OF_RANGE");
    const unitPrice = moneyFromProto(l.unitPrice);
    if (unitPrice === null) v.add(`${at}.unit_price`, "is required", "REQUIRED");
    else if (!isCurrency(unitPrice.currency)) v.add(`${at}.unit_price.currency_code`, "must be an ISO 4217 currency code such as EUR", "INVALID_FORMAT");
    else if (isCurrency(currency) && unitPrice.currency !== currency) {
      v.add(`${at}.unit_price.currency_code`, `must be ${currency}, the invoice currency`, "CURRENCY_MISMATCH");
    }
    if (l.revenueAccountId !== "") v.uuid(`${at}.revenue_account_id`, l.revenueAccountId);
    if (l.vehicleId !== "") v.uuid(`${at}.vehicle_id`, l.vehicleId);
    return {
      description, quantity: l.quantity === 0 ? 1 : l.quantity, unitPrice: unitPrice ?? { amountMinor: 0n, currency },
      revenueAccountId: l.revenueAccountId === "" ? null : l.revenueAccountId, vehicleId: l.vehicleId === "" ? null : l.vehicleId, rentalChargeId: null,
    };
  });
}

const enumList = <P extends number, D>(from: (p: P) => D | null | undefined, what: string) =>
  (v: Violations, field: string, values: readonly P[]): D[] => {
    const out: D[] = [];
    values.forEach((value, i) => {
      const d = from(value);
      if (d === null) v.add(`${field}[${i}]`, "must not be UNSPECIFIED", "REQUIRED");
      else if (d === undefined) v.add(`${field}[${i}]`, `unknown ${what}`, "UNKNOWN_ENUM_VALUE");
      else if (!out.includes(d)) out.push(d);
    });
    return out;
  };

export const invoiceStatusesOf = enumList<ProtoInvoiceStatus, InvoiceStatus>(invoiceStatusFromProto, "invoice status");
export const paymentStatusesOf = enumList<ProtoPaymentStatus, PaymentStatus>(paymentStatusFromProto, "payment status");

export function requiredProvider(v: Violations, field: string, value: ProtoPaymentProvider): PaymentProvider {
  const provider = paymentProviderFromProto(value);
  if (provider === null) v.add(field, "is required", "REQUIRED");
  else if (provider === undefined) v.add(field, "unknown payment provider", "UNKNOWN_ENUM_VALUE");
  return provider ?? "CASH";
}

/** An optional half-open filter period: both ends, end after start; null when unset. */
export function optionalPeriodFromProto(v: Violations, field: string, p: ProtoPeriod | undefined): { start: Date; end: Date } | null {
  if (p === undefined) return null;
  const start = timeOf(v, `${field}.start_time`, p.startTime, true);
  const end = timeOf(v, `${field}.end_time`, p.endTime, true);
  if (start === null || end === null) return null;
  if (end.getTime() <= start.getTime()) {
    v.add(`${field}.end_time`, "must be after start_time", "INVALID_PERIOD");
    return null;
  }
  return { start, end };
}
