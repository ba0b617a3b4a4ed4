// The gRPC adapter's request checks: bad input is INVALID_ARGUMENT listing
// every bad field by its proto path, and no use case runs (nothing is
// written). Valid input reaches the use case as domain commands, as the caller.
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import test from "ava";
import { MaintenanceKind, MaintenanceStatus } from "../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import {
  AddPartsUsedRequestSchema,
  AdjustStockRequestSchema,
  ArchiveMaintenancePlanRequestSchema,
  AssignMechanicRequestSchema,
  CancelMaintenanceRequestSchema,
  CompleteMaintenanceRequestSchema,
  CreateMaintenancePlanRequestSchema,
  CreatePartRequestSchema,
  GetMaintenanceJobRequestSchema,
  GetPartRequestSchema,
  GetVehicleMaintenanceCostsRequestSchema,
  ListMaintenanceDueRequestSchema,
  ListMaintenanceJobsRequestSchema,
  ListMaintenancePlansRequestSchema,
  ListOwnMaintenanceJobsRequestSchema,
  ListPartsRequestSchema,
  ListPartsUsedRequestSchema,
  ListStockMovementsRequestSchema,
  MaintenanceService,
  ReceiveStockRequestSchema,
  ScheduleMaintenanceRequestSchema,
  StartMaintenanceRequestSchema,
  UpdateMaintenanceJobRequestSchema,
} from "../../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { requestChecks } from "../../platform/src/testing/handlers.js";
import { ids, maintenanceHandlers, staffCaller } from "./adapter-fixtures.js";

const HOUR = 3_600_000;
const start = new Date("2031-03-01T09:00:00Z");
const at = (ms: number) => timestampFromDate(new Date(start.getTime() + ms));
const money = (amountMinor: bigint, currencyCode = "EUR") => ({ amountMinor, currencyCode });

const attributes = (overrides: Record<string, unknown> = {}) => ({
  kind: MaintenanceKind.CORRECTIVE,
  description: "brake pads",
  scheduleTime: at(0),
  estimatedCompletionTime: at(4 * HOUR),
  ...overrides,
});

const planInit = (overrides: Record<string, unknown> = {}) => ({
  name: "Oil service",
  vehicleId: ids.vehicle,
  intervalDays: 365,
  leadDays: 14,
  plannedHours: 4,
  jobDescription: "oil and filters",
  ...overrides,
});

const { expectViolations, expectAccepted } = requestChecks(maintenanceHandlers);

// ---- every RPC ----

