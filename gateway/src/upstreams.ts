import { Gauge } from "prom-client";
import { HealthCheckResponse_ServingStatus, type Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { ServiceClient } from "../../services/platform/src/grpc/client.js";
import type { Logger } from "../../services/platform/src/logger.js";
import type { Metrics } from "../../services/platform/src/metrics.js";

export interface ProbedUpstream {
  readonly name: string;
  readonly health: ServiceClient<typeof Health>;
}

export interface UpstreamState {
  /** undefined until the first probe has answered or failed. */
  readonly up: boolean | undefined;
  /** When `up` last changed (ISO 8601), or undefined before the first probe. */
  readonly since: string | undefined;
  /** Why the last probe failed, for operators (may name addresses: ops port and log only). */
  readonly problem: string | undefined;
}

export interface UpstreamProbe {
  stateOf(name: string): UpstreamState | undefined;
  states(): Record<string, UpstreamState>;
  /** Called after every probe round (for health Watch). Returns the unsubscribe function. */
  onRound(listener: () => void): () => void;
  stop(): void;
}

/**
 * Probes each upstream's grpc.health.v1 Check("") every `intervalMs`, one
 * round at a time and each call bounded by `timeoutMs`, and publishes the
 * result as `gateway_upstream_up{upstream}` (1 = SERVING). The gateway's own
 * readiness does not depend on it: one upstream down is a per-route error and
 * a metric, not a reason to take every gateway replica out of the load balancer.
 */
export function startUpstreamProbe(options: {
  readonly upstreams: readonly ProbedUpstream[];
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}): UpstreamProbe {
  const { upstreams, log, intervalMs, timeoutMs } = options;
  const gauge = new Gauge({
    name: "gateway_upstream_up",
    help: "1 when the upstream's grpc.health.v1 Check answered SERVING at the last probe, else 0",
    labelNames: ["upstream"],
    registers: [options.metrics.registry],
  });
  const states = new Map<string, UpstreamState>(upstreams.map((u) => [u.name, { up: undefined, since: undefined, problem: undefined }]));
  const listeners = new Set<() => void>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const probeOne = async (u: ProbedUpstream): Promise<void> => {
    let problem: string | undefined;
    try {
      const res = await u.health.check({ service: "" }, { timeoutMs });
      if (res.status !== HealthCheckResponse_ServingStatus.SERVING) problem = `health status ${HealthCheckResponse_ServingStatus[res.status]}`;
    } catch (err) {
      problem = (err as Error).message || "health check failed";
    }
    if (stopped) return;
    const up = problem === undefined;
    const before = states.get(u.name)!;
    gauge.set({ upstream: u.name }, up ? 1 : 0);
    const changed = before.up !== up;
    states.set(u.name, { up, since: changed ? new Date().toISOString() : before.since, problem });
    if (changed && up) log.info({ upstream: u.name }, "upstream up");
    if (changed && !up) log.warn({ upstream: u.name, problem }, "upstream down");
  };
  const round = async (): Promise<void> => {
    await Promise.all(upstreams.map(probeOne));
    if (stopped) return;
    for (const l of listeners) l();
    // The next round starts after this one ends: a slow upstream never stacks probes.
    timer = setTimeout(() => void round(), intervalMs);
    timer.unref();
  };
  void round();

  return {
    stateOf: (name) => states.get(name),
    states: () => Object.fromEntries(states),
    onRound(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      listeners.clear();
    },
  };
}
