import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Money as ProtoMoney } from "../../../../../gen/fleetmesh/common/v1/money_pb.js";
import {
  RentalCancelledSchema,
  RentalCompletedSchema,
  RentalExtendedSchema,
  RentalMarkedNoShowSchema,
  RentalPaymentRecordedSchema,
  RentalPaymentStatusChangedSchema,
} from "../../../../../gen/fleetmesh/rental/v1/events_pb.js";
import {
  PaymentProvider as RentalPaymentProvider,
  RentalChargeType,
  RentalPaymentKind,
  RentalPaymentStatus,
  type RentalCharge as ProtoRentalCharge,
  type RentalPayment as ProtoRentalPayment,
} from "../../../../../gen/fleetmesh/rental/v1/rental_pb.js";
import { handleEvent, type ConsumedEvent, type EventHandler } from "../../../../platform/src/events/consumer.js";
import { requireEventUuid } from "../../../../platform/src/events/event-fields.js";
import { PermanentEventError } from "../../../../platform/src/events/failures.js";
import type { Logger } from "../../../../platform/src/logger.js";
import { isCurrency, type Money } from "../../../../platform/src/money.js";
import type { BillingUseCases, RentalInvoiceFact, RentalPaymentFact, RentalPaymentStatusName } from "../../app/billing-use-cases.js";
import type { PaymentProvider, RentalCharge, RentalChargeType as ChargeTypeName } from "../../domain/billing-model.js";

// Rental's facts the ledger books (rental.rental.v1, keyed by rental id, so
// one rental's events arrive in order). Each handler runs in the consumer's
// inbox transaction, and each use case is idempotent by external
// references derived from the event's content: a redelivery, or a replay of
// the whole topic, posts nothing new.
//
// RentalCompleted invoices the rental's final charges and records its usage;
// RentalCancelled and RentalMarkedNoShow invoice their fees; payment events
// mirror captures, deposits settled against the charges and refunds.
// RentalExtended changes nothing here: the charges it adds come again,
// final, with RentalCompleted.

const CHARGE_TYPES: Readonly<Record<number, ChargeTypeName>> = {
  [RentalChargeType.BASE]: "BASE", [RentalChargeType.EXTRA_DAY]: "EXTRA_DAY", [RentalChargeType.DISTANCE]: "DISTANCE",
  [RentalChargeType.LATE_FEE]: "LATE_FEE", [RentalChargeType.DAMAGE]: "DAMAGE", [RentalChargeType.FUEL]: "FUEL",
  [RentalChargeType.CANCELLATION_FEE]: "CANCELLATION_FEE", [RentalChargeType.DISCOUNT]: "DISCOUNT", [RentalChargeType.OTHER]: "OTHER",
  [RentalChargeType.NO_SHOW_FEE]: "NO_SHOW_FEE", [RentalChargeType.DRIVER]: "DRIVER", [RentalChargeType.CONDUCTOR]: "CONDUCTOR",
  [RentalChargeType.DEPOSIT]: "DEPOSIT",
};

const PAYMENT_STATUSES: Readonly<Record<number, RentalPaymentStatusName>> = {
  [RentalPaymentStatus.PENDING]: "PENDING", [RentalPaymentStatus.CAPTURED]: "CAPTURED", [RentalPaymentStatus.FAILED]: "FAILED",
  [RentalPaymentStatus.REFUNDED]: "REFUNDED", [RentalPaymentStatus.HELD]: "HELD", [RentalPaymentStatus.RELEASED]: "RELEASED",
  [RentalPaymentStatus.SETTLED]: "SETTLED",
};

const PROVIDERS: Readonly<Record<number, PaymentProvider>> = {
  [RentalPaymentProvider.CASH]: "CASH", [RentalPaymentProvider.CARD]: "CARD", [RentalPaymentProvider.TRANSFER]: "TRANSFER",
};

const invalid = (message: string): PermanentEventError => new PermanentEventError("INVALID_EVENT", message);

const requireTime = (field: string, t: Timestamp | undefined): Date => {
  if (t === undefined) throw invalid(`${field} is missing`);
  const d = timestampDate(t);
  if (Number.isNaN(d.getTime())) throw invalid(`${field} is not a valid time`);
  return d;
};

const requireMoney = (field: string, m: ProtoMoney | undefined, allowNegative = false): Money => {
  if (m === undefined) throw invalid(`${field} is missing`);
  if (!isCurrency(m.currencyCode)) throw invalid(`${field}.currency_code must be an ISO 4217 code, got "${m.currencyCode.slice(0, 8)}"`);
  if (!allowNegative && m.amountMinor < 0n) throw invalid(`${field} must not be negative`);
  return { amountMinor: m.amountMinor, currency: m.currencyCode };
};

/** A charge as the ledger books it; quantity 0 means 1. */
export function rentalChargeOf(c: ProtoRentalCharge, i: number): RentalCharge {
  const type = CHARGE_TYPES[c.type];
  if (type === undefined) throw invalid(`charges[${i}].type is unknown: ${c.type}`);
  return {
    id: requireEventUuid(`charges[${i}].id`, c.id), type, description: c.description, quantity: c.quantity === 0 ? 1 : c.quantity,
    unitPrice: requireMoney(`charges[${i}].unit_price`, c.unitPrice ?? c.amount, true), amount: requireMoney(`charges[${i}].amount`, c.amount, true),
  };
}

