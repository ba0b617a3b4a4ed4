// Domain <-> contract mappers: every enum value both ways, the request
// parsers as inverses of the response mappers, every field of a job through
// the wire encoding (its costs included), the outbox's event messages and
// keys, and the fleet vehicle event handlers.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import test from "ava";
import {
  OdometerReadingRecordedSchema,
  VehicleRegisteredSchema,
  VehicleStateChangedSchema,
  VehicleUpdatedSchema,
} from "../../../gen/fleetmesh/fleet/v1/events_pb.js";
import { VehicleStatus as ProtoFleetStatus } from "../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import {
  MaintenanceCancelledSchema,
  MaintenanceCompletedSchema,
  MaintenancePlanDueSchema,
  type MaintenanceCancelled,
  type MaintenanceCompleted,
  type MaintenancePlanDue,
} from "../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import {
  MaintenanceJobSchema,
  MaintenanceKind,
  MaintenanceStatus,
  StockMovement_Kind,
} from "../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import type { ConsumedEvent } from "../../platform/src/events/consumer.js";
import { PermanentEventError } from "../../platform/src/events/failures.js";
import { moneyFromProto } from "../../platform/src/proto-common.js";
import { capturedLogger } from "../../platform/src/testing/captured-logger.js";
import { Violations } from "../../platform/src/validation.js";
import { toEventMessage } from "../src/adapters/db/event-outbox.js";
import { jobAttributesOf, partUsedInputOf, planCommandOf } from "../src/adapters/grpc/maintenance-requests.js";
import { maintenanceEventHandlers } from "../src/adapters/kafka/fleet-events.js";
import * as enums from "../src/adapters/proto/maintenance-enums.js";
import {
  alternativeVehicleToProto,
  jobAttributesToProto,
  jobCosts,
  maintenanceDueToProto,
  maintenanceJobToProto,
  maintenancePlanToProto,
  partToProto,
  partUsedInputToProto,
  partUsedToProto,
  stockMovementToProto,
  vehicleCostsToProto,
} from "../src/adapters/proto/maintenance-proto.js";
import type { MaintenanceEvent } from "../src/domain/events.js";
import type { PartUsedInput } from "../src/domain/model.js";
import {
  alternative,
  due,
  eur,
  ids,
  job,
  modelPlan,
  movement,
  part,
  partUsed,
  recordingUseCases,
  scheduledJob,
  t0,
  t1,
  vehicleCosts,
  vehiclePlan,
} from "./adapter-fixtures.js";

const TABLES = [
  ["maintenance status", enums.MAINTENANCE_STATUS_TO_PROTO, enums.maintenanceStatusFromProto, MaintenanceStatus],
  ["maintenance kind", enums.MAINTENANCE_KIND_TO_PROTO, enums.maintenanceKindFromProto, MaintenanceKind],
  ["stock movement kind", enums.STOCK_MOVEMENT_KIND_TO_PROTO, enums.stockMovementKindFromProto, StockMovement_Kind],
  ["fleet status", enums.FLEET_STATUS_TO_PROTO, enums.fleetStatusFromProto, ProtoFleetStatus],
] as const;

test("every enum value maps both ways; UNSPECIFIED is null, an unknown number undefined; the contract's enums are covered", (t) => {
  for (const [name, table, fromProto, protoEnum] of TABLES) {
    const entries = Object.entries(table) as Array<[string, number]>;
    t.is(new Set(entries.map(([, p]) => p)).size, entries.length, `${name}: one proto value per domain value`);
    for (const [domain, proto] of entries) t.is((fromProto as (v: number) => unknown)(proto), domain, `${name} ${domain}`);
    t.is((fromProto as (v: number) => unknown)(0), null, `${name} UNSPECIFIED`);
    t.is((fromProto as (v: number) => unknown)(999), undefined, `${name} unknown`);
    t.is(entries.length, Object.keys(protoEnum).filter((k) => Number.isNaN(Number(k))).length - 1, `${name}: every contract value`);
  }
});

