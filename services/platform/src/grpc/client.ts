import type { DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import {
  Client,
  credentials,
  Metadata,
  status as GrpcStatus,
  type ServiceError,
} from "@grpc/grpc-js";
import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { PeerConfig } from "../config.js";
import { AUTHORIZATION_HEADER, IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER, type RequestContext } from "../context.js";
import { decodeStatusDetails, type DecodedStatus } from "./status.js";
import { injectContext, tracer } from "../telemetry.js";
import { clientDefinitionOf, methodPath } from "./service-definition.js";

/** A failed outbound call, with the peer's code and google.rpc details. */
export class GrpcCallError extends Error {
  override readonly name = "GrpcCallError";
  constructor(
    readonly code: GrpcStatus,
    message: string,
    readonly status: DecodedStatus | undefined,
    readonly trailers: Metadata | undefined,
  ) {
    super(message);
  }
}

export interface CallOptions {
  /** The inbound call being served: its deadline, request id and token travel on. */
  readonly ctx?: RequestContext | undefined;
  /** Overrides the peer's default deadline (still capped by the inbound deadline). */
  readonly timeoutMs?: number | undefined;
  /** Makes a non-idempotent call safe to retry. */
  readonly idempotencyKey?: string | undefined;
  /** Extra request headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly signal?: AbortSignal | undefined;
}

export type ServiceClient<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethod
    ? (request: MessageInitShape<S["method"][K]["input"]>, options?: CallOptions) => Promise<MessageShape<S["method"][K]["output"]>>
    : never;
} & { close(): void };

const isSafeToRetry = (method: DescMethod): boolean =>
  method.idempotency === 1 /* NO_SIDE_EFFECTS */ || method.idempotency === 2; /* IDEMPOTENT */

/**
 * grpc-js service config: retry only on UNAVAILABLE, with backoff, and with
 * retry throttling so a struggling peer is not hammered.
 */
export function retryServiceConfig(service: DescService, methods: readonly DescMethod[]): string {
  return JSON.stringify({
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: methods.length === 0 ? [] : [{
      name: methods.map((m) => ({ service: service.typeName, method: m.name })),
      retryPolicy: {
        maxAttempts: 4,
        initialBackoff: "0.05s",
        maxBackoff: "1s",
        backoffMultiplier: 2,
        retryableStatusCodes: ["UNAVAILABLE"],
      },
    }],
    retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
  });
}

/** The grpc-js channels behind one peer service, with the kit's retry policy. */
interface PeerChannels {
  /** The channel whose retry policy fits this call. */
  channelFor(method: DescMethod, options: CallOptions): Client;
  close(): void;
}

function peerChannels(service: DescService, peer: Pick<PeerConfig, "address">): PeerChannels {
  const channelOptions = (methods: readonly DescMethod[]) => ({
    "grpc.service_config": retryServiceConfig(service, methods),
    "grpc.enable_retries": 1,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    // grpc-js backs reconnects off up to 120 s: a peer back after a long
    // outage would stay unreachable for up to two minutes. Cap it.
    "grpc.max_reconnect_backoff_ms": 5_000,
  });
  const target = peer.address.includes("://") ? peer.address : `dns:///${peer.address}`;
  const safe = new Client(target, credentials.createInsecure(), channelOptions(service.methods.filter(isSafeToRetry)));
  // Calls with an idempotency key may be retried whatever the RPC; they use a
  // channel whose retry policy covers every method.
  let keyed: Client | undefined;
  return {
    channelFor: (method, options) =>
      options.idempotencyKey && !isSafeToRetry(method)
        ? (keyed ??= new Client(target, credentials.createInsecure(), channelOptions(service.methods)))
        : safe,
    close() {
      safe.close();
      keyed?.close();
    },
  };
}

/**
 * One unary call with the kit's rules: deadline, propagated headers, trace
 * context (a CLIENT span), cancellation, and failures as GrpcCallError.
 */
function unaryCall<Req, Res>(
  channels: PeerChannels,
  peer: Pick<PeerConfig, "deadlineMs">,
  method: DescMethod,
  codec: { readonly path: string; readonly serialize: (req: Req) => Buffer; readonly deserialize: (buf: Buffer) => Res },
  request: Req,
  options: CallOptions,
): Promise<Res> {
  const metadata = new Metadata();
  const { ctx } = options;
  if (ctx) {
    metadata.set(REQUEST_ID_HEADER, ctx.requestId);
    const auth = ctx.metadata.get(AUTHORIZATION_HEADER)[0];
    if (typeof auth === "string") metadata.set(AUTHORIZATION_HEADER, auth);
  }
  for (const [k, v] of Object.entries(options.headers ?? {})) metadata.set(k, v);
  if (options.idempotencyKey) metadata.set(IDEMPOTENCY_KEY_HEADER, options.idempotencyKey);
  const timeout = options.timeoutMs ?? peer.deadlineMs;
  const deadline = Math.min(Date.now() + timeout, ctx?.deadline ?? Number.POSITIVE_INFINITY);
  const channel = channels.channelFor(method, options);

  const span = tracer().startSpan(codec.path.slice(1), { kind: SpanKind.CLIENT, attributes: { "rpc.system": "grpc" } });
  injectContext((k, v) => metadata.set(k, v), trace.setSpan(otelContext.active(), span));
  return new Promise<Res>((resolve, reject) => {
    const call = channel.makeUnaryRequest(
      codec.path,
      codec.serialize,
      codec.deserialize,
      request,
      metadata,
      { deadline },
      (err: ServiceError | null, response?: Res) => {
        options.signal?.removeEventListener("abort", onAbort);
        ctx?.signal.removeEventListener("abort", onAbort);
        if (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: GrpcStatus[err.code] });
          span.setAttribute("rpc.grpc.status_code", err.code);
          span.end();
          reject(new GrpcCallError(err.code, err.details, decodeStatusDetails(err.metadata), err.metadata));
        } else {
          span.setAttribute("rpc.grpc.status_code", 0);
          span.end();
          resolve(response as Res);
        }
      },
    );
    const onAbort = (): void => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    ctx?.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A typed client for one peer service. Every call has a deadline (the
 * peer's default, never later than the inbound call's), carries the request
 * id, caller token and trace context, and is retried on UNAVAILABLE only when
 * the RPC is read-only/idempotent or the call carries an idempotency key.
 */
export function createServiceClient<S extends DescService>(
  service: S,
  peer: Pick<PeerConfig, "address" | "deadlineMs">,
): ServiceClient<S> {
  const definition = clientDefinitionOf(service);
  const channels = peerChannels(service, peer);
  const client: Record<string, unknown> = { close: () => channels.close() };
  for (const method of service.methods) {
    const def = definition[method.localName]!;
    const codec = { path: def.path, serialize: def.requestSerialize, deserialize: def.responseDeserialize };
    client[method.localName] = (init: MessageInitShape<DescMethod["input"]>, options: CallOptions = {}) =>
      unaryCall(channels, peer, method, codec, create(method.input, init), options);
  }
  return client as ServiceClient<S>;
}

/** A client that sends and receives serialized messages, for a proxy that need not decode them. */
export interface RawServiceClient {
  /** Calls a unary method of the service with the request's protobuf bytes; resolves to the response's bytes. */
  call(method: DescMethod, request: Buffer, options?: CallOptions): Promise<Buffer>;
  close(): void;
}

const identityBytes = (buf: Buffer): Buffer => buf;

/** Same channels, deadlines, retry policy and errors as {@link createServiceClient}, without (de)serialization. */
export function createRawServiceClient(service: DescService, peer: Pick<PeerConfig, "address" | "deadlineMs">): RawServiceClient {
  const channels = peerChannels(service, peer);
  const codecs = new Map(service.methods.map((m) => [m, { path: methodPath(m), serialize: identityBytes, deserialize: identityBytes }]));
  return {
    call(method, request, options = {}) {
      const codec = codecs.get(method);
      if (!codec) return Promise.reject(new Error(`${methodPath(method)} is not a method of ${service.typeName}`));
      return unaryCall(channels, peer, method, codec, request, options);
    },
    close: () => channels.close(),
  };
}
