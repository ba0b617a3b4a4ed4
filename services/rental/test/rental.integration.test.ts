// Rental's use cases end to end over gRPC against real PostgreSQL, identity
// and fleet: quotes, the reservation lifecycle, payments, blocks,
// availability, ownership, and bad input that writes nothing.
import anyTest, { type TestFn } from "ava";
import { status as Status } from "@grpc/grpc-js";
import pg from "pg";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { RentalChargeType, RentalPaymentKind, RentalPaymentStatus, PaymentProvider, RentalStatus } from "../../../gen/fleetmesh/rental/v1/rental_pb.js";
import { LocationType } from "../../../gen/fleetmesh/rental/v1/location_pb.js";
import { DAY, futureBase, HOUR, periodAt, rejectsWith, startRentalWorld, violatedFields, type RentalWorld } from "./support.js";

interface Fixture {
  readonly world: RentalWorld;
  readonly location: string;
  readonly plan: string;
  readonly agent: { headers: Record<string, string> };
  readonly manager: { headers: Record<string, string> };
}

const test = anyTest as TestFn<Fixture>;
const AGENT = "00000000-0000-4000-8000-00000000a9e7";
const eur = (amountMinor: bigint) => ({ amountMinor, currencyCode: "EUR" });

test.before(async (t) => {
  const world = await startRentalWorld();
  const location = await world.newLocation("Europe/Berlin");
  const plan = await world.newPlan({
    lateFeePerHour: eur(1_000n), lateGraceMinutes: 30, lateFeeCap: eur(5_000n),
    cancellation: { freeUntilHoursBefore: 24, fee: eur(2_500n) }, noShowFee: eur(3_000n), deposit: eur(30_000n),
  });
  t.context = {
    world, location, plan,
    agent: world.asRole(AGENT, "rental_agent"),
    manager: world.asRole("00000000-0000-4000-8000-00000000f1ee", "fleet_manager"),
  };
});
test.after.always(async (t) => {
  await t.context.world?.stop();
});

const termsOf = (f: Fixture, vehicleId: string, period: ReturnType<typeof periodAt>, extra: Record<string, unknown> = {}) => ({
  vehicleId, period, originLocationId: f.location, destinationLocationId: f.location, pricingPlanId: f.plan, ...extra,
});

async function rowCounts(world: RentalWorld): Promise<Record<string, number>> {
  const db = new pg.Client(world.mesh.rentalDb.config);
  await db.connect();
  try {
    const out: Record<string, number> = {};
    for (const table of ["locations", "pricing_plans", "quotes", "rentals", "rental_charges", "rental_payments", "vehicle_blocks", "vehicle_claims", "staff_claims", "outbox_events"]) {
      out[table] = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    }
    return out;
  } finally {
    await db.end();
  }
}

