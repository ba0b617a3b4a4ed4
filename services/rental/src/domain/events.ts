// Rental's domain events; adapters/db/event-outbox.ts turns them into the
// contract's messages (proto/fleetmesh/rental/v1/events.proto).
import type { Money } from "../../../platform/src/money.js";
import type { Period, Rental, RentalCharge, RentalPayment, PaymentStatus, RentalStatus, VehicleBlock } from "./model.js";

export type RentalEvent =
  | { readonly type: "RentalReserved"; readonly rental: Rental; readonly charges: readonly RentalCharge[] }
  | { readonly type: "RentalActivated"; readonly rental: Rental }
  | { readonly type: "RentalCompleted"; readonly rental: Rental; readonly charges: readonly RentalCharge[] }
  | {
    readonly type: "RentalCancelled";
    readonly rental: Rental;
    readonly previousStatus: RentalStatus;
    /** The cancellation fee, if any. */
    readonly charges: readonly RentalCharge[];
  }
  | { readonly type: "RentalExtended"; readonly rental: Rental; readonly previousPeriod: Period; readonly charges: readonly RentalCharge[] }
  | { readonly type: "RentalMarkedAtRisk"; readonly rental: Rental; readonly reason: string; readonly causeRef: string }
  | { readonly type: "RentalOverdue"; readonly rental: Rental; readonly detectedAt: Date; readonly nextRentalId: string | null }
  | { readonly type: "RentalMarkedNoShow"; readonly rental: Rental; readonly charges: readonly RentalCharge[] }
  | { readonly type: "RentalDriverAssigned"; readonly rental: Rental; readonly previousDriverId: string | null }
  | { readonly type: "RentalPaymentRecorded"; readonly rental: Rental; readonly payment: RentalPayment }
  | {
    readonly type: "RentalPaymentStatusChanged";
    readonly rental: Rental;
    readonly payment: RentalPayment;
    readonly previousStatus: PaymentStatus;
    /** What this change moved (refund, application, capture). */
    readonly changeAmount: Money;
    /** Deposits settled: the part refunded to the customer. */
    readonly refundedAmount: Money | null;
  }
  | { readonly type: "VehicleBlockPlaced"; readonly block: VehicleBlock; readonly displacedRentalIds: readonly string[] }
  | { readonly type: "VehicleBlockReleased"; readonly block: VehicleBlock };
