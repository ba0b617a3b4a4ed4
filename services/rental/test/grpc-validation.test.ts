// The gRPC adapter's request checks: bad input is INVALID_ARGUMENT listing
// every bad field by its proto path, and no use case runs (nothing is
// written). Valid input reaches the use case as domain commands, as the caller.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import test from "ava";
import { LocationType } from "../../../gen/fleetmesh/rental/v1/location_pb.js";
import {
  PaymentProvider,
  RentalChargeType,
  RentalPaymentKind,
  RentalPaymentStatus,
  RentalStatus,
} from "../../../gen/fleetmesh/rental/v1/rental_pb.js";
import {
  AddRentalChargeRequestSchema,
  BlockVehicleRequestSchema,
  CancelRentalRequestSchema,
  CheckAvailabilityRequestSchema,
  CompleteRentalRequestSchema,
  CreateLocationRequestSchema,
  CreatePricingPlanRequestSchema,
  ListAvailableVehiclesRequestSchema,
  ListRentalsRequestSchema,
  ListVehicleTimelineRequestSchema,
  QuoteRentalRequestSchema,
  RecordRentalPaymentRequestSchema,
  ReleaseVehicleBlockRequestSchema,
  RentalService,
  ReserveOwnRentalRequestSchema,
  ReserveRentalRequestSchema,
  UpdateRentalPaymentStatusRequestSchema,
  ActivateRentalRequestSchema,
  ExtendRentalRequestSchema,
} from "../../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { DomainError } from "../../platform/src/errors.js";
import { requestChecks } from "../../platform/src/testing/handlers.js";
import { isKnownTimeZone, MAX_RENTAL_DAYS } from "../src/adapters/grpc/rental-requests.js";
import { fullRates, ids, rentalHandlers, staffCaller } from "./adapter-fixtures.js";
import { pricingRatesToProto } from "../src/adapters/proto/rental-proto.js";

const DAY = 86_400_000;
const start = new Date("2031-03-01T09:00:00Z");
const at = (ms: number) => timestampFromDate(new Date(start.getTime() + ms));
const period = (fromMs: number, toMs: number) => ({ startTime: at(fromMs), endTime: at(toMs) });
const money = (amountMinor: bigint, currencyCode = "EUR") => ({ amountMinor, currencyCode });

const terms = (overrides: Record<string, unknown> = {}) => ({
  vehicleId: ids.vehicle,
  period: period(0, 3 * DAY),
  originLocationId: ids.origin,
  destinationLocationId: ids.destination,
  pricingPlanId: ids.plan,
  ...overrides,
});

const validRates = () => ({
  currencyCode: "EUR",
  dailyRate: money(4_900n),
  lateGraceMinutes: 30,
});

const { expectViolations, expectAccepted } = requestChecks(rentalHandlers);

// ---- periods ----

test("a period whose end is before its start is INVALID_PERIOD on end_time", async (t) => {
  await expectViolations(t, "quoteRental", QuoteRentalRequestSchema, { terms: terms({ period: period(DAY, 0) }) },
    { "terms.period.end_time": "INVALID_PERIOD" });
});

test("a zero-length period is refused", async (t) => {
  await expectViolations(t, "checkAvailability", CheckAvailabilityRequestSchema, { vehicleIds: [ids.vehicle], period: period(DAY, DAY) },
    { "period.end_time": "INVALID_PERIOD" });
});

test("a 400-day rental is longer than MAX_RENTAL_DAYS; 366 days is accepted", async (t) => {
  await expectViolations(t, "reserveRental", ReserveRentalRequestSchema,
    { source: { case: "terms", value: terms({ period: period(0, 400 * DAY) }) }, customerId: ids.customer },
    { "terms.period.end_time": "OUT_OF_RANGE" });
  const accepted = await expectAccepted(t, "quoteRental", QuoteRentalRequestSchema, { terms: terms({ period: period(0, MAX_RENTAL_DAYS * DAY) }) });
  t.is(accepted.method, "quote");
});

test("far-past and absurd timestamps are refused on the field they are in", async (t) => {
  await expectViolations(t, "quoteRental", QuoteRentalRequestSchema, {
    terms: terms({ period: { startTime: timestampFromDate(new Date("1970-01-02T00:00:00Z")), endTime: at(DAY) } }),
  }, { "terms.period.start_time": "OUT_OF_RANGE" });
  await expectViolations(t, "extendRental", ExtendRentalRequestSchema, {
    rentalId: ids.rental, newEndTime: { seconds: 10n ** 15n, nanos: 0 },
  }, { new_end_time: "OUT_OF_RANGE" });
  await expectViolations(t, "activateRental", ActivateRentalRequestSchema, {
    rentalId: ids.rental, pickupTime: timestampFromDate(new Date("2100-01-01T00:00:00Z")),
  }, { pickup_time: "OUT_OF_RANGE" });
});

