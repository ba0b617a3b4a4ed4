import { create } from "@bufbuild/protobuf";
import { PageResponseSchema } from "../../../../../gen/fleetmesh/common/v1/paging_pb.js";
import {
  AddPartsUsedResponseSchema,
  AdjustStockResponseSchema,
  ArchiveMaintenancePlanResponseSchema,
  AssignMechanicResponseSchema,
  CancelMaintenanceResponseSchema,
  CompleteMaintenanceResponseSchema,
  CreateMaintenancePlanResponseSchema,
  CreatePartResponseSchema,
  GetMaintenanceJobResponseSchema,
  GetPartResponseSchema,
  ListMaintenanceDueResponseSchema,
  ListMaintenanceJobsResponseSchema,
  ListMaintenancePlansResponseSchema,
  ListOwnMaintenanceJobsResponseSchema,
  ListPartsResponseSchema,
  ListPartsUsedResponseSchema,
  ListStockMovementsResponseSchema,
  MaintenanceService,
  ReceiveStockResponseSchema,
  ScheduleMaintenanceResponseSchema,
  StartMaintenanceResponseSchema,
  UpdateMaintenanceJobResponseSchema,
  type AssignMechanicRequest,
  type ScheduleMaintenanceRequest,
  type StartMaintenanceRequest,
  type UpdateMaintenanceJobRequest,
} from "../../../../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { bindService, remoteFirst, type ServiceBinding } from "../../../../platform/src/grpc/server.js";
import { Violations } from "../../../../platform/src/validation.js";
import type { MaintenanceUseCases } from "../../app/use-case-api.js";
import {
  alternativeVehicleToProto,
  maintenanceDueToProto,
  maintenanceJobToProto,
  maintenancePlanToProto,
  partToProto,
  partUsedToProto,
  stockMovementToProto,
  vehicleCostsToProto,
} from "../proto/maintenance-proto.js";
import {
  check,
  expectedRowVersion,
  jobAttributesOf,
  jobAttributesPatchOf,
  MAX_NOTES,
  MAX_PART_NAME,
  MAX_PART_NUMBER,
  MAX_REASON,
  MAX_STOCK_REFERENCE,
  moneyOf,
  nonNegativeInt,
  optionalKind,
  optionalPeriodOf,
  optionalText,
  optionalUuid,
  pageOf,
  partUsedInputsOf,
  planCommandOf,
  requestCurrency,
  requiredText,
  statusesOf,
  stockQuantity,
  timeOf,
} from "./maintenance-requests.js";

// The MaintenanceService RPCs: check the request's shape (every violation at
// once, with proto field paths), map it to a use-case command, call the use
// case as ctx.caller, map the result back. A request with violations never
// reaches a use case, so it writes nothing.
//
// Scheduling, updating, assigning and starting read identity or fleet and
// move the block in rental before their transaction: their use cases return
// Prepared<R>, and their handlers are remoteFirst (prepare validates and
// calls the use case outside the idempotency layer's transaction, handle
// runs it inside). A `!` after check(v) is safe: the parsers return null
// only after recording a violation.

const pageResponse = (nextPageToken: string) => create(PageResponseSchema, { nextPageToken });

