import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { fromBinary, fromJson, toBinary, toJsonString, type DescMethod, type DescService, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes, parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type { PeerConfig } from "../../services/platform/src/config.js";
import { AUTHORIZATION_HEADER, IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER } from "../../services/platform/src/context.js";
import { createRawServiceClient, GrpcCallError, type CallOptions, type RawServiceClient } from "../../services/platform/src/grpc/client.js";
import { methodPath } from "../../services/platform/src/grpc/service-definition.js";
import { STATUS_DETAILS_KEY } from "../../services/platform/src/grpc/status.js";
import { toConnectError, transportFailureOf } from "./errors.js";
import { createEdgePipeline, type EdgeOptions } from "./interceptors.js";

type Request = IncomingMessage | Http2ServerRequest;
/** What the raw lane uses of an HTTP/1.1 or HTTP/2 (compatibility API) response. */
interface Response {
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  addTrailers(trailers: Record<string, string>): void;
  end(body?: Uint8Array | string): unknown;
  once(event: "close", listener: () => void): unknown;
  readonly writableFinished: boolean;
  destroy(): void;
}

/** The wire protocols the raw lane serves; everything else stays with Connect's handler. */
type Protocol = "grpc" | "grpc-web" | "grpc-web-text" | "connect" | "connect-json";

/** Largest request message, as Connect's handler (`readMaxBytes`). */
export const RAW_LANE_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const ENVELOPE_HEADER_BYTES = 5;
/** No deadline header is as good as any deadline Connect accepts. */
const MAX_TIMEOUT_MS = Number.MAX_SAFE_INTEGER;

export interface RawRoute {
  /** The upstream's name in the gateway's config (fleet, identity): what clients are told is unavailable. */
  readonly name: string;
  readonly service: DescService;
  readonly peer: Pick<PeerConfig, "address" | "deadlineMs">;
}

export interface RawLane {
  /** Serves the request and returns true, or returns false and leaves it untouched for Connect's handler. */
  serve(req: Request, res: ServerResponse | Http2ServerResponse): boolean;
  close(): void;
}

/**
 * The gateway's fast lane for protobuf payloads. The gateway authorizes from
 * the method path and headers alone, so for gRPC, gRPC-web (binary and
 * base64 text) and Connect unary with `application/proto` it forwards the
 * request message's bytes to the upstream and the response's bytes back,
 * without decoding or re-encoding them. It runs the same edge pipeline as
 * Connect's handler (request id, trace span, access log, metrics, token and
 * permission check) and calls the upstream through the platform client (its
 * deadlines, retry policy and channels), with identity serializers.
 *
 * Not served here, so left to Connect's handler: unknown paths, streaming
 * methods, JSON, Connect GET, compressed requests, gRPC over HTTP/1.1.
 */
export function createRawLane(routes: readonly RawRoute[], options: EdgeOptions): RawLane {
  const methods = new Map<string, { method: DescMethod; client: RawServiceClient }>();
  const upstreamOf = new Map<DescService, string>();
  const clients: RawServiceClient[] = [];
  for (const { name, service, peer } of routes) {
    const client = createRawServiceClient(service, peer);
    clients.push(client);
    upstreamOf.set(service, name);
    for (const method of service.methods) {
      if (method.methodKind === "unary") methods.set(methodPath(method), { method, client });
    }
  }
  // The same rewrite as the Connect lane's proxy: transport failures in plain words, the rest as the upstream said.
  const pipeline = createEdgePipeline(options, (err, call) =>
    transportFailureOf(upstreamOf.get(call.method.parent) ?? call.method.parent.name, err) ?? toConnectError(err));

  return {
    serve(req, res) {
      if (req.method !== "POST") return false;
      const url = req.url ?? "";
      const query = url.indexOf("?");
      const route = methods.get(query === -1 ? url : url.slice(0, query));
      if (!route) return false;
      const contentType = headerOf(req, "content-type");
      const protocol = protocolOf(contentType, req);
      if (!protocol) return false;
      serveCall(req, res as Response, route.method, route.client, protocol, contentType!);
      return true;
    },
    close() {
      for (const client of clients) client.close();
    },
  };

  function serveCall(req: Request, res: Response, method: DescMethod, client: RawServiceClient, protocol: Protocol, contentType: string): void {
    // A client that goes away cancels the upstream call, and gets no reply.
    const receivedAt = Date.now();
    const abort = new AbortController();
    let gone = false;
    res.once("close", () => {
      if (res.writableFinished) return;
      gone = true;
      abort.abort();
    });
    const header = (name: string) => headerOf(req, name);
    let requestId = "";
    let upstreamFailure: GrpcCallError | undefined;
    pipeline({ method, header, lane: "raw" }, async (id) => {
      requestId = id;
      const timeoutMs = timeoutOf(protocol, header);
      const message = unwrapRequest(protocol, method, await readBody(req, bodyLimitOf(protocol)));
      const callOptions: CallOptions = {
        headers: forwardedHeaders(id, header),
        signal: abort.signal,
        idempotencyKey: header(IDEMPOTENCY_KEY_HEADER),
        ...(timeoutMs === undefined ? {} : { timeoutMs: Math.max(0, timeoutMs - (Date.now() - receivedAt)) }),
      };
      try {
        return await client.call(method, message, callOptions);
      } catch (err) {
        if (err instanceof GrpcCallError) upstreamFailure = err;
        throw err;
      }
    }).then(
      (response) => {
        if (!gone) writeResponse(res, protocol, method, contentType, requestId, response);
      },
      (err: unknown) => {
        if (gone) return;
        const failure = err instanceof ConnectError ? err : toConnectError(err);
        writeFailure(res, protocol, contentType, requestId || (failure.metadata.get(REQUEST_ID_HEADER) ?? ""), failure, upstreamDetailsOf(upstreamFailure, failure));
      },
    ).catch((err: unknown) => {
      options.log.error({ err, requestId }, "raw lane could not write a response");
      res.destroy();
    });
  }
}

function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

function protocolOf(contentType: string | undefined, req: Request): Protocol | undefined {
  if (contentType === undefined) return undefined;
  const semicolon = contentType.indexOf(";");
  const type = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  let protocol: Protocol;
  switch (type) {
    case "application/grpc":
    case "application/grpc+proto":
      // gRPC needs HTTP/2 trailers; Connect's handler answers the mistake.
      if (req.httpVersionMajor !== 2) return undefined;
      protocol = "grpc";
      break;
    case "application/grpc-web":
    case "application/grpc-web+proto":
      protocol = "grpc-web";
      break;
    case "application/grpc-web-text":
    case "application/grpc-web-text+proto":
      protocol = "grpc-web-text";
      break;
    case "application/proto":
      protocol = "connect";
      break;
    case "application/json":
      protocol = "connect-json";
      break;
    default:
      return undefined;
  }
  // Compressed requests and unknown Connect versions are rare: Connect's handler knows them.
  if (protocol === "connect" || protocol === "connect-json") {
    if (!isIdentity(headerOf(req, "content-encoding"))) return undefined;
    const version = headerOf(req, "connect-protocol-version");
    if (version !== undefined && version !== "1") return undefined;
  } else if (!isIdentity(headerOf(req, "grpc-encoding"))) {
    return undefined;
  }
  return protocol;
}

const isIdentity = (encoding: string | undefined): boolean => encoding === undefined || encoding === "identity";

function timeoutOf(protocol: Protocol, header: (name: string) => string | undefined): number | undefined {
  const parsed = protocol === "connect" || protocol === "connect-json"
    ? parseConnectTimeout(header("connect-timeout-ms") ?? null, MAX_TIMEOUT_MS)
    : parseGrpcTimeout(header("grpc-timeout") ?? null, MAX_TIMEOUT_MS);
  if (parsed.error) throw parsed.error;
  return parsed.timeoutMs;
}

/** The same headers the Connect lane's proxy forwards (`proxy.ts`). */
function forwardedHeaders(requestId: string, header: (name: string) => string | undefined): Record<string, string> {
  const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestId };
  const authorization = header(AUTHORIZATION_HEADER);
  if (authorization !== undefined) headers[AUTHORIZATION_HEADER] = authorization;
  return headers;
}