test("periods are required with both ends; timeline windows are at most 366 days", async (t) => {
  await expectViolations(t, "listVehicleTimeline", ListVehicleTimelineRequestSchema, { vehicleId: ids.vehicle }, { window: "REQUIRED" });
  await expectViolations(t, "listVehicleTimeline", ListVehicleTimelineRequestSchema,
    { vehicleId: ids.vehicle, window: period(0, 367 * DAY) }, { "window.end_time": "OUT_OF_RANGE" });
  await expectViolations(t, "listAvailableVehicles", ListAvailableVehiclesRequestSchema,
    { period: { startTime: at(0) }, minPassengerCapacity: -1 },
    { "period.end_time": "REQUIRED", min_passenger_capacity: "OUT_OF_RANGE" });
  // A list filter is not a booking: longer than a year is fine, backwards is not.
  await expectAccepted(t, "listRentals", ListRentalsRequestSchema, { overlaps: period(0, 800 * DAY) });
  await expectViolations(t, "listRentals", ListRentalsRequestSchema, { overlaps: period(DAY, 0) }, { "overlaps.end_time": "INVALID_PERIOD" });
});

// ---- locations and time zones ----

test("an unknown time zone is refused; IANA zones known to the runtime are accepted", async (t) => {
  await expectViolations(t, "createLocation", CreateLocationRequestSchema,
    { attributes: { name: "Olympus base", type: LocationType.DEPOT, timeZone: "Mars/Olympus" } },
    { "attributes.time_zone": "INVALID_FORMAT" });
  for (const zone of ["Mars/Olympus", "+01:00", "europe/berlin", "", "Europe/Berlin/"]) t.false(isKnownTimeZone(zone), zone);
  for (const zone of ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "Europe/Kyiv", "Asia/Kolkata"]) {
    t.true(isKnownTimeZone(zone), zone);
  }
  const accepted = await expectAccepted(t, "createLocation", CreateLocationRequestSchema,
    { attributes: { name: "  Berlin Hbf ", type: LocationType.DEPOT, timeZone: "Europe/Berlin", address: " " } });
  t.deepEqual(accepted.args, [{ name: "Berlin Hbf", type: "depot", address: null, timeZone: "Europe/Berlin" }, staffCaller]);
});

test("every location violation is listed at once", async (t) => {
  await expectViolations(t, "createLocation", CreateLocationRequestSchema,
    { attributes: { name: " ", type: LocationType.UNSPECIFIED, address: "x".repeat(501), timeZone: "" } },
    {
      "attributes.name": "REQUIRED",
      "attributes.type": "REQUIRED",
      "attributes.address": "TOO_LONG",
      "attributes.time_zone": "REQUIRED",
    });
  await expectViolations(t, "createLocation", CreateLocationRequestSchema, {}, { attributes: "REQUIRED" });
});

// ---- pricing plans ----

test("a plan mixing currencies is CURRENCY_MISMATCH on each foreign amount", async (t) => {
  await expectViolations(t, "createPricingPlan", CreatePricingPlanRequestSchema, {
    name: "Mixed",
    rates: { ...validRates(), hourlyRate: money(900n, "USD"), deposit: money(100n, "GBP"), cancellation: { freeUntilHoursBefore: 24, fee: money(5n, "CHF") } },
  }, {
    "rates.hourly_rate.currency_code": "CURRENCY_MISMATCH",
    "rates.deposit.currency_code": "CURRENCY_MISMATCH",
    "rates.cancellation.fee.currency_code": "CURRENCY_MISMATCH",
  });
});