test("every RPC is bound and a valid request reaches its use case and maps the answer", async (t) => {
  const valid: Array<[string, DescMessage, Record<string, unknown>, string]> = [
    ["scheduleMaintenance", ScheduleMaintenanceRequestSchema, { vehicleId: ids.vehicle, attributes: attributes(), urgent: true }, "schedule"],
    ["updateMaintenanceJob", UpdateMaintenanceJobRequestSchema,
      { maintenanceJobId: ids.job, attributes: attributes(), updateMask: { paths: ["description"] } }, "update"],
    ["assignMechanic", AssignMechanicRequestSchema, { maintenanceJobId: ids.job, mechanicId: ids.mechanic }, "assignMechanic"],
    ["startMaintenance", StartMaintenanceRequestSchema, { maintenanceJobId: ids.job, odometerKm: 0 }, "start"],
    ["addPartsUsed", AddPartsUsedRequestSchema, { maintenanceJobId: ids.job, parts: [{ partId: ids.part, quantity: 1 }] }, "addParts"],
    ["completeMaintenance", CompleteMaintenanceRequestSchema, { maintenanceJobId: ids.job, laborCost: money(0n) }, "complete"],
    ["cancelMaintenance", CancelMaintenanceRequestSchema, { maintenanceJobId: ids.job, reason: "no longer needed" }, "cancel"],
    ["getMaintenanceJob", GetMaintenanceJobRequestSchema, { maintenanceJobId: ids.job }, "getJob"],
    ["listMaintenanceJobs", ListMaintenanceJobsRequestSchema, {}, "listJobs"],
    ["listOwnMaintenanceJobs", ListOwnMaintenanceJobsRequestSchema, {}, "listOwnJobs"],
    ["listPartsUsed", ListPartsUsedRequestSchema, { maintenanceJobId: ids.job }, "listParts"],
    ["getVehicleMaintenanceCosts", GetVehicleMaintenanceCostsRequestSchema, { vehicleId: ids.vehicle }, "vehicleCosts"],
    ["createPart", CreatePartRequestSchema, { partNumber: "BP-100", name: "Brake pads", unitCost: money(0n) }, "createPart"],
    ["getPart", GetPartRequestSchema, { partId: ids.part }, "getPart"],
    ["listParts", ListPartsRequestSchema, { lowStockOnly: true }, "listCatalog"],
    ["receiveStock", ReceiveStockRequestSchema, { partId: ids.part, quantity: 10, totalCost: money(20_000n) }, "receiveStock"],
    ["adjustStock", AdjustStockRequestSchema, { partId: ids.part, quantityDelta: -1, reason: "damaged" }, "adjustStock"],
    ["listStockMovements", ListStockMovementsRequestSchema, { partId: ids.part }, "listStockMovements"],
    ["createMaintenancePlan", CreateMaintenancePlanRequestSchema, { plan: planInit() }, "createPlan"],
    ["listMaintenancePlans", ListMaintenancePlansRequestSchema, { includeArchived: true }, "listPlans"],
    ["archiveMaintenancePlan", ArchiveMaintenancePlanRequestSchema, { maintenancePlanId: ids.plan }, "archivePlan"],
    ["listMaintenanceDue", ListMaintenanceDueRequestSchema, { withinLeadOnly: true }, "listDue"],
  ];
  t.deepEqual(valid.map(([m]) => m).sort(), MaintenanceService.methods.map((m) => m.localName).sort(), "every RPC is covered");
  for (const [method, schema, init, useCase] of valid) {
    const { call, calls } = maintenanceHandlers();
    const response = await call(method, create(schema, init as MessageInitShape<DescMessage>));
    t.deepEqual(calls.map((c) => c.method), [useCase], method);
    const output = MaintenanceService.methods.find((m) => m.localName === method)!.output;
    t.notThrows(() => toBinary(output, response as never), `${method} answers an encodable ${output.name}`);
  }
});

// ---- scheduling ----

test("a window ending before it starts is INVALID_PERIOD on estimated_completion_time; an empty one too", async (t) => {
  await expectViolations(t, "scheduleMaintenance", ScheduleMaintenanceRequestSchema,
    { vehicleId: ids.vehicle, attributes: attributes({ estimatedCompletionTime: at(-HOUR) }) },
    { "attributes.estimated_completion_time": "INVALID_PERIOD" });
  await expectViolations(t, "scheduleMaintenance", ScheduleMaintenanceRequestSchema,
    { vehicleId: ids.vehicle, attributes: attributes({ estimatedCompletionTime: at(0) }) },
    { "attributes.estimated_completion_time": "INVALID_PERIOD" });
});

test("scheduling lists every missing or bad attribute at once", async (t) => {
  await expectViolations(t, "scheduleMaintenance", ScheduleMaintenanceRequestSchema, {
    vehicleId: "vehicle-1",
    mechanicId: "bob",
    attributes: { kind: MaintenanceKind.UNSPECIFIED, description: "  " },
  }, {
    vehicle_id: "INVALID_FORMAT",
    mechanic_id: "INVALID_FORMAT",
    "attributes.kind": "REQUIRED",
    "attributes.description": "REQUIRED",
    "attributes.schedule_time": "REQUIRED",
    "attributes.estimated_completion_time": "REQUIRED",
  });
  await expectViolations(t, "scheduleMaintenance", ScheduleMaintenanceRequestSchema, {}, { vehicle_id: "REQUIRED", attributes: "REQUIRED" });
  await expectViolations(t, "scheduleMaintenance", ScheduleMaintenanceRequestSchema,
    { vehicleId: ids.vehicle, attributes: attributes({ kind: 42, description: "d".repeat(2001) }) },
    { "attributes.kind": "UNKNOWN_ENUM_VALUE", "attributes.description": "TOO_LONG" });
});

