// Domain <-> contract mappers: every enum value both ways, money and periods,
// the request parsers as inverses of the response mappers, every field of a
// Rental through the wire encoding, the outbox's event messages and keys,
// and the fleet vehicle event handlers.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import test from "ava";
import {
  RentalCancelledSchema,
  RentalPaymentStatusChangedSchema,
  VehicleBlockPlacedSchema,
} from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { VehicleStateChangedSchema, VehicleUpdatedSchema } from "../../../gen/fleetmesh/fleet/v1/events_pb.js";
import { MaintenanceCancelledSchema, MaintenanceCompletedSchema } from "../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { DomainError } from "../../platform/src/errors.js";
import { VehicleStatus as ProtoFleetStatus } from "../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import {
  PaymentProvider,
  RentalChargeType,
  RentalPaymentKind,
  RentalPaymentStatus,
  RentalSchema,
  RentalStatus,
} from "../../../gen/fleetmesh/rental/v1/rental_pb.js";
import { PermanentEventError } from "../../platform/src/events/failures.js";
import type { ConsumedEvent } from "../../platform/src/events/consumer.js";
import { capturedLogger } from "../../platform/src/testing/captured-logger.js";
import { Violations } from "../../platform/src/validation.js";
import { toEventMessage } from "../src/adapters/db/event-outbox.js";
import { locationAttributesOf, pricingRatesOf, rentalTermsOf } from "../src/adapters/grpc/rental-requests.js";
import { rentalEventHandlers } from "../src/adapters/kafka/fleet-vehicle-events.js";
import { moneyFromProto, moneyToProto, optionalMoneyToProto, periodFromProto, periodToProto } from "../src/adapters/proto/common-proto.js";
import * as enums from "../src/adapters/proto/rental-enums.js";
import {
  locationAttributesToProto,
  locationToProto,
  pricingRatesToProto,
  quoteToProto,
  rentalPaymentToProto,
  rentalTermsToProto,
  rentalToProto,
  timelineClaimToProto,
  vehicleBlockToProto,
  vehicleSummaryToProto,
} from "../src/adapters/proto/rental-proto.js";
import type { PricingRates } from "../src/domain/model.js";
import { block, charge, claim, eur, fullRates, ids, location, minimalRates, payment, quote, recordingUseCases, rental, vehicle } from "./adapter-fixtures.js";

const TABLES = [
  ["location type", enums.LOCATION_TYPE_TO_PROTO, enums.locationTypeFromProto],
  ["rental status", enums.RENTAL_STATUS_TO_PROTO, enums.rentalStatusFromProto],
  ["charge type", enums.CHARGE_TYPE_TO_PROTO, enums.chargeTypeFromProto],
  ["payment provider", enums.PAYMENT_PROVIDER_TO_PROTO, enums.paymentProviderFromProto],
  ["payment kind", enums.PAYMENT_KIND_TO_PROTO, enums.paymentKindFromProto],
  ["payment status", enums.PAYMENT_STATUS_TO_PROTO, enums.paymentStatusFromProto],
  ["claim kind", enums.CLAIM_KIND_TO_PROTO, enums.claimKindFromProto],
  ["unavailability", enums.UNAVAILABILITY_TO_PROTO, enums.unavailabilityFromProto],
  ["fleet status", enums.FLEET_STATUS_TO_PROTO, enums.fleetStatusFromProto],
] as const;

test("every enum value maps both ways; UNSPECIFIED is null, an unknown number undefined", (t) => {
  for (const [name, table, fromProto] of TABLES) {
    const entries = Object.entries(table) as Array<[string, number]>;
    t.is(new Set(entries.map(([, p]) => p)).size, entries.length, `${name}: one proto value per domain value`);
    for (const [domain, proto] of entries) t.is((fromProto as (v: number) => unknown)(proto), domain, `${name} ${domain}`);
    t.is((fromProto as (v: number) => unknown)(0), null, `${name} UNSPECIFIED`);
    t.is((fromProto as (v: number) => unknown)(999), undefined, `${name} unknown`);
  }
  // The contract's enums are fully covered (UNSPECIFIED aside).
  t.is(Object.keys(enums.CHARGE_TYPE_TO_PROTO).length, Object.keys(RentalChargeType).filter((k) => Number.isNaN(Number(k))).length - 1);
  t.is(Object.keys(enums.PAYMENT_STATUS_TO_PROTO).length, Object.keys(RentalPaymentStatus).filter((k) => Number.isNaN(Number(k))).length - 1);
  t.is(Object.keys(enums.RENTAL_STATUS_TO_PROTO).length, Object.keys(RentalStatus).filter((k) => Number.isNaN(Number(k))).length - 1);
});

