import { randomUUID } from "node:crypto";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { authorize, requiresToken, type TokenVerifier, ANONYMOUS } from "../../services/platform/src/auth.js";
import { REQUEST_ID_HEADER } from "../../services/platform/src/context.js";
import type { Logger } from "../../services/platform/src/logger.js";
import type { Metrics } from "../../services/platform/src/metrics.js";
import { extractContext, traceIdOf, tracer } from "../../services/platform/src/telemetry.js";
import { toConnectError, upstreamOfTransportFailure } from "./errors.js";

export const requestIdKey = createContextKey<string>("", { description: "request id" });

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export interface EdgeOptions {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly verifier: TokenVerifier | undefined;
}

/** What the edge pipeline needs to know about a call, whichever lane serves it. */
export interface EdgeCall {
  readonly method: DescMethod;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** Which handler serves the call: Connect's (decodes messages) or the raw lane (forwards bytes). */
  readonly lane: "connect" | "raw";
}

/** The edge pipeline around one call: `next` gets the request id and does the work. */
export type EdgePipeline = <T>(call: EdgeCall, next: (requestId: string) => Promise<T>) => Promise<T>;

/**
 * The edge pipeline, outermost first: request id, trace context, access log
 * and metrics, then authentication and authorization from the method's
 * declared permission, then error mapping. Both lanes run it, so a call is
 * logged, counted, traced and authorized the same way whichever serves it.
 * A failure is rethrown as a ConnectError (by `toEdgeError`) carrying the
 * request id in its metadata.
 */
export function createEdgePipeline(
  options: EdgeOptions,
  toEdgeError: (err: unknown, call: EdgeCall) => ConnectError = toConnectError,
): EdgePipeline {
  return async (call, next) => {
    const startedAt = performance.now();
    const incomingId = call.header(REQUEST_ID_HEADER);
    const requestId = incomingId !== undefined && REQUEST_ID_PATTERN.test(incomingId) ? incomingId : randomUUID();
    const path = `/${call.method.parent.typeName}/${call.method.name}`;
    const parent = extractContext((key) => call.header(key));
    const span = tracer().startSpan(path.slice(1), { kind: SpanKind.SERVER, attributes: { "rpc.system": "connect" } }, parent);
    const traceId = traceIdOf(span);
    const fields = { requestId, method: path, ...(traceId ? { traceId } : {}) };
    let code = Code.Unknown as number;
    try {
      const result = await otelContext.with(trace.setSpan(parent, span), async () => {
        if (options.verifier) {
          const bearer = call.header("authorization");
          // Anonymous RPCs (login, refresh) ignore any token: a stale one must not block a fresh login.
          const caller = requiresToken(call.method) ? await options.verifier.verify(bearer) : ANONYMOUS;
          authorize(call.method, caller);
        }
        return next(requestId);
      });
      code = 0;
      return result;
    } catch (err) {
      const edgeError = toEdgeError(err, call);
      edgeError.metadata.set(REQUEST_ID_HEADER, requestId);
      code = edgeError.code;
      if (code === Code.Internal || code === Code.Unknown) options.log.error({ ...fields, err }, "rpc failed");
      // The client saw only "<upstream> service unavailable"; the transport's detail is logged here.
      const upstream = upstreamOfTransportFailure(edgeError);
      if (upstream !== undefined) options.log.warn({ ...fields, upstream, err: edgeError.cause }, "upstream call failed");
      span.setStatus({ code: SpanStatusCode.ERROR, message: Code[code] ?? String(code) });
      throw edgeError;
    } finally {
      const seconds = (performance.now() - startedAt) / 1000;
      // gRPC status names, as the services label theirs (the numbers are the same).
      const codeName = GrpcStatus[code] ?? String(code);
      options.metrics.rpcRequests.inc({ method: path, code: codeName });
      options.metrics.rpcDuration.observe({ method: path, code: codeName }, seconds);
      options.log.info({
        ...fields,
        status: codeName,
        durationMs: Math.round(seconds * 100_000) / 100,
        protocol: call.header("content-type") ?? null,
        lane: call.lane,
      }, "rpc");
      span.end();
    }
  };
}

/** The edge pipeline as a Connect interceptor, for the calls Connect's handler serves. */
export function edgeInterceptor(options: EdgeOptions): Interceptor {
  const pipeline = createEdgePipeline(options);
  return (next) => (req) =>
    pipeline({ method: req.method, header: (name) => req.header.get(name) ?? undefined, lane: "connect" }, async (requestId) => {
      req.contextValues.set(requestIdKey, requestId);
      const response = await next(req);
      response.header.set(REQUEST_ID_HEADER, requestId);
      return response;
    });
}
