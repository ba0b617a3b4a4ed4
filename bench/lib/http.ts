// Benchmarks only: HTTP plumbing for the processes a benchmark starts.
import { once } from "node:events";
import { Agent, request } from "node:http";
import { connect, type IncomingHttpHeaders } from "node:http2";
import { createServer } from "node:net";

/**
 * An HTTP/1.1 client that sends each request in one write with a
 * content-length, as a browser's fetch does. (connect-node's HTTP/1.1
 * transport flushes the headers first and then streams a chunked body: more
 * TCP segments and parser calls at both ends than a browser causes.)
 */
export function browserLikeClient(baseUrl: string, sockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const { hostname, port } = new URL(baseUrl);
  return {
    post: (path: string, contentType: string, body: Uint8Array | string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
        const req = request({
          agent, host: hostname, port, method: "POST", path,
          headers: { "content-type": contentType, "content-length": String(Buffer.byteLength(body)), ...headers },
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
        });
        req.on("error", reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** A TCP port free on 127.0.0.1 just now. */
export const freePort = async (): Promise<number> => {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  return port;
};

/** Waits until the ops port answers /readyz (every 100 ms, `tries` times: a minute by default, start-up is slow on a busy machine). */
export async function waitReady(port: number, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never became ready`);
}

/** What a unary gRPC call answered: its grpc-status, and its message bytes when OK. */
export interface GrpcAnswer {
  readonly status: number;
  readonly message: string;
  /** The response message (without the 5-byte frame prefix), when status is 0. */
  readonly body: Buffer;
  /** grpc-status-details-bin: a google.rpc.Status, when the server sent one. */
  readonly details: Buffer | undefined;
}

/**
 * A minimal gRPC unary caller over node:http2, for load generation: one
 * HTTP/2 connection (as a grpc-js channel has), the request message already
 * encoded, only the status trailers read. What pgbench's C client is to
 * PostgreSQL, next to a full client stack: the server sees the same gRPC
 * calls, the caller spends less of the shared CPU making them.
 */
export function leanGrpcClient(address: string) {
  const session = connect(`http://${address}`);
  session.on("error", () => undefined);
  return {
    unary: (path: string, message: Uint8Array, headers: Record<string, string>) =>
      new Promise<GrpcAnswer>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers,
        });
        const chunks: Buffer[] = [];
        let status: string | undefined;
        let grpcMessage = "";
        let details: Buffer | undefined;
        const take = (h: IncomingHttpHeaders) => {
          if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
          if (h["grpc-message"] !== undefined) grpcMessage = decodeURIComponent(String(h["grpc-message"]));
          const bin = h["grpc-status-details-bin"];
          if (bin !== undefined) details = Buffer.from(String(bin), "base64");
        };
        stream.on("response", take);
        stream.on("trailers", take);
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("error", reject);
        stream.on("close", () => {
          if (status === undefined) {
            reject(new Error(`no grpc-status (HTTP/2 stream closed with code ${stream.rstCode})`));
            return;
          }
          const framed = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve({ status: Number(status), message: grpcMessage, body: framed.subarray(5), details });
        });
        const frame = Buffer.allocUnsafe(5 + message.byteLength);
        frame.writeUInt8(0, 0);
        frame.writeUInt32BE(message.byteLength, 1);
        frame.set(message, 5);
        stream.end(frame);
      }),
    close: () => session.close(),
  };
}