test("a job carries every field through the wire encoding, costs included", (t) => {
  const wire = fromBinary(MaintenanceJobSchema, toBinary(MaintenanceJobSchema, maintenanceJobToProto(job)));
  t.like(wire, {
    id: ids.job,
    vehicleId: ids.vehicle,
    status: MaintenanceStatus.COMPLETED,
    mechanicId: ids.mechanic,
    currencyCode: "EUR",
    notes: "front axle",
    cancelReason: "",
    rowVersion: 5n,
    createdBy: ids.staff,
    updatedBy: "",
    blockReference: `maintenance-job:${ids.job}`,
    urgent: true,
    maintenancePlanId: ids.plan,
    odometerKm: 0,
  });
  t.like(wire.attributes, { kind: MaintenanceKind.CORRECTIVE, description: "brake pads" });
  t.deepEqual(timestampDate(wire.attributes!.estimatedCompletionTime!), t1);
  t.deepEqual(moneyFromProto(wire.laborCost), eur(12_000n));
  t.deepEqual(moneyFromProto(wire.partsCost), eur(4_550n));
  t.deepEqual(moneyFromProto(wire.totalCost), eur(16_550n));
  t.deepEqual(timestampDate(wire.completeTime!), t1);
  t.is(wire.cancelTime, undefined);
});

test("job costs: absent without a currency; an absent piece counts as zero", (t) => {
  const none = maintenanceJobToProto(scheduledJob);
  t.like(none, { currencyCode: "", laborCost: undefined, partsCost: undefined, totalCost: undefined, mechanicId: "", maintenancePlanId: "" });
  t.is(none.odometerKm, undefined);

  // Parts recorded, no labor yet: total = parts.
  const inProgress = maintenanceJobToProto({ ...scheduledJob, currency: "EUR", partsCost: eur(900n) });
  t.is(inProgress.laborCost, undefined);
  t.deepEqual(moneyFromProto(inProgress.totalCost), eur(900n));
  // Currency fixed, nothing costed: zero parts, zero total.
  const zero = maintenanceJobToProto({ ...scheduledJob, currency: "JPY" });
  t.deepEqual(moneyFromProto(zero.partsCost), { amountMinor: 0n, currency: "JPY" });
  t.deepEqual(moneyFromProto(zero.totalCost), { amountMinor: 0n, currency: "JPY" });
  // Labor only: parts zero, total = labor.
  t.deepEqual(jobCosts({ ...scheduledJob, currency: "EUR", laborCost: eur(5_000n) }).totalCost, eur(5_000n));
  // Mixed currencies break the job's invariant: refused, never a wrong total.
  t.throws(() => jobCosts({ ...job, laborCost: { amountMinor: 1n, currency: "USD" } }));
});

test("attributes, parts used and plans survive domain -> proto -> request parser", (t) => {
  const v = new Violations();
  t.deepEqual(jobAttributesOf(v, "attributes", jobAttributesToProto(job.attributes)), job.attributes);
  const inputs: PartUsedInput[] = [
    { partId: ids.part, partName: "Brake pad set", partNumber: "BP-100", quantity: 2, unitCost: eur(2_275n), costOverrideReason: "price rise" },
    { partId: null, partName: "Wiper", partNumber: "", quantity: 1, unitCost: null, costOverrideReason: null },
  ];
  for (const input of inputs) t.deepEqual(partUsedInputOf(v, "part", partUsedInputToProto(input), null), input);
  for (const plan of [vehiclePlan, modelPlan]) {
    const { name, target, intervalDays, intervalKm, leadDays, leadKm, plannedHours, jobDescription } = plan;
    t.deepEqual(planCommandOf(v, "plan", maintenancePlanToProto(plan)),
      { name, target, intervalDays, intervalKm, leadDays, leadKm, plannedHours, jobDescription });
  }
  t.deepEqual(v.list, []);
});

