import { pathToFileURL } from "node:url";
import { cors as connectCors } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { IdentityService } from "../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { createTokenVerifier, type TokenVerifier } from "../../services/platform/src/auth.js";
import { createServiceClient, type ServiceClient } from "../../services/platform/src/grpc/client.js";
import { exitOnStartupFailure, stopOnSignals } from "../../services/platform/src/lifecycle.js";
import { createLogger, type Logger } from "../../services/platform/src/logger.js";
import { createMetrics, type Metrics } from "../../services/platform/src/metrics.js";
import { createOpsServer } from "../../services/platform/src/ops-server.js";
import { startTelemetry } from "../../services/platform/src/telemetry.js";
import { loadGatewayConfig, type GatewayConfig } from "./config.js";
import { edgeInterceptor } from "./interceptors.js";
import { createJwksEndpoint, createTokenEndpoint, JWKS_PATH, TOKEN_PATH } from "./oauth.js";
import { createOperatorHandler } from "./operator.js";
import { proxyService } from "./proxy.js";
import { createRawLane } from "./raw-lane.js";
import { createEdgeServer } from "./server.js";
import { startUpstreamProbe } from "./upstreams.js";

const ALLOWED_HEADERS = [...connectCors.allowedHeaders, "Authorization", "Idempotency-Key", "X-Request-Id", "Traceparent", "Tracestate"];
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, "X-Request-Id"];

export interface RunningGateway {
  readonly port: number;
  readonly opsPort: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  stop(): Promise<void>;
}

/** The gateway's composition root. Tests call it with port 0. */
export async function build(
  config: GatewayConfig,
  overrides: { log?: Logger; verifier?: TokenVerifier | undefined } = {},
): Promise<RunningGateway> {
  const log = overrides.log ?? createLogger({ service: config.service.name, level: config.log.level });
  const metrics = createMetrics(config.service.name);
  const verifier = "verifier" in overrides
    ? overrides.verifier
    : config.auth.enabled
      ? createTokenVerifier(config.auth, undefined, (err) => log.error({ err: err.message }, "token keys refused: the JWKS holds private key material"))
      : undefined;
  type Peer = NonNullable<GatewayConfig["upstreams"]["fleet"]>;
  const routed: Array<{ name: string; service: DescService; peer: Peer; client: ServiceClient<DescService>; health: ServiceClient<typeof Health> }> = [];
  const route = (name: string, service: DescService, peer: GatewayConfig["upstreams"]["fleet"]): void => {
    if (!peer?.enabled) return;
    routed.push({ name, service, peer, client: createServiceClient(service, peer), health: createServiceClient(Health, peer) });
  };
  route("fleet", FleetService, config.upstreams.fleet);
  route("identity", IdentityService, config.upstreams.identity);
  const identity = routed.find((r) => r.name === "identity")?.client as ServiceClient<typeof IdentityService> | undefined;
  const tokenEndpoint = identity ? createTokenEndpoint(identity, log) : undefined;
  // The key set the gateway verifies with, which is what identity publishes
  // (its JWKS endpoint, or in development the file written from the same key),
  // re-served with public members only.
  const jwksEndpoint = createJwksEndpoint(async () => {
    if (config.auth.jwksUrl) {
      const res = await fetch(config.auth.jwksUrl, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`jwks ${res.status}`);
      return { document: await res.json(), source: config.auth.jwksUrl };
    }
    return { document: JSON.parse(await readFile(config.auth.jwksFile!, "utf8")), source: config.auth.jwksFile! };
  }, log);

  const probe = startUpstreamProbe({ upstreams: routed, metrics, log, ...config.upstreamProbe });
  const operator = createOperatorHandler({ upstreams: routed, probe, checkTimeoutMs: config.upstreamProbe.timeoutMs, log });
  const connectHandler = connectNodeAdapter({
    routes: (router) => {
      for (const r of routed) proxyService(router, r.service, r.client, r.name);
    },
    // Reflection, health, then UNIMPLEMENTED for any other path.
    fallback: operator.handler,
    interceptors: [edgeInterceptor({ log, metrics, verifier })],
    // Binary protobuf and JSON alike; unknown JSON fields are a client mistake.
    jsonOptions: { ignoreUnknownFields: false },
    readMaxBytes: 4 * 1024 * 1024,
  });
  const rawLane = createRawLane(routed.map((r) => ({ name: r.name, service: r.service, peer: r.peer })), { log, metrics, verifier });
  const allowed = new Set(config.cors.allowedOrigins);
  const edge = createEdgeServer((req, res) => {
    const origin = req.headers.origin;
    if (origin !== undefined && allowed.has(origin)) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
      res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS.join(", "));
      if (req.method === "OPTIONS") {
        res.setHeader("Access-Control-Allow-Methods", connectCors.allowedMethods.join(", "));
        res.setHeader("Access-Control-Allow-Headers", ALLOWED_HEADERS.join(", "));
        res.setHeader("Access-Control-Max-Age", String(config.cors.maxAgeSec));
        res.statusCode = 204;
        res.end();
        return;
      }
    }
    const path = (req.url ?? "").split("?")[0];
    if (path === TOKEN_PATH && tokenEndpoint) {
      const incoming = req.headers["x-request-id"];
      void tokenEndpoint(req, res, typeof incoming === "string" && /^[A-Za-z0-9._:-]{1,128}$/.test(incoming) ? incoming : randomUUID());
      return;
    }
    if (path === JWKS_PATH && req.method === "GET") {
      void jwksEndpoint(req, res);
      return;
    }
    if (!rawLane.serve(req, res)) connectHandler(req, res);
  });

  // Readiness is the gateway's own (only draining fails it): an upstream
  // down is gateway_upstream_up and a per-route UNAVAILABLE, not an outage.
  const ops = createOpsServer(metrics.registry, [], [{
    path: "/upstreams",
    handle: async () => ({ status: 200, body: JSON.stringify(probe.states()) }),
  }]);
  const port = await edge.listen(config.http.host, config.http.port);
  const opsPort = await ops.listen(config.ops.host, config.ops.port);
  log.info({ port, opsPort }, "gateway started");
  return {
    port,
    opsPort,
    log,
    metrics,
    async stop() {
      ops.setDraining();
      operator.health.setDraining();
      probe.stop();
      await edge.close(config.shutdown.graceMs);
      rawLane.close();
      for (const r of routed) {
        r.client.close();
        r.health.close();
      }
      await ops.close();
    },
  };
}

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const telemetry = startTelemetry({ serviceName: "gateway", exporter: config.telemetry.exporter, otlpEndpoint: config.telemetry.otlpEndpoint });
  const gateway = await build(config);
  stopOnSignals({ stop: async () => { await gateway.stop(); await telemetry.shutdown(); } }, gateway.log, config.shutdown.graceMs);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main().catch(exitOnStartupFailure);
