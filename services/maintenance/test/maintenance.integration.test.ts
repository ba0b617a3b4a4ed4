// Maintenance end to end over gRPC against real PostgreSQL and the real
// rental, identity and fleet services: windows on the vehicle timeline,
// stock that never goes negative, preventive plans that create one job per
// due point, orphan blocks reconciled, and bad input that writes nothing.
import anyTest, { type TestFn } from "ava";
import { status as Status } from "@grpc/grpc-js";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import pg from "pg";
import { MaintenanceKind, MaintenanceStatus } from "../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import { MaintenanceService } from "../../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { createServiceClient } from "../../platform/src/grpc/client.js";
import { GrpcCallError } from "../../platform/src/grpc/client.js";
import { build as buildMaintenance } from "../src/main.js";
import { maintenanceConfigSchema } from "../src/config.js";
import { futureBase, HOUR, periodAt, rejectsWith, startMaintenanceWorld, violatedFields, type MaintenanceWorld } from "./support.js";

interface Fixture {
  readonly world: MaintenanceWorld;
  readonly manager: { headers: Record<string, string> };
  readonly agent: { headers: Record<string, string> };
  readonly location: string;
  readonly plan: string;
}

const test = anyTest as TestFn<Fixture>;
const eur = (amountMinor: bigint) => ({ amountMinor, currencyCode: "EUR" });

test.before(async (t) => {
  const world = await startMaintenanceWorld();
  t.context = {
    world,
    manager: world.asRole("00000000-0000-4000-8000-00000000f1ee", "fleet_manager"),
    agent: world.asRole("00000000-0000-4000-8000-00000000a9e7", "rental_agent"),
    location: await world.newLocation(),
    plan: await world.newPlan(),
  };
});
test.after.always(async (t) => {
  await t.context.world?.stop();
});

const windowOf = (base: number, startInHours: number, hours: number) => {
  const p = periodAt(base, startInHours, hours);
  return { scheduleTime: p.startTime, estimatedCompletionTime: p.endTime };
};

async function reserve(f: Fixture, vehicleId: string, period: ReturnType<typeof periodAt>) {
  const customer = await f.world.newCustomer();
  return f.world.rental.reserveRental({
    customerId: customer,
    source: { case: "terms", value: { vehicleId, period, originLocationId: f.location, destinationLocationId: f.location, pricingPlanId: f.plan } },
  }, f.agent);
}

test.serial("a job's window is a block on rental's timeline, both ways", async (t) => {
  const f = t.context;
  const { world, manager } = f;
  const vehicle = await world.newVehicle();
  const base = futureBase(3);
  const { job } = await world.maintenance.scheduleMaintenance({
    vehicleId: vehicle, attributes: { kind: MaintenanceKind.PREVENTIVE, description: "Oil and filters", ...windowOf(base, 0, 4) },
  }, manager);
  t.is(job!.status, MaintenanceStatus.SCHEDULED);
  t.is(job!.blockReference, `maintenance-job:${job!.id}`);
  const timeline = await world.rental.listVehicleTimeline({ vehicleId: vehicle, window: periodAt(base, 0, 24) }, world.admin);
  t.deepEqual(timeline.claims.map((c) => c.reference), [job!.blockReference]);
  // A reservation into the window is refused by rental's constraint…
  await rejectsWith(t, reserve(f, vehicle, periodAt(base, 2, 4)), Status.FAILED_PRECONDITION, "VEHICLE_NOT_AVAILABLE");
  // …and a window over a reservation by maintenance.
  await reserve(f, vehicle, periodAt(base, 24, 8));
  await rejectsWith(t, world.maintenance.scheduleMaintenance({
    vehicleId: vehicle, attributes: { kind: MaintenanceKind.INSPECTION, description: "Check", ...windowOf(base, 26, 2) },
  }, manager), Status.FAILED_PRECONDITION, "VEHICLE_NOT_AVAILABLE");
  // Rescheduling moves the block.
  const moved = await world.maintenance.updateMaintenanceJob({
    maintenanceJobId: job!.id, attributes: windowOf(base, 48, 4), updateMask: { paths: ["schedule_time", "estimated_completion_time"] },
  }, manager);
  t.is(Number(moved.job!.attributes!.scheduleTime!.seconds) * 1000, base + 48 * HOUR);
  const after = await world.rental.listVehicleTimeline({ vehicleId: vehicle, window: periodAt(base, 0, 72) }, world.admin);
  t.deepEqual(after.claims.map((c) => [c.reference, Number(c.period!.startTime!.seconds) * 1000]).filter(([r]) => r === job!.blockReference),
    [[job!.blockReference, base + 48 * HOUR]]);
  await reserve(f, vehicle, periodAt(base, 0, 4));
});

