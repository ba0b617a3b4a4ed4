import { randomUUID } from "node:crypto";
import { fromBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import {
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { ANONYMOUS, authorize, requiresToken, type TokenVerifier } from "../auth.js";
import {
  AUTHORIZATION_HEADER,
  firstString,
  IDEMPOTENCY_KEY_HEADER,
  REQUEST_ID_HEADER,
  type RequestContext,
} from "../context.js";
import { DomainError, invalidArgument } from "../errors.js";
import { grpcCodeOfKind, toWireError } from "./status.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { extractContext, traceIdOf, tracer } from "../telemetry.js";
import { addReflection } from "./reflection.js";
import { findInvalidUtf8, requestTextViolations, type TextLimits } from "./request-text.js";
import { methodPath, serverDefinitionOf } from "./service-definition.js";

/** An async unary handler: a decoded request in, a response message out. */
export type UnaryHandler<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> = (
  request: MessageShape<I>,
  ctx: RequestContext,
) => Promise<MessageShape<O>>;

/** Handlers for every method of a service, keyed by the method's local name. */
export type ServiceHandlers<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethod
    ? (request: MessageShape<S["method"][K]["input"]>, ctx: RequestContext) => Promise<MessageShape<S["method"][K]["output"]>>
    : never;
};

/**
 * A handler that does its remote work first: `prepare` runs before the
 * call's database transaction opens (the idempotency layer opens one around
 * `handle` for keyed calls), so a peer call never holds a pooled connection
 * or row locks. `prepare` may run again when a keyed call is replayed: make
 * it reads, or writes that are idempotent by a key derived from the request.
 */
export interface RemoteFirstHandler<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage, P = unknown> {
  readonly prepare: (request: MessageShape<I>, ctx: RequestContext) => Promise<P>;
  readonly handle: (request: MessageShape<I>, ctx: RequestContext, prepared: P) => Promise<MessageShape<O>>;
}

type AnyHandler = UnaryHandler | RemoteFirstHandler;

export const remoteFirst = <Req, Res, P>(
  prepare: (request: Req, ctx: RequestContext) => Promise<P>,
  handle: (request: Req, ctx: RequestContext, prepared: P) => Promise<Res>,
): ((request: Req, ctx: RequestContext) => Promise<Res>) =>
  Object.assign(
    (): never => {
      throw new Error("a remoteFirst handler is called by the kit's server only");
    },
    { prepare, handle },
  );

const isRemoteFirst = (h: AnyHandler): h is UnaryHandler & RemoteFirstHandler => "prepare" in h && "handle" in h;

/** What prepare returned, carried to handle through the interceptors (which spread the context). */
const PREPARED = Symbol("prepared");

export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: Record<string, UnaryHandler>;
}

export const bindService = <S extends DescService>(service: S, handlers: ServiceHandlers<S>): ServiceBinding => ({
  service,
  handlers: handlers as unknown as Record<string, UnaryHandler>,
});

/** Wraps a handler, connect-style: auth, validation or whatever cuts across RPCs. */
export type Interceptor = (next: UnaryHandler) => UnaryHandler;

export interface GrpcServerOptions {
  readonly bindings: readonly ServiceBinding[];
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Undefined disables authentication (benchmarks of the raw path only). */
  readonly verifier: TokenVerifier | undefined;
  readonly interceptors?: readonly Interceptor[];
  /** Fields allowed more than MAX_TEXT_FIELD_LENGTH characters (see request-text.ts). */
  readonly textLimits?: TextLimits;
}

export interface GrpcServer {
  readonly server: Server;
  readonly health: HealthImplementation;
  listen(host: string, port: number): Promise<number>;
  setServing(status: ServingStatus): void;
  /** Stops accepting calls and waits for in-flight ones until `graceMs`, then cancels the rest. */
  shutdown(graceMs: number): Promise<void>;
}

/** Extracts an error's gRPC code without building the wire status. */
export const codeOf = (err: unknown): GrpcStatus =>
  err instanceof DomainError ? grpcCodeOfKind[err.kind] : GrpcStatus.INTERNAL;

/**
 * A grpc-js server for protobuf-es services with health, reflection, and the
 * shared per-call pipeline: trace context, request id, logging, metrics,
 * authentication and authorization from the method's declared permission, and
 * the error table.
 */
