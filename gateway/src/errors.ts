import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { DomainError, ERROR_DOMAIN } from "../../services/platform/src/errors.js";
import { GrpcCallError } from "../../services/platform/src/grpc/client.js";
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