test.serial("windows and reservations racing for one slot: exactly one wins, both ways", async (t) => {
  const f = t.context;
  const { world, manager } = f;
  for (let round = 0; round < 3; round += 1) {
    const vehicle = await world.newVehicle();
    await world.rental.refreshVehicleProjection({}, world.admin);
    const base = futureBase(10 + round);
    const attempts = await Promise.allSettled([
      ...Array.from({ length: 4 }, (_, i) => world.maintenance.scheduleMaintenance({
        vehicleId: vehicle, attributes: { kind: MaintenanceKind.INSPECTION, description: `race ${i}`, ...windowOf(base, i * 0.1, 4) },
      }, manager)),
      // Every claim covers [0.7 h, 4 h): all eight overlap.
      ...Array.from({ length: 4 }, (_, i) => reserve(f, vehicle, periodAt(base, 0.4 + i * 0.1, 4))),
    ]);
    const won = attempts.filter((a) => a.status === "fulfilled").length;
    const reasons = attempts.filter((a) => a.status === "rejected").map((a) => (a as PromiseRejectedResult).reason as GrpcCallError);
    t.is(won, 1, `round ${round}: one of eight overlapping claims wins (${reasons.map((e) => e.message).join("; ")})`);
    t.true(reasons.every((e) => e.code === Status.FAILED_PRECONDITION), "the others are refused as not available, never an internal error");
    const timeline = await world.rental.listVehicleTimeline({ vehicleId: vehicle, window: periodAt(base, 0, 12) }, world.admin);
    t.is(timeline.claims.length, 1);
    const jobs = await world.maintenance.listMaintenanceJobs({ vehicleId: vehicle }, manager);
    t.is(jobs.jobs.length, timeline.claims[0]!.kind === 2 ? 1 : 0, "a job exists exactly when its block won");
  }
});

