// Maintenance end to end through the gateway, with Kafka on for fleet, rental
// and maintenance (one topic prefix for the file): a vehicle registered in
// fleet reaches maintenance's projection through fleet.vehicle.v1, odometer
// readings too; a job's life, driven over Connect, gRPC-web and gRPC, blocks
// the vehicle on rental's timeline, is published on maintenance.job.v1 and
// maintenance.part.v1, and fleet (UNDER_MAINTENANCE, then ACTIVE with the
// odometer) and rental (the block released) follow it.
import { Code, createClient, type Client, type Transport } from "@connectrpc/connect";
import anyTest, { type TestFn } from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { VehicleStatus } from "../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { IdentityService } from "../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { StaffType } from "../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import {
  MaintenanceCancelledSchema,
  MaintenanceCompletedSchema,
  MaintenanceScheduledSchema,
  MaintenanceStartedSchema,
  PartStockConsumedSchema,
  PartStockReceivedSchema,
} from "../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { MaintenanceKind, MaintenanceStatus, StockMovement_Kind } from "../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import { MaintenanceService } from "../../gen/fleetmesh/maintenance/v1/maintenance_service_pb.js";
import { RentalStatus } from "../../gen/fleetmesh/rental/v1/rental_pb.js";
import { RentalService } from "../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { fleetKafkaConfig } from "../../services/fleet/test/events-support.js";
import { waitFor } from "../../services/platform/src/testing/kafka.js";
import {
  ADMIN, AGENT, asRole, decode, eur, eventsOn, futureBase, MANAGER, newCustomer, nextCount, periodAt, refused, startEventMesh, stopEventMesh,
  unique, type EventMesh,
} from "./event-mesh.js";

type Context = EventMesh;

const test = anyTest.serial as TestFn<Context>;

const windowAt = (base: number, startInHours: number, hours: number) => {
  const p = periodAt(base, startInHours, hours);
  return { scheduleTime: p.startTime, estimatedCompletionTime: p.endTime };
};
const money = (m: { amountMinor: bigint; currencyCode: string } | undefined) => m && { amountMinor: m.amountMinor, currencyCode: m.currencyCode };

/** One service's `kafka` section: the file's prefix, its own consumer group. */
const kafkaOf = (prefix: string, service: string) => fleetKafkaConfig(prefix, { consumer: { groupId: `${prefix}${service}` } });

test.before(async (t) => {
  // Fleet produces fleet.vehicle.v1 and consumes rental.rental.v1 and
  // maintenance.job.v1; rental produces rental.rental.v1 and consumes
  // fleet.vehicle.v1 and maintenance.job.v1; maintenance produces
  // maintenance.job.v1 and maintenance.part.v1 and consumes fleet.vehicle.v1.
  t.context = await startEventMesh(["fleet.vehicle.v1", "rental.rental.v1", "maintenance.job.v1", "maintenance.part.v1"], (prefix) => ({
    fleetKafka: kafkaOf(prefix, "fleet"),
    rentalKafka: kafkaOf(prefix, "rental"),
    maintenanceKafka: kafkaOf(prefix, "maintenance"),
    // Backfills, sweeps, due plans and the reconciliation once a year: only
    // events fill the projections, and no job creates or releases anything.
    rentalSettings: { sweepCron: "0 0 1 1 *" },
    maintenanceSettings: { plansCron: "0 0 1 1 *", reconcileCron: "0 0 1 1 *" },
  }), { currencyCode: "EUR", dailyRate: eur(4_900n) });
});

test.after.always(async (t) => stopEventMesh(t.context));

const maintenanceVia = (transport: Transport): Client<typeof MaintenanceService> => createClient(MaintenanceService, transport);
const rentalVia = (transport: Transport): Client<typeof RentalService> => createClient(RentalService, transport);
const fleetVia = (transport: Transport): Client<typeof FleetService> => createClient(FleetService, transport);

