// Pure parts of the events kit: routing from the contract, the envelope
// headers, failure classes, configuration.
import test from "ava";
import { VehicleRegisteredSchema } from "../../../gen/fleetmesh/fleet/v1/events_pb.js";
import { VehicleSchema } from "../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { RentalCancelledSchema } from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { kafkaConfigSchema, serviceConfigSchema } from "../src/config.js";
import { eventSchemaOf } from "../src/events/catalog.js";
import { readEnvelope, routingOf } from "../src/events/envelope.js";
import { classifyFailure, DeferredEventError, describeFailure, ParkWindowExpiredError, PermanentEventError } from "../src/events/failures.js";
import { DomainError } from "../src/errors.js";

test("routing comes from the event option of the contract", (t) => {
  t.deepEqual(routingOf(VehicleRegisteredSchema), { topic: "fleet.vehicle.v1", aggregateType: "vehicle", schemaVersion: 1 });
  t.deepEqual(routingOf(RentalCancelledSchema), { topic: "rental.rental.v1", aggregateType: "rental", schemaVersion: 1 });
  t.throws(() => routingOf(VehicleSchema), { message: /not an event/ });
});

test("the catalog knows every event type of every service", (t) => {
  t.truthy(eventSchemaOf("fleetmesh.ledger.v1.LedgerPosted"));
  t.truthy(eventSchemaOf("fleetmesh.identity.v1.UserDisabled"));
  t.is(eventSchemaOf("fleetmesh.rental.v1.RentalTeleported"), undefined);
});

test("the envelope is read from headers, strings or buffers, with bad values dropped", (t) => {
  const e = readEnvelope({
    "event-id": Buffer.from("e-1"),
    "event-type": "fleetmesh.fleet.v1.VehicleRegistered",
    "schema-version": Buffer.from("2"),
    "occurred-at": "2025-01-02T03:04:05.000Z",
    "request-id": "",
    "dlq-replay-of": "x.dlq/1/2",
  });
  t.is(e.eventId, "e-1");
  t.is(e.schemaVersion, 2);
  t.is(e.occurredAt?.toISOString(), "2025-01-02T03:04:05.000Z");
  t.is(e.requestId, undefined);
  t.is(e.replayOf, "x.dlq/1/2");
  const bad = readEnvelope({ "schema-version": "two", "occurred-at": "yesterday" });
  t.is(bad.schemaVersion, undefined);
  t.is(bad.occurredAt, undefined);
  t.is(readEnvelope(undefined).eventType, undefined);
});

test("failures: domain refusals are permanent, conflicts transient, an unreachable database waits", (t) => {
  t.is(classifyFailure(new DomainError("failed_precondition", "VEHICLE_IN_USE", "x")), "permanent");
  t.is(classifyFailure(new DomainError("invalid_argument", "INVALID_ARGUMENT", "x")), "permanent");
  t.is(classifyFailure(new DomainError("not_found", "VEHICLE_NOT_FOUND", "x")), "permanent");
  t.is(classifyFailure(new DomainError("aborted", "ROW_VERSION_MISMATCH", "x")), "transient");
  t.is(classifyFailure(new PermanentEventError("X", "x")), "permanent");
  t.is(classifyFailure(new Error("boom")), "transient");
  t.is(classifyFailure(Object.assign(new Error("deadlock"), { code: "40P01" })), "transient");
  t.is(classifyFailure(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })), "infrastructure");
  t.is(classifyFailure(Object.assign(new Error("terminating connection"), { code: "57P01" })), "infrastructure");
  t.is(classifyFailure(Object.assign(new Error("x"), { name: "KnexTimeoutError" })), "infrastructure");
  t.is(classifyFailure(new Error("Connection terminated unexpectedly")), "infrastructure");
  t.deepEqual(describeFailure(new DomainError("failed_precondition", "VEHICLE_IN_USE", "in use")),
    { reason: "VEHICLE_IN_USE", kind: "failed_precondition", message: "in use" });
  t.is(describeFailure(new Error("boom")).reason, "HANDLER_FAILED");
});

test("failures: 'not applicable yet' is its own class, whatever it wraps; its expiry dead-letters with a stable reason", (t) => {
  const conflict = new DomainError("failed_precondition", "VEHICLE_IN_USE", "held by rental r-1");
  const deferred = new DeferredEventError("VEHICLE_IN_USE", "held by rental r-1", { parkKey: "vehicles/v-1", cause: conflict });
  t.is(classifyFailure(deferred), "deferred");
  t.is(classifyFailure(conflict), "permanent", "the domain error itself stays permanent: only the handler knows it is 'not yet'");
  t.is(deferred.parkKey, "vehicles/v-1");
  t.is(deferred.cause, conflict);
  t.is(new DeferredEventError("X", "x").parkKey, undefined);
  t.deepEqual(describeFailure(deferred), { reason: "VEHICLE_IN_USE", kind: "deferred", message: "held by rental r-1" });
  const expired = new ParkWindowExpiredError("HOLD_NOT_TAKEN", "rental r-2 has not taken the vehicle", 600_400);
  t.is(classifyFailure(expired), "transient", "never thrown by handlers; classified like any other error");
  t.deepEqual(describeFailure(expired), {
    reason: "PARK_WINDOW_EXPIRED", kind: "deferred", deferredReason: "HOLD_NOT_TAKEN",
    message: "still not applicable after 600 s parked: HOLD_NOT_TAKEN: rental r-2 has not taken the vehicle",
  });
});

test("the kafka section is optional and fills in its defaults", (t) => {
  const base = {
    service: { name: "x" },
    grpc: { port: 0 },
    ops: { port: 0 },
    database: { database: "x", user: "x", password: "x", migrationsDir: "m" },
    auth: { issuer: "i", audience: "a", jwksFile: "j" },
  };
  t.is(serviceConfigSchema.parse(base).kafka, undefined);
  const kafka = serviceConfigSchema.parse({ ...base, kafka: { brokers: "a:1, b:2", consumer: { groupId: "g" } } }).kafka!;
  t.deepEqual(kafka.brokers, ["a:1", "b:2"]);
  t.is(kafka.enabled, true);
  t.is(kafka.relay.batchSize, 500);
  t.is(kafka.consumer?.maxAttempts, 5);
  t.is(kafka.consumer?.parkWindowMs, 600_000);
  t.is(kafka.consumer?.parkRetryInitialMs, 1_000);
  t.is(kafka.consumer?.parkRetryMaxMs, 30_000);
  t.is(kafkaConfigSchema.parse({ consumer: { groupId: "g", parkWindowMs: "0" } }).consumer?.parkWindowMs, 0, "0 turns parking off");
  t.throws(() => kafkaConfigSchema.parse({ consumer: { groupId: "g", parkWindowMs: -1 } }));
  t.throws(() => kafkaConfigSchema.parse({ consumer: {} }), { message: /groupId/ });
  t.throws(() => kafkaConfigSchema.parse({ topicPrefix: "bad prefix" }));
});
