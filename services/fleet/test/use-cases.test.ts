import test from "ava";
import { DomainError } from "../../platform/src/errors.js";
import { createFleetUseCases } from "../src/app/fleet-use-cases.js";
import type { VehicleAttributes } from "../src/domain/vehicle.js";
import { createInMemoryFleet } from "./fakes.js";

// Fleet's use cases on in-memory ports: the rules and the events they write,
// in milliseconds. The same behaviour against PostgreSQL is in
// fleet.integration.test.ts.

const ADMIN = { userId: "00000000-0000-4000-8000-0000000000aa" };
const attributes: VehicleAttributes = {
  make: "Toyota", model: "Corolla", variant: null, year: 2022, passengerCapacity: 5, loadLimitKg: null,
  acquisitionPrice: { amountMinor: 2_199_000n, currency: "EUR" },
};

test("register writes the vehicle and VehicleRegistered in one unit; a taken plate writes neither", async (t) => {
  const fleet = createInMemoryFleet();
  const useCases = createFleetUseCases(fleet.deps);
  const vehicle = await useCases.registerVehicle({ plateNumber: " b-fm 1 ", attributes }, ADMIN);
  t.is(vehicle.plateNumber, "B-FM 1");
  t.is(vehicle.status, "active");
  t.deepEqual(fleet.outbox.events.map((e) => e.type), ["VehicleRegistered"]);
  const err = await t.throwsAsync(useCases.registerVehicle({ plateNumber: "B-FM 1", attributes }, ADMIN), { instanceOf: DomainError });
  t.is(err?.reason, "PLATE_NUMBER_TAKEN");
  t.is(fleet.store.vehicles.rows.size, 1);
  t.is(fleet.outbox.events.length, 1, "no event for the refused registration");
  t.deepEqual(fleet.uow.stats, { committed: 1, rolledBack: 1 });
});

test("odometer readings only advance; a refused one leaves no reading and no event", async (t) => {
  const fleet = createInMemoryFleet();
  const useCases = createFleetUseCases(fleet.deps);
  const vehicle = await useCases.registerVehicle({ plateNumber: "ODO-1", attributes }, ADMIN);
  fleet.advance(1_000);
  await useCases.recordOdometer({ vehicleId: vehicle.id, readingKm: 1_200, recordedAt: null }, ADMIN);
  fleet.advance(1_000);
  const err = await t.throwsAsync(useCases.recordOdometer({ vehicleId: vehicle.id, readingKm: 1_100, recordedAt: null }, ADMIN), { instanceOf: DomainError });
  t.is(err?.reason, "ODOMETER_DECREASING");
  t.is(fleet.store.readings.rows.size, 1);
  t.deepEqual(fleet.outbox.events.map((e) => e.type), ["VehicleRegistered", "OdometerReadingRecorded"]);
});

test("a stale row version is ABORTED and changes nothing; the right one changes status with an event", async (t) => {
  const fleet = createInMemoryFleet();
  const useCases = createFleetUseCases(fleet.deps);
  const vehicle = await useCases.registerVehicle({ plateNumber: "ST-1", attributes }, ADMIN);
  const stale = await t.throwsAsync(useCases.changeStatus({ id: vehicle.id, expectedRowVersion: vehicle.rowVersion + 5n, target: "under_maintenance" }, ADMIN));
  t.is((stale as DomainError).reason, "ROW_VERSION_MISMATCH");
  const { vehicle: changed, previous } = await useCases.changeStatus({ id: vehicle.id, expectedRowVersion: vehicle.rowVersion, target: "under_maintenance" }, ADMIN);
  t.is(previous, "active");
  t.is(changed.status, "under_maintenance");
  t.is(fleet.outbox.events.at(-1)?.type, "VehicleStateChanged");
});

test("listing pages through every vehicle once, in registration order", async (t) => {
  const fleet = createInMemoryFleet();
  const useCases = createFleetUseCases(fleet.deps);
  for (let i = 0; i < 7; i++) {
    await useCases.registerVehicle({ plateNumber: `P-${i}`, attributes }, ADMIN);
    fleet.advance(10);
  }
  const seen: string[] = [];
  let pageToken = "";
  do {
    const page = await useCases.listVehicles({ status: null, pageSize: 3, pageToken });
    seen.push(...page.items.map((v) => v.plateNumber));
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  t.deepEqual(seen, ["P-0", "P-1", "P-2", "P-3", "P-4", "P-5", "P-6"]);
});