test("money keeps bigint minor units and its code; unset optional money is null", (t) => {
  const big = { amountMinor: 9_223_372_036_854_775_807n, currency: "JPY" };
  t.deepEqual(moneyFromProto(moneyToProto(big)), big);
  t.is(optionalMoneyToProto(null), undefined);
  t.is(moneyFromProto(undefined), null);
  t.deepEqual(moneyToProto(eur(-5n)).currencyCode, "EUR");
});

test("periods keep millisecond instants; a period without both ends is null", (t) => {
  const p = { start: new Date("2030-01-01T00:00:00.123Z"), end: new Date("2030-01-02T23:59:59.999Z") };
  t.deepEqual(periodFromProto(periodToProto(p)), p);
  t.is(periodFromProto({ ...periodToProto(p), endTime: undefined }), null);
});

test("location attributes, plan rates and terms survive domain -> proto -> request parser", (t) => {
  const v = new Violations();
  t.deepEqual(locationAttributesOf(v, "attributes", locationAttributesToProto(location.attributes)), location.attributes);
  const noAddress = { ...location.attributes, address: null };
  t.deepEqual(locationAttributesOf(v, "attributes", locationAttributesToProto(noAddress)), noAddress);
  for (const rates of [fullRates, minimalRates] as PricingRates[]) t.deepEqual(pricingRatesOf(v, "rates", pricingRatesToProto(rates)), rates);
  t.deepEqual(rentalTermsOf(v, "terms", rentalTermsToProto(quote.terms)), quote.terms);
  t.deepEqual(v.list, []);
});

test("a rental carries every field through the wire encoding", (t) => {
  const wire = fromBinary(RentalSchema, toBinary(RentalSchema, rentalToProto(rental)));
  t.like(wire, {
    id: ids.rental,
    customerId: ids.customer,
    driverId: ids.driver,
    conductorId: ids.conductor,
    quoteId: "",
    status: RentalStatus.NO_SHOW,
    currencyCode: "EUR",
    timeZone: "Europe/Berlin",
    atRisk: true,
    atRiskReason: "previous renter overdue",
    notes: "keys at the desk",
    returnLocationId: "",
    cancelReason: "",
    rowVersion: 7n,
    updatedBy: "",
  });
  t.deepEqual(moneyFromProto(wire.deposit), eur(30_000n));
  t.deepEqual(moneyFromProto(wire.chargesTotal), eur(19_600n));
  t.deepEqual(moneyFromProto(wire.paidTotal), eur(5_000n));
  t.deepEqual(periodFromProto(wire.period), rental.period);
  t.deepEqual(timestampDate(wire.noShowTime!), rental.noShowTime);
  // Unknown stays unset; a known zero stays zero.
  t.is(wire.pickupOdometerKm, undefined);
  t.is(wire.returnOdometerKm, 0);
  t.is(wire.pickupTime, undefined);
  t.is(wire.cancelTime, undefined);
  t.is(rentalToProto({ ...rental, deposit: null }).deposit, undefined);
});

