// Benchmarks only: HTTP plumbing for the processes a benchmark starts.
import { once } from "node:events";
import { Agent, request } from "node:http";
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