/** A user with the mechanic role and a MECHANIC staff profile, made through the gateway. */
async function newMechanic(c: Context): Promise<string> {
  const identity = createClient(IdentityService, c.connect);
  const admin = asRole(c.mesh, ADMIN, "admin");
  const { user } = await identity.createUser({
    attributes: { email: `mechanic-${unique()}@example.test`, displayName: "Test Mechanic" }, roles: ["mechanic"],
  }, admin);
  await identity.createStaffProfile({ userId: user!.id, attributes: { staffType: StaffType.MECHANIC } }, admin);
  return user!.id;
}

interface ProjectedVehicle {
  readonly plate_number: string;
  readonly status: string;
  readonly fleet_row_version: string;
  readonly odometer_km: number | null;
  readonly first_odometer_km: number | null;
}

const maintenanceRow = async (c: Context, vehicleId: string): Promise<ProjectedVehicle | undefined> =>
  (await c.mesh.maintenanceDb.admin.query<ProjectedVehicle>(
    "SELECT plate_number, status, fleet_row_version::text, odometer_km, first_odometer_km FROM vehicles WHERE vehicle_id = $1", [vehicleId])).rows[0];

/** Maintenance's projection row of the vehicle, once `accept` holds (filled by fleet.vehicle.v1 only). */
const inMaintenance = (c: Context, vehicleId: string, what: string, accept: (row: ProjectedVehicle) => boolean) =>
  waitFor(`maintenance's projection to hold vehicle ${vehicleId} ${what}`, async () => {
    const row = await maintenanceRow(c, vehicleId);
    return row && accept(row) ? row : undefined;
  }, 30_000);

const inRental = (c: Context, vehicleId: string) =>
  waitFor(`rental's projection to hold vehicle ${vehicleId}`, async () =>
    (await c.mesh.rentalDb.admin.query("SELECT 1 FROM vehicles WHERE vehicle_id = $1 AND status = 'active'", [vehicleId])).rowCount === 1, 30_000);

/** Registers a vehicle in fleet through the gateway; waits until both projections hold it (events only). */
async function newVehicle(c: Context): Promise<{ id: string; plateNumber: string; odometerKm: number | undefined }> {
  const { vehicle } = await fleetVia(c.connect).registerVehicle({
    plateNumber: `MF-${nextCount().toString(36)}${Date.now().toString(36).slice(-4)}`.toUpperCase(),
    attributes: { make: "Iveco", model: "Daily", passengerCapacity: 3, loadLimitKg: 1_500 },
  }, asRole(c.mesh, MANAGER, "fleet_manager"));
  await inMaintenance(c, vehicle!.id, "as active", (row) => row.status === "active");
  await inRental(c, vehicle!.id);
  return { id: vehicle!.id, plateNumber: vehicle!.plateNumber, odometerKm: vehicle!.odometerKm };
}

/** Fleet's view of the vehicle, read through the gateway, once `accept` holds. */
const fleetVehicle = (c: Context, vehicleId: string, what: string, accept: (status: VehicleStatus, odometerKm: number | undefined) => boolean) =>
  waitFor(`fleet's vehicle ${vehicleId} to be ${what}`, async () => {
    const { vehicle } = await fleetVia(c.connect).getVehicle({ vehicleId }, asRole(c.mesh, MANAGER, "fleet_manager"));
    if (vehicle && accept(vehicle.status, vehicle.odometerKm)) return vehicle;
    // Thrown, so a timeout says what fleet had instead.
    throw new Error(`fleet has ${vehicle ? `${VehicleStatus[vehicle.status]} at ${vehicle.odometerKm ?? "no"} km` : "no vehicle"}`);
  }, 30_000);

/** Messages on the file's `topic` keyed by `key`, once `types` (of package fleetmesh.maintenance.v1) have all arrived. */
const events = (c: Context, topic: string, key: string, types: readonly string[]) => eventsOn(c, topic, "fleetmesh.maintenance.v1", key, types);