function bodyLimitOf(protocol: Protocol): number {
  const enveloped = ENVELOPE_HEADER_BYTES + RAW_LANE_MAX_MESSAGE_BYTES;
  switch (protocol) {
    case "connect":
    case "connect-json":
      return RAW_LANE_MAX_MESSAGE_BYTES;
    case "grpc-web-text":
      // Base64 of one envelope, with room for padding between segments.
      return Math.ceil(enveloped / 3) * 4 + 64;
    default:
      return enveloped;
  }
}

const tooLarge = (size: number): ConnectError =>
  new ConnectError(`message size ${size} is larger than configured readMaxBytes ${RAW_LANE_MAX_MESSAGE_BYTES}`, Code.ResourceExhausted);

/** The request body, refused as soon as it grows past `maxBytes`. */
function readBody(req: Request, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("aborted", onAbort);
      req.off("close", onAbort);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        // The stream keeps flowing with no listener: the rest is read and dropped.
        cleanup();
        reject(tooLarge(size));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onAbort = (): void => {
      cleanup();
      reject(new ConnectError("request aborted by the client", Code.Canceled));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("aborted", onAbort);
    req.on("close", onAbort);
  });
}

const protocolError = (message: string): ConnectError => new ConnectError(`protocol error: ${message}`, Code.InvalidArgument);

