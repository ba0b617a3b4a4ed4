import { create, toBinary, fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, AnySchema } from "@bufbuild/protobuf/wkt";
import { status as GrpcStatus, Metadata } from "@grpc/grpc-js";
import { StatusSchema } from "../../../../gen/google/rpc/status_pb.js";
import {
  BadRequestSchema,
  BadRequest_FieldViolationSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
} from "../../../../gen/google/rpc/error_details_pb.js";
import { DomainError, ERROR_DOMAIN, type ErrorKind } from "../errors.js";

/** The one table from error kinds to gRPC status codes. */
export const grpcCodeOfKind: Readonly<Record<ErrorKind, GrpcStatus>> = {
  invalid_argument: GrpcStatus.INVALID_ARGUMENT,
  not_found: GrpcStatus.NOT_FOUND,
  already_exists: GrpcStatus.ALREADY_EXISTS,
  failed_precondition: GrpcStatus.FAILED_PRECONDITION,
  aborted: GrpcStatus.ABORTED,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  permission_denied: GrpcStatus.PERMISSION_DENIED,
  resource_exhausted: GrpcStatus.RESOURCE_EXHAUSTED,
  out_of_range: GrpcStatus.OUT_OF_RANGE,
  unavailable: GrpcStatus.UNAVAILABLE,
  deadline_exceeded: GrpcStatus.DEADLINE_EXCEEDED,
  internal: GrpcStatus.INTERNAL,
};

export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

export interface WireError {
  readonly code: GrpcStatus;
  readonly message: string;
  readonly metadata: Metadata;
}

/**
 * Turns anything thrown by a handler into the status sent on the wire. Unknown
 * errors become INTERNAL with a generic message, so internals never leak.
 */
export function toWireError(err: unknown): WireError {
  const domain = err instanceof DomainError ? err : new DomainError("internal", "INTERNAL", "internal error");
  const code = grpcCodeOfKind[domain.kind];
  const details = [
    anyPack(ErrorInfoSchema, create(ErrorInfoSchema, {
      reason: domain.reason,
      domain: ERROR_DOMAIN,
      metadata: { ...domain.metadata },
    })),
  ];
  if (domain.fieldViolations.length > 0) {
    details.push(anyPack(BadRequestSchema, create(BadRequestSchema, {
      fieldViolations: domain.fieldViolations.map((v) =>
        create(BadRequest_FieldViolationSchema, { field: v.field, description: v.description, reason: v.reason ?? "" }),
      ),
    })));
  }
  if (domain.kind === "failed_precondition") {
    details.push(anyPack(PreconditionFailureSchema, create(PreconditionFailureSchema, {
      violations: [{ type: domain.reason, subject: domain.metadata["subject"] ?? "", description: domain.message }],
    })));
  }
  const metadata = new Metadata();
  metadata.set(
    STATUS_DETAILS_KEY,
    Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code, message: domain.message, details }))),
  );
  return { code, message: domain.message, metadata };
}

export interface DecodedStatus {
  readonly code: number;
  readonly message: string;
  readonly details: ReadonlyArray<{ readonly typeUrl: string; readonly value: Uint8Array }>;
}

/** Reads google.rpc.Status details from trailing metadata, if present. */
export function decodeStatusDetails(metadata: Metadata | undefined): DecodedStatus | undefined {
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (raw === undefined || typeof raw === "string") return undefined;
  try {
    const status = fromBinary(StatusSchema, raw);
    return {
      code: status.code,
      message: status.message,
      details: status.details.map((d) => ({ typeUrl: d.typeUrl, value: d.value })),
    };
  } catch {
    return undefined;
  }
}

/** Finds one detail of the given type in decoded status details. */
export function findDetail<Desc extends DescMessage>(
  status: DecodedStatus | undefined,
  schema: Desc,
): MessageShape<Desc> | undefined {
  for (const d of status?.details ?? []) {
    const unpacked = anyUnpack(create(AnySchema, { typeUrl: d.typeUrl, value: d.value }), schema);
    if (unpacked) return unpacked;
  }
  return undefined;
}
