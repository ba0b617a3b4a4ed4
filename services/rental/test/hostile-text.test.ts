// Issue 9, finding 2, for rental: every string field of every rental RPC
// (enumerated from the descriptor, so a new RPC is covered by itself)
// refuses hostile text (NUL and other controls, lone surrogates, bidi
// controls, 1 MB strings) with INVALID_ARGUMENT naming the field, and
// nothing is written.
import anyTest, { type TestFn } from "ava";
import { LocationType } from "../../../gen/fleetmesh/rental/v1/location_pb.js";
import { RentalService } from "../../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { LEGITIMATE_TEXTS, methodsWithText, sweepHostileText, tableRowCounts } from "../../platform/src/testing/hostile-text.js";
import { futureBase, periodAt, startRentalWorld, type RentalWorld } from "./support.js";

const test = anyTest.serial as TestFn<RentalWorld>;

test.before(async (t) => {
  // The sweeps and the projection backfill once a year: no job writes while the counts are compared.
  t.context = await startRentalWorld({ rentalSettings: { sweepCron: "0 0 1 1 *" } });
});
test.after.always(async (t) => {
  await t.context?.stop?.();
});

test("hostile text in any string field of any RPC is INVALID_ARGUMENT with the field path; nothing is written", async (t) => {
  const world = t.context;
  // Something to write over: a location, a plan, a projected vehicle, a reservation, a block.
  const location = await world.newLocation();
  const plan = await world.newPlan();
  const vehicle = await world.newVehicle();
  const customer = await world.newCustomer();
  await world.refreshVehicles();
  const base = futureBase(3);
  const { rental } = await world.rental.reserveRental({
    customerId: customer,
    source: { case: "terms", value: { vehicleId: vehicle, period: periodAt(base, 0, 24), originLocationId: location, destinationLocationId: location, pricingPlanId: plan } },
  }, world.admin);
  await world.rental.blockVehicle({ blockReference: `maintenance-job:${vehicle}`, vehicleId: vehicle, period: periodAt(base, 48, 24), reason: "service" }, world.admin);
  const db = world.mesh.rentalDb.admin;
  const before = await tableRowCounts(db);
  for (const table of ["locations", "pricing_plans", "vehicles", "rentals", "vehicle_blocks", "outbox_events"]) {
    t.true((before[table] ?? 0) > 0, `${table}: ${JSON.stringify(before)}`);
  }
  const rentalBefore = (await db.query("SELECT status, row_version FROM rentals WHERE id = $1", [rental!.id])).rows[0];

  const { calls, mismatches } = await sweepHostileText(RentalService, world.mesh.rentalAddress, world.admin.headers);
  t.deepEqual(mismatches, []);
  const methods = methodsWithText(RentalService);
  // Every rental RPC takes text (ids at least) but RefreshVehicleProjection.
  t.deepEqual(RentalService.methods.filter((m) => !methods.includes(m)).map((m) => m.name), ["RefreshVehicleProjection"]);
  t.log(`${calls} hostile calls over ${methods.length} RPCs`);

  t.deepEqual(await tableRowCounts(db), before);
  t.deepEqual((await db.query("SELECT status, row_version FROM rentals WHERE id = $1", [rental!.id])).rows[0], rentalBefore);
});

test("legitimate Unicode location names are stored and read back unchanged", async (t) => {
  const world = t.context;
  for (const text of LEGITIMATE_TEXTS.filter((s) => !/[\n\t]/.test(s))) {
    const { location } = await world.rental.createLocation({ attributes: { name: text, type: LocationType.DEPOT, timeZone: "Europe/Berlin" } }, world.admin);
    const read = await world.rental.getLocation({ locationId: location!.id }, world.admin);
    t.is(read.location?.attributes?.name, text);
  }
});
