import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { TokenVerifier } from "../../platform/src/auth.js";
import { loadConfig, serviceConfigSchema, type ServiceConfig } from "../../platform/src/config.js";
import { repoRoot } from "../../platform/src/db.js";
import { exitOnStartupFailure, stopOnSignals } from "../../platform/src/lifecycle.js";
import type { Logger } from "../../platform/src/logger.js";
import { startService, type RunningService } from "../../platform/src/service-runtime.js";
import { startTelemetry } from "../../platform/src/telemetry.js";
import { createFleetUseCases } from "./app/fleet-use-cases.js";
import { createUnitOfWork, createVehicleRepository } from "./adapters/db/vehicle-repository.js";
import { fleetServiceBinding } from "./adapters/grpc/fleet-handlers.js";

export function loadFleetConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const extra = env["FLEETMESH_CONFIG_FILE"];
  return loadConfig(serviceConfigSchema, {
    files: [resolve(repoRoot, "services/fleet/config/default.yaml"), ...(extra ? [extra] : [])],
    env,
    secretPaths: ["database.password"],
  });
}

/** The composition root: wires adapters to use cases and starts serving. Tests call it with port 0. */
export function build(config: ServiceConfig, overrides: { log?: Logger; verifier?: TokenVerifier } = {}): Promise<RunningService> {
  return startService({
    config,
    ...overrides,
    bindings: ({ db }) => [
      fleetServiceBinding(
        createFleetUseCases({
          vehicles: createVehicleRepository(db),
          uow: createUnitOfWork(db),
          clock: { now: () => new Date() },
          ids: { newId: randomUUID },
        }),
      ),
    ],
  });
}

async function main(): Promise<void> {
  const config = loadFleetConfig();
  // Telemetry first, so everything after it runs with tracing in place.
  const telemetry = startTelemetry({
    serviceName: "fleet",
    exporter: config.telemetry.exporter,
    otlpEndpoint: config.telemetry.otlpEndpoint,
  });
  const service = await build(config);
  stopOnSignals({ stop: async () => { await service.stop(); await telemetry.shutdown(); } }, service.log, config.shutdown.graceMs);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main().catch(exitOnStartupFailure);
