import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import type { ServiceClient } from "../../services/platform/src/grpc/client.js";
import type { Logger } from "../../services/platform/src/logger.js";
import type { UpstreamProbe } from "./upstreams.js";

export interface HealthUpstream {
  readonly name: string;
  readonly service: DescService;
  readonly health: ServiceClient<typeof Health>;
}

export interface GatewayHealth {
  /** The gateway is shutting down: "" and every routed service turn NOT_SERVING, Watch streams end. */
  setDraining(): void;
}

/**
 * grpc.health.v1.Health answered by the gateway: service "" is the gateway
 * itself (SERVING until it drains); a routed service's name is that upstream's
 * own Check for the name, proxied with a short deadline (NOT_SERVING when it
 * cannot be reached); any other name is NOT_FOUND. Watch and List use the
 * periodic upstream probe instead of calling the upstream per stream.
 */
export function addHealth(router: ConnectRouter, options: {
  readonly upstreams: readonly HealthUpstream[];
  readonly probe: UpstreamProbe;
  readonly checkTimeoutMs: number;
  readonly log: Logger;
}): GatewayHealth {
  const { upstreams, probe, checkTimeoutMs, log } = options;
  const byService = new Map(upstreams.map((u) => [u.service.typeName, u]));
  let draining = false;
  const wakeOnDrain = new Set<() => void>();

  const probedStatus = (service: string): Status => {
    if (draining) return service === "" || byService.has(service) ? Status.NOT_SERVING : Status.SERVICE_UNKNOWN;
    if (service === "") return Status.SERVING;
    const u = byService.get(service);
    if (!u) return Status.SERVICE_UNKNOWN;
    const up = probe.stateOf(u.name)?.up;
    return up === undefined ? Status.UNKNOWN : up ? Status.SERVING : Status.NOT_SERVING;
  };

  /** Resolves at the next probe round, when draining starts or when the call ends. */
  const nextChange = (signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        unsubscribe();
        wakeOnDrain.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const unsubscribe = probe.onRound(done);
      wakeOnDrain.add(done);
      signal.addEventListener("abort", done, { once: true });
    });

  router.service(Health, {
    async check(req) {
      if (req.service === "") return { status: draining ? Status.NOT_SERVING : Status.SERVING };
      const u = byService.get(req.service);
      if (!u) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      if (draining) return { status: Status.NOT_SERVING };
      try {
        return { status: (await u.health.check({ service: req.service }, { timeoutMs: checkTimeoutMs })).status };
      } catch (err) {
        log.debug({ upstream: u.name, err }, "upstream health check failed");
        return { status: Status.NOT_SERVING };
      }
    },
    async *watch(req, ctx) {
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const status = probedStatus(req.service);
        if (status !== last) yield { status };
        last = status;
        if (draining) return;
        await nextChange(ctx.signal);
      }
    },
    async list() {
      const statuses: Record<string, { status: Status }> = { "": { status: probedStatus("") } };
      for (const name of byService.keys()) statuses[name] = { status: probedStatus(name) };
      return { statuses };
    },
  });

  return {
    setDraining() {
      draining = true;
      for (const wake of [...wakeOnDrain]) wake();
    },
  };
}