test("negative and zero plan amounts and out-of-range plan numbers are refused", async (t) => {
  await expectViolations(t, "createPricingPlan", CreatePricingPlanRequestSchema, {
    name: "x".repeat(121),
    description: "d".repeat(1001),
    rates: {
      currencyCode: "EUR",
      dailyRate: money(0n),
      perKmRate: money(-1n),
      includedKmPerDay: -5,
      hourlyRate: money(0n),
      lateFeePerHour: money(-100n),
      lateGraceMinutes: 1441,
      lateFeeCap: money(-1n),
      cancellation: { freeUntilHoursBefore: 8761 },
      noShowFee: money(-1n),
      deposit: money(-1n),
    },
  }, {
    name: "TOO_LONG",
    description: "TOO_LONG",
    "rates.daily_rate.amount_minor": "OUT_OF_RANGE",
    "rates.per_km_rate.amount_minor": "OUT_OF_RANGE",
    "rates.included_km_per_day": "OUT_OF_RANGE",
    "rates.hourly_rate.amount_minor": "OUT_OF_RANGE",
    "rates.late_fee_per_hour.amount_minor": "OUT_OF_RANGE",
    "rates.late_grace_minutes": "OUT_OF_RANGE",
    "rates.late_fee_cap.amount_minor": "OUT_OF_RANGE",
    "rates.cancellation.free_until_hours_before": "OUT_OF_RANGE",
    "rates.cancellation.fee": "REQUIRED",
    "rates.no_show_fee.amount_minor": "OUT_OF_RANGE",
    "rates.deposit.amount_minor": "OUT_OF_RANGE",
  });
});

test("a plan needs a name, rates, a currency and a daily rate", async (t) => {
  await expectViolations(t, "createPricingPlan", CreatePricingPlanRequestSchema, { name: "" }, { name: "REQUIRED", rates: "REQUIRED" });
  await expectViolations(t, "createPricingPlan", CreatePricingPlanRequestSchema, { name: "P", rates: { currencyCode: "" } },
    { "rates.currency_code": "REQUIRED", "rates.daily_rate": "REQUIRED" });
  await expectViolations(t, "createPricingPlan", CreatePricingPlanRequestSchema, { name: "P", rates: { currencyCode: "EURO", dailyRate: money(1n, "eur") } },
    { "rates.currency_code": "INVALID_FORMAT", "rates.daily_rate.currency_code": "INVALID_FORMAT" });
});

test("a valid plan reaches the use case with every rate, as the caller", async (t) => {
  const call = await expectAccepted(t, "createPricingPlan", CreatePricingPlanRequestSchema,
    { name: " City weekly ", description: "", rates: pricingRatesToProto(fullRates) });
  t.is(call.method, "createPricingPlan");
  t.deepEqual(call.args, [{ name: "City weekly", description: "", rates: fullRates }, staffCaller]);
});

// ---- charges ----

test("server-computed charge types are refused in CompleteRental and AddRentalCharge", async (t) => {
  const line = (type: RentalChargeType) => ({ type, description: "x", quantity: 1, unitPrice: money(100n) });
  await expectViolations(t, "completeRental", CompleteRentalRequestSchema, {
    rentalId: ids.rental,
    extraCharges: [line(RentalChargeType.DAMAGE), line(RentalChargeType.BASE), line(RentalChargeType.LATE_FEE), line(RentalChargeType.UNSPECIFIED), line(RentalChargeType.DEPOSIT)],
  }, {
    "extra_charges[1].type": "SERVER_COMPUTED",
    "extra_charges[2].type": "SERVER_COMPUTED",
    "extra_charges[3].type": "REQUIRED",
    "extra_charges[4].type": "SERVER_COMPUTED",
  });
  for (const type of [RentalChargeType.EXTRA_DAY, RentalChargeType.DISTANCE, RentalChargeType.CANCELLATION_FEE, RentalChargeType.NO_SHOW_FEE,
    RentalChargeType.DRIVER, RentalChargeType.CONDUCTOR]) {
    await expectViolations(t, "addRentalCharge", AddRentalChargeRequestSchema, { rentalId: ids.rental, charge: line(type) },
      { "charge.type": "SERVER_COMPUTED" });
  }
});

test("negative quantities and prices are refused; a discount must be negative", async (t) => {
  await expectViolations(t, "addRentalCharge", AddRentalChargeRequestSchema,
    { rentalId: ids.rental, charge: { type: RentalChargeType.DAMAGE, description: "", quantity: -2, unitPrice: money(-100n) } },
    { "charge.description": "REQUIRED", "charge.quantity": "OUT_OF_RANGE", "charge.unit_price.amount_minor": "OUT_OF_RANGE" });
  await expectViolations(t, "addRentalCharge", AddRentalChargeRequestSchema,
    { rentalId: ids.rental, charge: { type: RentalChargeType.DISCOUNT, description: "promo", unitPrice: money(100n) } },
    { "charge.unit_price.amount_minor": "OUT_OF_RANGE" });
  await expectViolations(t, "addRentalCharge", AddRentalChargeRequestSchema, { rentalId: "nope" },
    { rental_id: "INVALID_FORMAT", charge: "REQUIRED" });
  await expectViolations(t, "completeRental", CompleteRentalRequestSchema, {
    rentalId: ids.rental,
    extraCharges: [
      { type: RentalChargeType.FUEL, description: "fuel", unitPrice: money(100n) },
      { type: RentalChargeType.OTHER, description: "towing", unitPrice: money(100n, "USD") },
    ],
  }, { "extra_charges[1].unit_price.currency_code": "CURRENCY_MISMATCH" });
});