/** The payment fact of a RentalPayment: amounts cumulative, as rental shows them. */
export function rentalPaymentFactOf(p: ProtoRentalPayment | undefined, customerId: string, occurredAt: Date | undefined): RentalPaymentFact {
  if (p === undefined) throw invalid("payment is missing");
  const status = PAYMENT_STATUSES[p.status];
  if (status === undefined) throw invalid(`payment.status is unknown: ${p.status}`);
  const provider = PROVIDERS[p.provider];
  if (provider === undefined) throw invalid(`payment.provider is unknown: ${p.provider}`);
  const amount = requireMoney("payment.amount", p.amount);
  if (amount.amountMinor <= 0n) throw invalid("payment.amount must be positive");
  const cumulative = (field: string, m: ProtoMoney | undefined): bigint => {
    if (m === undefined) return 0n;
    const value = requireMoney(field, m);
    if (value.currency !== amount.currency) throw invalid(`${field} is not in ${amount.currency}`);
    return value.amountMinor;
  };
  const refunded = cumulative("payment.refunded_amount", p.refundedAmount);
  const applied = cumulative("payment.applied_amount", p.appliedAmount);
  if (refunded + applied > amount.amountMinor) throw invalid("payment: refunded and applied exceed the amount");
  const time = p.updateTime ? timestampDate(p.updateTime) : p.createTime ? timestampDate(p.createTime) : occurredAt;
  if (time === undefined) throw invalid("payment.update_time is missing");
  return {
    rentalPaymentId: requireEventUuid("payment.id", p.id), rentalId: requireEventUuid("payment.rental_id", p.rentalId),
    customerId: requireEventUuid("customer_id", customerId), kind: p.kind === RentalPaymentKind.DEPOSIT ? "DEPOSIT" : "PAYMENT",
    provider, amount, status, refunded, applied, externalReference: p.externalReference, statusReason: p.statusReason, time,
  };
}

/** The ledger's reactions to rental's events; each runs in the consumer's inbox transaction. */
export function rentalEventHandlers(useCases: BillingUseCases, log: Logger): EventHandler[] {
  const invoice = async (fact: RentalInvoiceFact, event: ConsumedEvent): Promise<void> => {
    const issued = await useCases.rentalInvoice(fact);
    log.debug({ messageId: event.messageId, eventType: event.eventType, rentalId: fact.rentalId, invoiceId: issued?.id ?? null, number: issued?.number ?? null },
      issued ? "rental invoiced" : "rental had nothing to invoice");
  };
  const payment = async (fact: RentalPaymentFact, event: ConsumedEvent): Promise<void> => {
    await useCases.rentalPayment(fact);
    log.debug({ messageId: event.messageId, eventType: event.eventType, rentalId: fact.rentalId, rentalPaymentId: fact.rentalPaymentId, status: fact.status },
      "rental payment mirrored");
  };

  return [
    handleEvent(RentalCompletedSchema, async (m, event) => {
      const rentalId = requireEventUuid("rental_id", m.rentalId);
      const vehicleId = requireEventUuid("vehicle_id", m.vehicleId);
      const customerId = requireEventUuid("customer_id", m.customerId);
      const returnTime = requireTime("return_time", m.returnTime);
      const pickupTime = requireTime("pickup_time", m.pickupTime);
      if (returnTime.getTime() < pickupTime.getTime()) throw invalid("return_time is before pickup_time");
      await invoice({
        source: "rental_completed", rentalId, customerId, vehicleId, at: returnTime, charges: m.charges.map(rentalChargeOf),
        usage: { rentalId, vehicleId, customerId, pickupTime, returnTime },
      }, event);
    }),
    handleEvent(RentalCancelledSchema, async (m, event) => {
      if (m.charges.length === 0) return;
      await invoice({
        source: "rental_cancelled", rentalId: requireEventUuid("rental_id", m.rentalId), customerId: requireEventUuid("customer_id", m.customerId),
        vehicleId: m.vehicleId === "" ? null : requireEventUuid("vehicle_id", m.vehicleId), at: requireTime("cancel_time", m.cancelTime),
        charges: m.charges.map(rentalChargeOf), usage: null,
      }, event);
    }),
    handleEvent(RentalMarkedNoShowSchema, async (m, event) => {
      if (m.charges.length === 0) return;
      await invoice({
        source: "rental_no_show", rentalId: requireEventUuid("rental_id", m.rentalId), customerId: requireEventUuid("customer_id", m.customerId),
        vehicleId: m.vehicleId === "" ? null : requireEventUuid("vehicle_id", m.vehicleId), at: requireTime("no_show_time", m.noShowTime),
        charges: m.charges.map(rentalChargeOf), usage: null,
      }, event);
    }),
    handleEvent(RentalPaymentRecordedSchema, (m, event) => payment(rentalPaymentFactOf(m.payment, m.customerId, event.occurredAt), event)),
    handleEvent(RentalPaymentStatusChangedSchema, (m, event) => payment(rentalPaymentFactOf(m.payment, m.customerId, event.occurredAt), event)),
    handleEvent(RentalExtendedSchema, async (m, event) => {
      log.debug({ messageId: event.messageId, rentalId: m.rentalId }, "rental extended: invoiced with its final charges at completion");
    }),
  ];
}