test("timestamps outside 2000-2100 are refused on their field", async (t) => {
  await expectViolations(t, "scheduleMaintenance", ScheduleMaintenanceRequestSchema, {
    vehicleId: ids.vehicle,
    attributes: attributes({ scheduleTime: timestampFromDate(new Date("1999-12-31T23:59:59Z")), estimatedCompletionTime: { seconds: 10n ** 15n, nanos: 0 } }),
  }, { "attributes.schedule_time": "OUT_OF_RANGE", "attributes.estimated_completion_time": "OUT_OF_RANGE" });
  await expectViolations(t, "startMaintenance", StartMaintenanceRequestSchema,
    { maintenanceJobId: ids.job, startTime: timestampFromDate(new Date("2100-01-01T00:00:00Z")), odometerKm: -1, expectedRowVersion: -1n },
    { start_time: "OUT_OF_RANGE", odometer_km: "OUT_OF_RANGE", expected_row_version: "OUT_OF_RANGE" });
});

test("only a corrective job may be urgent", async (t) => {
  await expectViolations(t, "scheduleMaintenance", ScheduleMaintenanceRequestSchema,
    { vehicleId: ids.vehicle, urgent: true, attributes: attributes({ kind: MaintenanceKind.INSPECTION }) }, { urgent: "UNSUPPORTED_VALUE" });
});

test("a valid schedule reaches the use case as a domain command, as the caller", async (t) => {
  const call = await expectAccepted(t, "scheduleMaintenance", ScheduleMaintenanceRequestSchema,
    { vehicleId: ids.vehicle, mechanicId: ids.mechanic, urgent: true, attributes: attributes({ description: "  brake pads " }) });
  t.deepEqual(call.args, [{
    vehicleId: ids.vehicle,
    mechanicId: ids.mechanic,
    urgent: true,
    attributes: { kind: "corrective", description: "brake pads", scheduleTime: start, estimatedCompletionTime: new Date(start.getTime() + 4 * HOUR) },
  }, staffCaller]);
});

// ---- updates ----

test("an update needs a mask of known attribute paths; the patch holds only the masked attributes", async (t) => {
  await expectViolations(t, "updateMaintenanceJob", UpdateMaintenanceJobRequestSchema,
    { maintenanceJobId: ids.job, attributes: attributes(), expectedRowVersion: -3n },
    { update_mask: "REQUIRED", expected_row_version: "OUT_OF_RANGE" });
  await expectViolations(t, "updateMaintenanceJob", UpdateMaintenanceJobRequestSchema,
    { maintenanceJobId: ids.job, attributes: attributes(), updateMask: { paths: ["description", "status", "vehicle_id"] } },
    { "update_mask.paths[1]": "UNSUPPORTED_VALUE", "update_mask.paths[2]": "UNSUPPORTED_VALUE" });
  await expectViolations(t, "updateMaintenanceJob", UpdateMaintenanceJobRequestSchema,
    { maintenanceJobId: ids.job, updateMask: { paths: ["kind"] } }, { attributes: "REQUIRED" });
  await expectViolations(t, "updateMaintenanceJob", UpdateMaintenanceJobRequestSchema, {
    maintenanceJobId: ids.job,
    attributes: attributes({ kind: MaintenanceKind.UNSPECIFIED, description: "", estimatedCompletionTime: at(-HOUR) }),
    updateMask: { paths: ["kind", "description", "schedule_time", "estimated_completion_time"] },
  }, { "attributes.kind": "REQUIRED", "attributes.description": "REQUIRED", "attributes.estimated_completion_time": "INVALID_PERIOD" });

  const call = await expectAccepted(t, "updateMaintenanceJob", UpdateMaintenanceJobRequestSchema, {
    maintenanceJobId: ids.job,
    expectedRowVersion: 4n,
    // Unmasked attributes are ignored, even invalid ones.
    attributes: attributes({ kind: MaintenanceKind.UNSPECIFIED, scheduleTime: at(HOUR) }),
    updateMask: { paths: ["schedule_time"] },
  });
  t.deepEqual(call.args, [{ jobId: ids.job, expectedRowVersion: 4n, attributes: { scheduleTime: new Date(start.getTime() + HOUR) } }, staffCaller]);
});

