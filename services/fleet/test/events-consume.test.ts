import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import anyTest, { type TestFn } from "ava";
import { Partitioners } from "kafkajs";
import { VehicleStateChangedSchema } from "../../../gen/fleetmesh/fleet/v1/events_pb.js";
import { VehicleStatus } from "../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { RentalActivatedSchema } from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import {
  groupLag, openKafkaTestContext, readTopic, waitFor, type KafkaTestContext,
} from "../../platform/src/testing/kafka.js";
import {
  count, FLEET_TOPICS, fleetKafkaConfig, insertVehicle, maintenanceCancelled, maintenanceCompleted, MaintenanceStatus,
  maintenanceStarted, rentalActivated, rentalCancelled, rentalCompleted, RentalStatus, startEventSource,
  vehicleState, waitForVehicle, type EventSource,
} from "./events-support.js";
import { startFleet, type FleetHarness } from "./support.js";

interface Context extends KafkaTestContext {
  readonly source: EventSource;
  readonly fleet: FleetHarness;
}

const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const kafka = await openKafkaTestContext(FLEET_TOPICS);
  const source = await startEventSource(kafka.prefix);
  // A short park window: the test of an event whose dependency never arrives waits it out.
  const fleet = await startFleet({ kafka: fleetKafkaConfig(kafka.prefix, { consumer: { parkWindowMs: 3_000, parkRetryInitialMs: 50, parkRetryMaxMs: 250 } }) });
  t.context = { ...kafka, source, fleet };
});

test.after.always(async (t) => {
  await t.context.fleet?.stop();
  await t.context.source?.stop();
  await t.context.close();
});

const stateChanges = async (h: FleetHarness, vehicleId: string) =>
  (await h.db.admin.query<{ payload_bin: Buffer }>(
    "SELECT payload_bin FROM outbox_events WHERE aggregate_id = $1 AND event_type = 'fleetmesh.fleet.v1.VehicleStateChanged' ORDER BY sequence",
    [vehicleId],
  )).rows.map((r) => fromBinary(VehicleStateChangedSchema, r.payload_bin));

const readings = (h: FleetHarness, vehicleId: string) =>
  h.db.admin.query<{ reading_km: number }>("SELECT reading_km FROM vehicle_odometer_readings WHERE vehicle_id = $1 ORDER BY recorded_at", [vehicleId])
    .then((r) => r.rows.map((x) => x.reading_km));

/** Dead-lettered copies in `<topic>.dlq` whose event id is one of `eventIds`. */
const deadLetters = async (c: Context, topic: string, eventIds: readonly string[]) =>
  (await readTopic(c.kafka, `${c.prefix}${topic}.dlq`)).filter((m) => eventIds.includes(m.header("event-id") ?? ""));

test.serial("a rental activating rents the vehicle and its completion returns it, with odometer readings and VehicleStateChanged events", async (t) => {
  const { source, fleet } = t.context;
  const vehicleId = await insertVehicle(fleet.db.admin);
  const rentalId = randomUUID();
  await source.emit(rentalActivated(rentalId, vehicleId, 1_000));
  await waitForVehicle(fleet.db.admin, vehicleId, { status: "rented", hold_kind: "rental", hold_id: rentalId, odometer_km: 1_000 });
  await source.emit(rentalCompleted(rentalId, vehicleId, 1_350));
  const final = await waitForVehicle(fleet.db.admin, vehicleId, { status: "active", hold_kind: null, odometer_km: 1_350 });
  t.is(final.row_version, "3", "one change per event");
  t.deepEqual(await readings(fleet, vehicleId), [1_000, 1_350]);
  const changes = await stateChanges(fleet, vehicleId);
  t.deepEqual(changes.map((c) => [c.previousStatus, c.newStatus, c.causeRef, c.reason]), [
    [VehicleStatus.ACTIVE, VehicleStatus.RENTED, `rentals/${rentalId}`, "rental activated"],
    [VehicleStatus.RENTED, VehicleStatus.ACTIVE, `rentals/${rentalId}`, "rental completed"],
  ]);
});

