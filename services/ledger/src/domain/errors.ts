// The ledger's domain errors: stable reasons from fleetmesh.common.v1.ErrorReason
// (proto/fleetmesh/common/v1/errors.proto, without the ERROR_REASON_ prefix).
import { DomainError, failedPrecondition, invalidArgument, notFound } from "../../../platform/src/errors.js";

export const accountNotFound = (id: string): DomainError => notFound("ACCOUNT_NOT_FOUND", `account ${id} not found`, { account_id: id });

export const accountCodeTaken = (code: string): DomainError =>
  new DomainError("already_exists", "ACCOUNT_CODE_TAKEN", `account code ${code} is taken`, {
    fieldViolations: [{ field: "code", description: "is already in the chart of accounts", reason: "TAKEN" }],
    metadata: { code },
  });

export const journalEntryNotFound = (key: string): DomainError =>
  notFound("JOURNAL_ENTRY_NOT_FOUND", `journal entry ${key} not found`, { journal_entry: key });

export const unbalancedEntry = (currencies: readonly string[]): DomainError =>
  new DomainError("invalid_argument", "UNBALANCED_ENTRY", `debits and credits differ in ${currencies.join(", ")}`, {
    fieldViolations: [{ field: "lines", description: `debits must equal credits in ${currencies.join(", ")}`, reason: "UNBALANCED" }],
    metadata: { currencies: currencies.join(",") },
  });

/** The same external reference was posted with other content. */
export const entryAlreadyPosted = (refType: string, refId: string, entryId: string): DomainError =>
  new DomainError("already_exists", "ENTRY_ALREADY_POSTED", `${refType} ${refId} was posted as entry ${entryId} with other content`, {
    metadata: { external_ref_type: refType, external_ref_id: refId, journal_entry_id: entryId },
  });

export const entryAlreadyReversed = (entryId: string): DomainError =>
  failedPrecondition("ENTRY_ALREADY_REVERSED", `journal entry ${entryId} is already reversed`, { journal_entry_id: entryId });

export const reversalNotReversible = (entryId: string): DomainError =>
  failedPrecondition("ENTRY_ALREADY_REVERSED", `journal entry ${entryId} is a reversal; post a new entry instead`, { journal_entry_id: entryId });

export const periodClosed = (period: string): DomainError =>
  failedPrecondition("PERIOD_CLOSED", `accounting period ${period} is closed`, { period });

export const periodNotClosed = (period: string): DomainError =>
  failedPrecondition("PERIOD_NOT_CLOSED", `accounting period ${period} is open`, { period });

export const positionAhead = (asked: bigint, readable: bigint): DomainError =>
  new DomainError("out_of_range", "LEDGER_POSITION_AHEAD", `ledger position ${asked} is beyond the readable position ${readable}; it may be readable later`, {
    metadata: { as_of_position: String(asked), readable_position: String(readable) },
  });

export const fieldError = (field: string, description: string, reason: string): DomainError =>
  invalidArgument([{ field, description, reason }]);