test.serial("quote, reserve with the quoted price, activate, extend, complete, pay and refund part", async (t) => {
  const f = t.context;
  const { world, agent } = f;
  const vehicle = await world.newVehicle();
  const customer = await world.newCustomer();
  const driver = await world.newStaff("driver", 12_000n);
  const base = futureBase(2);
  const { quote } = await world.rental.quoteRental({ terms: termsOf(f, vehicle, periodAt(base, 0, 48), { driverId: driver, estimatedDistanceKm: 500 }), customerId: customer }, agent);
  t.is(quote!.rentalDays, 2);
  t.deepEqual(quote!.lines.map((l) => [l.type, l.amount!.amountMinor]), [
    [RentalChargeType.BASE, 9_800n], [RentalChargeType.DRIVER, 24_000n], [RentalChargeType.DISTANCE, 2_500n],
  ]);
  t.is(quote!.total!.amountMinor, 36_300n, "total = sum of lines");
  t.is(quote!.deposit!.amountMinor, 30_000n, "the deposit is shown apart from the price");

  const otherCustomer = await world.newCustomer();
  await rejectsWith(t, world.rental.reserveRental({ customerId: otherCustomer, source: { case: "quoteId", value: quote!.id } }, agent),
    Status.FAILED_PRECONDITION, "QUOTE_CUSTOMER_MISMATCH");
  await rejectsWith(t, world.rental.reserveOwnRental({ source: { case: "quoteId", value: quote!.id } }, world.asRole(otherCustomer, "customer")),
    Status.NOT_FOUND, "QUOTE_NOT_FOUND");

  const { rental, charges } = await world.rental.reserveRental({ customerId: customer, source: { case: "quoteId", value: quote!.id } }, agent);
  t.is(rental!.status, RentalStatus.RESERVED);
  t.is(rental!.chargesTotal!.amountMinor, 33_800n, "the quoted price without the estimated distance");
  t.deepEqual(charges.map((c) => c.type), [RentalChargeType.BASE, RentalChargeType.DRIVER]);
  await rejectsWith(t, world.rental.reserveRental({ customerId: customer, source: { case: "quoteId", value: quote!.id } }, agent),
    Status.FAILED_PRECONDITION, "QUOTE_EXPIRED");

  const activated = await world.rental.activateRental({ rentalId: rental!.id, pickupOdometerKm: 1_000 }, agent);
  t.is(activated.rental!.status, RentalStatus.ACTIVE);
  const extended = await world.rental.extendRental({ rentalId: rental!.id, newEndTime: timestampFromDate(new Date(base + 72 * HOUR)) }, agent);
  t.deepEqual(extended.charges.map((c) => [c.type, c.amount!.amountMinor]), [[RentalChargeType.BASE, 4_900n], [RentalChargeType.DRIVER, 12_000n]]);

  await rejectsWith(t, world.rental.completeRental({ rentalId: rental!.id, returnOdometerKm: 900 }, agent), Status.FAILED_PRECONDITION, "ODOMETER_DECREASING");
  const completed = await world.rental.completeRental({
    rentalId: rental!.id, returnOdometerKm: 1_700,
    extraCharges: [{ type: RentalChargeType.FUEL, description: "Refuel", quantity: 1, unitPrice: eur(4_000n) }],
  }, agent);
  t.is(completed.rental!.status, RentalStatus.COMPLETED);
  // 700 km driven, 3 days x 200 km included: 100 km x 0.25 EUR.
  const distance = completed.charges.find((c) => c.type === RentalChargeType.DISTANCE);
  t.is(distance?.amount?.amountMinor, 2_500n);
  const total = completed.charges.reduce((s, c) => s + c.amount!.amountMinor, 0n);
  t.is(completed.rental!.chargesTotal!.amountMinor, total);

  const paid = await world.rental.recordRentalPayment({
    rentalId: rental!.id, provider: PaymentProvider.CARD, amount: eur(total), status: RentalPaymentStatus.CAPTURED,
  }, agent);
  t.is(paid.rental!.paidTotal!.amountMinor, total);
  await rejectsWith(t, world.rental.updateRentalPaymentStatus({
    paymentId: paid.payment!.id, targetStatus: RentalPaymentStatus.REFUNDED, amount: eur(total + 1n),
  }, agent), Status.FAILED_PRECONDITION, "REFUND_EXCEEDS_CAPTURED");
  const refunded = await world.rental.updateRentalPaymentStatus({
    paymentId: paid.payment!.id, targetStatus: RentalPaymentStatus.REFUNDED, amount: eur(1_000n), reason: "goodwill",
  }, agent);
  t.is(refunded.payment!.status, RentalPaymentStatus.CAPTURED, "a partial refund keeps the rest captured");
  t.is(refunded.payment!.refundedAmount!.amountMinor, 1_000n);
  t.is(refunded.rental!.paidTotal!.amountMinor, total - 1_000n);
});

test.serial("deposits are held, captured and applied, the rest refunded", async (t) => {
  const f = t.context;
  const { world, agent } = f;
  const vehicle = await world.newVehicle();
  const customer = await world.newCustomer();
  const { rental } = await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, periodAt(futureBase(5), 0, 24)) } }, agent);
  t.is(rental!.deposit!.amountMinor, 30_000n);
  const held = await world.rental.recordRentalPayment({
    rentalId: rental!.id, kind: RentalPaymentKind.DEPOSIT, provider: PaymentProvider.CARD, amount: eur(30_000n), status: RentalPaymentStatus.HELD,
  }, agent);
  t.is(held.rental!.paidTotal!.amountMinor, 0n, "a held deposit is not a payment");
  t.is(held.payment!.externalReference, `recorded:card:${held.payment!.id}:held`, "the recorded-payment provider names the fact");
  const captured = await world.rental.updateRentalPaymentStatus({ paymentId: held.payment!.id, targetStatus: RentalPaymentStatus.CAPTURED }, agent);
  const settled = await world.rental.updateRentalPaymentStatus({ paymentId: held.payment!.id, targetStatus: RentalPaymentStatus.SETTLED, amount: eur(4_900n) }, agent);
  t.is(captured.payment!.status, RentalPaymentStatus.CAPTURED);
  t.is(settled.payment!.status, RentalPaymentStatus.SETTLED);
  t.is(settled.payment!.appliedAmount!.amountMinor, 4_900n);
  t.is(settled.payment!.refundedAmount!.amountMinor, 25_100n);
  t.is(settled.rental!.paidTotal!.amountMinor, 4_900n);
});

