import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  MaintenanceCancelledSchema,
  MaintenanceCompletedSchema,
  PartStockAdjustedSchema,
  PartStockConsumedSchema,
  PartStockReceivedSchema,
} from "../../../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import type { Part, PartUsed, StockMovement } from "../../../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import { handleEvent, type ConsumedEvent, type EventHandler } from "../../../../platform/src/events/consumer.js";
import { requireEventUuid } from "../../../../platform/src/events/event-fields.js";
import { PermanentEventError } from "../../../../platform/src/events/failures.js";
import type { Logger } from "../../../../platform/src/logger.js";
import { isCurrency, money, type Money } from "../../../../platform/src/money.js";
import { moneyFromProto } from "../../../../platform/src/proto-common.js";
import type { MaintenanceFacts } from "../../app/maintenance-facts.js";

// Maintenance's events into postings (docs/ledger.md#posting-rules): goods
// receipts, parts taken from stock, stock adjustments, completed and
// cancelled jobs. A malformed event is permanent (dead-lettered), never retried.

const amountOf = (field: string, m: Parameters<typeof moneyFromProto>[0]): Money | null => {
  const value = moneyFromProto(m);
  if (value === null) return null;
  if (!isCurrency(value.currency) || value.amountMinor < 0n) throw new PermanentEventError("INVALID_EVENT", `${field} is not a valid amount`);
  return money(value.amountMinor, value.currency);
};

const timeOf = (field: string, t: Timestamp | undefined, fallback: Date | undefined): Date => {
  const at = t === undefined ? fallback : timestampDate(t);
  if (at === undefined || Number.isNaN(at.getTime())) throw new PermanentEventError("INVALID_EVENT", `${field} is missing`);
  return at;
};

const movementOf = (movement: StockMovement | undefined, part: Part | undefined): { movement: StockMovement; part: Part } => {
  if (movement === undefined || part === undefined) throw new PermanentEventError("INVALID_EVENT", "part and movement are required");
  requireEventUuid("movement.id", movement.id);
  return { movement, part };
};

/** Parts of a job bought for it rather than taken from stock (no catalog part): owed like labour. */
export function partsBoughtForJob(parts: readonly PartUsed[], currency: string | null): Money | null {
  let total: Money | null = null;
  for (const p of parts) {
    if (p.partId !== "") continue;
    const cost = amountOf("parts[].total_cost", p.totalCost);
    if (cost === null) continue;
    if (currency !== null && cost.currency !== currency) throw new PermanentEventError("INVALID_EVENT", "a part's cost is not in the job's currency");
    total = total === null ? cost : money(total.amountMinor + cost.amountMinor, cost.currency);
  }
  return total;
}

export function maintenanceEventHandlers(facts: MaintenanceFacts, log: Logger): EventHandler[] {
  const done = (event: ConsumedEvent, fields: Record<string, unknown>) => log.debug({ messageId: event.messageId, eventType: event.eventType, ...fields }, "maintenance fact posted");
  return [
    handleEvent(PartStockReceivedSchema, async (m, event) => {
      const { movement, part } = movementOf(m.movement, m.part);
      await facts.partsReceived({
        movementId: movement.id, partNumber: part.partNumber, quantity: movement.quantityDelta,
        totalCost: amountOf("movement.total_cost", movement.totalCost), at: timeOf("movement.create_time", movement.createTime, event.occurredAt),
      });
      done(event, { movementId: movement.id });
    }),
    handleEvent(PartStockConsumedSchema, async (m, event) => {
      const { movement, part } = movementOf(m.movement, m.part);
      await facts.partsConsumed({
        movementId: movement.id, jobId: movement.maintenanceJobId, vehicleId: requireEventUuid("vehicle_id", m.vehicleId), partNumber: part.partNumber,
        quantity: Math.abs(movement.quantityDelta), cost: amountOf("movement.total_cost", movement.totalCost),
        at: timeOf("movement.create_time", movement.createTime, event.occurredAt),
      });
      done(event, { movementId: movement.id });
    }),
    handleEvent(PartStockAdjustedSchema, async (m, event) => {
      const { movement, part } = movementOf(m.movement, m.part);
      const unitCost = amountOf("part.unit_cost", part.unitCost);
      const value = amountOf("movement.total_cost", movement.totalCost)
        ?? (unitCost === null ? null : money(unitCost.amountMinor * BigInt(Math.abs(movement.quantityDelta)), unitCost.currency));
      await facts.stockAdjusted({
        movementId: movement.id, partNumber: part.partNumber, quantityDelta: movement.quantityDelta, value,
        at: timeOf("movement.create_time", movement.createTime, event.occurredAt),
      });
      done(event, { movementId: movement.id });
    }),
    handleEvent(MaintenanceCompletedSchema, async (m, event) => {
      const labor = amountOf("labor_cost", m.laborCost);
      const partsCost = amountOf("parts_cost", m.partsCost);
      const currency = labor?.currency ?? partsCost?.currency ?? amountOf("total_cost", m.totalCost)?.currency ?? null;
      if (currency === null) {
        // No cost at all: nothing to post, and a job without a currency has no row in the cost report.
        done(event, { maintenanceJobId: m.maintenanceJobId, skipped: "no cost" });
        return;
      }
      await facts.jobCompleted({
        jobId: requireEventUuid("maintenance_job_id", m.maintenanceJobId), vehicleId: requireEventUuid("vehicle_id", m.vehicleId),
        startTime: m.startTime === undefined ? null : timestampDate(m.startTime), completeTime: timeOf("complete_time", m.completeTime, event.occurredAt),
        currency, labor, partsCost, partsBoughtForJob: partsBoughtForJob(m.parts, currency), odometerKm: m.odometerKm ?? null,
      });
      done(event, { maintenanceJobId: m.maintenanceJobId });
    }),
    handleEvent(MaintenanceCancelledSchema, async (m, event) => {
      await facts.jobCancelled({
        jobId: requireEventUuid("maintenance_job_id", m.maintenanceJobId), vehicleId: requireEventUuid("vehicle_id", m.vehicleId),
        cancelTime: timeOf("cancel_time", m.cancelTime, event.occurredAt), partsBoughtForJob: partsBoughtForJob(m.parts, null),
      });
      done(event, { maintenanceJobId: m.maintenanceJobId });
    }),
  ];
}