test("a vehicle registered in fleet reaches maintenance's projection through fleet.vehicle.v1, odometer readings too", async (t) => {
  const c = t.context;
  const manager = asRole(c.mesh, MANAGER, "fleet_manager");
  const vehicle = await newVehicle(c);
  const row = await maintenanceRow(c, vehicle.id);
  t.is(row?.plate_number, vehicle.plateNumber);
  t.is(row?.fleet_row_version, "1");
  // Readings recorded in fleet (gRPC and Connect) arrive as OdometerReadingRecorded.
  await fleetVia(c.grpc).recordOdometerReading({ vehicleId: vehicle.id, readingKm: 1_000 }, manager);
  await fleetVia(c.connect).recordOdometerReading({ vehicleId: vehicle.id, readingKm: 1_800 }, manager);
  const read = await inMaintenance(c, vehicle.id, "at 1800 km", (r) => r.odometer_km === 1_800);
  const first = vehicle.odometerKm ?? 1_000;
  t.is(read.first_odometer_km, first, "the first kilometres maintenance saw");
  const costs = await maintenanceVia(c.connect).getVehicleMaintenanceCosts({ vehicleId: vehicle.id }, manager);
  t.is(costs.vehicleId, vehicle.id);
  t.is(costs.kmDriven, 1_800 - first);
  t.deepEqual(costs.costs, [], "no job yet");
  // A plan by kilometres: ListMaintenanceDue reports the projected odometer.
  const { plan } = await maintenanceVia(c.connect).createMaintenancePlan({
    plan: { name: `Every 5000 km ${unique()}`, vehicleId: vehicle.id, intervalKm: 5_000, leadKm: 100, plannedHours: 2, jobDescription: "5000 km service" },
  }, manager);
  const { due } = await maintenanceVia(c.grpcWeb).listMaintenanceDue({ vehicleId: vehicle.id }, manager);
  t.deepEqual(due.map((d) => [d.maintenancePlanId, d.vehicleId, d.odometerKm, d.withinLead, d.maintenanceJobId]),
    [[plan!.id, vehicle.id, 1_800, false, ""]]);
});

