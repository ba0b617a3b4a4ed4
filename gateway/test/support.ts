import { pino } from "pino";
import type { Logger } from "../../services/platform/src/logger.js";
import { startFleet, type FleetHarness } from "../../services/fleet/test/support.js";
import { gatewayConfigSchema } from "../src/config.js";
import { build, type RunningGateway } from "../src/main.js";

export interface MeshHarness {
  readonly fleet: FleetHarness;
  readonly gateway: RunningGateway;
  readonly baseUrl: string;
  stop(): Promise<void>;
}

export const ALLOWED_ORIGIN = "http://app.example.test";

/** Fleet against a fresh database plus a gateway in front of it, both on port 0. */
export async function startMesh(options: { readonly gatewayLog?: Logger } = {}): Promise<MeshHarness> {
  const fleet = await startFleet();
  const config = gatewayConfigSchema.parse({
    service: { name: "gateway" },
    http: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    auth: fleet.config.auth,
    cors: { allowedOrigins: [ALLOWED_ORIGIN] },
    upstreams: { fleet: { address: `127.0.0.1:${fleet.service.grpcPort}`, deadlineMs: 5_000 } },
    log: { level: "silent" },
    shutdown: { graceMs: 1_000 },
  });
  const gateway = await build(config, { log: options.gatewayLog ?? pino({ level: "silent" }) });
  return {
    fleet,
    gateway,
    baseUrl: `http://127.0.0.1:${gateway.port}`,
    async stop() {
      await gateway.stop();
      await fleet.stop();
    },
  };
}
