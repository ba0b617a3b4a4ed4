import { randomUUID } from "node:crypto";
import { create, fromBinary } from "@bufbuild/protobuf";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { Registry } from "prom-client";
import {
  OdometerReadingRecordedSchema,
  VehicleRegisteredSchema,
  VehicleStateChangedSchema,
  VehicleUpdatedSchema,
} from "../../../gen/fleetmesh/fleet/v1/events_pb.js";
import { VehicleStatus } from "../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { createDatabase } from "../../platform/src/db.js";
import { appendToOutbox } from "../../platform/src/events/outbox.js";
import { createOutboxRelay } from "../../platform/src/events/outbox-relay.js";
import { createKafka } from "../../platform/src/events/kafka.js";
import { kafkaConfigSchema } from "../../platform/src/config.js";
import {
  createTopics, openKafkaTestContext, readTopic, TEST_BROKERS, waitFor, type KafkaTestContext,
} from "../../platform/src/testing/kafka.js";
import { createTestKeys } from "../../platform/src/testing/harness.js";
import { readOutboxRows } from "../../platform/src/testing/outbox.js";
import { count, FLEET_TOPICS, fleetKafkaConfig, fleetProcessEnv, spawnFleet } from "./events-support.js";
import { createTestDatabaseRetrying, rejectsWith, sampleAttributes, startFleet, uniquePlate, type FleetHarness } from "./support.js";

const test = anyTest as TestFn<KafkaTestContext>;

test.before(async (t) => {
  t.context = await openKafkaTestContext(FLEET_TOPICS);
});

test.after.always(async (t) => {
  await t.context.close();
});

const outboxRows = (h: FleetHarness, aggregateId: string) => readOutboxRows(h.db.admin, aggregateId);

test("every mutating use case writes its event to the outbox with the change, carrying the request id", async (t) => {
  const h = await startFleet();
  try {
    const requestId = `req-${randomUUID()}`;
    const { vehicle } = await h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, h.as(undefined, { "x-request-id": requestId }));
    const id = vehicle!.id;
    const updated = (await h.client.updateVehicle({
      vehicleId: id, expectedRowVersion: 1n, attributes: { ...sampleAttributes, model: "Yaris" }, updateMask: { paths: ["attributes.model", "attributes.make"] },
    }, h.as())).vehicle!;
    await h.client.recordOdometerReading({ vehicleId: id, readingKm: 1200 }, h.as());
    await h.client.changeVehicleStatus({ vehicleId: id, expectedRowVersion: 0n, targetStatus: VehicleStatus.UNDER_MAINTENANCE, reason: "brakes" }, h.as());
    await h.client.decommissionVehicle({ vehicleId: id, expectedRowVersion: 0n, reason: "sold" }, h.as());

    const rows = await outboxRows(h, id);
    t.deepEqual(rows.map((r) => r.event_type), [
      "fleetmesh.fleet.v1.VehicleRegistered",
      "fleetmesh.fleet.v1.VehicleUpdated",
      "fleetmesh.fleet.v1.OdometerReadingRecorded",
      "fleetmesh.fleet.v1.VehicleStateChanged",
      "fleetmesh.fleet.v1.VehicleStateChanged",
    ]);
    for (const row of rows) {
      t.is(row.topic, "fleet.vehicle.v1");
      t.is(row.aggregate_type, "vehicle");
      t.is(row.aggregate_id, id);
      t.is(row.schema_version, 1);
    }
    t.is(rows[0]!.request_id, requestId, "the RPC's request id travels with its event");
    const registered = fromBinary(VehicleRegisteredSchema, rows[0]!.payload_bin);
    t.is(registered.vehicle?.id, id);
    t.is((rows[0]!.payload["vehicle"] as Record<string, unknown>)["plateNumber"], vehicle!.plateNumber, "JSON rendering for people");
    const update = fromBinary(VehicleUpdatedSchema, rows[1]!.payload_bin);
    t.deepEqual(update.changedFields, ["attributes.model"], "only what really changed");
    t.is(update.vehicle?.rowVersion, updated.rowVersion);
    t.is(fromBinary(OdometerReadingRecordedSchema, rows[2]!.payload_bin).reading?.readingKm, 1200);
    const toMaintenance = fromBinary(VehicleStateChangedSchema, rows[3]!.payload_bin);
    t.is(toMaintenance.previousStatus, VehicleStatus.ACTIVE);
    t.is(toMaintenance.newStatus, VehicleStatus.UNDER_MAINTENANCE);
    t.is(toMaintenance.reason, "brakes");
    t.is(toMaintenance.rowVersion, 4n);
    const retired = fromBinary(VehicleStateChangedSchema, rows[4]!.payload_bin);
    t.is(retired.newStatus, VehicleStatus.DECOMMISSIONED);
    t.is(retired.reason, "sold");
  } finally {
    await h.stop();
  }
});