test("part, stock, schedule, start, parts, complete through the gateway: rental's block, fleet's status and the events follow", async (t) => {
  const c = t.context;
  const manager = asRole(c.mesh, MANAGER, "fleet_manager");
  const agent = asRole(c.mesh, AGENT, "rental_agent");
  const vehicle = await newVehicle(c);
  const mechanic = await newMechanic(c);
  const asMechanic = asRole(c.mesh, mechanic, "mechanic");
  const customer = await newCustomer(c);
  const base = futureBase(2);

  // Connect: a catalog part and a delivery.
  const { part } = await maintenanceVia(c.connect).createPart({ partNumber: `bp-${unique()}`, name: "Brake pads", unitCost: eur(1_250n), reorderLevel: 1 }, manager);
  const received = await maintenanceVia(c.connect).receiveStock({ partId: part!.id, quantity: 5, totalCost: eur(6_250n), reference: "DN-42" }, manager);
  t.is(received.part!.stockOnHand, 5);
  t.is(received.movement!.kind, StockMovement_Kind.RECEIPT);

  // Connect: schedule (fleet manager) with the mechanic; the window is a block on rental's timeline.
  const { job } = await maintenanceVia(c.connect).scheduleMaintenance({
    vehicleId: vehicle.id, mechanicId: mechanic,
    attributes: { kind: MaintenanceKind.CORRECTIVE, description: "Brakes", ...windowAt(base, 0, 6) },
  }, manager);
  t.is(job!.status, MaintenanceStatus.SCHEDULED);
  t.is(job!.mechanicId, mechanic);
  const blockReference = `maintenance-job:${job!.id}`;
  t.is(job!.blockReference, blockReference);
  const timeline = await rentalVia(c.connect).listVehicleTimeline({ vehicleId: vehicle.id, window: periodAt(base, -24, 72) }, manager);
  t.deepEqual(timeline.claims.map((cl) => [cl.reference, cl.period?.startTime?.seconds, cl.period?.endTime?.seconds]),
    [[blockReference, periodAt(base, 0, 6).startTime.seconds, periodAt(base, 0, 6).endTime.seconds]]);
  const terms = {
    vehicleId: vehicle.id, period: periodAt(base, 2, 4), originLocationId: c.location, destinationLocationId: c.location, pricingPlanId: c.plan,
  };
  await refused(t, rentalVia(c.connect).reserveRental({ customerId: customer, source: { case: "terms", value: terms } }, agent),
    Code.FailedPrecondition, "VEHICLE_NOT_AVAILABLE", "a reservation in the window");
  t.is((await c.mesh.rentalDb.admin.query("SELECT 1 FROM rentals WHERE vehicle_id = $1", [vehicle.id])).rowCount, 0, "nothing reserved");

  // gRPC-web: the mechanic starts it; fleet takes the vehicle UNDER_MAINTENANCE (MaintenanceStarted).
  const started = await maintenanceVia(c.grpcWeb).startMaintenance({ maintenanceJobId: job!.id, odometerKm: 12_000 }, asMechanic);
  t.is(started.job!.status, MaintenanceStatus.IN_PROGRESS);
  const inShop = await fleetVehicle(c, vehicle.id, "UNDER_MAINTENANCE", (s) => s === VehicleStatus.UNDER_MAINTENANCE);
  t.is(inShop.status, VehicleStatus.UNDER_MAINTENANCE);
  // Fleet's VehicleStateChanged comes back to maintenance's projection.
  await inMaintenance(c, vehicle.id, "under maintenance", (r) => r.status === "under_maintenance");

  // gRPC: the mechanic records two catalog parts (the catalog price).
  const added = await maintenanceVia(c.grpc).addPartsUsed({ maintenanceJobId: job!.id, parts: [{ partId: part!.id, quantity: 2 }] }, asMechanic);
  t.deepEqual(added.parts.map((p) => [p.partId, p.quantity, money(p.unitCost), money(p.totalCost)]), [[part!.id, 2, eur(1_250n), eur(2_500n)]]);
  t.is((await maintenanceVia(c.grpcWeb).getPart({ partId: part!.id }, manager)).part!.stockOnHand, 3);

  // Connect: complete with labor and the odometer; fleet returns the vehicle to ACTIVE with it.
  const done = await maintenanceVia(c.connect).completeMaintenance({ maintenanceJobId: job!.id, laborCost: eur(6_000n), odometerKm: 12_040 }, asMechanic);
  t.is(done.job!.status, MaintenanceStatus.COMPLETED);
  t.deepEqual(money(done.job!.laborCost), eur(6_000n));
  t.deepEqual(money(done.job!.partsCost), eur(2_500n));
  t.deepEqual(money(done.job!.totalCost), eur(8_500n));
  // The status and the completion's reading change in one transaction of
  // fleet's: the reading is checked once the rest has been (at the end).
  const back = await fleetVehicle(c, vehicle.id, "ACTIVE", (s) => s === VehicleStatus.ACTIVE);

  // Rental consumed MaintenanceCompleted and released the block: the window is free and the reservation succeeds.
  await waitFor(`rental to release ${blockReference}`, async () => {
    const { claims } = await rentalVia(c.connect).listVehicleTimeline({ vehicleId: vehicle.id, window: periodAt(base, -24, 72) }, manager);
    return claims.length === 0;
  }, 30_000, 250);
  const { rental } = await rentalVia(c.connect).reserveRental({ customerId: customer, source: { case: "terms", value: terms } }, agent);
  t.is(rental!.status, RentalStatus.RESERVED);

  // Reads through each protocol agree.
  t.is((await maintenanceVia(c.grpc).getMaintenanceJob({ maintenanceJobId: job!.id }, manager)).job!.status, MaintenanceStatus.COMPLETED);
  t.deepEqual((await maintenanceVia(c.grpcWeb).listOwnMaintenanceJobs({}, asMechanic)).jobs.map((j) => j.id), [job!.id]);
  const costs = await maintenanceVia(c.connect).getVehicleMaintenanceCosts({ vehicleId: vehicle.id }, manager);
  t.deepEqual(costs.costs.map((s) => [s.currencyCode, s.laborCost?.amountMinor, s.partsCost?.amountMinor, s.totalCost?.amountMinor, s.jobCount]),
    [["EUR", 6_000n, 2_500n, 8_500n, 1]]);

  // On Kafka: the job's events in order (one key, one partition), the stock's on maintenance.part.v1.
  const jobTypes = ["MaintenanceScheduled", "MaintenanceStarted", "MaintenanceCompleted"];
  const jobMessages = await events(c, "maintenance.job.v1", job!.id, jobTypes);
  t.deepEqual(jobMessages.map((m) => m.header("event-type")), jobTypes.map((type) => `fleetmesh.maintenance.v1.${type}`));
  t.true(jobMessages.every((m) => m.partition === jobMessages[0]!.partition));
  const [scheduled] = decode(jobMessages, MaintenanceScheduledSchema);
  t.is(scheduled?.job?.vehicleId, vehicle.id);
  t.is(scheduled?.job?.blockReference, blockReference);
  const [start] = decode(jobMessages, MaintenanceStartedSchema);
  t.is(start?.vehicleId, vehicle.id);
  t.is(start?.mechanicId, mechanic);
  t.is(start?.odometerKm, 12_000);
  const [completed] = decode(jobMessages, MaintenanceCompletedSchema);
  t.is(completed?.vehicleId, vehicle.id);
  t.deepEqual(money(completed?.laborCost), eur(6_000n));
  t.deepEqual(money(completed?.partsCost), eur(2_500n));
  t.deepEqual(money(completed?.totalCost), eur(8_500n));
  t.deepEqual(completed?.parts.map((p) => [p.partId, p.quantity, money(p.totalCost)]), [[part!.id, 2, eur(2_500n)]]);

  const partMessages = await events(c, "maintenance.part.v1", part!.id, ["PartStockReceived", "PartStockConsumed"]);
  t.is(decode(partMessages, PartStockReceivedSchema)[0]?.movement?.quantityDelta, 5);
  const [consumed] = decode(partMessages, PartStockConsumedSchema);
  t.is(consumed?.vehicleId, vehicle.id);
  t.is(consumed?.movement?.maintenanceJobId, job!.id);
  t.is(consumed?.movement?.kind, StockMovement_Kind.CONSUMPTION);
  t.is(consumed?.movement?.quantityDelta, -2);
  t.is(consumed?.movement?.stockAfter, 3);
  t.is(consumed?.part?.stockOnHand, 3);

  // CompleteMaintenanceRequest.odometer_km is "forwarded to fleet as a
  // reading": on MaintenanceCompleted, and fleet's vehicle is back at it.
  t.is(completed?.odometerKm, 12_040, "MaintenanceCompleted.odometer_km is the completion's reading");
  t.is(back.odometerKm, 12_040, "fleet recorded the completion's odometer");
  const { readings } = await fleetVia(c.connect).listOdometerReadings({ vehicleId: vehicle.id }, manager);
  t.deepEqual(readings.map((r) => r.readingKm).sort((a, b) => a - b), [12_000, 12_040], "fleet's readings: the start's and the completion's");
});