// ---- parts ----

test("parts: negative quantities and costs, missing names, bad ids are refused by path", async (t) => {
  await expectViolations(t, "addPartsUsed", AddPartsUsedRequestSchema, {
    maintenanceJobId: ids.job,
    parts: [
      { partName: "Pads", quantity: -1, unitCost: money(-5n) },
      { partName: "", quantity: 0 },
      { partId: "pad", partNumber: "n".repeat(101), quantity: 1, costOverrideReason: "r".repeat(501) },
      { partName: "p".repeat(201), quantity: 1, unitCost: money(1n, "euro") },
    ],
  }, {
    "parts[0].quantity": "OUT_OF_RANGE",
    "parts[0].unit_cost.amount_minor": "OUT_OF_RANGE",
    "parts[1].part_name": "REQUIRED",
    "parts[1].quantity": "OUT_OF_RANGE",
    "parts[2].part_id": "INVALID_FORMAT",
    "parts[2].part_number": "TOO_LONG",
    "parts[2].cost_override_reason": "TOO_LONG",
    "parts[3].part_name": "TOO_LONG",
    "parts[3].unit_cost.currency_code": "INVALID_FORMAT",
  });
});

test("parts: 1-100 per request, one currency, a catalog override needs its reason", async (t) => {
  await expectViolations(t, "addPartsUsed", AddPartsUsedRequestSchema, { maintenanceJobId: ids.job, parts: [] }, { parts: "REQUIRED" });
  await expectViolations(t, "addPartsUsed", AddPartsUsedRequestSchema,
    { maintenanceJobId: ids.job, parts: Array.from({ length: 101 }, () => ({ partName: "x", quantity: 1 })) }, { parts: "TOO_MANY" });
  await expectViolations(t, "addPartsUsed", AddPartsUsedRequestSchema, {
    maintenanceJobId: ids.job,
    parts: [
      { partName: "Pads", quantity: 1, unitCost: money(100n, "EUR") },
      { partName: "Disc", quantity: 1, unitCost: money(100n, "USD") },
      { partId: ids.part, quantity: 1, unitCost: money(100n, "EUR") },
    ],
  }, { "parts[1].unit_cost.currency_code": "CURRENCY_MISMATCH", "parts[2].cost_override_reason": "REQUIRED" });

  const call = await expectAccepted(t, "addPartsUsed", AddPartsUsedRequestSchema, {
    maintenanceJobId: ids.job,
    parts: [
      { partId: ids.part, quantity: 2, unitCost: money(2_275n), costOverrideReason: " price rise " },
      { partName: " Wiper ", partNumber: " W-1 ", quantity: 1 },
    ],
  });
  t.deepEqual(call.args, [ids.job, [
    { partId: ids.part, partName: "", partNumber: "", quantity: 2, unitCost: { amountMinor: 2_275n, currency: "EUR" }, costOverrideReason: "price rise" },
    { partId: null, partName: "Wiper", partNumber: "W-1", quantity: 1, unitCost: null, costOverrideReason: null },
  ], staffCaller]);
});

// ---- completion and cancellation ----

