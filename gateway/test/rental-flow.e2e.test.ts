// Rental end to end through the gateway, with Kafka on for fleet and rental
// (one topic prefix for the file): a vehicle registered in fleet reaches
// rental's projection through fleet.vehicle.v1; a rental's life, driven over
// Connect, gRPC-web and gRPC, is published on rental.rental.v1 and fleet's
// vehicle follows it (RENTED, then ACTIVE with the odometer). Also: a
// maintenance block refusing a reservation, and one customer's token on
// another customer's rental.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client, type Transport } from "@connectrpc/connect";
import anyTest, { type TestFn } from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { VehicleStatus } from "../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import {
  RentalActivatedSchema,
  RentalCompletedSchema,
  RentalExtendedSchema,
  RentalPaymentRecordedSchema,
  RentalPaymentStatusChangedSchema,
  RentalReservedSchema,
  VehicleBlockPlacedSchema,
} from "../../gen/fleetmesh/rental/v1/events_pb.js";
import { PaymentProvider, RentalChargeType, RentalPaymentStatus, RentalStatus } from "../../gen/fleetmesh/rental/v1/rental_pb.js";
import { RentalService } from "../../gen/fleetmesh/rental/v1/rental_service_pb.js";
import { fleetKafkaConfig } from "../../services/fleet/test/events-support.js";
import { TEST_BROKERS, waitFor } from "../../services/platform/src/testing/kafka.js";
import {
  AGENT, asRole, decode, eur, eventsOn, futureBase, HOUR, MANAGER, newCustomer, nextCount, periodAt, refused, startEventMesh, stopEventMesh,
  type EventMesh,
} from "./event-mesh.js";

type Context = EventMesh;

const test = anyTest.serial as TestFn<Context>;

const MAINTENANCE = "maintenance-service-client";

test.before(async (t) => {
  // Fleet produces fleet.vehicle.v1 and consumes rental.rental.v1 and
  // maintenance.job.v1; rental produces rental.rental.v1 and consumes
  // fleet.vehicle.v1.
  t.context = await startEventMesh(["fleet.vehicle.v1", "rental.rental.v1", "maintenance.job.v1"], (prefix) => ({
    fleetKafka: fleetKafkaConfig(prefix),
    rentalKafka: {
      enabled: true,
      brokers: [...TEST_BROKERS],
      topicPrefix: prefix,
      relay: { pollIntervalMs: 2_000, leaderCheckMs: 250 },
      consumer: { groupId: `${prefix}rental`, maxAttempts: 3, retryInitialMs: 20, retryMaxMs: 200, sessionTimeoutMs: 6_000 },
    },
    // The projection's backfill job (and the sweeps) run on this cron: once a
    // year keeps them out of the way, so only events fill the projection.
    rentalSettings: { sweepCron: "0 0 1 1 *" },
  }), { currencyCode: "EUR", dailyRate: eur(4_900n), perKmRate: eur(25n), includedKmPerDay: 200 });
});

test.after.always(async (t) => stopEventMesh(t.context));

const rentalVia = (transport: Transport): Client<typeof RentalService> => createClient(RentalService, transport);

/** Registers a vehicle in fleet through the gateway and waits for rental's projection to hold it (events only). */
async function newVehicleInProjection(c: Context): Promise<{ id: string; plateNumber: string }> {
  const { vehicle } = await createClient(FleetService, c.connect).registerVehicle({
    plateNumber: `RF-${nextCount().toString(36)}${Date.now().toString(36).slice(-4)}`.toUpperCase(),
    attributes: { make: "Toyota", model: "Hiace", passengerCapacity: 9, loadLimitKg: 800 },
  }, asRole(c.mesh, MANAGER, "fleet_manager"));
  await projected(c, vehicle!.id, "active");
  return { id: vehicle!.id, plateNumber: vehicle!.plateNumber };
}

interface ProjectedVehicle { readonly plate_number: string; readonly status: string; readonly fleet_row_version: string }

const projectedRow = async (c: Context, vehicleId: string): Promise<ProjectedVehicle | undefined> =>
  (await c.mesh.rentalDb.admin.query<ProjectedVehicle>(
    "SELECT plate_number, status, fleet_row_version::text FROM vehicles WHERE vehicle_id = $1", [vehicleId])).rows[0];