test.serial("an urgent corrective job displaces reservations and offers free vehicles like it", async (t) => {
  const f = t.context;
  const { world, manager } = f;
  const broken = await world.newVehicle({ make: "Ford", model: "Transit", passengerCapacity: 8, loadLimitKg: 1_000 });
  const twin = await world.newVehicle({ make: "Ford", model: "Transit", passengerCapacity: 8, loadLimitKg: 1_000 });
  const small = await world.newVehicle({ make: "Fiat", model: "500", passengerCapacity: 4, loadLimitKg: 200 });
  await world.rental.refreshVehicleProjection({}, world.admin);
  for (const v of [broken, twin, small]) await world.rental.setVehicleHomeLocation({ vehicleId: v, locationId: f.location }, world.admin);
  const now = Date.now();
  const { rental } = await reserve(f, broken, periodAt(Math.ceil(now / HOUR) * HOUR, 2, 6));
  const { job, displacedRentalIds, alternatives } = await world.maintenance.scheduleMaintenance({
    vehicleId: broken, urgent: true,
    attributes: { kind: MaintenanceKind.CORRECTIVE, description: "Breakdown: clutch", scheduleTime: timestampFromDate(new Date(now)), estimatedCompletionTime: timestampFromDate(new Date(now + 24 * HOUR)) },
  }, manager);
  t.true(job!.urgent);
  t.deepEqual(displacedRentalIds, [rental!.id]);
  t.deepEqual(alternatives.map((a) => a.vehicleId), [twin], "the same size at the same location, not the small car");
  const displaced = await world.rental.getRental({ rentalId: rental!.id }, world.admin);
  t.true(displaced.rental!.atRisk);
  await rejectsWith(t, world.maintenance.scheduleMaintenance({
    vehicleId: small, urgent: true, attributes: { kind: MaintenanceKind.PREVENTIVE, description: "x", ...windowOf(futureBase(1), 0, 2) },
  }, manager), Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
});

test.serial("start, parts from the catalog, complete: stock, costs and the events the ledger needs", async (t) => {
  const f = t.context;
  const { world, manager } = f;
  const vehicle = await world.newVehicle();
  const mechanic = await world.newMechanic();
  const asMechanic = world.asRole(mechanic, "mechanic");
  const { part } = await world.maintenance.createPart({ partNumber: `of-${Date.now()}`, name: "Oil filter", unitCost: eur(1_250n), reorderLevel: 2 }, manager);
  await world.maintenance.receiveStock({ partId: part!.id, quantity: 4, totalCost: eur(5_000n), reference: "DN-1" }, manager);
  const { job } = await world.maintenance.scheduleMaintenance({
    vehicleId: vehicle, mechanicId: mechanic,
    attributes: { kind: MaintenanceKind.PREVENTIVE, description: "Service", ...windowOf(Date.now() - 60_000, 0, 3) },
  }, manager);
  const otherMechanic = world.asRole(await world.newMechanic(), "mechanic");
  await rejectsWith(t, world.maintenance.startMaintenance({ maintenanceJobId: job!.id }, otherMechanic), Status.NOT_FOUND, "MAINTENANCE_JOB_NOT_FOUND");
  await world.maintenance.startMaintenance({ maintenanceJobId: job!.id, odometerKm: 10_000 }, asMechanic);
  await rejectsWith(t, world.maintenance.addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partName: "Fuse", quantity: 1 }] }, otherMechanic),
    Status.NOT_FOUND, "MAINTENANCE_JOB_NOT_FOUND");
  await rejectsWith(t, world.maintenance.addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partId: part!.id, quantity: 1, unitCost: eur(1n) }] }, asMechanic),
    Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  const added = await world.maintenance.addPartsUsed({
    maintenanceJobId: job!.id,
    parts: [
      { partId: part!.id, quantity: 2 },
      { partId: part!.id, quantity: 1, unitCost: eur(1_000n), costOverrideReason: "supplier credit" },
      { partName: "Wiper blade", quantity: 2, unitCost: eur(900n) },
    ],
  }, asMechanic);
  t.deepEqual(added.parts.map((p) => p.totalCost?.amountMinor), [2_500n, 1_000n, 1_800n]);
  await rejectsWith(t, world.maintenance.addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partId: part!.id, quantity: 2 }] }, asMechanic),
    Status.FAILED_PRECONDITION, "INSUFFICIENT_STOCK");
  await rejectsWith(t, world.maintenance.addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partId: "00000000-0000-4000-8000-00000000dead", quantity: 1 }] }, asMechanic),
    Status.NOT_FOUND, "PART_NOT_FOUND");
  const { part: after } = await world.maintenance.getPart({ partId: part!.id }, manager);
  t.is(after!.stockOnHand, 1);
  const done = await world.maintenance.completeMaintenance({ maintenanceJobId: job!.id, laborCost: eur(6_000n), odometerKm: 10_050 }, asMechanic);
  t.is(done.job!.status, MaintenanceStatus.COMPLETED);
  t.is(done.job!.partsCost!.amountMinor, 5_300n);
  t.is(done.job!.totalCost!.amountMinor, 11_300n);
  const costs = await world.maintenance.getVehicleMaintenanceCosts({ vehicleId: vehicle }, world.admin);
  t.deepEqual(costs.costs.map((c) => [c.currencyCode, c.totalCost!.amountMinor, c.jobCount]), [["EUR", 11_300n, 1]]);
  const own = await world.maintenance.listOwnMaintenanceJobs({}, asMechanic);
  t.deepEqual(own.jobs.map((j) => j.id), [job!.id]);
  // The events in the outbox: the completion's breakdown, the stock moves, the low-stock warning.
  const db = new pg.Client(world.mesh.maintenanceDb.config);
  await db.connect();
  try {
    const types = (await db.query<{ event_type: string }>("SELECT event_type FROM outbox_events ORDER BY sequence")).rows.map((r) => r.event_type.split(".").at(-1));
    for (const expected of ["PartStockReceived", "MaintenanceScheduled", "MaintenanceStarted", "PartStockConsumed", "PartStockLow", "MaintenanceCompleted"]) {
      t.true(types.includes(expected), `${expected} in ${types.join(", ")}`);
    }
  } finally {
    await db.end();
  }
});

