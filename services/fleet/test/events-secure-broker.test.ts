// Fleet against a broker that requires TLS and SASL/SCRAM-SHA-512, as Amazon
// MSK does on port 9096: the relay publishes and the consumer consumes
// through the services' own Kafka client (createKafka from the `kafka`
// section), and a wrong password degrades to events waiting in the outbox
// while writes go on.
import { randomUUID } from "node:crypto";
import test from "ava";
import { pino } from "pino";
import { kafkaConfigSchema } from "../../platform/src/config.js";
import { appendToOutbox } from "../../platform/src/events/outbox.js";
import { createKafka } from "../../platform/src/events/kafka.js";
import { createPrivateBroker, readTopic, waitFor } from "../../platform/src/testing/kafka.js";
import { count, rentalActivated, waitForVehicle } from "./events-support.js";
import { createTestDatabaseRetrying, sampleAttributes, startFleet, uniquePlate, type FleetHarness } from "./support.js";

test("through a TLS + SASL/SCRAM broker fleet publishes and consumes; with a wrong password writes go on and events wait", async (t) => {
  t.timeout(180_000);
  const broker = await createPrivateBroker({ security: "sasl_ssl" });
  const testDb = await createTestDatabaseRetrying("fleet", "migrations/fleet");
  const running: FleetHarness[] = [];
  try {
    await broker.start();
    const { tls, sasl } = broker.security!;
    const kafkaSection = (password: string) => ({
      enabled: true,
      brokers: [...broker.brokers],
      tls: { enabled: true, caFile: tls.caFile },
      sasl: { mechanism: sasl.mechanism, username: sasl.username, password },
      relay: { pollIntervalMs: 1_000, leaderCheckMs: 250 },
      consumer: { groupId: "fleet", sessionTimeoutMs: 6_000, maxAttempts: 3, retryInitialMs: 20, retryMaxMs: 200 },
    });
    const reader = createKafka(kafkaConfigSchema.parse(kafkaSection(sasl.password)), "secure-test-reader", pino({ level: "silent" }));
    const published = async (aggregateId: string) =>
      (await count(testDb.admin, "SELECT count(*) AS n FROM outbox_events WHERE aggregate_id = $1 AND published_at IS NULL", [aggregateId])) === 0;

    // Publishing: the relay's producer authenticates and verifies the broker against the CA file.
    const fleet = await startFleet({ db: testDb, kafka: kafkaSection(sasl.password) });
    running.push(fleet);
    const { vehicle } = await fleet.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, fleet.as());
    const vehicleId = vehicle!.id;
    await waitFor("the registration to be published", () => published(vehicleId), 30_000, 50);
    const registered = (await readTopic(reader, "fleet.vehicle.v1")).filter((m) => m.key === vehicleId);
    t.deepEqual(registered.map((m) => m.header("event-type")), ["fleetmesh.fleet.v1.VehicleRegistered"]);

    // Consuming: a RentalActivated goes out through an outbox and the relay to
    // rental.rental.v1, and fleet's consumer group (also over TLS + SCRAM) applies it.
    const rentalId = randomUUID();
    await fleet.service.db.transaction((trx) => appendToOutbox(trx, rentalActivated(rentalId, vehicleId, 1_200)));
    await waitForVehicle(testDb.admin, vehicleId, { status: "rented", hold_id: rentalId, odometer_km: 1_200 }, 60_000);
    running.pop();
    await fleet.stop();

    // A wrong password: the service starts and serves, writes commit with their
    // events, and the relay keeps failing (counted) without losing anything.
    const misconfigured = await startFleet({ db: testDb, kafka: kafkaSection(`${sasl.password}-wrong`) });
    running.push(misconfigured);
    const { vehicle: second } = await misconfigured.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, misconfigured.as());
    const metrics = async () => misconfigured.service.metrics.registry.metrics();
    const failures = await waitFor("failed publish rounds", async () => {
      const found = /outbox_publish_failures_total\{service="fleet"\} (\d+)/.exec(await metrics());
      return found && Number(found[1]) >= 2 ? Number(found[1]) : undefined;
    }, 60_000, 200);
    t.true(failures >= 2);
    t.false(await published(second!.id), "the event waits in the outbox");
    running.pop();
    await misconfigured.stop();

    // The right password again: the waiting event goes out.
    const fixed = await startFleet({ db: testDb, kafka: kafkaSection(sasl.password) });
    running.push(fixed);
    await waitFor("the waiting event to be published", () => published(second!.id), 30_000, 50);
    t.is((await readTopic(reader, "fleet.vehicle.v1")).filter((m) => m.key === second!.id).length, 1);
  } finally {
    for (const h of running) await h.stop().catch(() => undefined);
    await testDb.drop().catch(() => undefined);
    await broker.destroy();
  }
});
