import { DomainError, type ErrorKind } from "../errors.js";

/**
 * Thrown by a handler for an event that can never succeed as it is (bad
 * data, a transition the state machine forbids): it goes to the dead-letter
 * topic at once, without retries. `reason` is stable, like a DomainError's.
 */
export class PermanentEventError extends Error {
  override readonly name = "PermanentEventError";
  constructor(
    readonly reason: string,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * - permanent: retrying cannot help; dead-letter now.
 * - transient: may succeed later (a conflict, a timeout, a bug being
 *   fixed); retried with backoff, dead-lettered after the last attempt.
 * - infrastructure: the consumer's own database is unreachable. That says
 *   nothing about the event, so it is retried without limit (the partition
 *   waits) instead of dead-lettering everything during an outage.
 */
export type FailureClass = "permanent" | "transient" | "infrastructure";

const PERMANENT_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  "invalid_argument",
  "failed_precondition",
  "not_found",
  "already_exists",
  "permission_denied",
  "unauthenticated",
]);

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

// SQLSTATE classes 08 (connection exception) and 57P0x (server shutting
// down or starting), 53300 (too many connections).
const isPgUnavailable = (code: string): boolean => code.startsWith("08") || /^57P0[1-4]$/.test(code) || code === "53300";

export function isInfrastructureError(err: unknown): boolean {
  if (err === null || typeof err !== "object") return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === "string" && (NETWORK_CODES.has(e.code) || isPgUnavailable(e.code))) return true;
  if (e.name === "KnexTimeoutError") return true;
  const message = typeof e.message === "string" ? e.message : "";
  return /Connection terminated|connection error|Unable to acquire a connection|the database system is (starting up|shutting down)/i.test(message);
}

export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof PermanentEventError) return "permanent";
  // A peer service (or our own database, as mapped by the kit) is down: like
  // our database being unreachable, it says nothing about the event.
  if (err instanceof DomainError && err.reason === "DEPENDENCY_UNAVAILABLE") return "infrastructure";
  if (err instanceof DomainError) return PERMANENT_KINDS.has(err.kind) ? "permanent" : "transient";
  if (isInfrastructureError(err)) return "infrastructure";
  return "transient";
}

/** Stable reason and kind of a failure, for dead-letter headers and metrics. */
export function describeFailure(err: unknown): { reason: string; kind: string; message: string } {
  if (err instanceof PermanentEventError) return { reason: err.reason, kind: "permanent", message: err.message };
  if (err instanceof DomainError) return { reason: err.reason, kind: err.kind, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { reason: "HANDLER_FAILED", kind: "internal", message };
}