test.serial("maintenance start and completion move the vehicle through UNDER_MAINTENANCE", async (t) => {
  const { source, fleet } = t.context;
  const vehicleId = await insertVehicle(fleet.db.admin);
  const jobId = randomUUID();
  await source.emit(maintenanceStarted(jobId, vehicleId, 5_000));
  await waitForVehicle(fleet.db.admin, vehicleId, { status: "under_maintenance", hold_kind: "maintenance_job", hold_id: jobId });
  await source.emit(maintenanceCompleted(jobId, vehicleId, 5_010));
  await waitForVehicle(fleet.db.admin, vehicleId, { status: "active", hold_kind: null, odometer_km: 5_010 });
  t.is((await stateChanges(fleet, vehicleId)).length, 2);
});

test.serial("cancellations release only what they hold: a reserved rental or a scheduled job never took the vehicle", async (t) => {
  const { source, fleet } = t.context;
  const vehicleId = await insertVehicle(fleet.db.admin);
  const otherRental = randomUUID();
  const jobId = randomUUID();
  await source.emit(maintenanceStarted(jobId, vehicleId));
  await waitForVehicle(fleet.db.admin, vehicleId, { status: "under_maintenance" });
  // Another rental, cancelled while RESERVED, and another job cancelled while SCHEDULED: no effect.
  const ignored = await source.emit(
    rentalCancelled(otherRental, vehicleId, RentalStatus.RESERVED),
    maintenanceCancelled(randomUUID(), vehicleId, MaintenanceStatus.SCHEDULED),
  );
  await source.emit(maintenanceCancelled(jobId, vehicleId, MaintenanceStatus.IN_PROGRESS));
  const final = await waitForVehicle(fleet.db.admin, vehicleId, { status: "active", hold_kind: null });
  t.is(final.row_version, "3");
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM inbox_processed_messages WHERE message_id = ANY($1) AND outcome = 'applied'", [ignored]), 2,
    "the ignored events are recorded as handled");
});

test.serial("impossible transitions are dead-lettered at once with a clear reason, and later events still apply", async (t) => {
  const c = t.context;
  const { source, fleet } = c;
  const vehicleId = await insertVehicle(fleet.db.admin);
  // Retired: no rental or job will ever take it.
  await fleet.db.admin.query("UPDATE vehicles SET status = 'decommissioned', row_version = 2 WHERE id = $1", [vehicleId]);
  const rentalId = randomUUID();
  const [activation] = await source.emit(rentalActivated(rentalId, vehicleId));
  const [start] = await source.emit(maintenanceStarted(randomUUID(), vehicleId));
  const [rejected] = await waitFor("the dead letter", async () => {
    const found = await deadLetters(c, "rental.rental.v1", [activation!]);
    return found.length === 1 ? found : undefined;
  });
  // Events on other topics go on being applied.
  const other = await insertVehicle(fleet.db.admin);
  await source.emit(maintenanceStarted(randomUUID(), other));
  await waitForVehicle(fleet.db.admin, other, { status: "under_maintenance" });
  t.is(rejected!.header("dlq-error-reason"), "VEHICLE_DECOMMISSIONED");
  t.is(rejected!.header("dlq-error-kind"), "failed_precondition");
  t.regex(rejected!.header("dlq-error-message") ?? "", /decommissioned/);
  t.is(rejected!.header("dlq-original-topic"), `${c.prefix}rental.rental.v1`);
  t.truthy(rejected!.header("dlq-original-partition"));
  t.truthy(rejected!.header("dlq-original-offset"));
  t.is(rejected!.header("dlq-attempts"), "1", "permanent failures are not retried");
  t.is(rejected!.header("event-type"), "fleetmesh.rental.v1.RentalActivated", "the original envelope is kept");
  t.is(rejected!.key, rentalId);
  t.is(fromBinary(RentalActivatedSchema, rejected!.value!).vehicleId, vehicleId, "the original payload is kept");
  const [job] = await waitFor("the maintenance dead letter", async () => {
    const found = await deadLetters(c, "maintenance.job.v1", [start!]);
    return found.length === 1 ? found : undefined;
  });
  t.is(job!.header("dlq-error-reason"), "VEHICLE_DECOMMISSIONED");
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM inbox_processed_messages WHERE outcome = 'dead_lettered' AND message_id = ANY($1)",
    [[activation, start]]), 2);
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM parked_events WHERE message_id = ANY($1)", [[activation, start]]), 0, "never parked");
  t.is((await vehicleState(fleet.db.admin, vehicleId))?.status, "decommissioned");
  await waitFor("the group to commit past them", async () => (await groupLag(c.admin, `${c.prefix}fleet`, `${c.prefix}rental.rental.v1`)) === 0n);
});