/** The request message's bytes, out of the protocol's framing. */
function unwrapRequest(protocol: Protocol, method: DescMethod, body: Buffer): Buffer {
  switch (protocol) {
    case "connect":
      return body;
    case "connect-json":
      // JSON is transcoded here, once each way: the upstream still gets protobuf bytes.
      return Buffer.from(toBinary(method.input, jsonRequestOf(method, body)));
    case "grpc-web-text":
      return unwrapEnvelope(decodeBase64Segments(body.toString("latin1")));
    default:
      return unwrapEnvelope(body);
  }
}

/** A unary request is exactly one uncompressed length-prefixed message. */
function unwrapEnvelope(body: Buffer): Buffer {
  if (body.length < ENVELOPE_HEADER_BYTES) throw protocolError("missing request message");
  const flags = body[0]!;
  if (flags !== 0) throw protocolError(flags === 1 ? "compressed message without grpc-encoding" : `invalid envelope flags ${flags}`);
  const length = body.readUInt32BE(1);
  if (length > RAW_LANE_MAX_MESSAGE_BYTES) throw tooLarge(length);
  const available = body.length - ENVELOPE_HEADER_BYTES;
  if (available < length) throw protocolError(`promised ${length} bytes in enveloped message, got ${available} bytes`);
  if (available > length) throw protocolError("unary request has more than one message");
  return body.subarray(ENVELOPE_HEADER_BYTES);
}

const BASE64_SEGMENT = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * gRPC-web text bodies are base64, possibly several padded segments one
 * after the other (a client may encode each write on its own). Node's
 * decoder stops at the first padding, so each segment is decoded apart.
 * (Simple character-class patterns only: a 5 MB body must not backtrack.)
 */
export function decodeBase64Segments(text: string): Buffer {
  const segments = text.split(/(?<==)(?=[^=])/);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (!BASE64_SEGMENT.test(segment) || (last ? segment.length % 4 === 1 : segment.length % 4 !== 0)) {
      throw protocolError("gRPC-web text body is not base64");
    }
  }
  return segments.length === 1 ? Buffer.from(text, "base64") : Buffer.concat(segments.map((segment) => Buffer.from(segment, "base64")));
}