const projected = (c: Context, vehicleId: string, status: string) =>
  waitFor(`rental's projection to hold vehicle ${vehicleId} as ${status}`, async () => {
    const row = await projectedRow(c, vehicleId);
    return row?.status === status ? row : undefined;
  }, 30_000);

/** Fleet's view of the vehicle, read through the gateway, once `accept` holds. */
const fleetVehicle = (c: Context, vehicleId: string, what: string, accept: (status: VehicleStatus, odometerKm: number | undefined) => boolean) =>
  waitFor(`fleet's vehicle ${vehicleId} to be ${what}`, async () => {
    const { vehicle } = await createClient(FleetService, c.connect).getVehicle({ vehicleId }, asRole(c.mesh, MANAGER, "fleet_manager"));
    return vehicle && accept(vehicle.status, vehicle.odometerKm) ? vehicle : undefined;
  }, 30_000);

/** Messages on the file's `rental.rental.v1` keyed by `key`, once `types` have all arrived. */
const rentalEvents = (c: Context, key: string, types: readonly string[]) => eventsOn(c, "rental.rental.v1", "fleetmesh.rental.v1", key, types);

test("a vehicle registered in fleet reaches rental's projection through fleet.vehicle.v1", async (t) => {
  const c = t.context;
  const vehicle = await newVehicleInProjection(c);
  const row = await projectedRow(c, vehicle.id);
  t.is(row?.plate_number, vehicle.plateNumber);
  t.is(row?.fleet_row_version, "1");
  // The projection's availability answers now know it, without RefreshVehicleProjection.
  const base = futureBase(3);
  const { vehicles } = await rentalVia(c.connect).listAvailableVehicles({ period: periodAt(base, 0, 24), page: { pageSize: 500 } },
    asRole(c.mesh, AGENT, "rental_agent"));
  t.deepEqual(vehicles.filter((v) => v.vehicleId === vehicle.id).map((v) => v.plateNumber), [vehicle.plateNumber], "listed as available");
});

