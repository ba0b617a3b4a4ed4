// Rental's domain errors: stable reasons from fleetmesh.common.v1.ErrorReason.
import { DomainError, failedPrecondition, invalidArgument, notFound } from "../../../platform/src/errors.js";

export const rentalNotFound = (id: string): DomainError => notFound("RENTAL_NOT_FOUND", `rental ${id} not found`, { rental_id: id });
export const locationNotFound = (id: string): DomainError => notFound("LOCATION_NOT_FOUND", `location ${id} not found`, { location_id: id });
export const planNotFound = (id: string): DomainError => notFound("PRICING_PLAN_NOT_FOUND", `pricing plan ${id} not found`, { pricing_plan_id: id });
export const planArchived = (id: string): DomainError =>
  failedPrecondition("PRICING_PLAN_ARCHIVED", `pricing plan ${id} is archived`, { pricing_plan_id: id });
export const quoteNotFound = (id: string): DomainError => notFound("QUOTE_NOT_FOUND", `quote ${id} not found`, { quote_id: id });
export const quoteExpired = (id: string): DomainError =>
  failedPrecondition("QUOTE_EXPIRED", `quote ${id} has expired or was used already`, { quote_id: id });
export const quoteOfAnotherCustomer = (id: string): DomainError =>
  failedPrecondition("QUOTE_CUSTOMER_MISMATCH", `quote ${id} was made for another customer`, { quote_id: id });
export const vehicleNotFound = (id: string): DomainError => notFound("VEHICLE_NOT_FOUND", `vehicle ${id} not found`, { vehicle_id: id });
export const vehicleDecommissioned = (id: string): DomainError =>
  failedPrecondition("VEHICLE_DECOMMISSIONED", `vehicle ${id} is decommissioned`, { vehicle_id: id });
export const vehicleNotAvailable = (id: string, why = "another claim holds the vehicle over this period"): DomainError =>
  failedPrecondition("VEHICLE_NOT_AVAILABLE", `vehicle ${id} is not available: ${why}`, { vehicle_id: id });
export const staffNotAvailable = (why = "a driver or conductor is in another rental over this period"): DomainError =>
  failedPrecondition("STAFF_NOT_AVAILABLE", why);
export const userNotFound = (id: string): DomainError => notFound("USER_NOT_FOUND", `user ${id} not found`, { user_id: id });
export const staffTypeMismatch = (userId: string, expected: string): DomainError =>
  failedPrecondition("STAFF_TYPE_MISMATCH", `user ${userId} has no ${expected} staff profile`, { user_id: userId, expected });
export const invalidTransition = (id: string, from: string, action: string): DomainError =>
  failedPrecondition("INVALID_RENTAL_TRANSITION", `cannot ${action} rental ${id} in status ${from}`, { rental_id: id, status: from });
export const staleRowVersion = (what: string, id: string): DomainError =>
  new DomainError("aborted", "ROW_VERSION_MISMATCH", `${what} ${id} was changed by someone else; read it again`, { metadata: { id } });
export const paymentNotFound = (id: string): DomainError =>
  notFound("RENTAL_PAYMENT_NOT_FOUND", `rental payment ${id} not found`, { payment_id: id });
export const invalidPaymentTransition = (id: string, from: string, to: string): DomainError =>
  failedPrecondition("INVALID_PAYMENT_TRANSITION", `payment ${id} cannot go from ${from} to ${to}`, { payment_id: id, status: from });
export const refundExceedsCaptured = (id: string, available: bigint): DomainError =>
  failedPrecondition("REFUND_EXCEEDS_CAPTURED", `payment ${id} has ${available} minor units left to refund or apply`, {
    payment_id: id, available_minor: String(available),
  });
export const blockNotFound = (reference: string): DomainError =>
  notFound("VEHICLE_BLOCK_NOT_FOUND", `vehicle block ${reference} not found`, { block_reference: reference });
export const odometerDecreasing = (pickup: number, returned: number): DomainError =>
  failedPrecondition("ODOMETER_DECREASING", `return odometer ${returned} km is below the pickup odometer ${pickup} km`);
export const fieldError = (field: string, description: string, reason: string): DomainError =>
  invalidArgument([{ field, description, reason }]);