test("quotes, payments, blocks, claims and vehicle summaries map every field", (t) => {
  const q = quoteToProto(quote);
  t.like(q, { id: ids.quote, customerId: ids.customer, hourly: false, rentalDays: 3, createdBy: "" });
  t.deepEqual(moneyFromProto(q.deposit), eur(30_000n));
  t.deepEqual(q.lines.map((l) => [l.type, l.estimated]), [[RentalChargeType.BASE, false], [RentalChargeType.DISTANCE, true]]);
  t.is(q.terms?.estimatedDistanceKm, 350);
  t.is(q.terms?.conductorId, ids.conductor);
  t.is(q.terms?.driverId, "");

  const p = rentalPaymentToProto(payment);
  t.like(p, { kind: RentalPaymentKind.DEPOSIT, provider: PaymentProvider.CARD, status: RentalPaymentStatus.SETTLED, externalReference: "terminal-42" });
  t.deepEqual(moneyFromProto(p.refundedAmount), eur(10_000n));
  t.deepEqual(moneyFromProto(p.appliedAmount), eur(20_000n));

  t.like(vehicleBlockToProto(block), { blockReference: "maintenance-job:abc", released: true, urgent: true });
  t.like(vehicleBlockToProto({ ...block, releasedAt: null }), { released: false, releaseTime: undefined });
  t.like(timelineClaimToProto(claim), { rentalStatus: RentalStatus.UNSPECIFIED, reference: "maintenance-job:abc", urgent: true });
  t.like(vehicleSummaryToProto(vehicle), { loadLimitKg: 1_200, locationId: ids.destination, passengerCapacity: 3, variant: undefined });
  t.like(vehicleSummaryToProto({ ...vehicle, locationId: null }), { locationId: "" });
  t.like(locationToProto(location), { id: ids.origin, rowVersion: 3n, createdBy: ids.staff, updatedBy: "" });
});

test("the outbox maps events to their contract messages with the aggregate's key", (t) => {
  const cancelled = toEventMessage({ type: "RentalCancelled", rental: { ...rental, cancelReason: "ill" }, previousStatus: "reserved", charges: [charge] });
  t.is(cancelled.schema, RentalCancelledSchema);
  t.is(cancelled.aggregateId, ids.rental);
  t.like(cancelled.message, { driverId: ids.driver, conductorId: ids.conductor, reason: "ill", previousStatus: RentalStatus.RESERVED, rowVersion: 7n });
  t.deepEqual(moneyFromProto((cancelled.message as { paidTotal?: Parameters<typeof moneyFromProto>[0] }).paidTotal), eur(5_000n));

  const changed = toEventMessage({
    type: "RentalPaymentStatusChanged", rental, payment, previousStatus: "captured", changeAmount: eur(20_000n), refundedAmount: eur(10_000n),
  });
  t.is(changed.schema, RentalPaymentStatusChangedSchema);
  t.is(changed.aggregateId, ids.rental);
  const m = changed.message as unknown as { changeAmount: never; refundedAmount: never; previousStatus: number; customerId: string };
  t.deepEqual(moneyFromProto(m.changeAmount), eur(20_000n));
  t.deepEqual(moneyFromProto(m.refundedAmount), eur(10_000n));
  t.is(m.previousStatus, RentalPaymentStatus.CAPTURED);
  t.is(m.customerId, ids.customer);

  const placed = toEventMessage({ type: "VehicleBlockPlaced", block, displacedRentalIds: [ids.rental] });
  t.is(placed.schema, VehicleBlockPlacedSchema);
  t.is(placed.aggregateId, ids.vehicle);

  // Every variant encodes (no field of the wrong shape), keyed by its aggregate.
  const events = [
    { type: "RentalReserved", rental, charges: [charge] },
    { type: "RentalActivated", rental },
    { type: "RentalCompleted", rental, charges: [charge] },
    { type: "RentalExtended", rental, previousPeriod: rental.period, charges: [] },
    { type: "RentalMarkedAtRisk", rental, reason: "overdue", causeRef: ids.rental },
    { type: "RentalOverdue", rental, detectedAt: new Date(), nextRentalId: null },
    { type: "RentalMarkedNoShow", rental, charges: [charge] },
    { type: "RentalDriverAssigned", rental, previousDriverId: null },
    { type: "RentalPaymentRecorded", rental, payment },
    { type: "VehicleBlockReleased", block },
  ] as const;
  for (const event of events) {
    const message = toEventMessage(event);
    t.notThrows(() => toBinary(message.schema, message.message), event.type);
    t.is(message.aggregateId, event.type === "VehicleBlockReleased" ? ids.vehicle : ids.rental, event.type);
    t.is(message.schema.name, event.type);
  }
});

const consumed = (eventType: string): ConsumedEvent => ({
  messageId: "m-1", eventType, aggregateId: undefined, occurredAt: undefined, requestId: undefined, topic: "fleet.vehicle.v1", partition: 0, offset: "1",
});