test.serial("stock never goes negative under 32 concurrent consumers of one part", async (t) => {
  const f = t.context;
  const { world, manager } = f;
  const { part } = await world.maintenance.createPart({ partNumber: `hot-${Date.now()}`, name: "Brake pad", unitCost: eur(3_000n), reorderLevel: 0 }, manager);
  await world.maintenance.receiveStock({ partId: part!.id, quantity: 10, totalCost: eur(30_000n) }, manager);
  const jobs = await Promise.all(Array.from({ length: 4 }, async () => {
    const vehicle = await world.newVehicle();
    const { job } = await world.maintenance.scheduleMaintenance({
      vehicleId: vehicle, attributes: { kind: MaintenanceKind.CORRECTIVE, description: "Brakes", ...windowOf(Date.now() - 60_000, 0, 5) },
    }, manager);
    await world.maintenance.startMaintenance({ maintenanceJobId: job!.id }, world.admin);
    return job!.id;
  }));
  const results = await Promise.allSettled(Array.from({ length: 32 }, (_, i) =>
    world.maintenance.addPartsUsed({ maintenanceJobId: jobs[i % jobs.length]!, parts: [{ partId: part!.id, quantity: 1 }] }, world.admin)));
  const ok = results.filter((r) => r.status === "fulfilled").length;
  const refused = results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason as GrpcCallError);
  t.is(ok, 10, "exactly the stock on hand was taken");
  t.true(refused.every((e) => e instanceof GrpcCallError && e.code === Status.FAILED_PRECONDITION), refused.map((e) => e.message).join("; "));
  const { part: after } = await world.maintenance.getPart({ partId: part!.id }, manager);
  t.is(after!.stockOnHand, 0);
});