test("completion: labor cost required and >= 0, parts in the labor cost's currency, odometer >= 0", async (t) => {
  await expectViolations(t, "completeMaintenance", CompleteMaintenanceRequestSchema,
    { maintenanceJobId: ids.job, odometerKm: -10, notes: "n".repeat(4001) },
    { labor_cost: "REQUIRED", odometer_km: "OUT_OF_RANGE", notes: "TOO_LONG" });
  await expectViolations(t, "completeMaintenance", CompleteMaintenanceRequestSchema, {
    maintenanceJobId: ids.job,
    laborCost: money(-1n, "EUR"),
    parts: [{ partName: "Pads", quantity: 1, unitCost: money(100n, "GBP") }],
    completeTime: { seconds: 0n, nanos: 0 },
  }, {
    "labor_cost.amount_minor": "OUT_OF_RANGE",
    "parts[0].unit_cost.currency_code": "CURRENCY_MISMATCH",
    complete_time: "OUT_OF_RANGE",
  });
  const call = await expectAccepted(t, "completeMaintenance", CompleteMaintenanceRequestSchema,
    { maintenanceJobId: ids.job, laborCost: money(0n, "JPY"), notes: " done ", odometerKm: 0 });
  t.deepEqual(call.args, [{
    jobId: ids.job, expectedRowVersion: 0n, laborCost: { amountMinor: 0n, currency: "JPY" }, parts: [], notes: "done", odometerKm: 0, completeTime: null,
  }, staffCaller]);
});

test("cancellation needs a reason of 1-500 characters", async (t) => {
  await expectViolations(t, "cancelMaintenance", CancelMaintenanceRequestSchema, { maintenanceJobId: ids.job, reason: " " }, { reason: "REQUIRED" });
  await expectViolations(t, "cancelMaintenance", CancelMaintenanceRequestSchema, { maintenanceJobId: "", reason: "r".repeat(501) },
    { maintenance_job_id: "REQUIRED", reason: "TOO_LONG" });
});

// ---- catalog and stock ----

test("a catalog part needs a number, a name and a unit cost >= 0 in an ISO currency", async (t) => {
  await expectViolations(t, "createPart", CreatePartRequestSchema, { partNumber: "", name: "", reorderLevel: -1 },
    { part_number: "REQUIRED", name: "REQUIRED", unit_cost: "REQUIRED", reorder_level: "OUT_OF_RANGE" });
  await expectViolations(t, "createPart", CreatePartRequestSchema,
    { partNumber: "n".repeat(101), name: "x".repeat(201), unitCost: money(-1n, "eur") },
    { part_number: "TOO_LONG", name: "TOO_LONG", "unit_cost.currency_code": "INVALID_FORMAT", "unit_cost.amount_minor": "OUT_OF_RANGE" });
});

test("stock receipts are 1-1,000,000 at a total cost >= 0; adjustments non-zero with a reason", async (t) => {
  await expectViolations(t, "receiveStock", ReceiveStockRequestSchema, { partId: ids.part, quantity: 0, reference: "r".repeat(201) },
    { quantity: "OUT_OF_RANGE", total_cost: "REQUIRED", reference: "TOO_LONG" });
  await expectViolations(t, "receiveStock", ReceiveStockRequestSchema, { partId: ids.part, quantity: 1_000_001, totalCost: money(-1n) },
    { quantity: "OUT_OF_RANGE", "total_cost.amount_minor": "OUT_OF_RANGE" });
  await expectViolations(t, "adjustStock", AdjustStockRequestSchema, { partId: ids.part, quantityDelta: 0, reason: "" },
    { quantity_delta: "OUT_OF_RANGE", reason: "REQUIRED" });
  await expectViolations(t, "adjustStock", AdjustStockRequestSchema, { partId: "x", quantityDelta: -1_000_001, reason: "count" },
    { part_id: "INVALID_FORMAT", quantity_delta: "OUT_OF_RANGE" });
  const call = await expectAccepted(t, "adjustStock", AdjustStockRequestSchema, { partId: ids.part, quantityDelta: -1_000_000, reason: " count " });
  t.deepEqual(call.args, [{ partId: ids.part, quantityDelta: -1_000_000, reason: "count" }, staffCaller]);
});

// ---- plans ----

test("a plan without an interval, or with a bad one, is refused", async (t) => {
  await expectViolations(t, "createMaintenancePlan", CreateMaintenancePlanRequestSchema, { plan: planInit({ intervalDays: undefined }) },
    { "plan.interval_days": "REQUIRED" });
  await expectViolations(t, "createMaintenancePlan", CreateMaintenancePlanRequestSchema,
    { plan: planInit({ intervalDays: 0, intervalKm: 1_000_001, leadDays: -1, leadKm: -1, plannedHours: 0 }) },
    {
      "plan.interval_days": "OUT_OF_RANGE",
      "plan.interval_km": "OUT_OF_RANGE",
      "plan.lead_days": "OUT_OF_RANGE",
      "plan.lead_km": "OUT_OF_RANGE",
      "plan.planned_hours": "OUT_OF_RANGE",
    });
});