export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const server = new Server({
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
  });
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  for (const { service } of options.bindings) health.setStatus(service.typeName, "NOT_SERVING");
  health.addToServer(server);
  addReflection(server, options.bindings.map((b) => b.service));

  for (const binding of options.bindings) {
    const implementation: UntypedServiceImplementation = {};
    for (const method of binding.service.methods) {
      const handler: AnyHandler | undefined = binding.handlers[method.localName];
      if (!handler) throw new Error(`${methodPath(method)} has no handler`);
      const inner: UnaryHandler = isRemoteFirst(handler)
        ? (request, ctx) => handler.handle(request, ctx, (ctx as RequestContext & { [PREPARED]?: unknown })[PREPARED])
        : handler;
      const intercepted = [...(options.interceptors ?? [])].reduceRight((next, icpt) => icpt(next), inner);
      const pipeline: UnaryHandler = isRemoteFirst(handler)
        ? async (request, ctx) => {
          const prepared = await handler.prepare(request, ctx);
          // On the call's own context object, enumerable so that an interceptor's spread copies it.
          Object.defineProperty(ctx, PREPARED, { value: prepared, enumerable: true });
          return intercepted(request, ctx);
        }
        : intercepted;
      implementation[method.localName] = unaryEntry(method, pipeline, options);
    }
    server.addService(serverDefinitionOf(binding.service), implementation);
  }

  return {
    server,
    health,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) =>
          err ? reject(err) : resolve(bound),
        );
      }),
    setServing(status) {
      health.setStatus("", status);
      for (const { service } of options.bindings) health.setStatus(service.typeName, status);
    },
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/**
 * Decodes a request and refuses, before any handler sees it, text that no
 * service may store: invalid UTF-8, control and bidirectional control
 * characters, strings over their length bound. One place for every RPC.
 */
function decodeRequest(method: DescMethod, bytes: Uint8Array, textLimits: TextLimits | undefined): MessageShape<DescMessage> {
  let request;
  try {
    request = fromBinary(method.input, bytes);
  } catch (err) {
    const field = findInvalidUtf8(method.input, bytes);
    if (field !== undefined) {
      throw invalidArgument([{ field, description: "must be valid UTF-8", reason: "INVALID_UTF8" }]);
    }
    throw invalidArgument([{ field: "(message)", description: "malformed protobuf message", reason: "MALFORMED" }],
      `malformed ${method.input.typeName}: ${(err as Error).message}`);
  }
  const violations = requestTextViolations(method.input, request, textLimits);
  if (violations.length > 0) throw invalidArgument(violations);
  return request;
}

function unaryEntry(
  method: DescMethod,
  handler: UnaryHandler,
  options: GrpcServerOptions,
): (call: ServerUnaryCall<Buffer, unknown>, callback: sendUnaryData<unknown>) => void {
  const path = methodPath(method);
  const needsToken = requiresToken(method);
  return (call, callback) => {
    const startedAt = performance.now();
    const md = call.metadata;
    const requestId = firstString(md, REQUEST_ID_HEADER) ?? randomUUID();
    const parent = extractContext((key) => firstString(md, key));
    const span = tracer().startSpan(path.slice(1), { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc" } }, parent);
    const traceId = traceIdOf(span);
    const fields = { requestId, method: path, ...(traceId ? { traceId } : {}) };
    let childLog: Logger | undefined;
    // Most handlers never log: build their child logger only on demand.
    const log = (): Logger => (childLog ??= options.log.child(fields));
    const abort = new AbortController();
    let answered = false;
    // grpc-js reports the stream's end as a cancellation too: only one before the answer is.
    call.once("cancelled", () => {
      if (!answered) abort.abort(new DomainError("deadline_exceeded", "DEADLINE_EXCEEDED", "call cancelled"));
    });
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;

    const run = async (): Promise<unknown> => {
      let caller = ANONYMOUS;
      if (options.verifier) {
        const bearer = firstString(md, AUTHORIZATION_HEADER);
        // Anonymous RPCs (login, refresh) ignore any token: a stale one must not block a fresh login.
        if (needsToken) caller = await options.verifier.verify(bearer);
        authorize(method, caller);
      }
      const request = decodeRequest(method, call.request, options.textLimits);
      const ctx: RequestContext = {
        method,
        requestId,
        caller,
        deadline: deadlineMs,
        idempotencyKey: firstString(md, IDEMPOTENCY_KEY_HEADER),
        metadata: md,
        signal: abort.signal,
        get log() {
          return log();
        },
      };
      return handler(request, ctx);
    };

    otelContext.with(trace.setSpan(parent, span), run).then(
      (response) => {
        finish(GrpcStatus.OK);
        callback(null, response);
      },
      (err: unknown) => {
        const code = codeOf(err);
        finish(code, err);
        const wire = toWireError(err);
        callback({ code: wire.code, details: wire.message, metadata: wire.metadata });
      },
    );

    function finish(code: GrpcStatus, err?: unknown): void {
      answered = true;
      const seconds = (performance.now() - startedAt) / 1000;
      const codeName = GrpcStatus[code] ?? String(code);
      options.metrics.rpcRequests.inc({ method: path, code: codeName });
      options.metrics.rpcDuration.observe({ method: path, code: codeName }, seconds);
      const line = { ...fields, status: codeName, durationMs: Math.round(seconds * 100_000) / 100 };
      if (code === GrpcStatus.OK) {
        options.log.info(line, "rpc");
      } else if (code === GrpcStatus.INTERNAL || code === GrpcStatus.UNKNOWN) {
        options.log.error({ ...line, err }, "rpc failed");
        span.setStatus({ code: SpanStatusCode.ERROR, message: codeName });
      } else {
        options.log.info({ ...line, reason: err instanceof DomainError ? err.reason : undefined }, "rpc");
        span.setStatus({ code: SpanStatusCode.ERROR, message: codeName });
      }
      span.setAttribute("rpc.grpc.status_code", code);
      span.end();
    }
  };
}