test.serial("a due plan makes one job, with two instances and a restart in between", async (t) => {
  const f = t.context;
  const { world, manager } = f;
  const vehicle = await world.newVehicle({ make: "Plan", model: `M${Date.now()}` });
  const { plan } = await world.maintenance.createMaintenancePlan({
    plan: { name: "Every 5000 km", vehicleId: vehicle, intervalKm: 5_000, leadKm: 100, plannedHours: 2, jobDescription: "5000 km service" },
  }, manager);
  // Kilometres reach maintenance as fleet's OdometerReadingRecorded events (Kafka is off here).
  await world.mesh.maintenance.useCases.applyOdometerReading(vehicle, 1_000, new Date(Date.now() - 60_000));
  t.is((await world.mesh.maintenance.useCases.createDueJobs(new Date())), 0, "not due at 1000 km");
  await world.mesh.maintenance.useCases.applyOdometerReading(vehicle, 5_950, new Date());
  const second = await buildMaintenance(maintenanceConfigSchema.parse({
    service: { name: "maintenance" }, grpc: { host: "127.0.0.1", port: 0 }, ops: { host: "127.0.0.1", port: 0 },
    database: world.mesh.maintenanceDb.config, auth: { ...world.mesh.keys.auth, enabled: false },
    peers: {
      rental: { address: world.mesh.rentalAddress }, identity: { address: world.mesh.identityAddress }, fleet: { address: world.mesh.fleetAddress },
    },
    serviceCredential: (world.mesh.maintenance.config as { serviceCredential?: unknown }).serviceCredential,
    log: { level: "silent" }, shutdown: { graceMs: 1_000 },
  }));
  try {
    const now = new Date();
    const created = await Promise.all([world.mesh.maintenance.useCases.createDueJobs(now), second.useCases.createDueJobs(now)]);
    t.is(created[0] + created[1], 1, "two instances, one job");
  } finally {
    await second.stop();
  }
  const third = await buildMaintenance(maintenanceConfigSchema.parse({
    service: { name: "maintenance" }, grpc: { host: "127.0.0.1", port: 0 }, ops: { host: "127.0.0.1", port: 0 },
    database: world.mesh.maintenanceDb.config, auth: { ...world.mesh.keys.auth, enabled: false },
    peers: {
      rental: { address: world.mesh.rentalAddress }, identity: { address: world.mesh.identityAddress }, fleet: { address: world.mesh.fleetAddress },
    },
    serviceCredential: (world.mesh.maintenance.config as { serviceCredential?: unknown }).serviceCredential,
    log: { level: "silent" }, shutdown: { graceMs: 1_000 },
  }));
  try {
    t.is(await third.useCases.createDueJobs(new Date()), 0, "after a restart the due point has its job");
  } finally {
    await third.stop();
  }
  const jobs = await world.maintenance.listMaintenanceJobs({ vehicleId: vehicle }, manager);
  t.is(jobs.jobs.length, 1);
  t.is(jobs.jobs[0]!.maintenancePlanId, plan!.id);
  const due = await world.maintenance.listMaintenanceDue({ vehicleId: vehicle }, manager);
  t.is(due.due[0]?.maintenanceJobId, jobs.jobs[0]!.id);
});

