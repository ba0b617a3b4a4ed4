import { Counter, Gauge, Histogram, type Registry } from "prom-client";

// Several relays or consumers may share one registry (replicas in a test
// process, a consumer restarted by its supervisor): each metric is created
// once per registry and then reused.
function once<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export const counter = <L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> =>
  once(registry, name, () => new Counter({ name, help, labelNames, registers: [registry] }));

export const histogram = <L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
): Histogram<L> => once(registry, name, () => new Histogram({ name, help, labelNames, buckets, registers: [registry] }));

export const gauge = <L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  collect?: (this: Gauge<L>) => void | Promise<void>,
): Gauge<L> =>
  once(registry, name, () => new Gauge({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) }));

/** Seconds, from 1 ms to 1 min: lag and latency of events. */
export const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