test("quote, reserve, activate, extend, complete, pay and refund part through the gateway: events on Kafka, fleet follows", async (t) => {
  const c = t.context;
  const agent = asRole(c.mesh, AGENT, "rental_agent");
  const vehicle = await newVehicleInProjection(c);
  const customer = await newCustomer(c);
  const base = futureBase(2);
  const terms = { vehicleId: vehicle.id, period: periodAt(base, 0, 48), originLocationId: c.location, destinationLocationId: c.location, pricingPlanId: c.plan };

  // Connect: quote and reserve.
  const { quote } = await rentalVia(c.connect).quoteRental({ terms, customerId: customer }, agent);
  t.is(quote!.rentalDays, 2);
  t.is(quote!.total!.amountMinor, 9_800n);
  const { rental } = await rentalVia(c.connect).reserveRental({ customerId: customer, source: { case: "quoteId", value: quote!.id } }, agent);
  t.is(rental!.status, RentalStatus.RESERVED);
  const rentalId = rental!.id;

  // gRPC-web: activate. Fleet rents the vehicle out, with the pickup odometer.
  const activated = await rentalVia(c.grpcWeb).activateRental({ rentalId, pickupOdometerKm: 1_000 }, agent);
  t.is(activated.rental!.status, RentalStatus.ACTIVE);
  const rented = await fleetVehicle(c, vehicle.id, "RENTED at 1000 km", (s, km) => s === VehicleStatus.RENTED && km === 1_000);
  t.is(rented.status, VehicleStatus.RENTED);
  // Fleet's VehicleStateChanged comes back to rental's projection.
  await projected(c, vehicle.id, "rented");

  // gRPC: extend by a day.
  const extended = await rentalVia(c.grpc).extendRental({ rentalId, newEndTime: timestampFromDate(new Date(base + 72 * HOUR)) }, agent);
  t.deepEqual(extended.charges.map((ch) => [ch.type, ch.amount!.amountMinor]), [[RentalChargeType.BASE, 4_900n]]);

  // Connect: complete; fleet returns the vehicle to ACTIVE with the return odometer.
  const completed = await rentalVia(c.connect).completeRental({ rentalId, returnOdometerKm: 1_700 }, agent);
  t.is(completed.rental!.status, RentalStatus.COMPLETED);
  // 700 km driven, 3 days x 200 km included: 100 km x 0.25 EUR.
  t.is(completed.charges.find((ch) => ch.type === RentalChargeType.DISTANCE)?.amount?.amountMinor, 2_500n);
  const total = completed.rental!.chargesTotal!.amountMinor;
  t.is(total, 9_800n + 4_900n + 2_500n);
  const returned = await fleetVehicle(c, vehicle.id, "ACTIVE at 1700 km", (s, km) => s === VehicleStatus.ACTIVE && km === 1_700);
  t.is(returned.odometerKm, 1_700);
  await projected(c, vehicle.id, "active");

  // Connect: pay in full; gRPC-web: refund part.
  const paid = await rentalVia(c.connect).recordRentalPayment({
    rentalId, provider: PaymentProvider.CARD, amount: eur(total), status: RentalPaymentStatus.CAPTURED,
  }, agent);
  t.is(paid.rental!.paidTotal!.amountMinor, total);
  const refunded = await rentalVia(c.grpcWeb).updateRentalPaymentStatus({
    paymentId: paid.payment!.id, targetStatus: RentalPaymentStatus.REFUNDED, amount: eur(1_000n), reason: "goodwill",
  }, agent);
  t.is(refunded.payment!.status, RentalPaymentStatus.CAPTURED, "a partial refund keeps the rest captured");
  t.is(refunded.rental!.paidTotal!.amountMinor, total - 1_000n);

  // gRPC and gRPC-web reads reach rental too.
  t.is((await rentalVia(c.grpc).getRental({ rentalId }, agent)).rental!.status, RentalStatus.COMPLETED);
  t.is((await rentalVia(c.grpcWeb).getRental({ rentalId }, agent)).rental!.paidTotal!.amountMinor, total - 1_000n);

  // The events, on Kafka, in the order they happened (one key, one partition).
  const types = ["RentalReserved", "RentalActivated", "RentalExtended", "RentalCompleted", "RentalPaymentRecorded", "RentalPaymentStatusChanged"];
  const messages = await rentalEvents(c, rentalId, types);
  t.deepEqual(messages.map((m) => m.header("event-type")), types.map((type) => `fleetmesh.rental.v1.${type}`));
  t.true(messages.every((m) => m.partition === messages[0]!.partition));
  const [reserved] = decode(messages, RentalReservedSchema);
  t.is(reserved?.rental?.id, rentalId);
  t.is(reserved?.rental?.vehicleId, vehicle.id);
  t.is(reserved?.rental?.customerId, customer);
  const [activation] = decode(messages, RentalActivatedSchema);
  t.is(activation?.vehicleId, vehicle.id);
  t.is(activation?.pickupOdometerKm, 1_000);
  const [extension] = decode(messages, RentalExtendedSchema);
  t.deepEqual(extension?.period?.endTime, timestampFromDate(new Date(base + 72 * HOUR)));
  t.deepEqual(extension?.previousPeriod?.endTime, terms.period.endTime);
  const [completion] = decode(messages, RentalCompletedSchema);
  t.is(completion?.returnOdometerKm, 1_700);
  t.is(completion?.chargesTotal?.amountMinor, total);
  const [recorded] = decode(messages, RentalPaymentRecordedSchema);
  t.is(recorded?.payment?.id, paid.payment!.id);
  t.is(recorded?.payment?.amount?.amountMinor, total);
  const [changed] = decode(messages, RentalPaymentStatusChangedSchema);
  t.is(changed?.payment?.id, paid.payment!.id);
  t.is(changed?.previousStatus, RentalPaymentStatus.CAPTURED);
  t.deepEqual(changed?.changeAmount && { amountMinor: changed.changeAmount.amountMinor, currencyCode: changed.changeAmount.currencyCode }, eur(1_000n));
  t.is(changed?.refundedAmount?.amountMinor, 1_000n);
});

