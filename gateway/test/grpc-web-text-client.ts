// A minimal gRPC-web text (base64) client, as Google's grpc-web JS client
// speaks it by default: Connect's transports do not speak this mode. Used by
// the gateway e2e tests and the gateway benchmark.
import { Agent, request } from "node:http";
import { fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape, create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";

export interface GrpcWebTextReply {
  readonly httpStatus: number;
  readonly contentType: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw response body (base64 text). */
  readonly body: string;
  /** Data frames' payloads. */
  readonly messages: readonly Buffer[];
  /** The trailer frame's fields, lower-case names. */
  readonly trailer: Headers;
}

export interface GrpcWebTextClient {
  /**
   * Posts one enveloped message. `segments` > 1 splits the envelope into that
   * many parts, each base64-encoded (and padded) on its own, as a client that
   * encodes each write does.
   */
  post(path: string, message: Uint8Array, headers?: Record<string, string>, segments?: number): Promise<GrpcWebTextReply>;
  /** A typed unary call: resolves to the response, rejects with the ConnectError the trailer carries. */
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    input: MessageInitShape<I>,
    headers?: Record<string, string>,
  ): Promise<MessageShape<O>>;
  close(): void;
}

export const envelope = (flags: number, payload: Uint8Array): Buffer => {
  const framed = Buffer.alloc(5 + payload.length);
  framed[0] = flags;
  framed.writeUInt32BE(payload.length, 1);
  framed.set(payload, 5);
  return framed;
};

export function encodeGrpcWebText(message: Uint8Array, segments = 1): string {
  const framed = envelope(0, message);
  const size = Math.ceil(framed.length / segments);
  let text = "";
  for (let at = 0; at < framed.length; at += size) text += framed.subarray(at, at + size).toString("base64");
  return text;
}

/** gRPC-web response frames: the messages, then the trailer frame's fields. */
export function parseFrames(bytes: Buffer): { messages: Buffer[]; trailer: Headers } {
  const messages: Buffer[] = [];
  const trailer = new Headers();
  for (let at = 0; at + 5 <= bytes.length;) {
    const flags = bytes[at]!;
    const length = bytes.readUInt32BE(at + 1);
    const payload = bytes.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if ((flags & 0x80) === 0) {
      messages.push(payload);
      continue;
    }
    for (const line of payload.toString("utf8").split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) trailer.append(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  return { messages, trailer };
}

export function createGrpcWebTextClient(baseUrl: string): GrpcWebTextClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(baseUrl);
  const post: GrpcWebTextClient["post"] = (path, message, headers = {}, segments = 1) =>
    new Promise((resolve, reject) => {
      const body = encodeGrpcWebText(message, segments);
      const req = request({
        agent,
        host: url.hostname,
        port: url.port,
        method: "POST",
        path,
        headers: {
          "content-type": "application/grpc-web-text",
          accept: "application/grpc-web-text",
          "x-grpc-web": "1",
          "content-length": String(Buffer.byteLength(body)),
          ...headers,
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("latin1");
          const { messages, trailer } = parseFrames(Buffer.from(text, "base64"));
          resolve({ httpStatus: res.statusCode ?? 0, contentType: res.headers["content-type"], headers: res.headers, body: text, messages, trailer });
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  return {
    post,
    async unary(method, input, headers) {
      const reply = await post(`/${method.parent.typeName}/${method.name}`, toBinary(method.input, create(method.input, input)), headers);
      const error = findTrailerError(reply.trailer);
      if (error) throw error;
      if (reply.messages.length !== 1) throw new ConnectError(`expected one message, got ${reply.messages.length} (HTTP ${reply.httpStatus})`);
      return fromBinary(method.output, reply.messages[0]!);
    },
    close: () => agent.destroy(),
  };
}
