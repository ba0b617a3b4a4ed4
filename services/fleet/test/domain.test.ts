import test from "ava";
import { DomainError } from "../../platform/src/errors.js";
import {
  applyAttributePatch,
  assertOdometerAdvances,
  assertTransition,
  canTransition,
  normalizePlate,
  validateAttributes,
  validatePlate,
  VEHICLE_STATUSES,
  type VehicleAttributes,
  type VehicleStatus,
} from "../src/domain/vehicle.js";

const attrs: VehicleAttributes = {
  make: "Toyota", model: "Corolla", variant: null, year: 2020, passengerCapacity: 5, loadLimitKg: null, acquisitionPrice: null,
};

test("the lifecycle allows exactly the blueprint's transitions", (t) => {
  const allowed = new Set(["active>rented", "rented>active", "active>under_maintenance", "under_maintenance>active",
    "active>decommissioned", "rented>decommissioned", "under_maintenance>decommissioned"]);
  for (const from of VEHICLE_STATUSES) {
    for (const to of VEHICLE_STATUSES) {
      t.is(canTransition(from, to), allowed.has(`${from}>${to}`), `${from} -> ${to}`);
    }
  }
});

test("an invalid transition names the current status", (t) => {
  const err = t.throws(() => assertTransition({ id: "v1", status: "rented" }, "under_maintenance"), { instanceOf: DomainError });
  t.is(err?.kind, "failed_precondition");
  t.is(err?.reason, "INVALID_VEHICLE_TRANSITION");
  t.is(err?.metadata["current_status"], "rented");
  t.regex(err?.message ?? "", /rented/);
});

test("decommissioned is terminal with its own reason", (t) => {
  for (const to of ["active", "rented", "under_maintenance", "decommissioned"] as VehicleStatus[]) {
    const err = t.throws(() => assertTransition({ id: "v1", status: "decommissioned" }, to), { instanceOf: DomainError });
    t.is(err?.reason, "VEHICLE_DECOMMISSIONED");
  }
});

test("plates are normalised and validated", (t) => {
  t.is(normalizePlate("  ab 12\tcd "), "AB 12 CD");
  t.deepEqual(validatePlate("AB-123"), []);
  t.is(validatePlate("")[0]?.reason, "REQUIRED");
  t.is(validatePlate("AB_12")[0]?.reason, "INVALID_FORMAT");
  t.is(validatePlate("A".repeat(21))[0]?.reason, "INVALID_FORMAT");
});

test("attribute validation lists every violation with proto paths", (t) => {
  const now = new Date("2026-06-01T00:00:00Z");
  const violations = validateAttributes(
    { ...attrs, make: " ", year: 1800, passengerCapacity: -1, acquisitionPrice: { amountMinor: -5n, currency: "eur" } },
    now,
  );
  t.deepEqual(violations.map((v) => v.field).sort(), [
    "attributes.acquisition_price.amount_minor",
    "attributes.acquisition_price.currency_code",
    "attributes.make",
    "attributes.passenger_capacity",
    "attributes.year",
  ]);
  t.deepEqual(validateAttributes({ ...attrs, year: 2027 }, now), []);
  t.is(validateAttributes({ ...attrs, year: 2028 }, now).length, 1);
});

test("an acquisition price needs a currency ISO 4217 lists (the kit's money table), any of its exponents", (t) => {
  const now = new Date("2026-06-01T00:00:00Z");
  const price = (currency: string) => validateAttributes({ ...attrs, acquisitionPrice: { amountMinor: 4_199_000n, currency } }, now);
  for (const currency of ["EUR", "JPY", "KWD", "CLF"]) t.deepEqual(price(currency), [], currency);
  for (const currency of ["ABC", "XAU", "EURO"]) {
    t.deepEqual(price(currency).map((v) => [v.field, v.reason]), [["attributes.acquisition_price.currency_code", "INVALID_FORMAT"]], currency);
  }
});

test("odometer readings never go backwards in distance or time", (t) => {
  const latest = { id: "r1", vehicleId: "v1", readingKm: 1000, recordedAt: new Date("2026-01-02T00:00:00Z"), recordedBy: null };
  t.notThrows(() => assertOdometerAdvances(null, 0, new Date()));
  t.notThrows(() => assertOdometerAdvances(latest, 1000, new Date("2026-01-02T00:00:00Z")));
  t.is(t.throws(() => assertOdometerAdvances(latest, 999, new Date("2026-01-03T00:00:00Z")))?.message.includes("below"), true);
  const backdated = t.throws(() => assertOdometerAdvances(latest, 1200, new Date("2026-01-01T00:00:00Z")), { instanceOf: DomainError });
  t.is(backdated?.reason, "ODOMETER_DECREASING");
});

test("a patch changes only the named fields and can clear optional ones", (t) => {
  const current = { ...attrs, variant: "GR" };
  const patch = { ...attrs, make: "Ignored", model: "Yaris", variant: null };
  const next = applyAttributePatch(current, patch, ["model", "variant"]);
  t.is(next.make, "Toyota");
  t.is(next.model, "Yaris");
  t.is(next.variant, null);
});
