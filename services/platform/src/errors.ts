// Pure: no transport or persistence imports, so domain code may use it.

/** ErrorInfo.domain of every error raised by Fleet mesh. */
export const ERROR_DOMAIN = "fleetmesh";

/**
 * What kind of failure a domain error is. Each kind maps to exactly one gRPC
 * code in {@link grpcCodeOfKind}; domain code names the kind, never a code.
 */
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "aborted"
  | "unauthenticated"
  | "permission_denied"
  | "resource_exhausted"
  | "out_of_range"
  | "unavailable"
  | "deadline_exceeded"
  | "internal";

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
  /** Stable, machine-readable reason of this violation, e.g. "REQUIRED". */
  readonly reason?: string;
}

/**
 * A failure with a stable reason (a name from fleetmesh.common.v1.ErrorReason
 * without its prefix). Safe to show to the client: message and metadata must
 * never contain secrets.
 */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly kind: ErrorKind,
    readonly reason: string,
    message: string,
    readonly options: {
      readonly fieldViolations?: readonly FieldViolation[];
      readonly metadata?: Readonly<Record<string, string>>;
      readonly cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }

  get fieldViolations(): readonly FieldViolation[] {
    return this.options.fieldViolations ?? [];
  }

  get metadata(): Readonly<Record<string, string>> {
    return this.options.metadata ?? {};
  }
}

export const invalidArgument = (violations: readonly FieldViolation[], message?: string): DomainError =>
  new DomainError(
    "invalid_argument",
    "INVALID_ARGUMENT",
    message ?? `invalid request: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    { fieldViolations: violations },
  );

export const notFound = (reason: string, message: string, metadata?: Record<string, string>): DomainError =>
  new DomainError("not_found", reason, message, metadata ? { metadata } : {});

export const failedPrecondition = (reason: string, message: string, metadata?: Record<string, string>): DomainError =>
  new DomainError("failed_precondition", reason, message, metadata ? { metadata } : {});

