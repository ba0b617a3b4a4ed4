import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { MoneySchema, type Money as ProtoMoney } from "../../../gen/fleetmesh/common/v1/money_pb.js";
import { PeriodSchema, type Period as ProtoPeriod } from "../../../gen/fleetmesh/common/v1/period_pb.js";
import type { Money } from "./money.js";

// Contract <-> domain for the common messages (Money, Period, Timestamp),
// shared by every service's proto adapters. The field names differ on
// purpose (currency_code / currency, start_time / start); only these
// functions know both. Nothing here validates: requests are checked by the
// services' request parsers, domain values are trusted.

/** A half-open [start, end), as every service's domain spells it. */
export interface TimePeriod {
  readonly start: Date;
  readonly end: Date;
}

export const moneyToProto = (m: Money): ProtoMoney => create(MoneySchema, { amountMinor: m.amountMinor, currencyCode: m.currency });

/** Unset optional money (a price the plan does not have) is undefined on the wire. */
export const optionalMoneyToProto = (m: Money | null): ProtoMoney | undefined => (m === null ? undefined : moneyToProto(m));

/** Unset money is null; the amount and code are taken as sent (validation is the caller's). */
export const moneyFromProto = (m: ProtoMoney | undefined): Money | null =>
  m === undefined ? null : { amountMinor: m.amountMinor, currency: m.currencyCode };

export const periodToProto = (p: TimePeriod): ProtoPeriod =>
  create(PeriodSchema, { startTime: timestampFromDate(p.start), endTime: timestampFromDate(p.end) });

/** Null unless both ends are set. */
export const periodFromProto = (p: ProtoPeriod | undefined): TimePeriod | null =>
  p?.startTime === undefined || p.endTime === undefined ? null : { start: timestampDate(p.startTime), end: timestampDate(p.endTime) };

export const timeToProto = (d: Date): Timestamp => timestampFromDate(d);

export const optionalTimeToProto = (d: Date | null): Timestamp | undefined => (d === null ? undefined : timestampFromDate(d));

export const optionalTimeFromProto = (t: Timestamp | undefined): Date | null => (t === undefined ? null : timestampDate(t));

/** Proto3 strings have no null: an absent id or text is "". */
export const textOrEmpty = (s: string | null): string => s ?? "";

export const emptyToNull = (s: string): string | null => (s === "" ? null : s);

/**
 * The reverse of a domain → proto enum table: null for UNSPECIFIED (0),
 * undefined for a number this build does not know (a newer client).
 */
export const enumFromProto = <D extends string, P extends number>(table: Readonly<Record<D, P>>) => {
  const byProto = new Map<number, D>((Object.entries(table) as Array<[D, P]>).map(([d, p]) => [p, d]));
  return (value: P): D | null | undefined => (value === 0 ? null : byProto.get(value));
};