test("a failed or replayed call writes no event", async (t) => {
  const h = await startFleet();
  try {
    const plate = uniquePlate();
    const { vehicle } = await h.client.registerVehicle({ plateNumber: plate, attributes: sampleAttributes }, h.as());
    const before = await count(h.db.admin, "SELECT count(*) AS n FROM outbox_events");
    await rejectsWith(t, h.client.registerVehicle({ plateNumber: plate, attributes: sampleAttributes }, h.as()), GrpcStatus.ALREADY_EXISTS, "PLATE_NUMBER_TAKEN");
    await h.client.recordOdometerReading({ vehicleId: vehicle!.id, readingKm: 500 }, h.as());
    await rejectsWith(t, h.client.recordOdometerReading({ vehicleId: vehicle!.id, readingKm: 400 }, h.as()), GrpcStatus.FAILED_PRECONDITION, "ODOMETER_DECREASING");
    const keyed = h.as(undefined, { "idempotency-key": `key-${randomUUID()}` });
    await h.client.recordOdometerReading({ vehicleId: vehicle!.id, readingKm: 600 }, keyed);
    await h.client.recordOdometerReading({ vehicleId: vehicle!.id, readingKm: 600 }, keyed);
    t.is(await count(h.db.admin, "SELECT count(*) AS n FROM outbox_events"), before + 2, "one event per committed change");
  } finally {
    await h.stop();
  }
});

test("appendToOutbox refuses to write outside a transaction", async (t) => {
  const h = await startFleet();
  try {
    await t.throwsAsync(appendToOutbox(h.service.db.knex, {
      schema: VehicleRegisteredSchema, message: create(VehicleRegisteredSchema), aggregateId: randomUUID(),
    }), { message: /inside the transaction/ });
  } finally {
    await h.stop();
  }
});

test("the relay publishes with acks=all, keyed by vehicle id, the envelope in headers, in commit order", async (t) => {
  const { kafka, prefix } = t.context;
  const h = await startFleet({ kafka: fleetKafkaConfig(prefix, { consumer: { enabled: false } }) });
  try {
    const { vehicle } = await h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, h.as(undefined, { "x-request-id": "req-relay-test" }));
    const id = vehicle!.id;
    for (let km = 100; km <= 1000; km += 100) await h.client.recordOdometerReading({ vehicleId: id, readingKm: km }, h.as());
    const ids = (await outboxRows(h, id)).map((r) => r.id);
    await waitFor("the outbox to drain", async () => (await h.service.events.relay!.backlog()) === 0);
    const messages = (await readTopic(kafka, `${prefix}fleet.vehicle.v1`)).filter((m) => m.key === id);
    t.deepEqual(messages.map((m) => m.header("event-id")), ids, "every event, once, in commit order");
    t.true(new Set(messages.map((m) => m.partition)).size === 1, "one aggregate, one partition");
    const first = messages[0]!;
    t.is(first.header("event-type"), "fleetmesh.fleet.v1.VehicleRegistered");
    t.is(first.header("aggregate-type"), "vehicle");
    t.is(first.header("aggregate-id"), id);
    t.is(first.header("schema-version"), "1");
    t.is(first.header("request-id"), "req-relay-test");
    t.truthy(first.header("occurred-at"));
    t.is(fromBinary(VehicleRegisteredSchema, first.value!).vehicle?.plateNumber, vehicle!.plateNumber);
    t.is(await count(h.db.admin, "SELECT count(*) AS n FROM outbox_events WHERE published_at IS NULL"), 0);
    const metrics = await h.service.metrics.registry.metrics();
    t.regex(metrics, /outbox_backlog\{service="fleet"\} 0/);
    t.regex(metrics, /outbox_publish_lag_seconds_count\{service="fleet"\} [1-9]/);
    t.regex(metrics, /outbox_relay_leader\{service="fleet"\} 1/);
  } finally {
    await h.stop();
  }
});

