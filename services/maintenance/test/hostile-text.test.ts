// Issue 9, finding 2, for maintenance: every string field of every
// maintenance RPC (enumerated from the descriptor, so a new RPC is covered by
// itself) refuses hostile text (NUL and other controls, lone surrogates, bidi
// controls, 1 MB strings) with INVALID_ARGUMENT naming the field, and nothing
// is written.
import anyTest, { type TestFn } from "ava";
import { MaintenanceKind } from "../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import { MaintenanceService } from "../../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { LEGITIMATE_TEXTS, methodsWithText, sweepHostileText, tableRowCounts } from "../../platform/src/testing/hostile-text.js";
import { futureBase, periodAt, startMaintenanceWorld, type MaintenanceWorld } from "./support.js";

const test = anyTest.serial as TestFn<MaintenanceWorld>;
const eur = (amountMinor: bigint) => ({ amountMinor, currencyCode: "EUR" });

test.before(async (t) => {
  // Due plans and the reconciliation (with its projection backfill) once a
  // year: no job writes while the counts are compared.
  t.context = await startMaintenanceWorld({ maintenanceSettings: { plansCron: "0 0 1 1 *", reconcileCron: "0 0 1 1 *" } });
});
test.after.always(async (t) => {
  await t.context?.stop?.();
});

test("hostile text in any string field of any RPC is INVALID_ARGUMENT with the field path; nothing is written", async (t) => {
  const world = t.context;
  // Something to write over: a projected vehicle, a part with stock, a job in progress with a part, a plan.
  const vehicle = await world.newVehicle();
  const { part } = await world.maintenance.createPart({ partNumber: `hx-${Date.now()}`, name: "Filter", unitCost: eur(1_000n), reorderLevel: 1 }, world.admin);
  await world.maintenance.receiveStock({ partId: part!.id, quantity: 3, totalCost: eur(3_000n), reference: "DN-1" }, world.admin);
  const base = futureBase(3);
  const window = periodAt(base, 0, 4);
  const { job } = await world.maintenance.scheduleMaintenance({
    vehicleId: vehicle, attributes: { kind: MaintenanceKind.PREVENTIVE, description: "Service", scheduleTime: window.startTime, estimatedCompletionTime: window.endTime },
  }, world.admin);
  await world.maintenance.startMaintenance({ maintenanceJobId: job!.id, odometerKm: 5_000 }, world.admin);
  await world.maintenance.addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partId: part!.id, quantity: 1 }] }, world.admin);
  await world.maintenance.createMaintenancePlan({
    plan: { name: "Every 10000 km", vehicleId: vehicle, intervalKm: 10_000, leadKm: 500, plannedHours: 2, jobDescription: "10000 km service" },
  }, world.admin);
  const db = world.mesh.maintenanceDb.admin;
  const before = await tableRowCounts(db);
  for (const table of ["vehicles", "parts", "stock_movements", "maintenance_jobs", "parts_used", "maintenance_plans", "outbox_events"]) {
    t.true((before[table] ?? 0) > 0, `${table}: ${JSON.stringify(before)}`);
  }
  const rows = async () => ({
    job: (await db.query("SELECT status, row_version, notes, parts_cost_minor FROM maintenance_jobs WHERE id = $1", [job!.id])).rows[0],
    part: (await db.query("SELECT stock_on_hand, row_version FROM parts WHERE id = $1", [part!.id])).rows[0],
  });
  const rowsBefore = await rows();

  const { calls, mismatches } = await sweepHostileText(MaintenanceService, world.mesh.maintenanceAddress, world.admin.headers);
  t.deepEqual(mismatches, []);
  const methods = methodsWithText(MaintenanceService);
  // Every maintenance RPC takes text: ids, or at least the page token (ListParts).
  t.deepEqual(MaintenanceService.methods.filter((m) => !methods.includes(m)).map((m) => m.name), []);
  t.log(`${calls} hostile calls over ${methods.length} RPCs`);

  t.deepEqual(await tableRowCounts(db), before);
  t.deepEqual(await rows(), rowsBefore);
});

test("legitimate Unicode part names and job descriptions are stored and read back unchanged", async (t) => {
  const world = t.context;
  const vehicle = await world.newVehicle();
  for (const [i, text] of LEGITIMATE_TEXTS.filter((s) => !/[\n\t]/.test(s)).entries()) {
    const { part } = await world.maintenance.createPart({ partNumber: `uni-${Date.now()}-${i}`, name: text, unitCost: eur(100n) }, world.admin);
    t.is((await world.maintenance.getPart({ partId: part!.id }, world.admin)).part?.name, text);
    const window = periodAt(futureBase(10), i * 3, 2);
    const { job } = await world.maintenance.scheduleMaintenance({
      vehicleId: vehicle, attributes: { kind: MaintenanceKind.INSPECTION, description: text, scheduleTime: window.startTime, estimatedCompletionTime: window.endTime },
    }, world.admin);
    t.is((await world.maintenance.getMaintenanceJob({ maintenanceJobId: job!.id }, world.admin)).job?.attributes?.description, text);
  }
});
