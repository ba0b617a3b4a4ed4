import { AsyncLocalStorage } from "node:async_hooks";
import type { Interceptor } from "../grpc/server.js";

/**
 * The request id of the work in progress (an RPC, or an event being
 * consumed), so that events written to the outbox carry the request that
 * caused them without every use case passing it along.
 */
export interface Correlation {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<Correlation>();

export const currentCorrelation = (): Correlation | undefined => storage.getStore();

export const withCorrelation = <T>(correlation: Correlation, work: () => T): T => storage.run(correlation, work);

/** Makes the RPC's request id the correlation of everything the handler does. */
export const correlationInterceptor = (): Interceptor => (next) => (request, ctx) =>
  withCorrelation({ requestId: ctx.requestId }, () => next(request, ctx));
