// Billing against a real migrated ledger database: the journal's posting,
// the billing store and outbox, a fake identity (the customers it knows),
// the handlers called as the kit's server would, and checks on raw rows.
import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { LedgerService } from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import type { Caller } from "../../platform/src/auth.js";
import { createDatabase, type Database } from "../../platform/src/db.js";
import type { ServiceBinding, UnaryHandler } from "../../platform/src/grpc/server.js";
import { createInbox } from "../../platform/src/events/consumer/inbox.js";
import type { ConsumedEvent, EventHandler } from "../../platform/src/events/consumer.js";
import { createTestDatabase, type TestDatabase } from "../../platform/src/testing/harness.js";
import { callHandler } from "../../platform/src/testing/handlers.js";
import { capturedLogger } from "../../platform/src/testing/captured-logger.js";
import { testCaller } from "../../platform/src/testing/fakes.js";
import { createBillingStore } from "../src/adapters/db/billing-store.js";
import { createEventOutbox } from "../src/adapters/db/event-outbox.js";
import { createAccounts, createJournal, createPeriods } from "../src/adapters/db/journal-store.js";
import { billingHandlers } from "../src/adapters/grpc/billing-handlers.js";
import { rentalEventHandlers } from "../src/adapters/kafka/rental-events.js";
import { createBillingUseCases, type BillingUseCases } from "../src/app/billing-use-cases.js";
import { createJournalUseCases, type JournalUseCases } from "../src/app/journal-use-cases.js";

export const ADMIN = "00000000-0000-4000-8000-0000000000aa";
export const BILLING_PERMISSIONS = [
  "invoices.issue", "invoices.read", "invoices.read_own", "invoices.void", "invoices.credit",
  "payments.capture", "payments.refund", "payments.read", "ledger.read",
];

export interface BillingWorld {
  readonly testDb: TestDatabase;
  readonly db: Database;
  readonly billing: BillingUseCases;
  readonly journal: JournalUseCases;
  readonly binding: ServiceBinding;
  readonly handlers: EventHandler[];
  /** Users identity knows. */
  readonly customers: Set<string>;
  /** The time the use cases see; null: the real time. */
  now: Date | null;
  newCustomer(): string;
  /** Calls a billing RPC handler as `caller` (default: an admin with every billing permission). */
  call<D extends DescMessage>(method: string, schema: D, init: MessageInitShape<D>, caller?: Caller): Promise<any>;
  /** Delivers an event to its handler through the kit's inbox (exactly once per message id). */
  deliver<D extends DescMessage>(schema: D, init: MessageInitShape<D>, messageId?: string): Promise<"applied" | "duplicate">;
  /** Per account code and currency: debits minus credits of all journal lines. */
  balances(): Promise<Record<string, bigint>>;
  stop(): Promise<void>;
}

export const admin = testCaller(ADMIN, BILLING_PERMISSIONS);

export async function startBillingWorld(options: { invoiceDueDays?: number; poolMax?: number } = {}): Promise<BillingWorld> {
  const testDb = await createTestDatabase("ledger", "migrations/ledger");
  const db = createDatabase({ ...testDb.config, poolMax: options.poolMax ?? 10 }, "ledger-billing-test");
  const customers = new Set<string>();
  let counter = 0;
  const clock = { now: () => world.now ?? new Date() };
  const ids = { newId: () => randomUUID() };
  const outbox = createEventOutbox(db);
  const journal = createJournalUseCases({
    db, journal: createJournal(db), accounts: createAccounts(db), periods: createPeriods(db), outbox, clock, ids, reportingTimeZone: "UTC",
  });
  const billing = createBillingUseCases({
    db, posting: journal.posting, store: createBillingStore(db), outbox,
    customers: { exists: async (id) => customers.has(id) }, clock, ids, invoiceDueDays: options.invoiceDueDays ?? 14,
  });
  const binding: ServiceBinding = { service: LedgerService, handlers: billingHandlers(billing) as unknown as Record<string, UnaryHandler> };
  const { log } = capturedLogger();
  const handlers = rentalEventHandlers(billing, log);
  const inbox = createInbox(db, { groupId: "ledger-test", retentionDays: 7, log });
  const world: BillingWorld = {
    testDb, db, billing, journal, binding, handlers, customers, now: null,
    newCustomer() {
      const id = randomUUID();
      customers.add(id);
      return id;
    },
    call: (method, schema, init, caller = admin) => callHandler(binding, method, create(schema, init), caller) as Promise<any>,
    async deliver(schema, init, messageId = randomUUID()) {
      const handler = handlers.find((h) => h.schema.typeName === schema.typeName);
      if (!handler) throw new Error(`no handler for ${schema.typeName}`);
      const event: ConsumedEvent = {
        messageId, eventType: schema.typeName, aggregateId: undefined, occurredAt: clock.now(), requestId: undefined,
        topic: "rental.rental.v1", partition: 0, offset: String(++counter),
      };
      return inbox.apply(handler, create(schema, init) as never, event, false);
    },
    async balances() {
      const { rows } = await testDb.admin.query<{ code: string; currency: string; net: string }>(
        `SELECT a.code, l.currency, sum(CASE l.direction WHEN 'D' THEN l.amount_minor::numeric ELSE -l.amount_minor::numeric END)::text AS net
           FROM journal_lines l JOIN accounts a ON a.id = l.account_id GROUP BY a.code, l.currency ORDER BY a.code, l.currency`);
      return Object.fromEntries(rows.map((r) => [`${r.code}/${r.currency}`, BigInt(r.net)]));
    },
    async stop() {
      await db.close();
      await testDb.drop();
    },
  };
  return world;
}

export const eur = (amountMinor: bigint | number) => ({ amountMinor: BigInt(amountMinor), currencyCode: "EUR" });
