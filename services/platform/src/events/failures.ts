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
 * Thrown by a handler for an event that cannot apply *yet*: it depends on
 * another event that has not arrived (events of different aggregates, on
 * different keys or topics, are not ordered relative to each other). The
 * consumer parks it (the `parked_events` table), commits its offset so the
 * partition moves on, and tries it again in the background until it applies
 * or the park window (`kafka.consumer.parkWindowMs`) expires; then it is
 * dead-lettered with reason PARK_WINDOW_EXPIRED (consumer/parking.ts).
 *
 * `reason` is stable, like a DomainError's. `parkKey` names what the event
 * waits on (e.g. `vehicles/<id>`): parked events of one key are retried in
 * arrival order, and one of them applying wakes the others at once.
 */
export class DeferredEventError extends Error {
  override readonly name = "DeferredEventError";
  readonly parkKey: string | undefined;
  constructor(
    readonly reason: string,
    message: string,
    options?: { readonly parkKey?: string; readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.parkKey = options?.parkKey;
  }
}

/**
 * What a parked event is dead-lettered with once its park window is over:
 * reason PARK_WINDOW_EXPIRED, kind "deferred", and the reason it was last
 * deferred with (header dlq-deferred-reason).
 */
export class ParkWindowExpiredError extends Error {
  override readonly name = "ParkWindowExpiredError";
  readonly reason = "PARK_WINDOW_EXPIRED";
  constructor(
    readonly deferredReason: string,
    deferredMessage: string,
    parkedForMs: number,
  ) {
    super(`still not applicable after ${Math.round(parkedForMs / 1000)} s parked: ${deferredReason}: ${deferredMessage}`);
  }
}

/**
 * - deferred: not applicable yet (DeferredEventError); parked and retried
 *   in the background until the park window expires.
 * - permanent: retrying cannot help; dead-letter now.
 * - transient: may succeed later (a conflict, a timeout, a bug being
 *   fixed); retried with backoff, dead-lettered after the last attempt.
 * - infrastructure: the consumer's own database is unreachable. That says
 *   nothing about the event, so it is retried without limit (the partition
 *   waits) instead of dead-lettering everything during an outage.
 */
export type FailureClass = "deferred" | "permanent" | "transient" | "infrastructure";

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
  if (err instanceof DeferredEventError) return "deferred";
  if (err instanceof PermanentEventError) return "permanent";
  // A peer service (or our own database, as mapped by the kit) is down: like
  // our database being unreachable, it says nothing about the event.
  if (err instanceof DomainError && err.reason === "DEPENDENCY_UNAVAILABLE") return "infrastructure";
  if (err instanceof DomainError) return PERMANENT_KINDS.has(err.kind) ? "permanent" : "transient";
  if (isInfrastructureError(err)) return "infrastructure";
  return "transient";
}

/** Stable reason and kind of a failure, for dead-letter headers and metrics. */
export function describeFailure(err: unknown): { reason: string; kind: string; message: string; deferredReason?: string } {
  if (err instanceof DeferredEventError) return { reason: err.reason, kind: "deferred", message: err.message };
  if (err instanceof ParkWindowExpiredError) {
    return { reason: err.reason, kind: "deferred", message: err.message, deferredReason: err.deferredReason };
  }
  if (err instanceof PermanentEventError) return { reason: err.reason, kind: "permanent", message: err.message };
  if (err instanceof DomainError) return { reason: err.reason, kind: err.kind, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { reason: "HANDLER_FAILED", kind: "internal", message };
}