function envelope(flags: number, payload: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + payload.length);
  framed[0] = flags;
  framed.writeUInt32BE(payload.length, 1);
  framed.set(payload, ENVELOPE_HEADER_BYTES);
  return framed;
}

const GRPC_WEB_OK_TRAILER = envelope(trailerFlag, Buffer.from("grpc-status: 0\r\n"));

/** A Connect JSON request body as the message, with Connect's handler's rules: unknown fields are a client mistake. */
function jsonRequestOf(method: DescMethod, body: Buffer) {
  let json: JsonValue;
  try {
    json = body.length === 0 ? {} : (JSON.parse(body.toString("utf8")) as JsonValue);
  } catch (err) {
    throw new ConnectError(`cannot decode message ${method.input.typeName} from JSON: ${(err as Error).message}`, Code.InvalidArgument);
  }
  try {
    return fromJson(method.input, json, { ignoreUnknownFields: false });
  } catch (err) {
    throw new ConnectError(`cannot decode message ${method.input.typeName} from JSON: ${(err as Error).message}`, Code.InvalidArgument);
  }
}

function writeResponse(res: Response, protocol: Protocol, method: DescMethod, contentType: string, requestId: string, message: Buffer): void {
  switch (protocol) {
    case "connect-json":
      res.writeHead(200, { "content-type": "application/json", [REQUEST_ID_HEADER]: requestId });
      res.end(toJsonString(method.output, fromBinary(method.output, message)));
      return;
    case "grpc":
      res.writeHead(200, { "content-type": contentType, [REQUEST_ID_HEADER]: requestId });
      res.addTrailers({ "grpc-status": "0" });
      res.end(envelope(0, message));
      return;
    case "grpc-web":
      res.writeHead(200, { "content-type": contentType, [REQUEST_ID_HEADER]: requestId });
      res.end(Buffer.concat([envelope(0, message), GRPC_WEB_OK_TRAILER]));
      return;
    case "grpc-web-text":
      res.writeHead(200, { "content-type": contentType, [REQUEST_ID_HEADER]: requestId });
      res.end(Buffer.concat([envelope(0, message), GRPC_WEB_OK_TRAILER]).toString("base64"));
      return;
    case "connect":
      res.writeHead(200, { "content-type": "application/proto", [REQUEST_ID_HEADER]: requestId });
      res.end(message);
      return;
  }
}

/**
 * The upstream's own grpc-status-details-bin, when the error passes through
 * unchanged: the client gets the bytes the service sent.
 */
function upstreamDetailsOf(upstream: GrpcCallError | undefined, failure: ConnectError): string | undefined {
  if (!upstream || (upstream.code as number) !== failure.code) return undefined;
  const raw = upstream.trailers?.get(STATUS_DETAILS_KEY)[0];
  return Buffer.isBuffer(raw) ? raw.toString("base64") : undefined;
}

function writeFailure(res: Response, protocol: Protocol, contentType: string, requestId: string, failure: ConnectError, upstreamDetails: string | undefined): void {
  if (protocol === "connect" || protocol === "connect-json") {
    // Connect unary: the HTTP status tells the code, the body is the JSON error.
    const headers: Record<string, string> = { "content-type": "application/json", [REQUEST_ID_HEADER]: requestId };
    res.writeHead(codeToHttpStatus(failure.code), headers);
    res.end(errorToJsonBytes(failure, {}));
    return;
  }
  const trailer = setTrailerStatus(new Headers(), failure);
  trailer.delete(REQUEST_ID_HEADER); // already a response header
  if (upstreamDetails !== undefined) trailer.set(STATUS_DETAILS_KEY, upstreamDetails);
  res.writeHead(200, { "content-type": contentType, [REQUEST_ID_HEADER]: requestId });
  if (protocol === "grpc") {
    res.addTrailers(Object.fromEntries(trailer));
    res.end();
    return;
  }
  const frame = envelope(trailerFlag, trailerSerialize(trailer));
  res.end(protocol === "grpc-web-text" ? frame.toString("base64") : frame);
}

