// Request shape checks of the journal RPCs (and helpers the ledger's other
// handlers share): every violation is collected with its proto field path,
// then one INVALID_ARGUMENT lists them all and nothing is called.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Money as ProtoMoney } from "../../../../../gen/fleetmesh/common/v1/money_pb.js";
import type { JournalLineInput } from "../../../../../gen/fleetmesh/ledger/v1/journal_pb.js";
import type { DateRange } from "../../../../../gen/fleetmesh/ledger/v1/report_pb.js";
import { check, optionalUuid, pageOf, requiredText, timeOf } from "../../../../platform/src/grpc/request-fields.js";
import { moneyViolations, type Money } from "../../../../platform/src/money.js";
import { moneyFromProto } from "../../../../platform/src/proto-common.js";
import { Violations } from "../../../../platform/src/validation.js";
import { isValidDate } from "../../domain/calendar.js";
import { MAX_LINES } from "../../domain/journal.js";
import type { JournalLineDraft } from "../../domain/model.js";
import { directionFromProto } from "../proto/journal-proto.js";

export { check, optionalUuid, pageOf, requiredText, timeOf, Violations };

export const MAX_DESCRIPTION = 500;
export const MAX_MEMO = 500;
export const MAX_ACCOUNT_NAME = 200;
export const MAX_ACCOUNT_DESCRIPTION = 1000;
const REF_TYPE = /^[a-z][a-z0-9_]{0,49}$/;
const ACCOUNT_CODE = /^[A-Z][A-Z0-9_]{1,49}$/;

/** "YYYY-MM-DD" (a real calendar day in 2000-2099), or null when empty and optional. */
export function dateOf(v: Violations, field: string, text: string, required: boolean): string | null {
  if (text === "") {
    if (required) v.add(field, "is required", "REQUIRED");
    return null;
  }
  if (!isValidDate(text)) {
    v.add(field, 'must be a date "YYYY-MM-DD"', "INVALID_FORMAT");
    return null;
  }
  return text;
}

/** A half-open range of dates, end after start. */
export function dateRangeOf(v: Violations, field: string, range: DateRange | undefined, required: boolean): { startDate: string; endDate: string } | null {
  if (range === undefined) {
    if (required) v.add(field, "is required", "REQUIRED");
    return null;
  }
  const startDate = dateOf(v, `${field}.start_date`, range.startDate, true);
  const endDate = dateOf(v, `${field}.end_date`, range.endDate, true);
  if (startDate === null || endDate === null) return null;
  if (endDate <= startDate) {
    v.add(`${field}.end_date`, "must be after start_date", "INVALID_PERIOD");
    return null;
  }
  return { startDate, endDate };
}

/** 0 (the readable position) or a positive position. */
export function positionOf(v: Violations, field: string, value: bigint): bigint | null {
  if (value < 0n) v.add(field, "must not be negative", "OUT_OF_RANGE");
  return value <= 0n ? null : value;
}

export function refTypeOf(v: Violations, field: string, value: string, required: boolean): string | null {
  if (value === "") {
    if (required) v.add(field, "is required", "REQUIRED");
    return null;
  }
  if (!REF_TYPE.test(value)) v.add(field, "must be lower snake case, 1-50 characters", "INVALID_FORMAT");
  return value;
}

export function accountCodeOf(v: Violations, field: string, value: string): string {
  if (value === "") v.add(field, "is required", "REQUIRED");
  else if (!ACCOUNT_CODE.test(value)) v.add(field, "must be upper snake case, 2-50 characters", "INVALID_FORMAT");
  return value;
}

/** A strictly positive amount. */
export function positiveMoneyOf(v: Violations, field: string, m: ProtoMoney | undefined): Money | null {
  const amount = moneyFromProto(m);
  if (amount === null) {
    v.add(field, "is required", "REQUIRED");
    return null;
  }
  v.addAll(moneyViolations(amount, field));
  if (amount.amountMinor === 0n) v.add(`${field}.amount_minor`, "must be positive", "OUT_OF_RANGE");
  return amount;
}

export function journalLinesOf(v: Violations, field: string, lines: readonly JournalLineInput[]): JournalLineDraft[] {
  if (lines.length < 2 || lines.length > MAX_LINES) v.add(field, `must have 2 to ${MAX_LINES} lines`, "OUT_OF_RANGE");
  return lines.slice(0, MAX_LINES).map((line, i) => {
    const at = `${field}[${i}]`;
    v.uuid(`${at}.account_id`, line.accountId);
    const direction = directionFromProto(line.direction);
    if (direction === null || direction === undefined) v.add(`${at}.direction`, "is required: DEBIT or CREDIT", "REQUIRED");
    const amount = positiveMoneyOf(v, `${at}.amount`, line.amount);
    const vehicleId = optionalUuid(v, `${at}.vehicle_id`, line.vehicleId);
    v.maxLength(`${at}.memo`, line.memo, MAX_MEMO);
    return { accountId: line.accountId, direction: direction ?? "DEBIT", amount: amount ?? { amountMinor: 0n, currency: "XXX" }, vehicleId, invoiceId: null, memo: line.memo };
  });
}

export const optionalTime = (v: Violations, field: string, t: Timestamp | undefined): Date | null => timeOf(v, field, t, false);
