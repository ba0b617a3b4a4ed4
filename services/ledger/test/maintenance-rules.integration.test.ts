// Maintenance's facts into postings, against real PostgreSQL: the handlers
// run as the consumer runs them (one transaction per event), and every
// event delivered again changes no balance.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import anyTest, { type TestFn } from "ava";
import {
  MaintenanceCancelledSchema,
  MaintenanceCompletedSchema,
  PartStockAdjustedSchema,
  PartStockConsumedSchema,
  PartStockReceivedSchema,
} from "../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { PartSchema, PartUsedSchema, StockMovementSchema, StockMovement_Kind } from "../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import type { ConsumedEvent, EventHandler } from "../../platform/src/events/consumer.js";
import { capturedLogger } from "../../platform/src/testing/captured-logger.js";
import { runInTransaction } from "../../platform/src/transactions.js";
import { maintenanceEventHandlers } from "../src/adapters/kafka/maintenance-events.js";
import { createMaintenanceFactStore } from "../src/adapters/db/fact-store.js";
import { createMaintenanceFacts } from "../src/app/maintenance-facts.js";
import { ACCOUNTS, startLedger, type LedgerHarness } from "./support.js";

const test = anyTest as TestFn<{ h: LedgerHarness; handlers: EventHandler[] }>;

test.before(async (t) => {
  const h = await startLedger();
  const facts = createMaintenanceFacts({ db: h.service.db, posting: h.service.journal.posting, facts: createMaintenanceFactStore(h.service.db) });
  t.context = { h, handlers: maintenanceEventHandlers(facts, capturedLogger().log) };
});
test.after.always(async (t) => {
  await t.context.h?.stop();
});

const eur = (amountMinor: bigint) => ({ amountMinor, currencyCode: "EUR" });
let offset = 0;

/** Delivers `message` as the consumer does: inside one transaction. */
async function deliver(t: { context: { h: LedgerHarness; handlers: EventHandler[] } }, message: { $typeName: string }): Promise<void> {
  const handler = t.context.handlers.find((hd) => hd.schema.typeName === message.$typeName)!;
  const event: ConsumedEvent = {
    messageId: randomUUID(), eventType: message.$typeName, aggregateId: undefined, occurredAt: new Date("2026-04-02T10:00:00Z"),
    requestId: undefined, topic: "maintenance", partition: 0, offset: String(++offset),
  };
  await runInTransaction(t.context.h.service.db, () => handler.handle(message as never, event));
}

/** Per account code and currency: debits minus credits. */
async function balances(h: LedgerHarness): Promise<Record<string, string>> {
  const { rows } = await h.db.admin.query<{ code: string; currency: string; net: string }>(
    `SELECT a.code, l.currency, sum(CASE l.direction WHEN 'D' THEN l.amount_minor ELSE -l.amount_minor END)::text AS net
       FROM journal_lines l JOIN accounts a ON a.id = l.account_id GROUP BY a.code, l.currency ORDER BY 1, 2`);
  return Object.fromEntries(rows.map((r) => [`${r.code}/${r.currency}`, r.net]));
}