test("a negative discount passes with quantity 0 read as 1", async (t) => {
  const call = await expectAccepted(t, "addRentalCharge", AddRentalChargeRequestSchema,
    { rentalId: ids.rental, charge: { type: RentalChargeType.DISCOUNT, description: " loyalty ", quantity: 0, unitPrice: money(-500n) } });
  t.deepEqual(call.args, [ids.rental, { type: "discount", description: "loyalty", quantity: 1, unitPrice: { amountMinor: -500n, currency: "EUR" } }, staffCaller]);
});

// ---- cancellation ----

test("the deprecated cancellation_fee is refused: the fee comes from the plan", async (t) => {
  await expectViolations(t, "cancelRental", CancelRentalRequestSchema,
    { rentalId: ids.rental, reason: "changed plans", cancellationFee: money(0n) }, { cancellation_fee: "SERVER_COMPUTED" });
  await expectViolations(t, "cancelRental", CancelRentalRequestSchema, { rentalId: ids.rental, reason: " ", expectedRowVersion: -1n },
    { reason: "REQUIRED", expected_row_version: "OUT_OF_RANGE" });
});

test("expected_row_version 0 skips the check and is passed through as 0n", async (t) => {
  const call = await expectAccepted(t, "cancelRental", CancelRentalRequestSchema, { rentalId: ids.rental, reason: "no longer needed" });
  t.deepEqual(call.args, [{ rentalId: ids.rental, expectedRowVersion: 0n, reason: "no longer needed" }, staffCaller, "staff"]);
});

// ---- reservations ----

test("a reservation needs a source and a customer; optional ids must be UUIDs", async (t) => {
  await expectViolations(t, "reserveRental", ReserveRentalRequestSchema, { driverId: "bob", notes: "n".repeat(2001) },
    { source: "REQUIRED", customer_id: "REQUIRED", driver_id: "INVALID_FORMAT", notes: "TOO_LONG" });
  await expectViolations(t, "reserveOwnRental", ReserveOwnRentalRequestSchema, { source: { case: "quoteId", value: "q-1" } },
    { quote_id: "INVALID_FORMAT" });
  await expectViolations(t, "quoteRental", QuoteRentalRequestSchema, {
    terms: { period: period(0, DAY), estimatedDistanceKm: -1, conductorId: "x" }, customerId: "y",
  }, {
    "terms.vehicle_id": "REQUIRED",
    "terms.origin_location_id": "REQUIRED",
    "terms.destination_location_id": "REQUIRED",
    "terms.pricing_plan_id": "REQUIRED",
    "terms.estimated_distance_km": "OUT_OF_RANGE",
    "terms.conductor_id": "INVALID_FORMAT",
    customer_id: "INVALID_FORMAT",
  });
});

test("an own reservation from a quote reaches reserve() in own mode without a customer", async (t) => {
  const call = await expectAccepted(t, "reserveOwnRental", ReserveOwnRentalRequestSchema, { source: { case: "quoteId", value: ids.quote } });
  t.deepEqual(call.args, [{ source: { quoteId: ids.quote }, customerId: null, driverId: null, conductorId: null, notes: "" }, staffCaller, "own"]);
});

// ---- payments ----

test("payments need a provider, a positive amount and a status their kind allows", async (t) => {
  await expectViolations(t, "recordRentalPayment", RecordRentalPaymentRequestSchema,
    { rentalId: ids.rental, amount: money(0n), status: RentalPaymentStatus.REFUNDED, externalReference: "r".repeat(201) },
    { provider: "REQUIRED", "amount.amount_minor": "OUT_OF_RANGE", status: "UNSUPPORTED_VALUE", external_reference: "TOO_LONG" });
  await expectViolations(t, "recordRentalPayment", RecordRentalPaymentRequestSchema,
    { rentalId: ids.rental, provider: PaymentProvider.CARD, amount: money(100n), kind: RentalPaymentKind.DEPOSIT, status: RentalPaymentStatus.PENDING },
    { status: "UNSUPPORTED_VALUE" });
  await expectViolations(t, "recordRentalPayment", RecordRentalPaymentRequestSchema,
    { rentalId: ids.rental, provider: PaymentProvider.CASH, status: RentalPaymentStatus.UNSPECIFIED },
    { amount: "REQUIRED", status: "REQUIRED" });
  const call = await expectAccepted(t, "recordRentalPayment", RecordRentalPaymentRequestSchema,
    { rentalId: ids.rental, provider: PaymentProvider.CASH, amount: money(2_000n), status: RentalPaymentStatus.CAPTURED });
  t.like(call.args[0], { kind: "payment", provider: "cash", status: "captured", amount: { amountMinor: 2_000n, currency: "EUR" } });
});

