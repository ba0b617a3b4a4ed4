// Pure: the reporting errors (reasons of fleetmesh.common.v1.ErrorReason).
import { DomainError, notFound } from "../../../../platform/src/errors.js";

export const snapshotNotFound = (id: string): DomainError =>
  notFound("REPORT_SNAPSHOT_NOT_FOUND", `report snapshot ${id} does not exist`, { snapshot_id: id });

/**
 * as_of_position beyond the position readable now. The contract asks for
 * OUT_OF_RANGE, which the kit's ErrorKind does not have yet: until it does,
 * this is FAILED_PRECONDITION (the state-dependent kind closest to it).
 */
export const positionAhead = (requested: bigint, readable: bigint): DomainError =>
  new DomainError("failed_precondition", "LEDGER_POSITION_AHEAD", `as_of_position ${requested} is beyond the readable ledger position ${readable}`, {
    metadata: { as_of_position: requested.toString(), readable_position: readable.toString() },
  });

export const reportTooLarge = (rows: number, limit: number, hint: string): DomainError =>
  new DomainError("failed_precondition", "REPORT_TOO_LARGE", `the report has more than ${limit} rows (${rows} so far): ${hint}`, {
    metadata: { max_rows: String(limit) },
  });