test("fleet vehicle events update the projection; malformed ones are permanent failures", async (t) => {
  const { useCases, calls } = recordingUseCases();
  const handlers = rentalEventHandlers(useCases, capturedLogger().log);
  const bySchema = (name: string) => handlers.find((h) => h.schema.typeName === name)!;
  t.deepEqual(handlers.map((h) => h.schema.name).sort(), [
    "MaintenanceCancelled", "MaintenanceCompleted", "VehicleRegistered", "VehicleStateChanged", "VehicleUpdated",
  ]);

  await bySchema("fleetmesh.fleet.v1.VehicleUpdated").handle(create(VehicleUpdatedSchema, {
    vehicle: { id: ids.vehicle, plateNumber: "B-FM 1", status: ProtoFleetStatus.RENTED, rowVersion: 5n, attributes: { make: "VW", model: "ID.Buzz", loadLimitKg: 600 } },
  }), consumed("fleetmesh.fleet.v1.VehicleUpdated"));
  t.deepEqual(calls.at(-1), {
    method: "applyFleetVehicle",
    args: [{
      vehicleId: ids.vehicle, plateNumber: "B-FM 1", make: "VW", model: "ID.Buzz", variant: null, passengerCapacity: null, loadLimitKg: 600,
      status: "rented", fleetRowVersion: 5n,
    }],
  });

  const stateChanged = bySchema("fleetmesh.fleet.v1.VehicleStateChanged");
  await stateChanged.handle(create(VehicleStateChangedSchema, { vehicleId: ids.vehicle, newStatus: ProtoFleetStatus.UNDER_MAINTENANCE, rowVersion: 6n }),
    consumed("fleetmesh.fleet.v1.VehicleStateChanged"));
  t.deepEqual(calls.at(-1), { method: "applyFleetVehicleStatus", args: [ids.vehicle, "under_maintenance", 6n] });

  const before = calls.length;
  await t.throwsAsync(stateChanged.handle(create(VehicleStateChangedSchema, { vehicleId: "nope", newStatus: ProtoFleetStatus.ACTIVE }),
    consumed("x")), { instanceOf: PermanentEventError });
  await t.throwsAsync(stateChanged.handle(create(VehicleStateChangedSchema, { vehicleId: ids.vehicle }), consumed("x")), { instanceOf: PermanentEventError });
  await t.throwsAsync(bySchema("fleetmesh.fleet.v1.VehicleRegistered").handle(create(VehicleUpdatedSchema), consumed("x")),
    { instanceOf: PermanentEventError });
  t.is(calls.length, before, "nothing applied from malformed events");
});

test("a finished or cancelled maintenance job releases its block once; an unknown block is no failure", async (t) => {
  const { useCases, calls } = recordingUseCases();
  const handlers = rentalEventHandlers(useCases, capturedLogger().log);
  const completed = handlers.find((h) => h.schema.typeName === "fleetmesh.maintenance.v1.MaintenanceCompleted")!;
  await completed.handle(create(MaintenanceCompletedSchema, { maintenanceJobId: ids.vehicle, vehicleId: ids.vehicle }),
    consumed("fleetmesh.maintenance.v1.MaintenanceCompleted"));
  t.is(calls.at(-1)?.method, "releaseBlock");
  t.is(calls.at(-1)?.args[0], `maintenance-job:${ids.vehicle}`);

  const gone = new Proxy(useCases, {
    get: (target, property) => (property === "releaseBlock"
      ? () => Promise.reject(new DomainError("not_found", "VEHICLE_BLOCK_NOT_FOUND", "gone"))
      : Reflect.get(target, property)),
  });
  const cancelled = rentalEventHandlers(gone, capturedLogger().log).find((h) => h.schema.typeName === "fleetmesh.maintenance.v1.MaintenanceCancelled")!;
  await t.notThrowsAsync(cancelled.handle(create(MaintenanceCancelledSchema, { maintenanceJobId: ids.vehicle, vehicleId: ids.vehicle }),
    consumed("fleetmesh.maintenance.v1.MaintenanceCancelled")));
  await t.throwsAsync(completed.handle(create(MaintenanceCompletedSchema, { maintenanceJobId: "not-a-uuid" }),
    consumed("fleetmesh.maintenance.v1.MaintenanceCompleted")), { instanceOf: PermanentEventError });
});