test("parts, stock movements, plans, due points, costs and alternatives map every field", (t) => {
  t.like(partUsedToProto(partUsed), {
    id: ids.partUsed, maintenanceJobId: ids.job, partId: ids.part, quantity: 2, costOverrideReason: "supplier price rise", recordedBy: ids.mechanic,
  });
  t.deepEqual(moneyFromProto(partUsedToProto(partUsed).totalCost), eur(4_550n));
  t.like(partUsedToProto({ ...partUsed, partId: null, unitCost: null, totalCost: null, costOverrideReason: null, recordedBy: null }),
    { partId: "", unitCost: undefined, totalCost: undefined, costOverrideReason: "", recordedBy: "" });

  t.like(partToProto(part), { id: ids.part, partNumber: "BP-100", stockOnHand: 3, reorderLevel: 4, rowVersion: 9n });
  t.deepEqual(moneyFromProto(partToProto(part).unitCost), eur(2_000n));

  t.like(stockMovementToProto(movement), {
    kind: StockMovement_Kind.CONSUMPTION, quantityDelta: -2, maintenanceJobId: ids.job, stockAfter: 3, createdBy: ids.mechanic,
  });
  t.like(stockMovementToProto({ ...movement, kind: "adjustment", totalCost: null, jobId: null, createdBy: null }),
    { kind: StockMovement_Kind.ADJUSTMENT, totalCost: undefined, maintenanceJobId: "", createdBy: "" });

  t.like(maintenancePlanToProto(vehiclePlan),
    { vehicleId: ids.vehicle, vehicleMake: "", vehicleModel: "", intervalDays: 365, intervalKm: undefined, archived: false, createdBy: ids.staff });
  t.like(maintenancePlanToProto(modelPlan),
    { vehicleId: "", vehicleMake: "VW", vehicleModel: "Crafter", intervalDays: undefined, intervalKm: 30_000, archived: true, createdBy: "" });

  t.like(maintenanceDueToProto(due),
    { maintenancePlanId: ids.plan, vehicleId: ids.vehicle, dueOdometerKm: undefined, odometerKm: 41_000, withinLead: true, maintenanceJobId: "" });
  t.like(maintenanceDueToProto({ ...due, dueTime: null, dueOdometerKm: 42_000, jobId: ids.job }),
    { dueTime: undefined, dueOdometerKm: 42_000, maintenanceJobId: ids.job });

  const costs = vehicleCostsToProto(vehicleCosts);
  t.like(costs, { vehicleId: ids.vehicle, kmDriven: 5_000 });
  t.like(costs.costs[0], { currencyCode: "EUR", jobCount: 1 });
  t.deepEqual(moneyFromProto(costs.costs[0]!.totalCost), eur(16_550n));
  t.deepEqual(costs.costPerKm.map((m) => moneyFromProto(m)), [eur(3n)]);
  t.like(vehicleCostsToProto({ ...vehicleCosts, costs: [], kmDriven: null, costPerKm: [] }), { kmDriven: undefined, costs: [], costPerKm: [] });

  t.like(alternativeVehicleToProto(alternative), { vehicleId: ids.other, plateNumber: "B-FM 2048", make: "VW", model: "Crafter" });
});

test("every event maps to its contract message, keyed by its aggregate, and encodes", (t) => {
  const events: MaintenanceEvent[] = [
    { type: "MaintenanceScheduled", job: scheduledJob },
    { type: "MaintenanceJobUpdated", job: scheduledJob, changedFields: ["attributes.schedule_time", "mechanic_id"] },
    { type: "MaintenanceStarted", job },
    { type: "MaintenanceCompleted", job, parts: [partUsed], returnOdometerKm: null },
    { type: "MaintenanceCancelled", job, previousStatus: "in_progress", parts: [partUsed] },
    { type: "PartStockReceived", part, movement: { ...movement, kind: "receipt", quantityDelta: 10, jobId: null } },
    { type: "PartStockAdjusted", part, movement: { ...movement, kind: "adjustment" } },
    { type: "PartStockConsumed", part, movement, vehicleId: ids.vehicle },
    { type: "PartStockLow", part },
    { type: "MaintenancePlanDue", due },
  ];
  const keys: Record<MaintenanceEvent["type"], string> = {
    MaintenanceScheduled: ids.job,
    MaintenanceJobUpdated: ids.job,
    MaintenanceStarted: ids.job,
    MaintenanceCompleted: ids.job,
    MaintenanceCancelled: ids.job,
    PartStockReceived: ids.part,
    PartStockAdjusted: ids.part,
    PartStockConsumed: ids.part,
    PartStockLow: ids.part,
    MaintenancePlanDue: ids.vehicle,
  };
  t.is(new Set(events.map((e) => e.type)).size, Object.keys(keys).length, "every variant");
  for (const event of events) {
    const message = toEventMessage(event);
    t.is(message.schema.name, event.type);
    t.is(message.aggregateId, keys[event.type], event.type);
    t.notThrows(() => toBinary(message.schema, message.message), event.type);
  }
  const updated = toEventMessage(events[1]!).message as unknown as { changedFields: string[] };
  t.deepEqual(updated.changedFields, ["attributes.schedule_time", "mechanic_id"]);
  const started = toEventMessage(events[2]!).message as unknown as { kind: number; odometerKm?: number; mechanicId: string; rowVersion: bigint };
  t.like(started, { kind: MaintenanceKind.CORRECTIVE, odometerKm: 0, mechanicId: ids.mechanic, rowVersion: 5n });
  const consumed = toEventMessage(events[7]!).message as unknown as { vehicleId: string };
  t.is(consumed.vehicleId, ids.vehicle);
  const planDue = toEventMessage(events[9]!);
  t.is(planDue.schema, MaintenancePlanDueSchema);
  t.is((planDue.message as MaintenancePlanDue).due?.maintenancePlanId, ids.plan);
});

