import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER, AUTHORIZATION_HEADER } from "../../services/platform/src/context.js";
import type { CallOptions, ServiceClient } from "../../services/platform/src/grpc/client.js";
import { transportFailureOf } from "./errors.js";
import { requestIdKey } from "./interceptors.js";

function callOptionsOf(ctx: HandlerContext): CallOptions {
  const headers: Record<string, string> = { [REQUEST_ID_HEADER]: ctx.values.get(requestIdKey) };
  const authorization = ctx.requestHeader.get(AUTHORIZATION_HEADER);
  if (authorization !== null) headers[AUTHORIZATION_HEADER] = authorization;
  // Passed as the call's key (not a bare header) so the client may retry it.
  const idempotencyKey = ctx.requestHeader.get(IDEMPOTENCY_KEY_HEADER) ?? undefined;
  const timeoutMs = ctx.timeoutMs();
  return { headers, signal: ctx.signal, idempotencyKey, ...(timeoutMs === undefined ? {} : { timeoutMs }) };
}

/**
 * Routes every method of `service` to the same method of the internal
 * service over gRPC. The gateway adds no business logic: authentication,
 * errors and tracing are handled by interceptors, and the upstream decides.
 * A transport failure reaching `upstreamName` becomes a plain-words
 * UNAVAILABLE (or DEADLINE_EXCEEDED) naming it, without addresses.
 */
export function proxyService<S extends DescService>(router: ConnectRouter, service: S, upstream: ServiceClient<S>, upstreamName: string): void {
  const impl: Record<string, (req: unknown, ctx: HandlerContext) => Promise<unknown>> = {};
  for (const method of service.methods) {
    const call = (upstream as unknown as Record<string, (req: unknown, o: CallOptions) => Promise<unknown>>)[method.localName]!;
    impl[method.localName] = (req, ctx) => call(req, callOptionsOf(ctx)).catch((err: unknown) => {
      throw transportFailureOf(upstreamName, err) ?? err;
    });
  }
  router.service(service, impl as never);
}
