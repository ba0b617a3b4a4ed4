import { randomUUID } from "node:crypto";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { IdentityService } from "../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { RentalService } from "../../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import type { ServiceComposition, ServiceDependencies } from "../../platform/src/service-runtime.js";
import { createMaintenanceUseCases } from "./app/maintenance-use-cases.js";
import type { MaintenanceUseCases } from "./app/use-case-api.js";
import { createEventOutbox } from "./adapters/db/event-outbox.js";
import {
  createJobRepository,
  createPartRepository,
  createPlanRepository,
  createUnitOfWork,
  createVehicleProjection,
} from "./adapters/db/maintenance-store.js";
import { maintenanceServiceBinding } from "./adapters/grpc/maintenance-handlers.js";
import { maintenanceJobs } from "./adapters/jobs/maintenance-jobs.js";
import { maintenanceEventHandlers } from "./adapters/kafka/fleet-events.js";
import { fleetVehicles } from "./adapters/peers/fleet-vehicles.js";
import { identityStaff } from "./adapters/peers/identity-staff.js";
import { rentalTimeline } from "./adapters/peers/rental-timeline.js";
import type { MaintenanceConfig } from "./config.js";

/** What tests and tools reach on a running maintenance service. */
export interface MaintenanceExposed {
  readonly useCases: MaintenanceUseCases;
}

/** Maintenance's adapters wired to its use cases: one set serves gRPC, the fleet consumer and the jobs. */
export function composeMaintenance(deps: ServiceDependencies): ServiceComposition<MaintenanceExposed> {
  const { db, log, peers, scheduler } = deps;
  const settings = (deps.config as MaintenanceConfig).maintenance;
  const vehicles = createVehicleProjection(db);
  const useCases = createMaintenanceUseCases({
    jobs: createJobRepository(db),
    parts: createPartRepository(db),
    plans: createPlanRepository(db),
    vehicles,
    timeline: rentalTimeline(peers.client("rental", RentalService)),
    staff: identityStaff(peers.client("identity", IdentityService)),
    fleet: fleetVehicles(peers.client("fleet", FleetService)),
    uow: createUnitOfWork(db),
    outbox: createEventOutbox(db),
    clock: { now: () => new Date() },
    ids: { newId: randomUUID },
    policy: settings,
  });
  for (const job of maintenanceJobs(useCases, vehicles, { plans: settings.plansCron, reconcile: settings.reconcileCron })) scheduler.define(job);
  return {
    bindings: [maintenanceServiceBinding(useCases)],
    eventHandlers: maintenanceEventHandlers(useCases, log.child({ component: "maintenance-events" })),
    expose: { useCases },
  };
}