test("a payment status update needs a target; its amount is positive when set", async (t) => {
  await expectViolations(t, "updateRentalPaymentStatus", UpdateRentalPaymentStatusRequestSchema,
    { paymentId: ids.payment, amount: money(-1n) },
    { target_status: "REQUIRED", "amount.amount_minor": "OUT_OF_RANGE" });
  const call = await expectAccepted(t, "updateRentalPaymentStatus", UpdateRentalPaymentStatusRequestSchema,
    { paymentId: ids.payment, targetStatus: RentalPaymentStatus.REFUNDED });
  t.like(call.args[0], { targetStatus: "refunded", amount: null, expectedRowVersion: 0n });
});

// ---- lists, availability, blocks ----

test("availability checks take 1-100 UUIDs", async (t) => {
  await expectViolations(t, "checkAvailability", CheckAvailabilityRequestSchema, { period: period(0, DAY) }, { vehicle_ids: "REQUIRED" });
  await expectViolations(t, "checkAvailability", CheckAvailabilityRequestSchema,
    { vehicleIds: Array.from({ length: 101 }, () => ids.vehicle), period: period(0, DAY) }, { vehicle_ids: "TOO_MANY" });
  await expectViolations(t, "checkAvailability", CheckAvailabilityRequestSchema,
    { vehicleIds: [ids.vehicle, "v2"], period: period(0, DAY) }, { "vehicle_ids[1]": "INVALID_FORMAT" });
});

test("list filters: unspecified statuses, bad ids and pages are refused", async (t) => {
  await expectViolations(t, "listRentals", ListRentalsRequestSchema, {
    statuses: [RentalStatus.ACTIVE, RentalStatus.UNSPECIFIED, 99 as RentalStatus],
    customerId: "c",
    page: { pageSize: -1, pageToken: "t".repeat(513) },
  }, {
    "statuses[1]": "REQUIRED",
    "statuses[2]": "UNKNOWN_ENUM_VALUE",
    customer_id: "INVALID_FORMAT",
    "page.page_size": "OUT_OF_RANGE",
    "page.page_token": "TOO_LONG",
  });
});

test("block references are 1-200 URL-safe characters; blocks need a reason", async (t) => {
  await expectViolations(t, "blockVehicle", BlockVehicleRequestSchema,
    { blockReference: "job 42", vehicleId: ids.vehicle, period: period(0, DAY), reason: "" },
    { block_reference: "INVALID_FORMAT", reason: "REQUIRED" });
  await expectViolations(t, "releaseVehicleBlock", ReleaseVehicleBlockRequestSchema, { blockReference: "j".repeat(201) }, { block_reference: "TOO_LONG" });
  const call = await expectAccepted(t, "blockVehicle", BlockVehicleRequestSchema,
    { blockReference: "maintenance-job:7/a.b_c", vehicleId: ids.vehicle, period: period(0, DAY), reason: "brakes", urgent: true });
  t.like(call.args[0], { reference: "maintenance-job:7/a.b_c", urgent: true, reason: "brakes" });
});

// ---- every RPC ----

// RPCs whose empty request is a valid call (all fields optional).
const VALID_WHEN_EMPTY = new Set(["listLocations", "listPricingPlans", "listRentals", "listOwnRentals", "refreshVehicleProjection"]);

test("every RPC has a handler; an empty request is refused before any use case unless all its fields are optional", async (t) => {
  t.is(RentalService.methods.length, 32);
  for (const method of RentalService.methods) {
    const { call, calls } = rentalHandlers();
    const request = create(method.input);
    if (VALID_WHEN_EMPTY.has(method.localName)) {
      await call(method.localName, request);
      t.is(calls.length, 1, method.localName);
      continue;
    }
    const err = await t.throwsAsync(call(method.localName, request), { instanceOf: DomainError }, method.localName);
    t.is(err?.kind, "invalid_argument", method.localName);
    t.true((err?.fieldViolations.length ?? 0) > 0, method.localName);
    t.deepEqual(calls, [], method.localName);
  }
});
