import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";

/** The part of http.ServerResponse and http2.Http2ServerResponse used here (what connect-node's fallback gets). */
interface Response {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  addTrailers(trailers: Record<string, string>): void;
  end(body?: string | Uint8Array): unknown;
}

const GRPC_UNIMPLEMENTED = "12";

/** grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself. */
const percentEncode = (text: string): string =>
  [...Buffer.from(text, "utf8")].map((b) => (b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`)).join("");

/** A gRPC-web trailer frame: flag 0x80, 4-byte big-endian length, then HTTP/1-style header lines. */
function grpcWebTrailerFrame(trailers: Record<string, string>): Buffer {
  const text = Buffer.from(Object.entries(trailers).map(([k, v]) => `${k}: ${v}\r\n`).join(""), "latin1");
  const head = Buffer.alloc(5);
  head[0] = 0x80;
  head.writeUInt32BE(text.length, 1);
  return Buffer.concat([head, text]);
}

/**
 * What the gateway answers for a path no route serves, in the caller's
 * protocol: gRPC gets UNIMPLEMENTED in the trailers (not a bare HTTP 404,
 * which grpc clients report as a misleading INTERNAL); gRPC-web gets it in a
 * trailer frame (base64 for grpc-web-text); anything else (Connect, plain
 * HTTP) gets the Connect error 404 `unimplemented`.
 */
export function unimplemented(req: IncomingMessage | Http2ServerRequest, response: object): void {
  const res = response as Response;
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const message = `${path.length > 200 ? `${path.slice(0, 200)}...` : path} is not served by the gateway`;
  const contentType = (req.headers["content-type"] ?? "").toLowerCase();
  const status = { "grpc-status": GRPC_UNIMPLEMENTED, "grpc-message": percentEncode(message) };
  if (/^application\/grpc-web(-text)?([+;]|$)/.test(contentType)) {
    const frame = grpcWebTrailerFrame(status);
    const text = contentType.startsWith("application/grpc-web-text");
    res.writeHead(200, { "content-type": contentType.split(";")[0]! });
    res.end(text ? frame.toString("base64") : frame);
    return;
  }
  if (/^application\/grpc([+;]|$)/.test(contentType)) {
    res.writeHead(200, { "content-type": contentType.split(";")[0]! });
    res.addTrailers(status);
    res.end();
    return;
  }
  const body = JSON.stringify({ code: "unimplemented", message });
  res.writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}
