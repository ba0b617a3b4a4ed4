// Fault test: fleet's consumer dies (SIGKILL) after an event's effect has
// committed and before its offset is committed. The event is delivered
// again after the restart and changes nothing the second time.
import { randomUUID } from "node:crypto";
import test from "ava";
import { createTestKeys } from "../../platform/src/testing/harness.js";
import {
  createTopics, deleteTopicsWithPrefix, freePort, groupLag, testKafka, TEST_BROKERS, uniqueTopicPrefix, waitFor,
} from "../../platform/src/testing/kafka.js";
import {
  count, FLEET_TOPICS, fleetProcessEnv, insertVehicle, rentalActivated, rentalCompleted, spawnFleet, startEventSource,
  vehicleState, waitForVehicle, type FleetProcess,
} from "./events-support.js";
import { createTestDatabaseRetrying } from "./support.js";

test("an event whose effect committed just before the consumer died is redelivered and has no second effect", async (t) => {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  const prefix = uniqueTopicPrefix();
  const group = `${prefix}fleet`;
  const rentalTopic = `${prefix}rental.rental.v1`;
  await createTopics(admin, FLEET_TOPICS.map((topic) => `${prefix}${topic}`));
  const source = await startEventSource(prefix);
  const db = await createTestDatabaseRetrying("fleet", "migrations/fleet");
  const opsPort = await freePort();
  const env = fleetProcessEnv(db, createTestKeys(), {
    BROKERS: TEST_BROKERS.join(","),
    TOPIC_PREFIX: prefix,
    CONSUMER__GROUP_ID: group,
    CONSUMER__SESSION_TIMEOUT_MS: "6000",
  }, { ops: opsPort });
  const children: FleetProcess[] = [];
  const facts = async (vehicleId: string) => ({
    vehicle: await vehicleState(db.admin, vehicleId),
    readings: await count(db.admin, "SELECT count(*) AS n FROM vehicle_odometer_readings WHERE vehicle_id = $1", [vehicleId]),
    stateChanges: await count(db.admin,
      "SELECT count(*) AS n FROM outbox_events WHERE aggregate_id = $1 AND event_type = 'fleetmesh.fleet.v1.VehicleStateChanged'", [vehicleId]),
    inbox: await count(db.admin, "SELECT count(*) AS n FROM inbox_processed_messages"),
  });
  try {
    const vehicleId = await insertVehicle(db.admin);
    const rentalId = randomUUID();
    const crashing = spawnFleet("dist/services/fleet/test/fixtures/fleet-crash-after-commit.js", env);
    children.push(crashing);
    await source.emit(rentalActivated(rentalId, vehicleId, 4_200));
    t.is(await crashing.exited, "SIGKILL", crashing.stderr());

    const afterCrash = await facts(vehicleId);
    t.like(afterCrash.vehicle, { status: "rented", hold_id: rentalId, odometer_km: 4_200, row_version: "2" }, "the effect committed");
    t.like(afterCrash, { readings: 1, stateChanges: 1, inbox: 1 });
    t.is(await groupLag(admin, group, rentalTopic), 1n, "the offset did not");

    const restarted = spawnFleet("dist/services/fleet/src/main.js", env);
    children.push(restarted);
    await waitFor("the restarted consumer to commit", async () => (await groupLag(admin, group, rentalTopic)) === 0n, 40_000);
    t.deepEqual(await facts(vehicleId), afterCrash, "the redelivered event changed nothing");
    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    t.regex(metrics, /events_consumed_total\{[^}]*event_type="fleetmesh\.rental\.v1\.RentalActivated",outcome="duplicate"[^}]*\} 1/,
      "it was delivered again, and recognised");

    // And the consumer goes on normally.
    await source.emit(rentalCompleted(rentalId, vehicleId, 4_300));
    await waitForVehicle(db.admin, vehicleId, { status: "active", row_version: "3", odometer_km: 4_300 });
    restarted.child.kill("SIGTERM");
    t.is(await restarted.exited, 0, restarted.stderr());
  } finally {
    for (const c of children) c.child.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    await source.stop();
    await db.drop();
    await deleteTopicsWithPrefix(admin, prefix);
    await admin.disconnect();
  }
});
