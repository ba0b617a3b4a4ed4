import { pathToFileURL } from "node:url";
import { cors as connectCors } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { IdentityService } from "../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { ReportingService } from "../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { createTokenVerifier, type TokenVerifier } from "../../services/platform/src/auth.js";
import { serviceDescriptor } from "../../services/platform/src/grpc/catalog.js";
import { createServiceClient, type ServiceClient } from "../../services/platform/src/grpc/client.js";
import { loadServiceRegistry, type ServiceRegistry } from "../../services/platform/src/registry.js";
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
import { createReportCsvEndpoint } from "./report-csv.js";
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

/**
 * The routes of the configured upstreams: each upstream's gRPC services as
 * services/registry.yaml lists them (or its own `services`), resolved to
 * descriptors from gen/. A new service needs configuration only.
 */
export function routesOf(upstreams: GatewayConfig["upstreams"], registry = loadServiceRegistry()) {
  const problems: string[] = [];
  const routes: Array<{ name: string; service: DescService; peer: GatewayConfig["upstreams"][string] }> = [];
  for (const [name, peer] of Object.entries(upstreams)) {
    if (!peer.enabled) continue;
    const typeNames = peer.services ?? registry.services.find((s) => s.name === name)?.grpc;
    if (!typeNames) {
      problems.push(`upstreams.${name}: not a service of services/registry.yaml; list its gRPC services in upstreams.${name}.services`);
      continue;
    }
    for (const typeName of typeNames) {
      const service = serviceDescriptor(typeName);
      if (service) routes.push({ name, service, peer });
      else problems.push(`upstreams.${name}.services: ${typeName} is not a gRPC service of proto/`);
    }
  }
  if (problems.length > 0) throw new Error(`gateway routes:\n  ${problems.join("\n  ")}`);
  return routes;
}

/** The gateway's composition root. Tests call it with port 0. */
export async function build(
  config: GatewayConfig,
  overrides: { log?: Logger; verifier?: TokenVerifier | undefined; registry?: ServiceRegistry } = {},
): Promise<RunningGateway> {
  const log = overrides.log ?? createLogger({ service: config.service.name, level: config.log.level });
  const metrics = createMetrics(config.service.name);
  const verifier = "verifier" in overrides
    ? overrides.verifier
    : config.auth.enabled
      ? createTokenVerifier(config.auth, undefined, (err) => log.error({ err: err.message }, "token keys refused: the JWKS holds private key material"))
      : undefined;
  const routed = routesOf(config.upstreams, overrides.registry).map(({ name, service, peer }) => ({
    name,
    service,
    peer,
    client: createServiceClient(service, peer),
    health: createServiceClient(Health, peer),
  }));
  const identity = routed.find((r) => r.service.typeName === IdentityService.typeName)?.client as ServiceClient<typeof IdentityService> | undefined;
  const tokenEndpoint = identity ? createTokenEndpoint(identity, log) : undefined;
  // GET /v1/reports/snapshots/{id}.csv, streamed from the ledger's ReportingService.
  const reportCsv = createReportCsvEndpoint(
    routed.find((r) => r.service.typeName === ReportingService.typeName)?.client as ServiceClient<typeof ReportingService> | undefined,
    log,
  );
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
    if (reportCsv(req, res)) return;
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
  const telemetry = await startTelemetry({ serviceName: "gateway", exporter: config.telemetry.exporter, otlpEndpoint: config.telemetry.otlpEndpoint });
  const gateway = await build(config);
  stopOnSignals({ stop: async () => { await gateway.stop(); await telemetry.shutdown(); } }, gateway.log, config.shutdown.graceMs);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main().catch(exitOnStartupFailure);