test("MaintenanceCompleted carries labor, parts, parts_cost and total = labor + parts", (t) => {
  const completed = toEventMessage({ type: "MaintenanceCompleted", job, parts: [partUsed], returnOdometerKm: 12_345 });
  t.is(completed.schema, MaintenanceCompletedSchema);
  const m = completed.message as MaintenanceCompleted;
  t.deepEqual(moneyFromProto(m.laborCost), eur(12_000n));
  t.deepEqual(moneyFromProto(m.partsCost), eur(4_550n));
  t.deepEqual(moneyFromProto(m.totalCost), eur(16_550n));
  t.deepEqual(m.parts.map((p) => p.id), [ids.partUsed]);
  // The completion's reading goes to fleet, not the one the job kept from its start.
  t.like(m, { maintenanceJobId: ids.job, vehicleId: ids.vehicle, mechanicId: ids.mechanic, odometerKm: 12_345, rowVersion: 5n });
  t.deepEqual(timestampDate(m.completeTime!), t1);
  t.deepEqual(timestampDate(m.startTime!), t0);

  // Labor only, no parts: parts zero, total = labor.
  const laborOnly = toEventMessage({ type: "MaintenanceCompleted", job: { ...job, partsCost: null }, parts: [], returnOdometerKm: null }).message as MaintenanceCompleted;
  t.deepEqual(moneyFromProto(laborOnly.partsCost), eur(0n));
  t.deepEqual(moneyFromProto(laborOnly.totalCost), eur(12_000n));
});

test("MaintenanceCancelled carries the previous status, its parts and their cost", (t) => {
  const cancelled = toEventMessage({
    type: "MaintenanceCancelled", job: { ...job, status: "cancelled", cancelReason: "vehicle sold", cancelTime: t1, laborCost: null },
    previousStatus: "in_progress", parts: [partUsed],
  });
  t.is(cancelled.schema, MaintenanceCancelledSchema);
  const m = cancelled.message as MaintenanceCancelled;
  t.like(m, { previousStatus: MaintenanceStatus.IN_PROGRESS, reason: "vehicle sold", vehicleId: ids.vehicle, rowVersion: 5n });
  t.deepEqual(moneyFromProto(m.partsCost), eur(4_550n));
  t.deepEqual(m.parts.map((p) => p.partId), [ids.part]);
  t.deepEqual(timestampDate(m.cancelTime!), t1);
  // A scheduled job cancelled before any cost: no parts, no amount.
  const early = toEventMessage({ type: "MaintenanceCancelled", job: scheduledJob, previousStatus: "scheduled", parts: [] }).message as MaintenanceCancelled;
  t.like(early, { previousStatus: MaintenanceStatus.SCHEDULED, partsCost: undefined, parts: [] });
});

const consumed = (eventType: string, occurredAt?: Date): ConsumedEvent => ({
  messageId: "m-1", eventType, aggregateId: undefined, occurredAt, requestId: undefined, topic: "fleet.vehicle.v1", partition: 0, offset: "1",
});

