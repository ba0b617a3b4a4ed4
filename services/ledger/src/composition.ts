import { randomUUID } from "node:crypto";
import { LedgerService } from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { bindService, type ServiceHandlers } from "../../platform/src/grpc/server.js";
import { DomainError } from "../../platform/src/errors.js";
import type { ServiceComposition, ServiceDependencies } from "../../platform/src/service-runtime.js";
import { createJournalUseCases, type JournalUseCases } from "./app/journal-use-cases.js";
import { createMaintenanceFacts } from "./app/maintenance-facts.js";
import { createReportingUseCases, type ReportingUseCases } from "./app/reporting-use-cases.js";
import { reportingServiceBinding } from "./adapters/grpc/reporting-handlers.js";
import { reportJobs } from "./adapters/jobs/report-jobs.js";
import { createEventOutbox } from "./adapters/db/event-outbox.js";
import { createMaintenanceFactStore } from "./adapters/db/fact-store.js";
import { createAccounts, createJournal, createPeriods } from "./adapters/db/journal-store.js";
import { journalHandlers } from "./adapters/grpc/journal-handlers.js";
import { maintenanceEventHandlers } from "./adapters/kafka/maintenance-events.js";
import type { LedgerConfig } from "./config.js";

/** What tests and tools reach on a running ledger. */
export interface LedgerExposed {
  readonly journal: JournalUseCases;
  readonly reporting: ReportingUseCases;
}

const billingPending = (): never => {
  throw new DomainError("internal", "UNIMPLEMENTED", "billing is not wired yet");
};

/** The ledger's adapters wired to its use cases: one set serves gRPC, the consumers and the jobs. */
export function composeLedger(deps: ServiceDependencies): ServiceComposition<LedgerExposed> {
  const { db, log, scheduler } = deps;
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
  const handlers: ServiceHandlers<typeof LedgerService> = {
    ...journalHandlers(journal),
    issueInvoice: billingPending, getInvoice: billingPending, listInvoices: billingPending, getOwnInvoice: billingPending,
    listOwnInvoices: billingPending, voidInvoice: billingPending, capturePayment: billingPending, refundPayment: billingPending,
    getPayment: billingPending, listPayments: billingPending, issueCreditNote: billingPending, listCreditNotes: billingPending,
    getCustomerCredit: billingPending,
  };
  return {
    bindings: [bindService(LedgerService, handlers), reportingServiceBinding(reporting)],
    eventHandlers: [...maintenanceEventHandlers(maintenanceFacts, log.child({ component: "maintenance-events" }))],
    expose: { journal, reporting },
  };
}