test.serial("a take while another holds the vehicle waits for its release; a release whose take never comes is dead-lettered after the park window", async (t) => {
  const c = t.context;
  const { source, fleet } = c;
  const vehicleId = await insertVehicle(fleet.db.admin);
  const jobId = randomUUID();
  await source.emit(maintenanceStarted(jobId, vehicleId));
  await waitForVehicle(fleet.db.admin, vehicleId, { status: "under_maintenance" });
  const rentalId = randomUUID();
  const parkedAt = Date.now();
  const [activation] = await source.emit(rentalActivated(rentalId, vehicleId));
  // A completion of a rental that never activated: what it waits for never arrives.
  const [orphan] = await source.emit(rentalCompleted(randomUUID(), vehicleId));
  await waitFor("both to be parked", async () =>
    (await count(fleet.db.admin, "SELECT count(*) AS n FROM parked_events WHERE message_id = ANY($1)", [[activation, orphan]])) === 2 || undefined);
  // Parked, not blocking: the group commits past them.
  await waitFor("the group to commit past them", async () => (await groupLag(c.admin, `${c.prefix}fleet`, `${c.prefix}rental.rental.v1`)) === 0n);
  t.is((await vehicleState(fleet.db.admin, vehicleId))?.status, "under_maintenance");

  // The job ends: the parked activation applies.
  await source.emit(maintenanceCompleted(jobId, vehicleId));
  await waitForVehicle(fleet.db.admin, vehicleId, { status: "rented", hold_kind: "rental", hold_id: rentalId, row_version: "4" });

  const [dead] = await waitFor("the orphan's dead letter", async () => {
    const found = await deadLetters(c, "rental.rental.v1", [orphan!]);
    return found.length === 1 ? found : undefined;
  }, 20_000);
  t.true(Date.now() - parkedAt >= 3_000, "not before the park window");
  t.is(dead!.header("dlq-error-reason"), "PARK_WINDOW_EXPIRED");
  t.is(dead!.header("dlq-error-kind"), "deferred");
  t.is(dead!.header("dlq-deferred-reason"), "HOLD_NOT_TAKEN");
  t.regex(dead!.header("dlq-error-message") ?? "", /HOLD_NOT_TAKEN/);
  t.is(dead!.header("dlq-original-topic"), `${c.prefix}rental.rental.v1`);
  t.is(dead!.header("event-type"), "fleetmesh.rental.v1.RentalCompleted", "the original envelope is kept");
  t.true(Number(dead!.header("dlq-attempts")) > 1, "re-driven before giving up");
  t.deepEqual((await deadLetters(c, "rental.rental.v1", [activation!])).length, 0, "the activation was not dead-lettered");
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM parked_events WHERE message_id = ANY($1)", [[activation, orphan]]), 0);
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM inbox_processed_messages WHERE message_id = $1 AND outcome = 'dead_lettered' AND error_reason = 'PARK_WINDOW_EXPIRED'",
    [orphan]), 1);
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM inbox_processed_messages WHERE message_id = $1 AND outcome = 'applied'", [activation]), 1);
  const metrics = await fleet.service.metrics.registry.metrics();
  t.regex(metrics, /events_dead_lettered_total\{topic="[^"]*rental\.rental\.v1",reason="PARK_WINDOW_EXPIRED"[^}]*\} 1/);
  t.regex(metrics, /events_parked_total\{[^}]*reason="VEHICLE_IN_USE"[^}]*\} [1-9]/);
  t.regex(metrics, /events_parked_total\{[^}]*reason="HOLD_NOT_TAKEN"[^}]*\} [1-9]/);
  t.regex(metrics, /events_consumed_total\{[^}]*outcome="parked"[^}]*\} [1-9]/);
});

