import type { DescMethod } from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import type { Caller } from "./auth.js";
import type { Logger } from "./logger.js";

/** Everything a handler knows about the call it serves. */
export interface RequestContext {
  readonly method: DescMethod;
  /** Correlates log lines across the mesh; from `x-request-id` or generated. */
  readonly requestId: string;
  readonly caller: Caller;
  /** Absolute deadline in epoch milliseconds, when the client set one. */
  readonly deadline: number | undefined;
  /** From the `idempotency-key` header, for mutating RPCs. */
  readonly idempotencyKey: string | undefined;
  readonly metadata: Metadata;
  /** Aborts when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  readonly log: Logger;
}

export const REQUEST_ID_HEADER = "x-request-id";
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
export const AUTHORIZATION_HEADER = "authorization";
export const TRACEPARENT_HEADER = "traceparent";
export const TRACESTATE_HEADER = "tracestate";

/** Header names that travel from an inbound call to the calls it makes. */
export const PROPAGATED_HEADERS = [REQUEST_ID_HEADER, AUTHORIZATION_HEADER] as const;

export const firstString = (md: Metadata, key: string): string | undefined => {
  const v = md.get(key)[0];
  return typeof v === "string" && v !== "" ? v : undefined;
};
