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
  t.is(decideAcquire(vehicle("active"), rental, "none"), "apply");
  t.is(decideAcquire(vehicle("active"), job, "none"), "apply");
  t.is(decideAcquire(vehicle("rented", rental), rental, "current"), "already_done");
  t.is(decideAcquire(vehicle("under_maintenance", job), job, "current"), "already_done");
  t.is(reasonOf(() => decideAcquire(vehicle("rented", otherRental), rental, "none")), "failed_precondition/VEHICLE_IN_USE");
  t.is(reasonOf(() => decideAcquire(vehicle("rented", null), rental, "none")), "failed_precondition/VEHICLE_IN_USE", "rented by hand");
  t.is(reasonOf(() => decideAcquire(vehicle("under_maintenance", job), rental, "none")), "failed_precondition/VEHICLE_IN_USE");
  t.is(reasonOf(() => decideAcquire(vehicle("rented", rental), job, "none")), "failed_precondition/VEHICLE_IN_USE");
  t.is(reasonOf(() => decideAcquire(vehicle("decommissioned"), rental, "none")), "failed_precondition/VEHICLE_DECOMMISSIONED");
});

test("a hold takes a vehicle once: after its hold ended, taking it again is a no-op, whatever holds the vehicle now", (t) => {
  t.is(decideAcquire(vehicle("active"), rental, "ended"), "already_done");
  t.is(decideAcquire(vehicle("under_maintenance", job), rental, "ended"), "already_done");
  t.is(decideAcquire(vehicle("decommissioned"), rental, "ended"), "already_done");
});

test("only the holder releases; already released or retired is a no-op; a release before its take is refused as not yet", (t) => {
  t.is(decideRelease(vehicle("rented", rental), rental, "current"), "apply");
  t.is(decideRelease(vehicle("under_maintenance", job), job, "current"), "apply");
  t.is(decideRelease(vehicle("active"), rental, "ended"), "already_done", "released by its event before, or by hand");
  t.is(decideRelease(vehicle("rented", otherRental), rental, "ended"), "already_done", "released, and the vehicle rented again since");
  t.is(decideRelease(vehicle("decommissioned"), job, "ended"), "already_done");
  t.is(decideRelease(vehicle("decommissioned"), job, "none"), "already_done", "nothing will ever hold a retired vehicle");
  // Never took it: its take has not arrived yet.
  t.is(reasonOf(() => decideRelease(vehicle("active"), rental, "none")), "failed_precondition/HOLD_NOT_TAKEN");
  t.is(reasonOf(() => decideRelease(vehicle("rented", otherRental), rental, "none")), "failed_precondition/HOLD_NOT_TAKEN");
  t.is(reasonOf(() => decideRelease(vehicle("under_maintenance", job), rental, "none")), "failed_precondition/HOLD_NOT_TAKEN");
  t.is(reasonOf(() => decideRelease(vehicle("rented", null), rental, "none")), "failed_precondition/HOLD_NOT_TAKEN");
  // The record says it holds the vehicle, the vehicle says otherwise: impossible.
  t.is(reasonOf(() => decideRelease(vehicle("rented", otherRental), rental, "current")), "failed_precondition/INVALID_VEHICLE_TRANSITION");
  t.is(reasonOf(() => decideRelease(vehicle("under_maintenance", job), rental, "current")), "failed_precondition/INVALID_VEHICLE_TRANSITION");
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
