// Maintenance's domain errors: stable reasons from fleetmesh.common.v1.ErrorReason
// (proto/fleetmesh/common/v1/errors.proto, without the ERROR_REASON_ prefix).
import { DomainError, failedPrecondition, invalidArgument, notFound } from "../../../platform/src/errors.js";

export const jobNotFound = (id: string): DomainError =>
  notFound("MAINTENANCE_JOB_NOT_FOUND", `maintenance job ${id} not found`, { maintenance_job_id: id });

/** `action` is what was tried ("start", "complete"...), `from` the job's status. */
export const invalidMaintenanceTransition = (id: string, from: string, action: string): DomainError =>
  failedPrecondition("INVALID_MAINTENANCE_TRANSITION", `cannot ${action} maintenance job ${id} in status ${from}`, {
    maintenance_job_id: id,
    status: from,
  });

export const vehicleInUse = (vehicleId: string, why: string): DomainError =>
  failedPrecondition("VEHICLE_IN_USE", `vehicle ${vehicleId} is in use: ${why}`, { vehicle_id: vehicleId });

export const vehicleDecommissioned = (vehicleId: string): DomainError =>
  failedPrecondition("VEHICLE_DECOMMISSIONED", `vehicle ${vehicleId} is decommissioned`, { vehicle_id: vehicleId });

export const vehicleNotFound = (id: string): DomainError => notFound("VEHICLE_NOT_FOUND", `vehicle ${id} not found`, { vehicle_id: id });

export const partNotFound = (id: string): DomainError => notFound("PART_NOT_FOUND", `part ${id} not found`, { part_id: id });

export const partNumberTaken = (partNumber: string): DomainError =>
  new DomainError("already_exists", "PART_NUMBER_TAKEN", `part number ${partNumber} is already in the catalog`, {
    fieldViolations: [{ field: "part_number", description: "is already in the catalog", reason: "TAKEN" }],
    metadata: { part_number: partNumber },
  });

export const insufficientStock = (partId: string, onHand: number, wanted: number): DomainError =>
  failedPrecondition("INSUFFICIENT_STOCK", `part ${partId} has ${onHand} on hand, ${wanted} requested`, {
    part_id: partId,
    stock_on_hand: String(onHand),
    requested: String(wanted),
  });

export const planNotFound = (id: string): DomainError =>
  notFound("MAINTENANCE_PLAN_NOT_FOUND", `maintenance plan ${id} not found`, { maintenance_plan_id: id });

export const staleRowVersion = (what: string, id: string): DomainError =>
  new DomainError("aborted", "ROW_VERSION_MISMATCH", `${what} ${id} was changed by someone else; read it again`, { metadata: { id } });

export const staffTypeMismatch = (userId: string, expected: string): DomainError =>
  failedPrecondition("STAFF_TYPE_MISMATCH", `user ${userId} has no ${expected} staff profile`, { user_id: userId, expected });

export const userNotFound = (id: string): DomainError => notFound("USER_NOT_FOUND", `user ${id} not found`, { user_id: id });

export const fieldError = (field: string, description: string, reason: string): DomainError =>
  invalidArgument([{ field, description, reason }]);
