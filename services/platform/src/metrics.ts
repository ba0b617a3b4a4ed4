import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  readonly registry: Registry;
  readonly rpcRequests: Counter<"method" | "code">;
  readonly rpcDuration: Histogram<"method" | "code">;
}

/**
 * One registry per process (or per in-process server in tests), so that
 * several servers in one test do not collide on metric names.
 */
export function createMetrics(service: string, options: { readonly runtime?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.runtime ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    rpcRequests: new Counter({
      name: "rpc_server_requests_total",
      help: "RPCs served, by method and gRPC status code",
      labelNames: ["method", "code"],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: "rpc_server_duration_seconds",
      help: "RPC latency by method and gRPC status code",
      labelNames: ["method", "code"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}

/** Exposes a connection pool's counters as gauges, read at scrape time. */
export function registerPoolGauges(
  metrics: Metrics,
  name: string,
  read: () => { total: number; idle: number; waiting: number },
): void {
  const labelNames = ["pool", "state"] as const;
  new Gauge({
    name: "db_pool_connections",
    help: "Database pool connections by state",
    labelNames,
    registers: [metrics.registry],
    collect() {
      const s = read();
      this.set({ pool: name, state: "total" }, s.total);
      this.set({ pool: name, state: "idle" }, s.idle);
      this.set({ pool: name, state: "waiting" }, s.waiting);
    },
  });
}