test.serial("an event delivered twice (same event id) changes the vehicle once", async (t) => {
  const { source, fleet } = t.context;
  const vehicleId = await insertVehicle(fleet.db.admin);
  const eventId = randomUUID();
  const rentalId = randomUUID();
  await source.emit(rentalActivated(rentalId, vehicleId, 10, eventId));
  await waitForVehicle(fleet.db.admin, vehicleId, { status: "rented" });
  // The same event again (as a producer retry would send it), then a marker event behind it on the same key.
  await source.db.knex.raw("UPDATE outbox_events SET published_at = NULL WHERE id = ?", [eventId]);
  await source.db.knex.raw("SELECT pg_notify('outbox_events', '')");
  await source.emit(rentalCompleted(rentalId, vehicleId, 20));
  const final = await waitForVehicle(fleet.db.admin, vehicleId, { status: "active" });
  t.is(final.row_version, "3");
  t.deepEqual(await readings(fleet, vehicleId), [10, 20]);
  const metrics = await fleet.service.metrics.registry.metrics();
  t.regex(metrics, /events_consumed_total\{topic="[^"]*rental\.rental\.v1",event_type="fleetmesh\.rental\.v1\.RentalActivated",outcome="duplicate",service="fleet"\} [1-9]/);
  // The group's only member: it joined at least once and holds partitions.
  t.regex(metrics, /events_consumer_rebalances_total\{service="fleet"\} [1-9]/);
  const assignedPartitions = Number(/events_consumer_assigned_partitions\{service="fleet"\} (\d+)/.exec(metrics)?.[1]);
  t.true(assignedPartitions > 0, metrics.split("\n").filter((l) => l.includes("assigned")).join("\n"));
});

test.serial("unknown event types are skipped and counted; a newer schema version is dead-lettered; neither stops the partition", async (t) => {
  const c = t.context;
  const vehicleId = await insertVehicle(c.fleet.db.admin);
  const rentalId = randomUUID();
  const producer = c.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const newerId = randomUUID();
  const activation = create(RentalActivatedSchema, { rentalId, vehicleId });
  try {
    await producer.send({
      topic: `${c.prefix}rental.rental.v1`,
      acks: -1,
      messages: [
        { key: rentalId, value: Buffer.from("whatever"), headers: { "event-id": randomUUID(), "event-type": "fleetmesh.rental.v1.RentalTeleported", "schema-version": "1" } },
        { key: rentalId, value: Buffer.from(toBinary(RentalActivatedSchema, activation)), headers: { "event-id": newerId, "event-type": "fleetmesh.rental.v1.RentalActivated", "schema-version": "2" } },
      ],
    });
  } finally {
    await producer.disconnect();
  }
  // Behind them on the same partition (same key): a normal event.
  await c.source.emit(rentalActivated(rentalId, vehicleId));
  await waitForVehicle(c.fleet.db.admin, vehicleId, { status: "rented", row_version: "2" });
  const [newer] = await waitFor("the dead letter", async () => {
    const found = await deadLetters(c, "rental.rental.v1", [newerId]);
    return found.length === 1 ? found : undefined;
  });
  t.is(newer!.header("dlq-error-reason"), "SCHEMA_VERSION_UNSUPPORTED");
  // Delivered again (a replay), it is not dead-lettered a second time.
  const again = c.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await again.connect();
  await again.send({ topic: `${c.prefix}rental.rental.v1`, acks: -1, messages: [{ key: rentalId,
    value: Buffer.from(toBinary(RentalActivatedSchema, activation)),
    headers: { "event-id": newerId, "event-type": "fleetmesh.rental.v1.RentalActivated", "schema-version": "2" } }] });
  await again.disconnect();
  await c.source.emit(rentalCompleted(rentalId, vehicleId));
  await waitForVehicle(c.fleet.db.admin, vehicleId, { status: "active", row_version: "3" });
  t.is((await deadLetters(c, "rental.rental.v1", [newerId])).length, 1);
  const metrics = await c.fleet.service.metrics.registry.metrics();
  t.regex(metrics, /events_consumed_total\{topic="[^"]*rental\.rental\.v1",event_type="\(unknown\)",outcome="unknown_type",service="fleet"\} 1/);
});