export function maintenanceServiceBinding(useCases: MaintenanceUseCases): ServiceBinding {
  return bindService(MaintenanceService, {
    // ---- jobs: the two-phase commands ----

    scheduleMaintenance: remoteFirst(async (req: ScheduleMaintenanceRequest, ctx) => {
      const v = new Violations().uuid("vehicle_id", req.vehicleId);
      const attributes = jobAttributesOf(v, "attributes", req.attributes);
      const mechanicId = optionalUuid(v, "mechanic_id", req.mechanicId);
      if (req.urgent && attributes !== null && attributes.kind !== "corrective") {
        v.add("urgent", "only a CORRECTIVE job (a breakdown) may be urgent", "UNSUPPORTED_VALUE");
      }
      check(v);
      return useCases.schedule({ vehicleId: req.vehicleId, attributes: attributes!, mechanicId, urgent: req.urgent }, ctx.caller);
    }, async (_req, _ctx, prepared) => {
      const { job, displacedRentalIds, alternatives } = await prepared.run();
      return create(ScheduleMaintenanceResponseSchema, {
        job: maintenanceJobToProto(job),
        displacedRentalIds: [...displacedRentalIds],
        alternatives: alternatives.map(alternativeVehicleToProto),
      });
    }),

    updateMaintenanceJob: remoteFirst(async (req: UpdateMaintenanceJobRequest, ctx) => {
      const v = new Violations().uuid("maintenance_job_id", req.maintenanceJobId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const attributes = jobAttributesPatchOf(v, "attributes", req.attributes, req.updateMask);
      check(v);
      return useCases.update({ jobId: req.maintenanceJobId, expectedRowVersion: rowVersion, attributes }, ctx.caller);
    }, async (_req, _ctx, prepared) => create(UpdateMaintenanceJobResponseSchema, { job: maintenanceJobToProto(await prepared.run()) })),

    assignMechanic: remoteFirst(async (req: AssignMechanicRequest, ctx) => {
      const v = new Violations().uuid("maintenance_job_id", req.maintenanceJobId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const mechanicId = optionalUuid(v, "mechanic_id", req.mechanicId);
      check(v);
      return useCases.assignMechanic({ jobId: req.maintenanceJobId, expectedRowVersion: rowVersion, mechanicId }, ctx.caller);
    }, async (_req, _ctx, prepared) => create(AssignMechanicResponseSchema, { job: maintenanceJobToProto(await prepared.run()) })),

    startMaintenance: remoteFirst(async (req: StartMaintenanceRequest, ctx) => {
      const v = new Violations().uuid("maintenance_job_id", req.maintenanceJobId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      // "Not in the future" needs the clock: the use case checks it.
      const startTime = timeOf(v, "start_time", req.startTime, false);
      const odometerKm = nonNegativeInt(v, "odometer_km", req.odometerKm);
      const mechanicId = optionalUuid(v, "mechanic_id", req.mechanicId);
      check(v);
      return useCases.start(
        { jobId: req.maintenanceJobId, expectedRowVersion: rowVersion, startTime, odometerKm, mechanicId },
        ctx.caller,
      );
    }, async (_req, _ctx, prepared) => create(StartMaintenanceResponseSchema, { job: maintenanceJobToProto(await prepared.run()) })),

    // ---- jobs: work and its end ----

    async addPartsUsed(req, ctx) {
      const v = new Violations().uuid("maintenance_job_id", req.maintenanceJobId);
      const parts = partUsedInputsOf(v, "parts", req.parts, { min: 1 });
      check(v);
      const result = await useCases.addParts(req.maintenanceJobId, parts, ctx.caller);
      return create(AddPartsUsedResponseSchema, { parts: result.parts.map(partUsedToProto), job: maintenanceJobToProto(result.job) });
    },

    async completeMaintenance(req, ctx) {
      const v = new Violations().uuid("maintenance_job_id", req.maintenanceJobId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      // One currency per request: the labor cost's, else the first part's (the job's is the use case's check).
      const currency = requestCurrency(req.laborCost, ...req.parts.map((p) => p.unitCost));
      const laborCost = moneyOf(v, "labor_cost", req.laborCost, { required: true, currency });
      const parts = partUsedInputsOf(v, "parts", req.parts, { min: 0, currency });
      const notes = optionalText(v, "notes", req.notes, MAX_NOTES);
      const odometerKm = nonNegativeInt(v, "odometer_km", req.odometerKm);
      const completeTime = timeOf(v, "complete_time", req.completeTime, false);
      check(v);
      const result = await useCases.complete(
        { jobId: req.maintenanceJobId, expectedRowVersion: rowVersion, laborCost, parts, notes, odometerKm, completeTime },
        ctx.caller,
      );
      return create(CompleteMaintenanceResponseSchema, { job: maintenanceJobToProto(result.job), parts: result.parts.map(partUsedToProto) });
    },

    async cancelMaintenance(req, ctx) {
      const v = new Violations().uuid("maintenance_job_id", req.maintenanceJobId);
      const rowVersion = expectedRowVersion(v, req.expectedRowVersion);
      const reason = requiredText(v, "reason", req.reason, MAX_REASON);
      check(v);
      const job = await useCases.cancel({ jobId: req.maintenanceJobId, expectedRowVersion: rowVersion, reason }, ctx.caller);
      return create(CancelMaintenanceResponseSchema, { job: maintenanceJobToProto(job) });
    },

    // ---- jobs: reads ----

    async getMaintenanceJob(req) {
      check(new Violations().uuid("maintenance_job_id", req.maintenanceJobId));
      const { job, parts } = await useCases.getJob(req.maintenanceJobId);
      return create(GetMaintenanceJobResponseSchema, { job: maintenanceJobToProto(job), parts: parts.map(partUsedToProto) });
    },

    async listMaintenanceJobs(req) {
      const v = new Violations();
      const vehicleId = optionalUuid(v, "vehicle_id", req.vehicleId);
      const statuses = statusesOf(v, "statuses", req.statuses);
      const kind = optionalKind(v, "kind", req.kind);
      const mechanicId = optionalUuid(v, "mechanic_id", req.mechanicId);
      const scheduledWithin = optionalPeriodOf(v, "scheduled_within", req.scheduledWithin);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listJobs({ vehicleId, statuses, kind, mechanicId, scheduledWithin }, page);
      return create(ListMaintenanceJobsResponseSchema, { jobs: result.items.map(maintenanceJobToProto), page: pageResponse(result.nextPageToken) });
    },

    async listOwnMaintenanceJobs(req, ctx) {
      const v = new Violations();
      const statuses = statusesOf(v, "statuses", req.statuses);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listOwnJobs(statuses, page, ctx.caller);
      return create(ListOwnMaintenanceJobsResponseSchema, { jobs: result.items.map(maintenanceJobToProto), page: pageResponse(result.nextPageToken) });
    },

    async listPartsUsed(req) {
      const v = new Violations().uuid("maintenance_job_id", req.maintenanceJobId);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listParts(req.maintenanceJobId, page);
      return create(ListPartsUsedResponseSchema, { parts: result.items.map(partUsedToProto), page: pageResponse(result.nextPageToken) });
    },

    async getVehicleMaintenanceCosts(req) {
      const v = new Violations().uuid("vehicle_id", req.vehicleId);
      const completedWithin = optionalPeriodOf(v, "completed_within", req.completedWithin);
      check(v);
      return vehicleCostsToProto(await useCases.vehicleCosts(req.vehicleId, completedWithin));
    },

    // ---- parts and stock ----

    async createPart(req, ctx) {
      const v = new Violations();
      const partNumber = requiredText(v, "part_number", req.partNumber, MAX_PART_NUMBER);
      const name = requiredText(v, "name", req.name, MAX_PART_NAME);
      const unitCost = moneyOf(v, "unit_cost", req.unitCost, { required: true });
      if (req.reorderLevel < 0) v.add("reorder_level", "must not be negative", "OUT_OF_RANGE");
      check(v);
      const part = await useCases.createPart({ partNumber, name, unitCost: unitCost!, reorderLevel: req.reorderLevel }, ctx.caller);
      return create(CreatePartResponseSchema, { part: partToProto(part) });
    },

    async getPart(req) {
      check(new Violations().uuid("part_id", req.partId));
      return create(GetPartResponseSchema, { part: partToProto(await useCases.getPart(req.partId)) });
    },

    async listParts(req) {
      const v = new Violations();
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listCatalog(req.lowStockOnly, page);
      return create(ListPartsResponseSchema, { parts: result.items.map(partToProto), page: pageResponse(result.nextPageToken) });
    },

    async receiveStock(req, ctx) {
      const v = new Violations().uuid("part_id", req.partId);
      const quantity = stockQuantity(v, "quantity", req.quantity, { signed: false });
      // The part's currency is the use case's check.
      const totalCost = moneyOf(v, "total_cost", req.totalCost, { required: true });
      const reference = optionalText(v, "reference", req.reference, MAX_STOCK_REFERENCE);
      check(v);
      const result = await useCases.receiveStock({ partId: req.partId, quantity, totalCost: totalCost!, reference }, ctx.caller);
      return create(ReceiveStockResponseSchema, { part: partToProto(result.part), movement: stockMovementToProto(result.movement) });
    },

    async adjustStock(req, ctx) {
      const v = new Violations().uuid("part_id", req.partId);
      const quantityDelta = stockQuantity(v, "quantity_delta", req.quantityDelta, { signed: true });
      const reason = requiredText(v, "reason", req.reason, MAX_REASON);
      check(v);
      const result = await useCases.adjustStock({ partId: req.partId, quantityDelta, reason }, ctx.caller);
      return create(AdjustStockResponseSchema, { part: partToProto(result.part), movement: stockMovementToProto(result.movement) });
    },

    async listStockMovements(req) {
      const v = new Violations().uuid("part_id", req.partId);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listStockMovements(req.partId, page);
      return create(ListStockMovementsResponseSchema, { movements: result.items.map(stockMovementToProto), page: pageResponse(result.nextPageToken) });
    },

    // ---- preventive plans ----

    async createMaintenancePlan(req, ctx) {
      const v = new Violations();
      const command = planCommandOf(v, "plan", req.plan);
      check(v);
      const plan = await useCases.createPlan(command!, ctx.caller);
      return create(CreateMaintenancePlanResponseSchema, { plan: maintenancePlanToProto(plan) });
    },

    async listMaintenancePlans(req) {
      const v = new Violations();
      const vehicleId = optionalUuid(v, "vehicle_id", req.vehicleId);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listPlans({ includeArchived: req.includeArchived, vehicleId }, page);
      return create(ListMaintenancePlansResponseSchema, { plans: result.items.map(maintenancePlanToProto), page: pageResponse(result.nextPageToken) });
    },

    async archiveMaintenancePlan(req, ctx) {
      check(new Violations().uuid("maintenance_plan_id", req.maintenancePlanId));
      const plan = await useCases.archivePlan(req.maintenancePlanId, ctx.caller);
      return create(ArchiveMaintenancePlanResponseSchema, { plan: maintenancePlanToProto(plan) });
    },

    async listMaintenanceDue(req) {
      const v = new Violations();
      const vehicleId = optionalUuid(v, "vehicle_id", req.vehicleId);
      const page = pageOf(v, req.page);
      check(v);
      const result = await useCases.listDue({ vehicleId, withinLeadOnly: req.withinLeadOnly }, page);
      return create(ListMaintenanceDueResponseSchema, { due: result.items.map(maintenanceDueToProto), page: pageResponse(result.nextPageToken) });
    },
  });
}