test("a maintenance block refuses an overlapping reservation with FAILED_PRECONDITION VEHICLE_NOT_AVAILABLE", async (t) => {
  const c = t.context;
  const agent = asRole(c.mesh, AGENT, "rental_agent");
  const vehicle = await newVehicleInProjection(c);
  const customer = await newCustomer(c);
  const base = futureBase(4);
  const blockReference = `maintenance-job:${vehicle.id}`;
  const { block } = await rentalVia(c.connect).blockVehicle({
    blockReference, vehicleId: vehicle.id, period: periodAt(base, 0, 24), reason: "brake service",
  }, asRole(c.mesh, MAINTENANCE, "maintenance_service"));
  t.is(block!.blockReference, blockReference);

  const terms = (start: number, hours: number) => ({
    vehicleId: vehicle.id, period: periodAt(base, start, hours), originLocationId: c.location, destinationLocationId: c.location, pricingPlanId: c.plan,
  });
  for (const [name, transport] of [["Connect", c.connect], ["gRPC-web", c.grpcWeb], ["gRPC", c.grpc]] as const) {
    await refused(t, rentalVia(transport).reserveRental({ customerId: customer, source: { case: "terms", value: terms(12, 24) } }, agent),
      Code.FailedPrecondition, "VEHICLE_NOT_AVAILABLE", name);
  }
  t.is((await c.mesh.rentalDb.admin.query("SELECT 1 FROM rentals WHERE vehicle_id = $1", [vehicle.id])).rowCount, 0, "nothing reserved");

  // Past the block the vehicle is free; released (by a fleet manager), the slot is too.
  await rentalVia(c.connect).reserveRental({ customerId: customer, source: { case: "terms", value: terms(24, 24) } }, agent);
  await rentalVia(c.connect).releaseVehicleBlock({ blockReference }, asRole(c.mesh, MANAGER, "fleet_manager"));
  await rentalVia(c.connect).reserveRental({ customerId: customer, source: { case: "terms", value: terms(0, 12) } }, agent);

  // The block went out on rental.rental.v1, keyed by the vehicle.
  const messages = await rentalEvents(c, vehicle.id, ["VehicleBlockPlaced", "VehicleBlockReleased"]);
  t.is(decode(messages, VehicleBlockPlacedSchema)[0]?.block?.blockReference, blockReference);
});

test("one customer's token on another customer's rental: NOT_FOUND from GetOwnRental and CancelOwnRental", async (t) => {
  const c = t.context;
  const vehicle = await newVehicleInProjection(c);
  const [alice, bob] = [await newCustomer(c), await newCustomer(c)];
  const asAlice = asRole(c.mesh, alice, "customer");
  const asBob = asRole(c.mesh, bob, "customer");
  const { rental } = await rentalVia(c.connect).reserveOwnRental({ source: { case: "terms", value: {
    vehicleId: vehicle.id, period: periodAt(futureBase(6), 0, 24), originLocationId: c.location, destinationLocationId: c.location, pricingPlanId: c.plan,
  } } }, asAlice);
  t.is(rental!.customerId, alice);

  await refused(t, rentalVia(c.connect).getOwnRental({ rentalId: rental!.id }, asBob), Code.NotFound, "RENTAL_NOT_FOUND");
  await refused(t, rentalVia(c.connect).cancelOwnRental({ rentalId: rental!.id, reason: "not mine" }, asBob), Code.NotFound, "RENTAL_NOT_FOUND");
  // The same answer as for a rental that does not exist: nothing tells Bob it does.
  const missing = await refused(t, rentalVia(c.connect).getOwnRental({ rentalId: "00000000-0000-4000-8000-000000000404" }, asBob),
    Code.NotFound, "RENTAL_NOT_FOUND");
  t.notRegex(missing.message, new RegExp(alice));
  // Alice's rental is untouched.
  const own = await rentalVia(c.connect).getOwnRental({ rentalId: rental!.id }, asAlice);
  t.is(own.rental!.status, RentalStatus.RESERVED);
  t.is((await rentalVia(c.connect).listOwnRentals({}, asBob)).rentals.length, 0);
});