test("the relay wakes on the commit of its own process, not on its fallback poll", async (t) => {
  const { kafka, prefix } = t.context;
  const h = await startFleet({ kafka: fleetKafkaConfig(prefix, { consumer: { enabled: false }, relay: { pollIntervalMs: 60_000 } }) });
  try {
    await waitFor("the relay to lead", () => h.service.events.relay!.isLeader);
    await waitFor("the relay to go idle", async () => (await h.service.events.relay!.backlog()) === 0);
    const started = Date.now();
    const { vehicle } = await h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, h.as());
    await waitFor("the event to be published", async () =>
      (await count(h.db.admin, "SELECT count(*) AS n FROM outbox_events WHERE aggregate_id = $1 AND published_at IS NOT NULL", [vehicle!.id])) === 1,
    5_000, 10);
    t.true(Date.now() - started < 2_000, `published ${Date.now() - started} ms after the commit`);
    const delivered = (await readTopic(kafka, `${prefix}fleet.vehicle.v1`)).filter((m) => m.key === vehicle!.id);
    t.is(delivered.length, 1);
  } finally {
    await h.stop();
  }
});

test("with two relays on one database one publishes; the other takes over when it stops, keeping per-aggregate order", async (t) => {
  const { kafka, prefix } = t.context;
  const h = await startFleet();
  const topicPrefix = `${prefix}ha.`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [`${topicPrefix}fleet.vehicle.v1`]);
  const db = createDatabase(h.db.config, "relay-test");
  const kafkaConfig = kafkaConfigSchema.parse({ brokers: TEST_BROKERS });
  const relay = (name: string) => createOutboxRelay({
    db, connection: h.db.config, kafka: createKafka(kafkaConfig, name, pino({ level: "silent" })), topicPrefix,
    log: pino({ level: "silent" }), registry: new Registry(), batchSize: 20, pollIntervalMs: 1_000, leaderCheckMs: 100, retainPublishedHours: 1,
  });
  const a = relay("relay-a");
  const b = relay("relay-b");
  const aggregates = Array.from({ length: 5 }, () => randomUUID());
  const written: Array<{ id: string; aggregate: string; n: bigint }> = [];
  let writing = true;
  const writer = (async () => {
    for (let n = 1n; writing; n++) {
      await db.transaction(async (trx) => {
        for (const aggregate of aggregates) {
          const [id] = await appendToOutbox(trx, {
            schema: VehicleStateChangedSchema, message: create(VehicleStateChangedSchema, { vehicleId: aggregate, rowVersion: n }), aggregateId: aggregate,
          });
          written.push({ id: id!, aggregate, n });
        }
      });
    }
  })();
  try {
    a.start();
    await waitFor("relay a to lead", () => a.isLeader);
    b.start();
    await new Promise((r) => setTimeout(r, 500));
    t.false(b.isLeader, "the second relay stands by");
    await a.stop();
    await waitFor("relay b to take over", () => b.isLeader, 5_000);
    await new Promise((r) => setTimeout(r, 300));
    writing = false;
    await writer;
    await waitFor("the outbox to drain", async () => (await b.backlog()) === 0);
    const delivered = await readTopic(kafka, `${topicPrefix}fleet.vehicle.v1`);
    const deliveredIds = new Set(delivered.map((m) => m.header("event-id")));
    t.true(written.every((w) => deliveredIds.has(w.id)), "nothing lost across the hand-over");
    for (const aggregate of aggregates) {
      const seen = new Set<string>();
      const order = delivered.filter((m) => m.key === aggregate && !seen.has(m.header("event-id")!) && seen.add(m.header("event-id")!))
        .map((m) => fromBinary(VehicleStateChangedSchema, m.value!).rowVersion);
      t.deepEqual(order, [...order].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)), "per-aggregate order holds");
    }
  } finally {
    writing = false;
    await writer.catch(() => undefined);
    await a.stop();
    await b.stop();
    await admin.disconnect();
    await db.close();
    await h.stop();
  }
});