test.serial("cancelling computes the plan's fee; a fee typed in by the caller is refused", async (t) => {
  const f = t.context;
  const { world, agent } = f;
  const vehicle = await world.newVehicle();
  const customer = await world.newCustomer();
  const early = await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, periodAt(futureBase(5), 0, 24)) } }, agent);
  const late = await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, periodAt(Date.now() + 6 * HOUR, 0, 24)) } }, agent);
  const err = await rejectsWith(t, world.rental.cancelRental({ rentalId: early.rental!.id, reason: "x", cancellationFee: eur(1n) }, agent),
    Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(err), ["cancellation_fee"]);
  const free = await world.rental.cancelRental({ rentalId: early.rental!.id, reason: "plans changed" }, agent);
  t.is(free.rental!.chargesTotal!.amountMinor, early.rental!.chargesTotal!.amountMinor, "free more than 24 h before the start");
  const charged = await world.rental.cancelRental({ rentalId: late.rental!.id, reason: "plans changed" }, agent);
  t.is(charged.rental!.chargesTotal!.amountMinor - late.rental!.chargesTotal!.amountMinor, 2_500n, "the plan's fee within 24 h");
  // The slot is free again at once.
  await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, periodAt(futureBase(5), 0, 24)) } }, agent);
});

test.serial("customers see and cancel only their own rentals; partners only those they created", async (t) => {
  const f = t.context;
  const { world, agent } = f;
  const vehicle = await world.newVehicle();
  const alice = await world.newCustomer();
  const bob = await world.newCustomer();
  const asAlice = world.asRole(alice, "customer");
  const asBob = world.asRole(bob, "customer");
  const { rental } = await world.rental.reserveOwnRental({ source: { case: "terms", value: termsOf(f, vehicle, periodAt(futureBase(7), 0, 24)) } }, asAlice);
  t.is(rental!.customerId, alice);
  await rejectsWith(t, world.rental.getOwnRental({ rentalId: rental!.id }, asBob), Status.NOT_FOUND, "RENTAL_NOT_FOUND");
  await rejectsWith(t, world.rental.cancelOwnRental({ rentalId: rental!.id, reason: "not mine" }, asBob), Status.NOT_FOUND, "RENTAL_NOT_FOUND");
  t.is((await world.rental.listOwnRentals({}, asBob)).rentals.length, 0);
  t.is((await world.rental.getOwnRental({ rentalId: rental!.id }, asAlice)).rental!.id, rental!.id);
  await rejectsWith(t, world.rental.quoteRental({ terms: termsOf(f, vehicle, periodAt(futureBase(9), 0, 24)), customerId: bob }, asAlice),
    Status.PERMISSION_DENIED, "PERMISSION_DENIED");

  const partner = world.asRole("partner-client-1", "partner");
  const otherPartner = world.asRole("partner-client-2", "partner");
  const viaPartner = await world.rental.reserveRental({ customerId: bob, source: { case: "terms", value: termsOf(f, vehicle, periodAt(futureBase(8), 0, 24)) } }, partner);
  t.deepEqual((await world.rental.listOwnRentals({}, partner)).rentals.map((r) => r.id), [viaPartner.rental!.id]);
  t.deepEqual((await world.rental.listOwnRentals({}, otherPartner)).rentals, []);
  await rejectsWith(t, world.rental.cancelOwnRental({ rentalId: viaPartner.rental!.id, reason: "x" }, otherPartner), Status.NOT_FOUND, "RENTAL_NOT_FOUND");
  await world.rental.cancelOwnRental({ rentalId: viaPartner.rental!.id, reason: "customer called" }, partner);
  void agent;
});