test("a plan targets exactly one vehicle, or one make and model", async (t) => {
  await expectViolations(t, "createMaintenancePlan", CreateMaintenancePlanRequestSchema, {}, { plan: "REQUIRED" });
  await expectViolations(t, "createMaintenancePlan", CreateMaintenancePlanRequestSchema,
    { plan: planInit({ name: "", vehicleId: "" }) }, { "plan.name": "REQUIRED", "plan.vehicle_id": "REQUIRED" });
  await expectViolations(t, "createMaintenancePlan", CreateMaintenancePlanRequestSchema,
    { plan: planInit({ vehicleMake: "VW" }) }, { "plan.vehicle_id": "MUTUALLY_EXCLUSIVE" });
  await expectViolations(t, "createMaintenancePlan", CreateMaintenancePlanRequestSchema,
    { plan: planInit({ vehicleId: "", vehicleMake: "VW" }) }, { "plan.vehicle_model": "REQUIRED" });
  const call = await expectAccepted(t, "createMaintenancePlan", CreateMaintenancePlanRequestSchema,
    { plan: planInit({ vehicleId: "", vehicleMake: " VW ", vehicleModel: "Crafter", intervalDays: undefined, intervalKm: 30_000, id: "ignored" }) });
  t.deepEqual(call.args, [{
    name: "Oil service", target: { make: "VW", model: "Crafter" }, intervalDays: null, intervalKm: 30_000, leadDays: 14, leadKm: 0, plannedHours: 4,
    jobDescription: "oil and filters",
  }, staffCaller]);
});

// ---- lists ----

test("list filters and pages are checked", async (t) => {
  await expectViolations(t, "listMaintenanceJobs", ListMaintenanceJobsRequestSchema, {
    vehicleId: "v",
    statuses: [MaintenanceStatus.SCHEDULED, MaintenanceStatus.UNSPECIFIED, 99 as MaintenanceStatus],
    kind: 77 as MaintenanceKind,
    scheduledWithin: { startTime: at(HOUR), endTime: at(0) },
    page: { pageSize: -1, pageToken: "t".repeat(513) },
  }, {
    vehicle_id: "INVALID_FORMAT",
    "statuses[1]": "REQUIRED",
    "statuses[2]": "UNKNOWN_ENUM_VALUE",
    kind: "UNKNOWN_ENUM_VALUE",
    "scheduled_within.end_time": "INVALID_PERIOD",
    "page.page_size": "OUT_OF_RANGE",
    "page.page_token": "TOO_LONG",
  });
  for (const [method, schema] of [
    ["listMaintenanceDue", ListMaintenanceDueRequestSchema],
    ["listMaintenancePlans", ListMaintenancePlansRequestSchema],
    ["listParts", ListPartsRequestSchema],
    ["listOwnMaintenanceJobs", ListOwnMaintenanceJobsRequestSchema],
  ] as const) {
    await expectViolations(t, method, schema as DescMessage, { page: { pageSize: -5 } }, { "page.page_size": "OUT_OF_RANGE" });
  }
  await expectViolations(t, "getVehicleMaintenanceCosts", GetVehicleMaintenanceCostsRequestSchema,
    { vehicleId: ids.vehicle, completedWithin: { startTime: at(0) } }, { "completed_within.end_time": "REQUIRED" });

  const call = await expectAccepted(t, "listMaintenanceJobs", ListMaintenanceJobsRequestSchema, {
    statuses: [MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.IN_PROGRESS],
    kind: MaintenanceKind.INSPECTION,
    page: { pageSize: 10, pageToken: "abc" },
  });
  t.deepEqual(call.args, [
    { vehicleId: null, statuses: ["in_progress"], kind: "inspection", mechanicId: null, scheduledWithin: null },
    { pageSize: 10, pageToken: "abc" },
  ]);
});