test("fleet vehicle events update the projection, odometer included; malformed ones are permanent failures", async (t) => {
  const { useCases, calls } = recordingUseCases();
  const handlers = maintenanceEventHandlers(useCases, capturedLogger().log);
  const bySchema = (name: string) => handlers.find((h) => h.schema.name === name)!;
  t.deepEqual(handlers.map((h) => h.schema.name).sort(),
    ["OdometerReadingRecorded", "VehicleRegistered", "VehicleStateChanged", "VehicleUpdated"]);

  const vehicle = {
    id: ids.vehicle, plateNumber: "B-FM 1", status: ProtoFleetStatus.ACTIVE, rowVersion: 5n, odometerKm: 41_000,
    attributes: { make: "VW", model: "Crafter", passengerCapacity: 3 },
  };
  await bySchema("VehicleRegistered").handle(create(VehicleRegisteredSchema, { vehicle }), consumed("fleetmesh.fleet.v1.VehicleRegistered"));
  t.deepEqual(calls.at(-1), {
    method: "applyFleetVehicle",
    args: [{
      vehicleId: ids.vehicle, plateNumber: "B-FM 1", make: "VW", model: "Crafter", passengerCapacity: 3, loadLimitKg: null,
      status: "active", fleetRowVersion: 5n, odometerKm: 41_000,
    }],
  });
  await bySchema("VehicleUpdated").handle(create(VehicleUpdatedSchema, { vehicle: { ...vehicle, odometerKm: undefined, status: ProtoFleetStatus.RENTED } }),
    consumed("fleetmesh.fleet.v1.VehicleUpdated"));
  t.like((calls.at(-1)!.args[0] as object), { status: "rented", odometerKm: null });

  await bySchema("VehicleStateChanged").handle(
    create(VehicleStateChangedSchema, { vehicleId: ids.vehicle, newStatus: ProtoFleetStatus.DECOMMISSIONED, rowVersion: 6n }), consumed("x"));
  t.deepEqual(calls.at(-1), { method: "applyFleetVehicleStatus", args: [ids.vehicle, "decommissioned", 6n] });

  const odometer = bySchema("OdometerReadingRecorded");
  await odometer.handle(create(OdometerReadingRecordedSchema, {
    reading: { id: ids.other, vehicleId: ids.vehicle, readingKm: 42_500, recordTime: timestampFromDate(t1) },
  }), consumed("x"));
  t.deepEqual(calls.at(-1), { method: "applyOdometerReading", args: [ids.vehicle, 42_500, t1] });
  // A reading without its own time takes the envelope's.
  await odometer.handle(create(OdometerReadingRecordedSchema, { reading: { vehicleId: ids.vehicle, readingKm: 0 } }), consumed("x", t0));
  t.deepEqual(calls.at(-1), { method: "applyOdometerReading", args: [ids.vehicle, 0, t0] });

  const before = calls.length;
  const malformed: Array<() => Promise<void>> = [
    () => bySchema("VehicleStateChanged").handle(create(VehicleStateChangedSchema, { vehicleId: "nope", newStatus: ProtoFleetStatus.ACTIVE }), consumed("x")),
    () => bySchema("VehicleStateChanged").handle(create(VehicleStateChangedSchema, { vehicleId: ids.vehicle }), consumed("x")),
    () => bySchema("VehicleRegistered").handle(create(VehicleRegisteredSchema), consumed("x")),
    () => bySchema("VehicleUpdated").handle(create(VehicleUpdatedSchema, { vehicle: { ...vehicle, odometerKm: -1 } }), consumed("x")),
    () => odometer.handle(create(OdometerReadingRecordedSchema), consumed("x")),
    () => odometer.handle(create(OdometerReadingRecordedSchema, { reading: { vehicleId: ids.vehicle, readingKm: -5, recordTime: timestampFromDate(t1) } }),
      consumed("x")),
    () => odometer.handle(create(OdometerReadingRecordedSchema, { reading: { vehicleId: ids.vehicle, readingKm: 5 } }), consumed("x")),
  ];
  for (const attempt of malformed) await t.throwsAsync(attempt(), { instanceOf: PermanentEventError });
  t.is(calls.length, before, "nothing applied from malformed events");
});
