import { randomUUID } from "node:crypto";
import { IdentityService } from "../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { LedgerService } from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { bindService } from "../../platform/src/grpc/server.js";
import type { ServiceComposition, ServiceDependencies } from "../../platform/src/service-runtime.js";
import { createBillingUseCases, type BillingUseCases } from "./app/billing-use-cases.js";
import { createJournalUseCases, type JournalUseCases } from "./app/journal-use-cases.js";
import { createMaintenanceFacts } from "./app/maintenance-facts.js";
import { createReportingUseCases, type ReportingUseCases } from "./app/reporting-use-cases.js";
import { reportingServiceBinding } from "./adapters/grpc/reporting-handlers.js";
import { reportJobs } from "./adapters/jobs/report-jobs.js";
import { createBillingStore } from "./adapters/db/billing-store.js";
import { createEventOutbox } from "./adapters/db/event-outbox.js";
import { createMaintenanceFactStore } from "./adapters/db/fact-store.js";
import { createAccounts, createJournal, createPeriods } from "./adapters/db/journal-store.js";
import { billingHandlers } from "./adapters/grpc/billing-handlers.js";
import { journalHandlers } from "./adapters/grpc/journal-handlers.js";
import { maintenanceEventHandlers } from "./adapters/kafka/maintenance-events.js";
import { rentalEventHandlers } from "./adapters/kafka/rental-events.js";
import { identityCustomers } from "./adapters/peers/identity-customers.js";
import type { LedgerConfig } from "./config.js";

/** What tests and tools reach on a running ledger. */
export interface LedgerExposed {
  readonly journal: JournalUseCases;
  readonly billing: BillingUseCases;
  readonly reporting: ReportingUseCases;
}

/** The ledger's adapters wired to its use cases: one set serves gRPC, the consumers and the jobs. */
export function composeLedger(deps: ServiceDependencies): ServiceComposition<LedgerExposed> {
  const { db, log, peers, scheduler } = deps;
  const settings = (deps.config as LedgerConfig).ledger;
  const clock = { now: () => new Date() };
  const ids = { newId: randomUUID };
  const outbox = createEventOutbox(db);
  const journal = createJournalUseCases({
    db, journal: createJournal(db), accounts: createAccounts(db), periods: createPeriods(db), outbox, clock, ids,
    reportingTimeZone: settings.reportingTimeZone,
  });
  const reporting = createReportingUseCases({ db, clock, ids, reportingTimeZone: settings.reportingTimeZone });
  for (const job of reportJobs(reporting)) scheduler.define(job);
  const maintenanceFacts = createMaintenanceFacts({ db, posting: journal.posting, facts: createMaintenanceFactStore(db) });
  const billing = createBillingUseCases({
    db, posting: journal.posting, store: createBillingStore(db), outbox,
    customers: identityCustomers(peers.client("identity", IdentityService)),
    clock, ids, invoiceDueDays: settings.invoiceDueDays,
  });
  return {
    bindings: [
      bindService(LedgerService, { ...journalHandlers(journal), ...billingHandlers(billing) }),
      reportingServiceBinding(reporting),
    ],
    eventHandlers: [
      ...rentalEventHandlers(billing, log.child({ component: "rental-events" })),
      ...maintenanceEventHandlers(maintenanceFacts, log.child({ component: "maintenance-events" })),
    ],
    expose: { journal, billing, reporting },
  };
}
