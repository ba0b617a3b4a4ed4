import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";

type Handler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface EdgeServer {
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting connections and closes them once in-flight requests finish. */
  close(graceMs: number): Promise<void>;
}

/**
 * One plaintext port for HTTP/1.1 (Connect, gRPC-web from browsers and curl)
 * and HTTP/2 with prior knowledge (gRPC, Connect over h2c): the first bytes
 * of a connection tell which server gets it. TLS ends at the load balancer.
 */
export function createEdgeServer(handler: Handler): EdgeServer {
  const http1 = createHttp1Server({ keepAliveTimeout: 65_000 }, handler);
  const http2 = createHttp2Server({}, handler);
  const sockets = new Set<Socket>();
  const net = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const n = Math.min(buffered.length, H2_PREFACE.length);
      const isH2 = buffered.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && buffered.length < H2_PREFACE.length) return; // wait for the whole preface
      socket.off("data", onData);
      if (isH2) {
        // The HTTP/2 session drains bytes already buffered in the socket
        // before it starts reading the native handle itself.
        socket.pause();
        socket.unshift(buffered);
        http2.emit("connection", socket);
      } else {
        socket.pause();
        socket.unshift(buffered);
        http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  });
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        net.once("error", reject);
        net.listen(port, host, () => resolve((net.address() as AddressInfo).port));
      }),
    close: (graceMs) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, graceMs);
        timer.unref();
        http1.closeIdleConnections();
        http1.close();
        http2.close();
        net.close(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

