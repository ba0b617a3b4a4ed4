// Tests only: assertions on the errors the kit's gRPC client reports, shared
// by every service's tests.
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { ExecutionContext } from "ava";
import { BadRequestSchema, ErrorInfoSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { GrpcCallError } from "../grpc/client.js";
import { findDetail } from "../grpc/status.js";

/** Asserts a call failed with `code` and ErrorInfo `reason`; returns the error for further checks. */
export async function rejectsWith(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: GrpcStatus,
  reason: string,
): Promise<GrpcCallError> {
  const err = await t.throwsAsync(promise, { instanceOf: GrpcCallError });
  if (!(err instanceof GrpcCallError)) throw new Error("unreachable");
  t.is(GrpcStatus[err.code], GrpcStatus[code], err.message);
  t.is(findDetail(err.status, ErrorInfoSchema)?.reason, reason, err.message);
  return err;
}

/** The fields named by the error's BadRequest detail, sorted. */
export const violatedFields = (err: GrpcCallError): string[] =>
  (findDetail(err.status, BadRequestSchema)?.fieldViolations ?? []).map((v) => v.field).sort();

/** The error's ErrorInfo metadata. */
export const errorMetadata = (err: GrpcCallError): Record<string, string> => ({ ...findDetail(err.status, ErrorInfoSchema)?.metadata });