test.serial("rental down: UNAVAILABLE, no job; an orphan block is released by the reconciliation", async (t) => {
  const f = t.context;
  const { world, manager } = f;
  const vehicle = await world.newVehicle();
  const cut = await buildMaintenance(maintenanceConfigSchema.parse({
    service: { name: "maintenance" }, grpc: { host: "127.0.0.1", port: 0 }, ops: { host: "127.0.0.1", port: 0 },
    database: world.mesh.maintenanceDb.config, auth: world.mesh.keys.auth,
    peers: {
      rental: { address: "127.0.0.1:9", deadlineMs: 500 }, identity: { address: world.mesh.identityAddress }, fleet: { address: world.mesh.fleetAddress },
    },
    serviceCredential: (world.mesh.maintenance.config as { serviceCredential?: unknown }).serviceCredential,
    log: { level: "silent" }, shutdown: { graceMs: 1_000 },
  }));
  const client = createServiceClient(MaintenanceService, { address: `127.0.0.1:${cut.grpcPort}`, deadlineMs: 10_000 });
  try {
    await rejectsWith(t, client.scheduleMaintenance({
      vehicleId: vehicle, attributes: { kind: MaintenanceKind.INSPECTION, description: "x", ...windowOf(futureBase(4), 0, 2) },
    }, manager), Status.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE");
  } finally {
    client.close();
    await cut.stop();
  }
  t.is((await world.maintenance.listMaintenanceJobs({ vehicleId: vehicle }, manager)).jobs.length, 0, "no job");

  // A crash between rental's answer and the job's insert: a block and an intent, no job.
  const orphanJob = "00000000-0000-4000-8000-" + Date.now().toString(16).padStart(12, "0").slice(-12);
  const reference = `maintenance-job:${orphanJob}`;
  const base = futureBase(6);
  await world.rental.blockVehicle({ blockReference: reference, vehicleId: vehicle, period: periodAt(base, 0, 2), reason: "orphan" }, world.admin);
  const db = new pg.Client(world.mesh.maintenanceDb.config);
  await db.connect();
  try {
    await db.query("INSERT INTO block_intents (job_id, vehicle_id, block_reference, created_at) VALUES ($1, $2, $3, now() - interval '1 hour')",
      [orphanJob, vehicle, reference]);
    t.true(await world.mesh.maintenance.useCases.reconcileBlocks(new Date()) >= 1);
    t.is(Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM block_intents WHERE job_id = $1", [orphanJob])).rows[0]!.n), 0);
  } finally {
    await db.end();
  }
  const timeline = await world.rental.listVehicleTimeline({ vehicleId: vehicle, window: periodAt(base, 0, 4) }, world.admin);
  t.deepEqual(timeline.claims, [], "the orphan block is released");
});

test.serial("bad input is refused with details and writes nothing", async (t) => {
  const f = t.context;
  const { world, manager } = f;
  const vehicle = await world.newVehicle();
  const db = new pg.Client(world.mesh.maintenanceDb.config);
  await db.connect();
  const counts = async () => Object.fromEntries(await Promise.all(["maintenance_jobs", "parts", "parts_used", "stock_movements", "block_intents", "outbox_events"]
    .map(async (table) => [table, Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n)])));
  try {
    const before = await counts();
    const base = futureBase(8);
    const err = await rejectsWith(t, world.maintenance.scheduleMaintenance({
      vehicleId: vehicle, attributes: { kind: MaintenanceKind.INSPECTION, description: "x", scheduleTime: periodAt(base, 2, 1).startTime, estimatedCompletionTime: periodAt(base, 0, 1).startTime },
    }, manager), Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    t.deepEqual(violatedFields(err), ["attributes.estimated_completion_time"]);
    const { part } = await world.maintenance.createPart({ partNumber: `bad-${Date.now()}`, name: "Bulb", unitCost: eur(100n) }, manager);
    const afterPart = await counts();
    await rejectsWith(t, world.maintenance.createPart({ partNumber: "neg", name: "Neg", unitCost: eur(-1n) }, manager), Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    await rejectsWith(t, world.maintenance.receiveStock({ partId: part!.id, quantity: 1, totalCost: { amountMinor: 100n, currencyCode: "USD" } }, manager),
      Status.INVALID_ARGUMENT, "CURRENCY_MISMATCH");
    await rejectsWith(t, world.maintenance.receiveStock({ partId: part!.id, quantity: -1, totalCost: eur(1n) }, manager), Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    const { job } = await world.maintenance.scheduleMaintenance({
      vehicleId: vehicle, attributes: { kind: MaintenanceKind.INSPECTION, description: "x", ...windowOf(base, 0, 2) },
    }, manager);
    const afterJob = await counts();
    await rejectsWith(t, world.maintenance.completeMaintenance({ maintenanceJobId: job!.id, laborCost: eur(1n) }, world.admin),
      Status.FAILED_PRECONDITION, "INVALID_MAINTENANCE_TRANSITION");
    await rejectsWith(t, world.maintenance.addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partName: "Bulb", quantity: -2 }] }, world.admin),
      Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    await rejectsWith(t, world.maintenance.addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partName: "Bulb", quantity: 1, unitCost: eur(-5n) }] }, world.admin),
      Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    await rejectsWith(t, world.maintenance.addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partName: "Bulb", quantity: 1 }] }, world.admin),
      Status.FAILED_PRECONDITION, "INVALID_MAINTENANCE_TRANSITION");
    t.deepEqual(await counts(), afterJob, "refused requests wrote nothing");
    void before;
    void afterPart;
  } finally {
    await db.end();
  }
});
