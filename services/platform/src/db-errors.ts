import { DomainError } from "./errors.js";
import type { Interceptor } from "./grpc/server.js";
import { transactionConflict } from "./transactions.js";

/**
 * What a database failure means to the caller:
 * - `unavailable`: the database cannot be reached or refuses work for now;
 *   the request did nothing (or, if the connection broke during COMMIT, its
 *   outcome is unknown: only an idempotency key makes a retry safe). UNAVAILABLE,
 *   DEPENDENCY_UNAVAILABLE: retried by clients and by the kit's client policy.
 * - `unstorable`: a value of the request cannot be stored (SQLSTATE class 22,
 *   data exception): INVALID_ARGUMENT, never INTERNAL.
 * - `conflict`: a serialization failure or deadlock voided the transaction;
 *   nothing was written. ABORTED, TRANSACTION_CONFLICT: the request may be
 *   sent again. runInTransaction (transactions.ts) retries these itself first.
 */
export type DatabaseErrorOutcome = "unavailable" | "unstorable" | "conflict";

export interface DatabaseErrorRule {
  /** An exact SQLSTATE ("57P01") or a class prefix ("08"). */
  readonly sqlstate: string;
  readonly outcome: DatabaseErrorOutcome;
  /** PostgreSQL's name for it, for the docs and the logs. */
  readonly condition: string;
}

/**
 * The one table from PostgreSQL errors to domain errors; docs/errors.md
 * mirrors it. Exact SQLSTATEs before classes.
 */
export const DATABASE_ERROR_TABLE: readonly DatabaseErrorRule[] = [
  { sqlstate: "57P01", outcome: "unavailable", condition: "admin_shutdown" },
  { sqlstate: "57P02", outcome: "unavailable", condition: "crash_shutdown" },
  { sqlstate: "57P03", outcome: "unavailable", condition: "cannot_connect_now" },
  { sqlstate: "57014", outcome: "unavailable", condition: "query_canceled (statement_timeout)" },
  { sqlstate: "53300", outcome: "unavailable", condition: "too_many_connections" },
  { sqlstate: "08", outcome: "unavailable", condition: "connection_exception (class 08)" },
  { sqlstate: "22", outcome: "unstorable", condition: "data_exception (class 22)" },
  { sqlstate: "40001", outcome: "conflict", condition: "serialization_failure" },
  { sqlstate: "40P01", outcome: "conflict", condition: "deadlock_detected" },
];

/**
 * Failures below SQL: the socket (Node's error codes), the pg driver losing
 * its connection, and knex/tarn giving up acquiring one from the pool.
 */
const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
  "ENOTFOUND", "EAI_AGAIN",
]);
// knex turns tarn's acquire timeout into KnexTimeoutError.
const CONNECTION_ERROR_NAMES = new Set(["KnexTimeoutError"]);
const CONNECTION_ERROR_MESSAGE =
  /Connection terminated|terminating connection|Client has encountered a connection error|timeout exceeded when trying to connect|Timeout acquiring a connection/i;

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The outcome of a database error, or undefined for anything else (a bug stays INTERNAL). */
export function classifyDatabaseError(err: unknown, depth = 0): DatabaseErrorOutcome | undefined {
  if (err === null || typeof err !== "object" || depth > 4) return undefined;
  const { code, name, message, cause, errors } = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string") {
    if (CONNECTION_ERROR_CODES.has(code)) return "unavailable";
    if (SQLSTATE.test(code)) {
      const rule = DATABASE_ERROR_TABLE.find((r) => code.startsWith(r.sqlstate));
      if (rule) return rule.outcome;
    }
  }
  if (typeof name === "string" && CONNECTION_ERROR_NAMES.has(name)) return "unavailable";
  if (typeof message === "string" && code === undefined && CONNECTION_ERROR_MESSAGE.test(message)) return "unavailable";
  // Node reports a refused dual-stack connect as an AggregateError of attempts.
  if (Array.isArray(errors)) {
    for (const e of errors) {
      const outcome = classifyDatabaseError(e, depth + 1);
      if (outcome) return outcome;
    }
  }
  return classifyDatabaseError(cause, depth + 1);
}

export const DATABASE_DEPENDENCY = "postgres";

/** The domain error a database error stands for, or undefined when it is not one the table knows. */
export function domainErrorOfDatabaseError(err: unknown): DomainError | undefined {
  switch (classifyDatabaseError(err)) {
    case "unavailable":
      return new DomainError("unavailable", "DEPENDENCY_UNAVAILABLE", "the database is unavailable; retry later", {
        metadata: { dependency: DATABASE_DEPENDENCY },
        cause: err,
      });
    case "unstorable":
      return new DomainError("invalid_argument", "INVALID_ARGUMENT", "invalid request: a value cannot be stored", {
        fieldViolations: [{ field: "(message)", description: "holds a value the database cannot store", reason: "UNSTORABLE_VALUE" }],
        cause: err,
      });
    case "conflict":
      return transactionConflict(String((err as { code?: unknown }).code), 1, err);
    default:
      return undefined;
  }
}

/**
 * Turns the database errors of the table into domain errors for every RPC.
 * The detail (address, SQLSTATE, message) goes to the log only.
 * `onUnavailable` lets readiness re-check at once instead of at its next tick.
 */
export function databaseErrorInterceptor(onUnavailable: () => void = () => undefined): Interceptor {
  return (next) => async (request, ctx) => {
    try {
      return await next(request, ctx);
    } catch (err) {
      if (err instanceof DomainError) throw err;
      const mapped = domainErrorOfDatabaseError(err);
      if (!mapped) throw err;
      const { code, message } = err as { code?: unknown; message?: unknown };
      const what = { unavailable: "database unavailable", invalid_argument: "database refused a value", aborted: "transaction conflict" } as Record<string, string>;
      ctx.log.warn({ err: { code, message }, reason: mapped.reason }, what[mapped.kind] ?? "database error");
      if (mapped.kind === "unavailable") onUnavailable();
      throw mapped;
    }
  };
}