test("a standby replica that writes wakes the active relay in another process (NOTIFY), not its fallback poll", async (t) => {
  const { kafka, prefix } = t.context;
  const testDb = await createTestDatabaseRetrying("fleet", "migrations/fleet");
  const active = spawnFleet("dist/services/fleet/src/main.js", fleetProcessEnv(testDb, createTestKeys(), {
    BROKERS: TEST_BROKERS.join(","), TOPIC_PREFIX: prefix, RELAY__POLL_INTERVAL_MS: "60000", CONSUMER__ENABLED: "false",
  }, {}));
  const db = createDatabase(testDb.config, "standby-writer");
  const standby = createOutboxRelay({
    db, connection: testDb.config, kafka: createKafka(kafkaConfigSchema.parse({ brokers: TEST_BROKERS }), "standby", pino({ level: "silent" })),
    topicPrefix: prefix, log: pino({ level: "silent" }), registry: new Registry(), batchSize: 100, pollIntervalMs: 60_000, leaderCheckMs: 100,
    retainPublishedHours: 1,
  });
  try {
    await waitFor("the other process to hold the relay lock", async () =>
      (await count(testDb.admin, "SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'fleet-outbox-relay' AND a.datname = current_database()")) === 1);
    standby.start();
    await new Promise((r) => setTimeout(r, 300));
    t.false(standby.isLeader, active.stderr());
    const aggregateId = randomUUID();
    const started = Date.now();
    const [eventId] = await db.transaction((trx) => appendToOutbox(trx, {
      schema: VehicleStateChangedSchema, message: create(VehicleStateChangedSchema, { vehicleId: aggregateId }), aggregateId,
    }));
    await waitFor("the other process to publish it", async () =>
      (await count(testDb.admin, "SELECT count(*) AS n FROM outbox_events WHERE id = $1 AND published_at IS NOT NULL", [eventId])) === 1, 5_000, 10);
    t.true(Date.now() - started < 2_000, `published ${Date.now() - started} ms after the commit`);
    t.true((await readTopic(kafka, `${prefix}fleet.vehicle.v1`)).some((m) => m.header("event-id") === eventId));
  } finally {
    await standby.stop();
    active.child.kill("SIGTERM");
    await active.exited;
    await db.close();
    await testDb.drop();
  }
});

test("a replica with its relay disabled still wakes the active relay of another process on each commit", async (t) => {
  const { kafka, prefix } = t.context;
  const testDb = await createTestDatabaseRetrying("fleet", "migrations/fleet");
  const active = spawnFleet("dist/services/fleet/src/main.js", fleetProcessEnv(testDb, createTestKeys(), {
    BROKERS: TEST_BROKERS.join(","), TOPIC_PREFIX: prefix, RELAY__POLL_INTERVAL_MS: "60000", CONSUMER__ENABLED: "false",
  }, {}));
  let writer: FleetHarness | undefined;
  try {
    await waitFor("the other process to hold the relay lock", async () =>
      (await count(testDb.admin, "SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'fleet-outbox-relay' AND a.datname = current_database()")) === 1);
    writer = await startFleet({ db: testDb, kafka: fleetKafkaConfig(prefix, { relay: { enabled: false }, consumer: { enabled: false } }) });
    t.is(writer.service.events.relay, undefined);
    t.deepEqual(writer.service.workers.map((w) => w.name), ["outbox-commit-signal"]);
    // Several writes: the first after a quiet spell, the rest while NOTIFYs may be in flight.
    const vehicles: string[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const { vehicle } = await writer.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, writer.as());
      vehicles.push(vehicle!.id);
      await waitFor("the other process to publish the event", async () =>
        (await count(testDb.admin, "SELECT count(*) AS n FROM outbox_events WHERE aggregate_id = $1 AND published_at IS NULL", [vehicle!.id])) === 0, 5_000, 10);
      t.true(Date.now() - started < 2_000, `published ${Date.now() - started} ms after the call (the relay's fallback poll is 60 s)`);
    }
    const published = (await readTopic(kafka, `${prefix}fleet.vehicle.v1`)).filter((m) => vehicles.includes(m.key ?? ""));
    t.deepEqual(published.map((m) => m.header("event-type")), Array(3).fill("fleetmesh.fleet.v1.VehicleRegistered"));
  } finally {
    await writer?.stop();
    active.child.kill("SIGTERM");
    await active.exited;
    await testDb.drop();
  }
});
