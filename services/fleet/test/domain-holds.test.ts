// Pure domain rules of the event-driven vehicle transitions (no I/O).
import test from "ava";
import { DomainError } from "../../platform/src/errors.js";
import { changedAttributes, decideAcquire, decideRelease, type Vehicle, type VehicleAttributes, type VehicleHold } from "../src/domain/vehicle.js";

const rental: VehicleHold = { kind: "rental", id: "00000000-0000-4000-8000-000000000001" };
const otherRental: VehicleHold = { kind: "rental", id: "00000000-0000-4000-8000-000000000002" };
const job: VehicleHold = { kind: "maintenance_job", id: "00000000-0000-4000-8000-000000000003" };
const vehicle = (status: Vehicle["status"], hold: VehicleHold | null = null) => ({ id: "v-1", status, hold });

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return `${err.kind}/${err.reason}`;
    throw err;
  }
  return "no error";
};

test("a rental or job takes only an ACTIVE vehicle; taking it again is a no-op", (t) => {
  t.is(decideAcquire(vehicle("active"), rental), "apply");
  t.is(decideAcquire(vehicle("active"), job), "apply");
  t.is(decideAcquire(vehicle("rented", rental), rental), "already_done");
  t.is(decideAcquire(vehicle("under_maintenance", job), job), "already_done");
  t.is(reasonOf(() => decideAcquire(vehicle("rented", otherRental), rental)), "failed_precondition/VEHICLE_IN_USE");
  t.is(reasonOf(() => decideAcquire(vehicle("rented", null), rental)), "failed_precondition/VEHICLE_IN_USE", "rented by hand");
  t.is(reasonOf(() => decideAcquire(vehicle("under_maintenance", job), rental)), "failed_precondition/VEHICLE_IN_USE");
  t.is(reasonOf(() => decideAcquire(vehicle("rented", rental), job)), "failed_precondition/VEHICLE_IN_USE");
  t.is(reasonOf(() => decideAcquire(vehicle("decommissioned"), rental)), "failed_precondition/VEHICLE_DECOMMISSIONED");
});

test("only the holder releases; already released or retired is a no-op; held by another is refused", (t) => {
  t.is(decideRelease(vehicle("rented", rental), rental), "apply");
  t.is(decideRelease(vehicle("under_maintenance", job), job), "apply");
  t.is(decideRelease(vehicle("active"), rental), "already_done");
  t.is(decideRelease(vehicle("decommissioned"), job), "already_done");
  t.is(reasonOf(() => decideRelease(vehicle("rented", otherRental), rental)), "failed_precondition/INVALID_VEHICLE_TRANSITION");
  t.is(reasonOf(() => decideRelease(vehicle("under_maintenance", job), rental)), "failed_precondition/INVALID_VEHICLE_TRANSITION");
  t.is(reasonOf(() => decideRelease(vehicle("rented", null), rental)), "failed_precondition/INVALID_VEHICLE_TRANSITION");
});

test("changedAttributes names exactly the attributes whose value changed", (t) => {
  const base: VehicleAttributes = {
    make: "Toyota", model: "Corolla", variant: null, year: 2022, passengerCapacity: 5, loadLimitKg: null,
    acquisitionPrice: { amountMinor: 100n, currency: "EUR" },
  };
  t.deepEqual(changedAttributes(base, { ...base }), []);
  t.deepEqual(changedAttributes(base, { ...base, model: "Yaris", acquisitionPrice: { amountMinor: 100n, currency: "EUR" } }), ["model"]);
  t.deepEqual(changedAttributes(base, { ...base, variant: "GR", acquisitionPrice: { amountMinor: 101n, currency: "EUR" } }), ["variant", "acquisition_price"]);
  t.deepEqual(changedAttributes(base, { ...base, acquisitionPrice: null, loadLimitKg: 400 }), ["load_limit_kg", "acquisition_price"]);
});