test.serial("blocks: refused over a booking unless urgent, which marks the booking at risk; idempotent by reference", async (t) => {
  const f = t.context;
  const { world, agent, manager } = f;
  const vehicle = await world.newVehicle();
  const customer = await world.newCustomer();
  await world.refreshVehicles();
  const base = futureBase(10);
  const { rental } = await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, periodAt(base, 0, 24)) } }, agent);
  const block = { blockReference: `maintenance-job:${vehicle}`, vehicleId: vehicle, period: periodAt(base, 12, 24), reason: "brake service" };
  await rejectsWith(t, world.rental.blockVehicle(block, manager), Status.FAILED_PRECONDITION, "VEHICLE_NOT_AVAILABLE");
  const urgent = await world.rental.blockVehicle({ ...block, urgent: true, reason: "breakdown" }, manager);
  t.deepEqual(urgent.displacedRentals.map((r) => [r.id, r.atRisk]), [[rental!.id, true]]);
  const again = await world.rental.blockVehicle({ ...block, urgent: true, reason: "breakdown" }, manager);
  t.is(again.block!.blockReference, block.blockReference);
  t.deepEqual(again.displacedRentals, [], "a repeat displaces nothing more");
  await rejectsWith(t, world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, periodAt(base, 30, 4)) } }, agent),
    Status.FAILED_PRECONDITION, "VEHICLE_NOT_AVAILABLE");
  const timeline = await world.rental.listVehicleTimeline({ vehicleId: vehicle, window: periodAt(base, 0, 72) }, agent);
  t.is(timeline.claims.length, 1, "the displaced reservation no longer holds the vehicle");
  const fetched = await world.rental.getRental({ rentalId: rental!.id }, agent);
  t.true(fetched.rental!.atRisk);
  await world.rental.releaseVehicleBlock({ blockReference: block.blockReference }, manager);
  await world.rental.releaseVehicleBlock({ blockReference: block.blockReference }, manager);
  await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, periodAt(base, 30, 4)) } }, agent);
  await rejectsWith(t, world.rental.releaseVehicleBlock({ blockReference: "maintenance-job:unknown" }, manager), Status.NOT_FOUND, "VEHICLE_BLOCK_NOT_FOUND");
});

test.serial("availability answers from rental's own data: booked, blocked, load limit and location", async (t) => {
  const f = t.context;
  const { world, agent, manager } = f;
  const elsewhere = await world.newLocation("America/New_York");
  const heavy = await world.newVehicle({ loadLimitKg: 3_000 });
  const light = await world.newVehicle({ loadLimitKg: 500 });
  const booked = await world.newVehicle({ loadLimitKg: 3_000 });
  await world.refreshVehicles();
  for (const v of [heavy, light, booked]) await world.rental.setVehicleHomeLocation({ vehicleId: v, locationId: elsewhere }, manager);
  const base = futureBase(12);
  const customer = await world.newCustomer();
  await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, booked, periodAt(base, 0, 24)) } }, agent);
  const found = await world.rental.listAvailableVehicles({ period: periodAt(base, 2, 4), locationId: elsewhere, minLoadLimitKg: 1_000 }, agent);
  t.deepEqual(found.vehicles.map((v) => v.vehicleId), [heavy]);
  t.is(found.vehicles[0]!.loadLimitKg, 3_000);
  const check = await world.rental.checkAvailability({ vehicleIds: [heavy, booked], period: periodAt(base, 2, 4) }, agent);
  t.deepEqual(check.vehicles.map((v) => v.available), [true, false]);
});

test.serial("no-shows and overdue rentals, once each, from the sweeps", async (t) => {
  const f = t.context;
  const { world, agent } = f;
  const vehicle = await world.newVehicle();
  const customer = await world.newCustomer();
  const soon = Date.now() + 10 * 60_000;
  const noShow = await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, { startTime: timestampFromDate(new Date(soon)), endTime: timestampFromDate(new Date(soon + 4 * HOUR)) }) } }, agent);
  const later = new Date(soon + 3 * HOUR);
  const swept = await Promise.all([world.mesh.rental.useCases.sweepNoShows(later), world.mesh.rental.useCases.sweepNoShows(later)]);
  t.is(swept[0] + swept[1], 1, "two overlapping sweeps mark it once");
  const after = await world.rental.getRental({ rentalId: noShow.rental!.id }, agent);
  t.is(after.rental!.status, RentalStatus.NO_SHOW);
  t.is(after.rental!.chargesTotal!.amountMinor - noShow.rental!.chargesTotal!.amountMinor, 3_000n);

  const vehicle2 = await world.newVehicle();
  const active = await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle2, { startTime: timestampFromDate(new Date(Date.now() + 60_000)), endTime: timestampFromDate(new Date(Date.now() + 2 * HOUR)) }) } }, agent);
  const next = await world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle2, periodAt(Date.now(), 3, 4)) } }, agent);
  await world.rental.activateRental({ rentalId: active.rental!.id }, agent);
  const overdueAt = new Date(Date.now() + 2.5 * HOUR);
  t.is(await world.mesh.rental.useCases.sweepOverdue(overdueAt), 1);
  t.is(await world.mesh.rental.useCases.sweepOverdue(overdueAt), 0, "announced once");
  const nextAfter = await world.rental.getRental({ rentalId: next.rental!.id }, agent);
  t.true(nextAfter.rental!.atRisk);
  t.regex(nextAfter.rental!.atRiskReason, /overdue/);
  await rejectsWith(t, world.rental.activateRental({ rentalId: next.rental!.id }, agent), Status.FAILED_PRECONDITION, "VEHICLE_NOT_AVAILABLE");
});

