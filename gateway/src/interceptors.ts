import { randomUUID } from "node:crypto";
import { Code, createContextKey, type Interceptor } from "@connectrpc/connect";
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

/**
 * The edge pipeline in one interceptor, outermost first: request id, trace
 * context, access log and metrics, then authentication and authorization
 * from the method's declared permission, then error mapping.
 */
export function edgeInterceptor(options: {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly verifier: TokenVerifier | undefined;
}): Interceptor {
  return (next) => async (req) => {
    const startedAt = performance.now();
    const incomingId = req.header.get(REQUEST_ID_HEADER);
    const requestId = incomingId !== null && REQUEST_ID_PATTERN.test(incomingId) ? incomingId : randomUUID();
    req.contextValues.set(requestIdKey, requestId);
    const path = `/${req.service.typeName}/${req.method.name}`;
    const parent = extractContext((key) => req.header.get(key) ?? undefined);
    const span = tracer().startSpan(path.slice(1), { kind: SpanKind.SERVER, attributes: { "rpc.system": "connect" } }, parent);
    const traceId = traceIdOf(span);
    const fields = { requestId, method: path, ...(traceId ? { traceId } : {}) };
    let code = Code.Unknown as number;
    try {
      const response = await otelContext.with(trace.setSpan(parent, span), async () => {
        if (options.verifier) {
          const bearer = req.header.get("authorization") ?? undefined;
          // Anonymous RPCs (login, refresh) ignore any token: a stale one must not block a fresh login.
          const caller = requiresToken(req.method) ? await options.verifier.verify(bearer) : ANONYMOUS;
          authorize(req.method, caller);
        }
        return next(req);
      });
      response.header.set(REQUEST_ID_HEADER, requestId);
      code = 0;
      return response;
    } catch (err) {
      const connectError = toConnectError(err);
      connectError.metadata.set(REQUEST_ID_HEADER, requestId);
      code = connectError.code;
      if (code === Code.Internal || code === Code.Unknown) options.log.error({ ...fields, err }, "rpc failed");
      // The client saw only "<upstream> service unavailable"; the transport's detail is logged here.
      const upstream = upstreamOfTransportFailure(connectError);
      if (upstream !== undefined) options.log.warn({ ...fields, upstream, err: connectError.cause }, "upstream call failed");
      span.setStatus({ code: SpanStatusCode.ERROR, message: Code[code] ?? String(code) });
      throw connectError;
    } finally {
      const seconds = (performance.now() - startedAt) / 1000;
      // gRPC status names, as the services label theirs (the numbers are the same).
      const codeName = GrpcStatus[code] ?? String(code);
      options.metrics.rpcRequests.inc({ method: path, code: codeName });
      options.metrics.rpcDuration.observe({ method: path, code: codeName }, seconds);
      options.log.info({ ...fields, status: codeName, durationMs: Math.round(seconds * 100_000) / 100, protocol: req.header.get("content-type") }, "rpc");
      span.end();
    }
  };
}
