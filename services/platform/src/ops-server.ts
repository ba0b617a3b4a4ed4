import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when healthy; rejects or resolves a string describing the problem. */
  check(): Promise<string | undefined>;
}

/** An extra GET route on the ops port, e.g. the identity service's JWKS. */
export interface OpsRoute {
  readonly path: string;
  handle(): Promise<{ status: number; body: string; contentType?: string; cacheSeconds?: number }>;
}

export interface Readiness {
  readonly ready: boolean;
  /** Each check's name with "ok" or its problem. */
  readonly checks: Readonly<Record<string, string>>;
}

export interface OpsServer {
  listen(host: string, port: number): Promise<number>;
  /** Runs every readiness check now (what /readyz answers), and reports it to `onReadiness`. */
  readiness(): Promise<Readiness>;
  close(): Promise<void>;
  /** Makes /readyz fail regardless of checks (used while draining). */
  setDraining(): void;
}

/**
 * The operations port: /healthz (the process is alive), /readyz (it can do
 * useful work: each check passes) and /metrics (Prometheus text format).
 */
export function createOpsServer(
  registry: Registry,
  checks: readonly ReadinessCheck[],
  routes: readonly OpsRoute[] = [],
  onReadiness: (readiness: Readiness) => void = () => undefined,
): OpsServer {
  let draining = false;
  const readiness = async (): Promise<Readiness> => {
    const results = await Promise.all(checks.map(async (c) => {
      try {
        return { name: c.name, problem: await withTimeout(c.check(), 2_000) };
      } catch (err) {
        return { name: c.name, problem: (err as Error).message || "failed" };
      }
    }));
    const result = {
      ready: results.every((r) => r.problem === undefined),
      checks: Object.fromEntries(results.map((r) => [r.name, r.problem ?? "ok"])),
    };
    // Draining wins over any check: stop() has already said NOT_SERVING.
    if (!draining) onReadiness(result);
    return result;
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, body: string, type = "application/json"): void => {
      res.setHeader("cache-control", "no-store");
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, JSON.stringify({ error: "method not allowed" }));
    if (path === "/healthz") return send(200, JSON.stringify({ status: "ok" }));
    if (path === "/readyz") {
      if (draining) return send(503, JSON.stringify({ status: "draining" }));
      void readiness().then(({ ready, checks: results }) => {
        send(ready ? 200 : 503, JSON.stringify({ status: ready ? "ready" : "not ready", checks: results }));
      });
      return;
    }
    if (path === "/metrics") {
      void registry.metrics().then((text) => send(200, text, registry.contentType), () => send(500, "metrics failed"));
      return;
    }
    const route = routes.find((r) => r.path === path);
    if (route) {
      void route.handle().then(
        (r) => {
          if (r.cacheSeconds !== undefined) res.setHeader("cache-control", `public, max-age=${r.cacheSeconds}`);
          res.writeHead(r.status, { "content-type": r.contentType ?? "application/json" });
          res.end(r.body);
        },
        () => send(500, JSON.stringify({ error: "internal error" })),
      );
      return;
    }
    send(404, JSON.stringify({ error: "not found" }));
  });
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    readiness,
    close: () => new Promise((resolve) => server.close(() => resolve())),
    setDraining() {
      draining = true;
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e as Error); });
  });
}
