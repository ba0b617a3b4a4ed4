import { create } from "@bufbuild/protobuf";
import type { Money as ProtoMoney } from "../../../../../gen/fleetmesh/common/v1/money_pb.js";
import {
  MaintenanceCostSummarySchema,
  MaintenanceDueSchema,
  MaintenanceJobAttributesSchema,
  MaintenanceJobSchema,
  MaintenancePlanSchema,
  PartSchema,
  PartUsedInputSchema,
  PartUsedSchema,
  StockMovementSchema,
  type MaintenanceCostSummary as ProtoCostSummary,
  type MaintenanceDue as ProtoDue,
  type MaintenanceJob as ProtoJob,
  type MaintenanceJobAttributes as ProtoJobAttributes,
  type MaintenancePlan as ProtoPlan,
  type Part as ProtoPart,
  type PartUsed as ProtoPartUsed,
  type PartUsedInput as ProtoPartUsedInput,
  type StockMovement as ProtoStockMovement,
} from "../../../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import {
  AlternativeVehicleSchema,
  GetVehicleMaintenanceCostsResponseSchema,
  type AlternativeVehicle as ProtoAlternativeVehicle,
  type GetVehicleMaintenanceCostsResponse as ProtoVehicleCosts,
} from "../../../../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { sumMoney, type Money } from "../../../../platform/src/money.js";
import {
  moneyToProto,
  optionalMoneyToProto,
  optionalTimeToProto,
  textOrEmpty,
  timeToProto,
} from "../../../../platform/src/proto-common.js";
import type { AlternativeVehicle, CostSummary, VehicleCosts } from "../../app/use-case-api.js";
import type {
  JobAttributes,
  MaintenanceDue,
  MaintenanceJob,
  MaintenancePlan,
  Part,
  PartUsed,
  PartUsedInput,
  StockMovement,
} from "../../domain/model.js";
import { MAINTENANCE_KIND_TO_PROTO, MAINTENANCE_STATUS_TO_PROTO, STOCK_MOVEMENT_KIND_TO_PROTO } from "./maintenance-enums.js";

// Domain -> contract messages, shared by the gRPC handlers and the event
// outbox. Absent values (null) become unset optional fields or "" for
// proto3 strings; nothing here validates: the domain values are trusted.

/** A job's amounts as the contract shows them: absent while the job has no currency. */
export interface JobCosts {
  readonly currency: string | null;
  /** Set on completion; null before. */
  readonly laborCost: Money | null;
  /** The parts' sum; zero of the currency when the job has a currency but no costed part. */
  readonly partsCost: Money | null;
  /** labor + parts, an absent piece counting as zero. */
  readonly totalCost: Money | null;
}

/**
 * The job's currency (the first amount recorded fixed it; the amounts are
 * the fallback for a job that predates the column) and its totals. Mixed
 * currencies break the job's invariant: sumMoney refuses them
 * (CURRENCY_MISMATCH) rather than publishing a wrong total.
 */
export function jobCosts(job: MaintenanceJob): JobCosts {
  const currency = job.currency ?? job.laborCost?.currency ?? job.partsCost?.currency ?? null;
  if (currency === null) return { currency: null, laborCost: null, partsCost: null, totalCost: null };
  const partsCost = job.partsCost ?? { amountMinor: 0n, currency };
  const pieces = job.laborCost === null ? [partsCost] : [job.laborCost, partsCost];
  return { currency, laborCost: job.laborCost, partsCost, totalCost: sumMoney(pieces, currency) };
}

export function jobAttributesToProto(a: JobAttributes): ProtoJobAttributes {
  return create(MaintenanceJobAttributesSchema, {
    kind: MAINTENANCE_KIND_TO_PROTO[a.kind],
    description: a.description,
    scheduleTime: timeToProto(a.scheduleTime),
    estimatedCompletionTime: timeToProto(a.estimatedCompletionTime),
  });
}

export function maintenanceJobToProto(j: MaintenanceJob): ProtoJob {
  const costs = jobCosts(j);
  return create(MaintenanceJobSchema, {
    id: j.id,
    vehicleId: j.vehicleId,
    attributes: jobAttributesToProto(j.attributes),
    status: MAINTENANCE_STATUS_TO_PROTO[j.status],
    mechanicId: textOrEmpty(j.mechanicId),
    startTime: optionalTimeToProto(j.startTime),
    completeTime: optionalTimeToProto(j.completeTime),
    odometerKm: j.odometerKm ?? undefined,
    currencyCode: textOrEmpty(costs.currency),
    laborCost: optionalMoneyToProto(costs.laborCost),
    partsCost: optionalMoneyToProto(costs.partsCost),
    totalCost: optionalMoneyToProto(costs.totalCost),
    notes: j.notes,
    cancelReason: textOrEmpty(j.cancelReason),
    cancelTime: optionalTimeToProto(j.cancelTime),
    rowVersion: j.rowVersion,
    createTime: timeToProto(j.createdAt),
    updateTime: timeToProto(j.updatedAt),
    createdBy: textOrEmpty(j.createdBy),
    updatedBy: textOrEmpty(j.updatedBy),
    blockReference: j.blockReference,
    urgent: j.urgent,
    maintenancePlanId: textOrEmpty(j.planId),
  });
}

