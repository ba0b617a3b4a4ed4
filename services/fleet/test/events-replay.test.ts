// Replaying history: resetting fleet's consumer group to the beginning (or to
// a time) and consuming everything again leaves fleet's database unchanged.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import test from "ava";
import { repoRoot } from "../../platform/src/db.js";
import {
  createTopics, deleteTopicsWithPrefix, groupLag, readTopic, testKafka, TEST_BROKERS, uniqueTopicPrefix, waitFor,
} from "../../platform/src/testing/kafka.js";
import {
  count, FLEET_TOPICS, fleetChecksum, fleetKafkaConfig, insertVehicle, maintenanceCancelled, maintenanceCompleted, MaintenanceStatus,
  maintenanceStarted, rentalActivated, rentalCancelled, rentalCompleted, RentalStatus, startEventSource, waitForVehicle,
} from "./events-support.js";
import { createTestDatabaseRetrying, startFleet } from "./support.js";

const run = promisify(execFile);

test("replaying from the beginning, or from a point in time, leaves the fleet database unchanged", async (t) => {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  const prefix = uniqueTopicPrefix();
  const group = `${prefix}fleet`;
  const consumed = [`${prefix}rental.rental.v1`, `${prefix}maintenance.job.v1`];
  await createTopics(admin, FLEET_TOPICS.map((topic) => `${prefix}${topic}`));
  const source = await startEventSource(prefix);
  const db = await createTestDatabaseRetrying("fleet", "migrations/fleet");
  // A short park window: a release whose take never comes is dead-lettered after it.
  const kafkaConfig = fleetKafkaConfig(prefix, { consumer: { parkWindowMs: 1_000, parkRetryInitialMs: 50, parkRetryMaxMs: 250 } });
  let fleet = await startFleet({ db, kafka: kafkaConfig });
  const caughtUp = () => waitFor("the group to catch up", async () => {
    for (const topic of consumed) if ((await groupLag(admin, group, topic)) !== 0n) return false;
    return true;
  }, 30_000);
  const resetGroup = (...target: string[]) =>
    run(process.execPath, ["dist/scripts/events-reset-group.js", "--brokers", TEST_BROKERS.join(","), "--group", group,
      ...consumed.flatMap((topic) => ["--topic", topic]), ...target], { cwd: repoRoot });
  const deadLettered = (ids: readonly string[]) =>
    waitFor("the dead letter", async () =>
      (await count(db.admin, "SELECT count(*) AS n FROM inbox_processed_messages WHERE outcome = 'dead_lettered' AND message_id = ANY($1)", [ids])) === ids.length);
  try {
    // A history with every kind of event fleet handles, a repeated event and two
    // events dead-lettered: one at once, one after it was parked.
    const vehicles: string[] = [];
    for (let i = 0; i < 6; i++) vehicles.push(await insertVehicle(db.admin));
    let midpoint = new Date();
    for (const [i, vehicleId] of vehicles.entries()) {
      const rental = randomUUID();
      const job = randomUUID();
      const repeated = randomUUID();
      await source.emit(rentalActivated(rental, vehicleId, 100 * i + 10, repeated));
      await waitForVehicle(db.admin, vehicleId, { status: "rented" });
      // Impossible (no such vehicle): dead-lettered at once; waited for, since topics are not ordered with each other.
      await deadLettered(await source.emit(maintenanceStarted(randomUUID(), randomUUID())));
      await source.emit(rentalCancelled(randomUUID(), vehicleId, RentalStatus.RESERVED));
      await source.emit(rentalCompleted(rental, vehicleId, 100 * i + 50));
      await waitForVehicle(db.admin, vehicleId, { status: "active" });
      await source.db.knex.raw("UPDATE outbox_events SET published_at = NULL WHERE id = ?", [repeated]);
      if (i === 2) midpoint = new Date();
      await source.emit(maintenanceStarted(job, vehicleId, 100 * i + 60));
      await waitForVehicle(db.admin, vehicleId, { status: "under_maintenance" });
      // A completion whose activation never comes: parked, then dead-lettered after the park window.
      await deadLettered(await source.emit(rentalCompleted(randomUUID(), vehicleId)));
      if (i % 2 === 0) await source.emit(maintenanceCompleted(job, vehicleId, 100 * i + 70));
      else await source.emit(maintenanceCancelled(job, vehicleId, MaintenanceStatus.IN_PROGRESS));
      await waitForVehicle(db.admin, vehicleId, { status: "active" });
    }
    await source.drained();
    await caughtUp();
    const before = await fleetChecksum(db.admin);
    const deadLetters = (await readTopic(kafka, `${prefix}rental.rental.v1.dlq`)).length + (await readTopic(kafka, `${prefix}maintenance.job.v1.dlq`)).length;
    t.is(deadLetters, 12, "two dead letters per vehicle");

    const refused = await t.throwsAsync(resetGroup("--to-earliest")) as Error & { stderr: string };
    t.regex(refused.stderr, /stop its consumers/, "a running group is not reset");

    for (const target of [["--to-earliest"], ["--to", midpoint.toISOString()]]) {
      await fleet.stop();
      const { stdout } = await resetGroup(...target);
      t.regex(stdout, /reset group/);
      t.true(await groupLag(admin, group, consumed[0]!) > 0n, `${target.join(" ")}: history to read again`);
      fleet = await startFleet({ db, kafka: kafkaConfig });
      await caughtUp();
      t.is(await fleetChecksum(db.admin), before, `${target.join(" ")}: replay changed nothing`);
      const after = (await readTopic(kafka, `${prefix}rental.rental.v1.dlq`)).length + (await readTopic(kafka, `${prefix}maintenance.job.v1.dlq`)).length;
      t.is(after, deadLetters, `${target.join(" ")}: nothing dead-lettered again`);
    }
    t.regex(await fleet.service.metrics.registry.metrics(), /events_consumed_total\{[^}]*outcome="duplicate"[^}]*\} [1-9]/);
  } finally {
    await fleet.stop();
    await source.stop();
    await db.drop();
    await deleteTopicsWithPrefix(admin, prefix);
    await admin.disconnect();
  }
});
