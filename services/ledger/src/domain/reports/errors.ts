// Pure: the reporting errors (reasons of fleetmesh.common.v1.ErrorReason).
import { DomainError, notFound } from "../../../../platform/src/errors.js";

export const snapshotNotFound = (id: string): DomainError =>
  notFound("REPORT_SNAPSHOT_NOT_FOUND", `report snapshot ${id} does not exist`, { snapshot_id: id });

export const reportTooLarge = (rows: number, limit: number, hint: string): DomainError =>
  new DomainError("failed_precondition", "REPORT_TOO_LARGE", `the report has more than ${limit} rows (${rows} so far): ${hint}`, {
    metadata: { max_rows: String(limit) },
  });