export function partUsedToProto(p: PartUsed): ProtoPartUsed {
  return create(PartUsedSchema, {
    id: p.id,
    maintenanceJobId: p.jobId,
    partName: p.partName,
    partNumber: p.partNumber,
    quantity: p.quantity,
    unitCost: optionalMoneyToProto(p.unitCost),
    totalCost: optionalMoneyToProto(p.totalCost),
    recordTime: timeToProto(p.recordedAt),
    recordedBy: textOrEmpty(p.recordedBy),
    partId: textOrEmpty(p.partId),
    costOverrideReason: textOrEmpty(p.costOverrideReason),
  });
}

/** The request form of a part (clients, tests); the inverse of the request parser. */
export function partUsedInputToProto(p: PartUsedInput): ProtoPartUsedInput {
  return create(PartUsedInputSchema, {
    partName: p.partName,
    partNumber: p.partNumber,
    quantity: p.quantity,
    unitCost: optionalMoneyToProto(p.unitCost),
    partId: textOrEmpty(p.partId),
    costOverrideReason: textOrEmpty(p.costOverrideReason),
  });
}

export function partToProto(p: Part): ProtoPart {
  return create(PartSchema, {
    id: p.id,
    partNumber: p.partNumber,
    name: p.name,
    unitCost: moneyToProto(p.unitCost),
    stockOnHand: p.stockOnHand,
    reorderLevel: p.reorderLevel,
    rowVersion: p.rowVersion,
    createTime: timeToProto(p.createdAt),
    updateTime: timeToProto(p.updatedAt),
  });
}

export function stockMovementToProto(m: StockMovement): ProtoStockMovement {
  return create(StockMovementSchema, {
    id: m.id,
    partId: m.partId,
    kind: STOCK_MOVEMENT_KIND_TO_PROTO[m.kind],
    quantityDelta: m.quantityDelta,
    totalCost: optionalMoneyToProto(m.totalCost),
    maintenanceJobId: textOrEmpty(m.jobId),
    reason: m.reason,
    stockAfter: m.stockAfter,
    createTime: timeToProto(m.createdAt),
    createdBy: textOrEmpty(m.createdBy),
  });
}

export function maintenancePlanToProto(p: MaintenancePlan): ProtoPlan {
  const target = "vehicleId" in p.target
    ? { vehicleId: p.target.vehicleId, vehicleMake: "", vehicleModel: "" }
    : { vehicleId: "", vehicleMake: p.target.make, vehicleModel: p.target.model };
  return create(MaintenancePlanSchema, {
    id: p.id,
    name: p.name,
    ...target,
    intervalDays: p.intervalDays ?? undefined,
    intervalKm: p.intervalKm ?? undefined,
    leadDays: p.leadDays,
    leadKm: p.leadKm,
    plannedHours: p.plannedHours,
    jobDescription: p.jobDescription,
    archived: p.archivedAt !== null,
    rowVersion: p.rowVersion,
    createTime: timeToProto(p.createdAt),
    createdBy: textOrEmpty(p.createdBy),
  });
}

/** The due key is internal (the job's idempotency on the due point): not on the wire. */
export function maintenanceDueToProto(d: MaintenanceDue): ProtoDue {
  return create(MaintenanceDueSchema, {
    maintenancePlanId: d.planId,
    vehicleId: d.vehicleId,
    dueTime: optionalTimeToProto(d.dueTime),
    dueOdometerKm: d.dueOdometerKm ?? undefined,
    odometerKm: d.odometerKm ?? undefined,
    withinLead: d.withinLead,
    maintenanceJobId: textOrEmpty(d.jobId),
  });
}

export function costSummaryToProto(c: CostSummary): ProtoCostSummary {
  return create(MaintenanceCostSummarySchema, {
    currencyCode: c.currency,
    laborCost: moneyToProto(c.laborCost),
    partsCost: moneyToProto(c.partsCost),
    totalCost: moneyToProto(c.totalCost),
    jobCount: c.jobCount,
  });
}

export function vehicleCostsToProto(c: VehicleCosts): ProtoVehicleCosts {
  return create(GetVehicleMaintenanceCostsResponseSchema, {
    vehicleId: c.vehicleId,
    costs: c.costs.map(costSummaryToProto),
    kmDriven: c.kmDriven ?? undefined,
    costPerKm: c.costPerKm.map((m): ProtoMoney => moneyToProto(m)),
  });
}

export function alternativeVehicleToProto(a: AlternativeVehicle): ProtoAlternativeVehicle {
  return create(AlternativeVehicleSchema, {
    vehicleId: a.vehicleId,
    plateNumber: a.plateNumber,
    make: a.make,
    model: a.model,
  });
}