test.serial("bad input is refused with field details and writes nothing", async (t) => {
  const f = t.context;
  const { world, agent, manager } = f;
  const vehicle = await world.newVehicle();
  const customer = await world.newCustomer();
  const before = await rowCounts(world);
  const base = futureBase(15);
  const reserve = (terms: Record<string, unknown>) =>
    world.rental.reserveRental({ customerId: customer, source: { case: "terms", value: termsOf(f, vehicle, periodAt(base, 0, 24), terms) } }, agent);

  const fields = async (p: Promise<unknown>, code = Status.INVALID_ARGUMENT, reason = "INVALID_ARGUMENT") => violatedFields(await rejectsWith(t, p, code, reason));
  t.deepEqual(await fields(reserve({ period: { startTime: timestampFromDate(new Date(base + DAY)), endTime: timestampFromDate(new Date(base)) } })), ["terms.period.end_time"]);
  t.deepEqual(await fields(reserve({ period: periodAt(base, 0, 0) })), ["terms.period.end_time"]);
  t.deepEqual(await fields(reserve({ period: periodAt(base, 0, 400 * 24) })), ["terms.period.end_time"]);
  // Both instants of a 1990 period are out of range.
  t.deepEqual(await fields(reserve({ period: periodAt(Date.UTC(1990, 0, 1), 0, 24) })), ["terms.period.end_time", "terms.period.start_time"]);
  t.deepEqual(await fields(reserve({ period: periodAt(Date.now() - 2 * DAY, 0, 24) })), ["terms.period.start_time"]);
  await rejectsWith(t, reserve({ vehicleId: "00000000-0000-4000-8000-000000000bad" }), Status.NOT_FOUND, "VEHICLE_NOT_FOUND");
  await rejectsWith(t, reserve({ originLocationId: "00000000-0000-4000-8000-000000000bad" }), Status.NOT_FOUND, "LOCATION_NOT_FOUND");
  await rejectsWith(t, reserve({ pricingPlanId: "00000000-0000-4000-8000-000000000bad" }), Status.NOT_FOUND, "PRICING_PLAN_NOT_FOUND");
  t.deepEqual(await fields(world.rental.createLocation({ attributes: { name: "Moon base", type: LocationType.DEPOT, timeZone: "Mars/Olympus_Mons" } }, manager)),
    ["attributes.time_zone"]);
  t.true((await fields(world.rental.createPricingPlan({
    name: "Mixed", rates: { currencyCode: "EUR", dailyRate: eur(100n), perKmRate: { amountMinor: 1n, currencyCode: "USD" } },
  }, manager))).includes("rates.per_km_rate.currency_code"));
  t.true((await fields(world.rental.createPricingPlan({ name: "Negative", rates: { currencyCode: "EUR", dailyRate: eur(-100n) } }, manager)))
    .includes("rates.daily_rate.amount_minor"));
  const { rental } = await reserve({});
  const afterValid = await rowCounts(world);
  await rejectsWith(t, world.rental.recordRentalPayment({
    rentalId: rental!.id, provider: PaymentProvider.CASH, amount: { amountMinor: 100n, currencyCode: "USD" }, status: RentalPaymentStatus.CAPTURED,
  }, agent), Status.INVALID_ARGUMENT, "CURRENCY_MISMATCH");
  t.true((await fields(world.rental.recordRentalPayment({
    rentalId: rental!.id, provider: PaymentProvider.CASH, amount: eur(-100n), status: RentalPaymentStatus.CAPTURED,
  }, agent))).some((field) => field.startsWith("amount")));
  t.deepEqual(await rowCounts(world), afterValid, "refused requests wrote nothing");
  t.true(afterValid["rentals"]! === before["rentals"]! + 1);
});

test.serial("pricing plans are immutable in the database: only archiving changes a row", async (t) => {
  const f = t.context;
  const db = new pg.Client(f.world.mesh.rentalDb.config);
  await db.connect();
  try {
    await t.throwsAsync(db.query("UPDATE pricing_plans SET daily_rate_minor = 1 WHERE id = $1", [f.plan]), { message: /immutable/ });
    await t.throwsAsync(db.query("DELETE FROM pricing_plans WHERE id = $1", [f.plan]), { message: /never deleted/ });
    const archived = await f.world.rental.archivePricingPlan({ pricingPlanId: f.plan }, f.manager);
    t.true(archived.pricingPlan!.archived);
    t.is(archived.pricingPlan!.rates!.dailyRate!.amountMinor, 4_900n);
  } finally {
    await db.end();
  }
});
