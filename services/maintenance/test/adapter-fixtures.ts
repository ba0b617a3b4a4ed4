// Domain values and a recording fake of MaintenanceUseCases for the adapter
// unit tests (no database, no network).
import { testCaller } from "../../platform/src/testing/fakes.js";
import { fakeHandlers, prepared, recordingFake, type RecordedCall } from "../../platform/src/testing/handlers.js";
import { maintenanceServiceBinding } from "../src/adapters/grpc/maintenance-handlers.js";
import type { AlternativeVehicle, MaintenanceUseCases, VehicleCosts } from "../src/app/use-case-api.js";
import type { MaintenanceDue, MaintenanceJob, MaintenancePlan, Part, PartUsed, StockMovement } from "../src/domain/model.js";

export const ids = {
  job: "0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
  vehicle: "1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d",
  mechanic: "2b3c4d5e-6f7a-4b1c-8d2e-3f4a5b6c7d8e",
  part: "3c4d5e6f-7a8b-4c2d-9e3f-4a5b6c7d8e9f",
  partUsed: "4d5e6f7a-8b9c-4d3e-8f4a-5b6c7d8e9f0a",
  movement: "5e6f7a8b-9c0d-4e4f-9a5b-6c7d8e9f0a1b",
  plan: "6f7a8b9c-0d1e-4f5a-8b6c-7d8e9f0a1b2c",
  other: "7a8b9c0d-1e2f-4a6b-9c7d-8e9f0a1b2c3d",
  rental: "8b9c0d1e-2f3a-4b7c-8d8e-9f0a1b2c3d4e",
  staff: "be2f3a4b-5c6d-4e0f-9a1b-2c3d4e5f6a7b",
} as const;

export const eur = (amountMinor: bigint) => ({ amountMinor, currency: "EUR" });
export const t0 = new Date("2030-05-01T08:00:00.000Z");
export const t1 = new Date("2030-05-01T16:00:00.000Z");

export const job: MaintenanceJob = {
  id: ids.job,
  vehicleId: ids.vehicle,
  attributes: { kind: "corrective", description: "brake pads", scheduleTime: t0, estimatedCompletionTime: t1 },
  status: "completed",
  mechanicId: ids.mechanic,
  startTime: t0,
  completeTime: t1,
  odometerKm: 0,
  currency: "EUR",
  laborCost: eur(12_000n),
  partsCost: eur(4_550n),
  notes: "front axle",
  cancelReason: null,
  cancelTime: null,
  blockReference: `maintenance-job:${ids.job}`,
  urgent: true,
  planId: ids.plan,
  dueKey: "days:2030-05-01",
  rowVersion: 5n,
  createdAt: t0,
  updatedAt: t1,
  createdBy: ids.staff,
  updatedBy: null,
};

/** A job before any amount: no currency, no costs. */
export const scheduledJob: MaintenanceJob = {
  ...job,
  status: "scheduled",
  mechanicId: null,
  startTime: null,
  completeTime: null,
  odometerKm: null,
  currency: null,
  laborCost: null,
  partsCost: null,
  urgent: false,
  planId: null,
  dueKey: null,
};

export const partUsed: PartUsed = {
  id: ids.partUsed,
  jobId: ids.job,
  partId: ids.part,
  partName: "Brake pad set",
  partNumber: "BP-100",
  quantity: 2,
  unitCost: eur(2_275n),
  totalCost: eur(4_550n),
  costOverrideReason: "supplier price rise",
  recordedAt: t0,
  recordedBy: ids.mechanic,
};

export const part: Part = {
  id: ids.part,
  partNumber: "BP-100",
  name: "Brake pad set",
  unitCost: eur(2_000n),
  stockOnHand: 3,
  reorderLevel: 4,
  rowVersion: 9n,
  createdAt: t0,
  updatedAt: t1,
};

export const movement: StockMovement = {
  id: ids.movement,
  partId: ids.part,
  kind: "consumption",
  quantityDelta: -2,
  totalCost: eur(4_000n),
  jobId: ids.job,
  reason: "",
  stockAfter: 3,
  createdAt: t1,
  createdBy: ids.mechanic,
};

export const vehiclePlan: MaintenancePlan = {
  id: ids.plan,
  name: "Oil service",
  target: { vehicleId: ids.vehicle },
  intervalDays: 365,
  intervalKm: null,
  leadDays: 14,
  leadKm: 0,
  plannedHours: 4,
  jobDescription: "oil and filters",
  archivedAt: null,
  rowVersion: 1n,
  createdAt: t0,
  createdBy: ids.staff,
};

export const modelPlan: MaintenancePlan = {
  ...vehiclePlan,
  target: { make: "VW", model: "Crafter" },
  intervalDays: null,
  intervalKm: 30_000,
  leadKm: 1_000,
  archivedAt: t1,
  createdBy: null,
};

export const due: MaintenanceDue = {
  planId: ids.plan,
  vehicleId: ids.vehicle,
  dueTime: t1,
  dueOdometerKm: null,
  odometerKm: 41_000,
  withinLead: true,
  dueKey: "days:2030-05-01",
  jobId: null,
};

export const alternative: AlternativeVehicle = { vehicleId: ids.other, plateNumber: "B-FM 2048", make: "VW", model: "Crafter" };

export const vehicleCosts: VehicleCosts = {
  vehicleId: ids.vehicle,
  costs: [{ currency: "EUR", laborCost: eur(12_000n), partsCost: eur(4_550n), totalCost: eur(16_550n), jobCount: 1 }],
  kmDriven: 5_000,
  costPerKm: [eur(3n)],
};

/** Answers of the fake use cases for requests that pass validation. */
const ANSWERS: Partial<Record<keyof MaintenanceUseCases, unknown>> = {
  schedule: prepared({ job: scheduledJob, displacedRentalIds: [ids.rental], alternatives: [alternative] }),
  update: prepared(scheduledJob),
  assignMechanic: prepared(scheduledJob),
  start: prepared(job),
  addParts: { parts: [partUsed], job },
  complete: { job, parts: [partUsed] },
  cancel: job,
  getJob: { job, parts: [partUsed] },
  listJobs: { items: [job], nextPageToken: "next" },
  listOwnJobs: { items: [], nextPageToken: "" },
  listParts: { items: [partUsed], nextPageToken: "" },
  vehicleCosts,
  createPart: part,
  getPart: part,
  listCatalog: { items: [part], nextPageToken: "" },
  receiveStock: { part, movement },
  adjustStock: { part, movement },
  listStockMovements: { items: [movement], nextPageToken: "" },
  createPlan: vehiclePlan,
  listPlans: { items: [vehiclePlan, modelPlan], nextPageToken: "" },
  archivePlan: modelPlan,
  listDue: { items: [due], nextPageToken: "" },
  applyFleetVehicle: undefined,
  applyFleetVehicleStatus: undefined,
  applyOdometerReading: undefined,
};

/** A MaintenanceUseCases whose every method records its call and answers from ANSWERS. */
export function recordingUseCases(): { useCases: MaintenanceUseCases; calls: RecordedCall[] } {
  const { fake, calls } = recordingFake<MaintenanceUseCases>(ANSWERS);
  return { useCases: fake, calls };
}

export const staffCaller = testCaller(ids.staff, ["maintenance.schedule"]);

/** The binding's handlers over a recording fake: call(localName, request), as staffCaller. */
export const maintenanceHandlers = () => fakeHandlers(maintenanceServiceBinding, ANSWERS, staffCaller);