test.serial("receipts, consumption, adjustments and jobs post once each, and a replay changes nothing", async (t) => {
  const { h } = t.context;
  const vehicleId = randomUUID();
  const jobId = randomUUID();
  const part = create(PartSchema, { id: randomUUID(), partNumber: "OIL-5W30", name: "Oil", unitCost: eur(1_500n), stockOnHand: 10 });
  const at = timestampFromDate(new Date("2026-04-02T09:00:00Z"));
  const events = [
    create(PartStockReceivedSchema, { part, movement: create(StockMovementSchema, {
      id: randomUUID(), partId: part.id, kind: StockMovement_Kind.RECEIPT, quantityDelta: 10, totalCost: eur(14_000n), createTime: at }) }),
    create(PartStockConsumedSchema, { part, vehicleId, movement: create(StockMovementSchema, {
      id: randomUUID(), partId: part.id, kind: StockMovement_Kind.CONSUMPTION, quantityDelta: -2, totalCost: eur(3_000n), maintenanceJobId: jobId, createTime: at }) }),
    create(PartStockAdjustedSchema, { part, movement: create(StockMovementSchema, {
      id: randomUUID(), partId: part.id, kind: StockMovement_Kind.ADJUSTMENT, quantityDelta: -1, reason: "count", createTime: at }) }),
    create(MaintenanceCompletedSchema, {
      maintenanceJobId: jobId, vehicleId, startTime: at, completeTime: timestampFromDate(new Date("2026-04-02T15:00:00Z")),
      laborCost: eur(12_000n), partsCost: eur(3_000n + 2_500n), totalCost: eur(17_500n), odometerKm: 42_000,
      parts: [
        create(PartUsedSchema, { id: randomUUID(), partId: part.id, partName: "Oil", quantity: 2, totalCost: eur(3_000n) }),
        create(PartUsedSchema, { id: randomUUID(), partId: "", partName: "Wiper blade", quantity: 1, totalCost: eur(2_500n) }),
      ],
    }),
    create(MaintenanceCancelledSchema, {
      maintenanceJobId: randomUUID(), vehicleId, cancelTime: at,
      parts: [create(PartUsedSchema, { id: randomUUID(), partId: "", partName: "Gasket", quantity: 1, totalCost: eur(800n) })],
    }),
  ];
  for (const e of events) await deliver(t, e);
  const after = await balances(h);
  t.like(after, {
    "PARTS_INVENTORY/EUR": String(14_000 - 3_000 - 1_500),
    "ACCOUNTS_PAYABLE/EUR": String(-(14_000 + 12_000 + 2_500 + 800)),
    "EXP_MAINTENANCE_PARTS/EUR": String(3_000 + 2_500 + 800),
    "EXP_MAINTENANCE_LABOR/EUR": "12000",
    "EXP_INVENTORY_ADJUSTMENT/EUR": "1500",
  });
  // Expenses carry the vehicle: the maintenance cost report reads them by vehicle.
  const byVehicle = await h.db.admin.query("SELECT count(*)::int AS n FROM journal_lines WHERE vehicle_id = $1", [vehicleId]);
  t.is(byVehicle.rows[0].n, 4);
  const fact = await h.db.admin.query("SELECT labor_minor::text AS labor, parts_minor::text AS parts, complete_date::text AS day FROM maintenance_facts WHERE maintenance_job_id = $1", [jobId]);
  t.deepEqual(fact.rows[0], { labor: "12000", parts: "5500", day: "2026-04-02" });

  // Every event again (a replay from offset 0 gets new message ids): nothing new is posted.
  const position = await h.service.journal.position();
  for (const e of events) await deliver(t, e);
  t.deepEqual(await balances(h), after);
  t.is(await h.service.journal.position(), position);
});

test.serial("a job without any cost posts nothing", async (t) => {
  const { h } = t.context;
  const position = await h.service.journal.position();
  await deliver(t, create(MaintenanceCompletedSchema, {
    maintenanceJobId: randomUUID(), vehicleId: randomUUID(), completeTime: timestampFromDate(new Date("2026-04-03T10:00:00Z")),
  }));
  t.is(await h.service.journal.position(), position);
});

test.serial("a fact from a closed month lands in the first open month with its own date kept", async (t) => {
  const { h } = t.context;
  await h.ledger.closePeriod({ period: "2026-01", reason: "closed" }, h.as());
  const jobId = randomUUID();
  await deliver(t, create(MaintenanceCompletedSchema, {
    maintenanceJobId: jobId, vehicleId: randomUUID(), completeTime: timestampFromDate(new Date("2026-01-30T10:00:00Z")), laborCost: eur(500n),
  }));
  const { entry } = await h.ledger.getJournalEntry({ key: { case: "externalRef", value: { type: "maintenance", id: jobId } } }, h.as());
  t.is(entry!.entryDate, "2026-02-01");
  t.is(entry!.factDate, "2026-01-30");
  t.deepEqual(entry!.lines.map((l) => l.accountCode), ["EXP_MAINTENANCE_LABOR", "ACCOUNTS_PAYABLE"]);
  t.truthy(ACCOUNTS.EXP_MAINTENANCE_LABOR);
});
