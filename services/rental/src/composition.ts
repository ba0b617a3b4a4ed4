import { randomUUID } from "node:crypto";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { IdentityService } from "../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import type { ServiceComposition, ServiceDependencies } from "../../platform/src/service-runtime.js";
import { createRentalUseCases } from "./app/rental-use-cases.js";
import type { RentalUseCases } from "./app/use-case-api.js";
import { createEventOutbox } from "./adapters/db/event-outbox.js";
import {
  createCatalogRepository,
  createQuoteRepository,
  createRentalRepository,
  createTimeline,
  createUnitOfWork,
  createVehicleProjection,
} from "./adapters/db/rental-store.js";
import { rentalServiceBinding } from "./adapters/grpc/rental-handlers.js";
import { rentalJobs } from "./adapters/jobs/rental-jobs.js";
import { rentalEventHandlers } from "./adapters/kafka/fleet-vehicle-events.js";
import { fleetDirectory } from "./adapters/peers/fleet-directory.js";
import { recordedPaymentProvider } from "./adapters/payments/recorded-provider.js";
import { identityDirectory } from "./adapters/peers/identity-directory.js";
import type { RentalConfig } from "./config.js";

/** What tests and tools reach on a running rental service. */
export interface RentalExposed {
  readonly useCases: RentalUseCases;
}

/** Rental's adapters wired to its use cases: one set serves gRPC, the fleet consumer and the jobs. */
export function composeRental(deps: ServiceDependencies): ServiceComposition<RentalExposed> {
  const { db, log, peers, scheduler } = deps;
  const settings = (deps.config as RentalConfig).rental;
  const vehicles = createVehicleProjection(db);
  const useCases = createRentalUseCases({
    catalog: createCatalogRepository(db),
    vehicles,
    quotes: createQuoteRepository(db),
    rentals: createRentalRepository(db),
    timeline: createTimeline(db),
    uow: createUnitOfWork(db),
    outbox: createEventOutbox(db),
    people: identityDirectory(peers.client("identity", IdentityService), settings.peerCacheSeconds * 1000),
    fleet: fleetDirectory(peers.client("fleet", FleetService)),
    payments: recordedPaymentProvider(),
    clock: { now: () => new Date() },
    ids: { newId: randomUUID },
    policy: settings,
  });
  for (const job of rentalJobs(useCases, vehicles, settings.sweepCron)) scheduler.define(job);
  return {
    bindings: [rentalServiceBinding(useCases)],
    eventHandlers: rentalEventHandlers(useCases, log.child({ component: "rental-events" })),
    expose: { useCases },
  };
}
