import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { TokenVerifier } from "../../platform/src/auth.js";
import { configFilesOf, loadConfig, SERVICE_SECRET_PATHS, serviceConfigSchema, type ServiceConfig } from "../../platform/src/config.js";
import { repoRoot } from "../../platform/src/db.js";
import { exitOnStartupFailure, stopOnSignals } from "../../platform/src/lifecycle.js";
import type { Logger } from "../../platform/src/logger.js";
import type { ConsumedEvent } from "../../platform/src/events/consumer.js";
import { createEventWorkers, type EventWorkers } from "../../platform/src/events/workers.js";
import { startService, type RunningService, type ServiceDependencies } from "../../platform/src/service-runtime.js";
import { startTelemetry } from "../../platform/src/telemetry.js";
import { createFleetUseCases, type FleetUseCases } from "./app/fleet-use-cases.js";
import { createEventOutbox } from "./adapters/db/event-outbox.js";
import { createUnitOfWork, createVehicleRepository } from "./adapters/db/vehicle-repository.js";
import { fleetServiceBinding } from "./adapters/grpc/fleet-handlers.js";
import { fleetEventHandlers } from "./adapters/kafka/fleet-event-handlers.js";

export function loadFleetConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  return loadConfig(serviceConfigSchema, {
    files: configFilesOf(resolve(repoRoot, "services/fleet/config/default.yaml"), "fleet", env),
    env,
    secretPaths: SERVICE_SECRET_PATHS,
  });
}

export interface BuildOverrides {
  readonly log?: Logger;
  readonly verifier?: TokenVerifier;
  /** Tests only: runs between an event's effect commit and its offset commit (crash simulation). */
  readonly afterEventEffectCommitted?: (event: ConsumedEvent) => void | Promise<void>;
}

export interface FleetRunning extends RunningService {
  /** The outbox relay and the rental/maintenance event consumer (none when Kafka is disabled). */
  readonly events: EventWorkers;
}

/** The composition root: wires adapters to use cases and starts serving. Tests call it with port 0. */
export async function build(config: ServiceConfig, overrides: BuildOverrides = {}): Promise<FleetRunning> {
  let useCases: FleetUseCases | undefined;
  // One set of use cases serves the gRPC API and the event consumer.
  const useCasesOf = ({ db }: ServiceDependencies): FleetUseCases =>
    (useCases ??= createFleetUseCases({
      vehicles: createVehicleRepository(db),
      uow: createUnitOfWork(db),
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
      outbox: createEventOutbox(db),
    }));
  let events: EventWorkers = { relay: undefined, consumer: undefined, all: [] };
  const service = await startService({
    config,
    ...(overrides.log ? { log: overrides.log } : {}),
    ...(overrides.verifier ? { verifier: overrides.verifier } : {}),
    bindings: (deps) => [fleetServiceBinding(useCasesOf(deps))],
    workers: (deps) => {
      events = createEventWorkers(config.kafka, deps, {
        handlers: fleetEventHandlers(useCasesOf(deps), deps.log.child({ component: "fleet-events" })),
        ...(overrides.afterEventEffectCommitted ? { afterEffectCommitted: overrides.afterEventEffectCommitted } : {}),
      });
      return events.all;
    },
  });
  return { ...service, events };
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
