import { resolve } from "node:path";
import {
  authConfigSchema,
  configFilesOf,
  listenConfigSchema,
  loadConfig,
  logConfigSchema,
  peerConfigSchema,
  shutdownConfigSchema,
  telemetryConfigSchema,
  listOf,
  z,
} from "../../services/platform/src/config.js";
import { repoRoot } from "../../services/platform/src/db.js";

export const gatewayConfigSchema = z.strictObject({
  service: z.strictObject({ name: z.string().min(1) }),
  http: listenConfigSchema,
  ops: listenConfigSchema,
  auth: authConfigSchema,
  cors: z.strictObject({
    /** Browser origins allowed to call the gateway; "*" is refused on purpose (credentials). */
    allowedOrigins: listOf(z.string().url()).default([]),
    maxAgeSec: z.coerce.number().int().min(0).max(86_400).default(7200),
  }),
  /**
   * Internal services the gateway routes to, by their name in
   * services/registry.yaml; a service without an entry is not exposed. Each
   * routes the gRPC services the registry lists for it, or `services` (full
   * names from proto/) for one the registry does not know.
   */
  upstreams: z.record(
    z.string().regex(/^[a-z][a-z0-9]*$/),
    peerConfigSchema.extend({ services: listOf(z.string().min(1)).optional() }),
  ).default({}),
  /**
   * The periodic grpc.health.v1 probe of every upstream behind the metric
   * gateway_upstream_up; also the deadline of a proxied health Check.
   */
  upstreamProbe: z.strictObject({
    intervalMs: z.coerce.number().int().min(100).max(300_000).default(5_000),
    timeoutMs: z.coerce.number().int().min(50).max(30_000).default(1_000),
  }).default({ intervalMs: 5_000, timeoutMs: 1_000 }),
  log: logConfigSchema.default({ level: "info" }),
  telemetry: telemetryConfigSchema.default({ exporter: "none" }),
  shutdown: shutdownConfigSchema.default({ graceMs: 10_000 }),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  return loadConfig(gatewayConfigSchema, {
    files: configFilesOf(resolve(repoRoot, "gateway/config/default.yaml"), "gateway", env),
    env,
  });
}
