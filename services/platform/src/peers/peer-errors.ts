import { status as GrpcStatus } from "@grpc/grpc-js";
import { BadRequestSchema, ErrorInfoSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { DomainError, type ErrorKind, type FieldViolation } from "../errors.js";
import { GrpcCallError } from "../grpc/client.js";
import { findDetail } from "../grpc/status.js";

/** Whose token an outbound call carried: it decides what a refusal from the peer means. */
export type Acting = "caller" | "service";

type Mapping =
  /** The peer's domain answer stands: same kind, its reason and details kept. */
  | { readonly as: "peer-kind"; readonly kind: ErrorKind }
  /** The peer could not answer in time: retryable by our client. */
  | { readonly as: "dependency-unavailable" }
  /** Not the caller's doing: our bug or our configuration. */
  | { readonly as: "internal" };

const peerKind = (kind: ErrorKind): Mapping => ({ as: "peer-kind", kind });

/**
 * The one table from a peer's gRPC status to the domain error this service
 * raises. A refusal of the *end user's* token keeps its meaning (the user may
 * not do that at the peer either); a refusal of the *service's own*
 * credential is a deployment mistake, which the client cannot fix.
 */
const PEER_STATUS_TABLE: Readonly<Partial<Record<GrpcStatus, Mapping | Readonly<Record<Acting, Mapping>>>>> = {
  [GrpcStatus.NOT_FOUND]: peerKind("not_found"),
  [GrpcStatus.ALREADY_EXISTS]: peerKind("already_exists"),
  [GrpcStatus.FAILED_PRECONDITION]: peerKind("failed_precondition"),
  [GrpcStatus.ABORTED]: peerKind("aborted"),
  [GrpcStatus.INVALID_ARGUMENT]: peerKind("invalid_argument"),
  [GrpcStatus.OUT_OF_RANGE]: peerKind("invalid_argument"),
  [GrpcStatus.UNAVAILABLE]: { as: "dependency-unavailable" },
  [GrpcStatus.DEADLINE_EXCEEDED]: { as: "dependency-unavailable" },
  [GrpcStatus.RESOURCE_EXHAUSTED]: { as: "dependency-unavailable" },
  [GrpcStatus.CANCELLED]: { as: "dependency-unavailable" },
  [GrpcStatus.UNAUTHENTICATED]: { caller: peerKind("unauthenticated"), service: { as: "internal" } },
  [GrpcStatus.PERMISSION_DENIED]: { caller: peerKind("permission_denied"), service: { as: "internal" } },
};

const DEFAULT_REASON: Readonly<Partial<Record<ErrorKind, string>>> = {
  not_found: "NOT_FOUND",
  invalid_argument: "INVALID_ARGUMENT",
  unauthenticated: "UNAUTHENTICATED",
  permission_denied: "PERMISSION_DENIED",
};

/** UNAVAILABLE, reason DEPENDENCY_UNAVAILABLE: the kit's retry policy and clients may retry it. */
export const dependencyUnavailable = (peer: string, cause?: unknown): DomainError =>
  new DomainError("unavailable", "DEPENDENCY_UNAVAILABLE", `${peer} service unavailable`, {
    metadata: { dependency: peer },
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * Turns a failed peer call into this service's domain error. The peer's
 * message and reason travel on only for domain answers (they are written to
 * be shown to clients); transport failures never leak addresses.
 */
export function peerErrorToDomain(peer: string, err: unknown, acting: Acting): DomainError {
  if (err instanceof DomainError) return err;
  if (!(err instanceof GrpcCallError)) return new DomainError("internal", "INTERNAL", "internal error", { cause: err });
  const entry = PEER_STATUS_TABLE[err.code];
  const mapping: Mapping | undefined = entry && "as" in entry ? (entry as Mapping) : (entry as Record<Acting, Mapping> | undefined)?.[acting];
  switch (mapping?.as) {
    case "dependency-unavailable":
      return dependencyUnavailable(peer, err);
    case "peer-kind": {
      const info = findDetail(err.status, ErrorInfoSchema);
      const badRequest = findDetail(err.status, BadRequestSchema);
      const fieldViolations: FieldViolation[] = (badRequest?.fieldViolations ?? []).map((v) => ({
        field: v.field,
        description: v.description,
        ...(v.reason ? { reason: v.reason } : {}),
      }));
      const reason = info?.reason || DEFAULT_REASON[mapping.kind] || mapping.kind.toUpperCase();
      return new DomainError(mapping.kind, reason, err.status?.message ?? err.message, {
        fieldViolations,
        metadata: { ...(info?.metadata ?? {}), dependency: peer },
        cause: err,
      });
    }
    default:
      return new DomainError("internal", "INTERNAL", "internal error", { cause: err, metadata: { dependency: peer } });
  }
}