test("a scheduled job cancelled: rental releases its block on MaintenanceCancelled, fleet's vehicle stays ACTIVE", async (t) => {
  const c = t.context;
  const manager = asRole(c.mesh, MANAGER, "fleet_manager");
  const vehicle = await newVehicle(c);
  const base = futureBase(5);
  const { job } = await maintenanceVia(c.connect).scheduleMaintenance({
    vehicleId: vehicle.id, attributes: { kind: MaintenanceKind.INSPECTION, description: "Inspection", ...windowAt(base, 0, 2) },
  }, manager);
  const timeline = () => rentalVia(c.connect).listVehicleTimeline({ vehicleId: vehicle.id, window: periodAt(base, 0, 24) }, manager);
  t.deepEqual((await timeline()).claims.map((cl) => cl.reference), [job!.blockReference]);
  const cancelled = await maintenanceVia(c.grpc).cancelMaintenance({ maintenanceJobId: job!.id, reason: "not needed" }, manager);
  t.is(cancelled.job!.status, MaintenanceStatus.CANCELLED);
  await waitFor(`rental to release ${job!.blockReference}`, async () => (await timeline()).claims.length === 0, 30_000, 250);
  const messages = await events(c, "maintenance.job.v1", job!.id, ["MaintenanceScheduled", "MaintenanceCancelled"]);
  const [cancellation] = decode(messages, MaintenanceCancelledSchema);
  t.is(cancellation?.previousStatus, MaintenanceStatus.SCHEDULED);
  t.is(cancellation?.reason, "not needed");
  t.is((await fleetVehicle(c, vehicle.id, "ACTIVE", () => true)).status, VehicleStatus.ACTIVE);
});
