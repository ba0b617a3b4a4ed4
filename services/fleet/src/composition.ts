import { randomUUID } from "node:crypto";
import type { ServiceComposition, ServiceDependencies } from "../../platform/src/service-runtime.js";
import { createFleetUseCases } from "./app/fleet-use-cases.js";
import { createEventOutbox } from "./adapters/db/event-outbox.js";
import { createUnitOfWork, createVehicleRepository } from "./adapters/db/vehicle-repository.js";
import { fleetServiceBinding } from "./adapters/grpc/fleet-handlers.js";
import { fleetEventHandlers } from "./adapters/kafka/fleet-event-handlers.js";

/** Fleet's adapters wired to its use cases; one set of use cases serves the gRPC API and the event consumer. */
export function composeFleet({ db, log }: ServiceDependencies): ServiceComposition {
  const useCases = createFleetUseCases({
    vehicles: createVehicleRepository(db),
    uow: createUnitOfWork(db),
    clock: { now: () => new Date() },
    ids: { newId: randomUUID },
    outbox: createEventOutbox(db),
  });
  return {
    bindings: [fleetServiceBinding(useCases)],
    eventHandlers: fleetEventHandlers(useCases, log.child({ component: "fleet-events" })),
  };
}
