import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { DomainError, ERROR_DOMAIN } from "../../services/platform/src/errors.js";
import { GrpcCallError } from "../../services/platform/src/grpc/client.js";
import { dependencyUnavailable } from "../../services/platform/src/peers/peer-errors.js";
import { grpcCodeOfKind } from "../../services/platform/src/grpc/status.js";

/**
 * Maps whatever a gateway handler throws to a ConnectError. Upstream errors
 * pass through with their code, message and google.rpc details untouched;
 * the gateway's own domain errors use the shared error table; anything else
 * is INTERNAL without internals.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof GrpcCallError) {
    const details = (err.status?.details ?? []).map((d) => ({
      type: d.typeUrl.slice(d.typeUrl.lastIndexOf("/") + 1),
      value: d.value,
    }));
    const connectError = new ConnectError(err.status?.message ?? err.message, err.code as number as Code);
    // Raw google.rpc details pass through as received: the client decodes them.
    connectError.details.push(...details);
    return connectError;
  }
  if (err instanceof DomainError) {
    const details: ConstructorParameters<typeof ConnectError>[3] = [
      { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: err.reason, domain: ERROR_DOMAIN, metadata: { ...err.metadata } }) },
    ];
    if (err.fieldViolations.length > 0) {
      details.push({
        desc: BadRequestSchema,
        value: create(BadRequestSchema, {
          fieldViolations: err.fieldViolations.map((v) => ({ field: v.field, description: v.description, reason: v.reason ?? "" })),
        }),
      });
    }
    return new ConnectError(err.message, grpcCodeOfKind[err.kind] as number as Code, undefined, details);
  }
  return new ConnectError("internal error", Code.Internal);
}

/** Node socket errors that mean the peer could not be reached (raw HTTP/2 forwarding sees these). */
const UNREACHABLE_ERRNOS = new Set([
  "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EPIPE",
  "ENOTFOUND", "EAI_AGAIN", "ERR_HTTP2_GOAWAY_SESSION", "ERR_HTTP2_SESSION_ERROR", "ERR_HTTP2_STREAM_CANCEL", "ERR_HTTP2_ERROR",
]);

/** Errors made by transportFailureOf, with the upstream they name (for the log). */
const transportFailures = new WeakMap<ConnectError, string>();

/**
 * The upstream named by an error from transportFailureOf, else undefined.
 * (ConnectError's instanceof matches any ConnectError, so no subclass can mark these.)
 */
export const upstreamOfTransportFailure = (err: ConnectError): string | undefined => transportFailures.get(err);

function transportCodeOf(err: unknown): Code.Unavailable | Code.DeadlineExceeded | undefined {
  if (err instanceof GrpcCallError || err instanceof ConnectError) {
    // An upstream that answered sent a google.rpc.Status (its own error): that passes through.
    const answered = err instanceof GrpcCallError ? err.status !== undefined : err.details.length > 0;
    if (answered) return undefined;
    const code = err.code as number;
    if (code === Code.Unavailable) return Code.Unavailable;
    if (code === Code.DeadlineExceeded) return Code.DeadlineExceeded;
    return undefined;
  }
  if (err instanceof Error) {
    if (err.name === "TimeoutError") return Code.DeadlineExceeded;
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno !== undefined && UNREACHABLE_ERRNOS.has(errno)) return Code.Unavailable;
  }
  return undefined;
}

/**
 * The error a client gets when a call to `upstream` failed in transport: the
 * gRPC client could not reach the peer (UNAVAILABLE) or it did not answer in
 * time (DEADLINE_EXCEEDED), without a google.rpc.Status from the upstream, or
 * a socket error of raw forwarding. Returns undefined for anything else, in
 * particular for the upstream's own errors, which pass through unchanged.
 * Exported for every lane of the gateway (Connect proxy and raw forwarding).
 */
export function transportFailureOf(upstream: string, err: unknown): ConnectError | undefined {
  if (err instanceof ConnectError && transportFailures.has(err)) return err;
  const code = transportCodeOf(err);
  if (code === undefined) return undefined;
  // The message names the dependency in plain words (the kit's wording for a
  // peer that cannot be reached); `cause` keeps the transport's detail
  // (addresses, errno) for the log only.
  const named = code === Code.Unavailable
    ? dependencyUnavailable(upstream)
    : { message: `${upstream} service did not answer in time`, reason: "DEADLINE_EXCEEDED", metadata: { dependency: upstream } };
  const failure = new ConnectError(
    named.message,
    code,
    undefined,
    [{
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, { reason: named.reason, domain: ERROR_DOMAIN, metadata: { ...named.metadata } }),
    }],
    err,
  );
  transportFailures.set(failure, upstream);
  return failure;
}
