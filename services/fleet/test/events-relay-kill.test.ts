// Fault test: the fleet process running the outbox relay is killed with
// SIGKILL in the middle of publishing, twice, while writes go on, and
// restarted. Every committed event reaches Kafka, in order per aggregate;
// no event of a rolled-back transaction ever does.
import { randomUUID } from "node:crypto";
import { create, fromBinary } from "@bufbuild/protobuf";
import test from "ava";
import pg from "pg";
import { VehicleStateChangedSchema } from "../../../gen/fleetmesh/fleet/v1/events_pb.js";
import { createDatabase } from "../../platform/src/db.js";
import { appendToOutbox } from "../../platform/src/events/outbox.js";
import { createTestKeys, superuser } from "../../platform/src/testing/harness.js";
import {
  createTopics, deleteTopicsWithPrefix, readTopic, testKafka, TEST_BROKERS, uniqueTopicPrefix, waitFor,
} from "../../platform/src/testing/kafka.js";
import { count, fleetProcessEnv, spawnFleet, type FleetProcess } from "./events-support.js";
import { createTestDatabaseRetrying } from "./support.js";

/**
 * Locks the 50 lowest unpublished outbox rows in a transaction of a
 * connection of its own (the test's superuser one is busy elsewhere).
 */
async function lockNextUnpublished(admin: pg.Client): Promise<{ release(): Promise<void> }> {
  const client = new pg.Client({ ...superuser, database: (await admin.query<{ db: string }>("SELECT current_database() AS db")).rows[0]!.db });
  await client.connect();
  await client.query("BEGIN");
  await client.query("SELECT id FROM outbox_events WHERE published_at IS NULL ORDER BY sequence LIMIT 50 FOR UPDATE");
  return {
    async release() {
      await client.query("ROLLBACK");
      await client.end();
    },
  };
}

const AGGREGATES_PER_WRITER = 10;
const WRITERS = 4;
const EVENTS_PER_TRANSACTION = 10;

test("the relay killed with SIGKILL mid-batch loses no committed event and never publishes a rolled-back one", async (t) => {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  const prefix = uniqueTopicPrefix();
  const topic = `${prefix}fleet.vehicle.v1`;
  await createTopics(admin, [topic]);
  const testDb = await createTestDatabaseRetrying("fleet", "migrations/fleet");
  const db = createDatabase(testDb.config, "relay-kill-writer");
  const keys = createTestKeys();
  const env = fleetProcessEnv(testDb, keys, {
    BROKERS: TEST_BROKERS.join(","),
    TOPIC_PREFIX: prefix,
    RELAY__BATCH_SIZE: "1000",
    RELAY__LEADER_CHECK_MS: "100",
    CONSUMER__ENABLED: "false",
  });

  const committed = new Map<string, { aggregate: string; n: bigint }>();
  const rolledBack = new Set<string>();
  let writing = true;
  let transactions = 0;
  // Each writer owns its aggregates and writes them one transaction at a
  // time, so an aggregate's commit order is known: n increases.
  const writer = async (aggregates: string[]) => {
    const next = new Map(aggregates.map((a) => [a, 0n]));
    while (writing) {
      const rollBack = ++transactions % 7 === 0;
      const pending: Array<[string, { aggregate: string; n: bigint }]> = [];
      try {
        await db.transaction(async (trx) => {
          const events = Array.from({ length: EVENTS_PER_TRANSACTION }, (_, i) => {
            const aggregate = aggregates[i % aggregates.length]!;
            const n = next.get(aggregate)! + 1n;
            next.set(aggregate, n);
            return { aggregate, n };
          });
          const ids = await appendToOutbox(trx, events.map(({ aggregate, n }) => ({
            schema: VehicleStateChangedSchema,
            message: create(VehicleStateChangedSchema, { vehicleId: aggregate, rowVersion: n }),
            aggregateId: aggregate,
          })));
          ids.forEach((id, i) => pending.push([id, events[i]!]));
          if (rollBack) throw new Error("roll back");
        });
        for (const [id, e] of pending) committed.set(id, e);
      } catch {
        for (const [id] of pending) rolledBack.add(id);
        // The rolled-back numbers are never seen; later ones continue above them.
      }
    }
  };
  const published = () => count(testDb.admin, "SELECT count(*) AS n FROM outbox_events WHERE published_at IS NOT NULL");
  const writers: Array<Promise<void>> = [];
  const children: FleetProcess[] = [];
  try {
    for (let w = 0; w < WRITERS; w++) writers.push(writer(Array.from({ length: AGGREGATES_PER_WRITER }, () => randomUUID())));
    // A backlog first, so that the relay is busy when it is killed.
    await waitFor("a backlog", () => committed.size >= 4_000, 30_000, 20);
    const inKafka = async () => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    let kills = 0;
    for (const [threshold, between] of [[1_000, true], [3_000, false]] as const) {
      const relay = spawnFleet("dist/services/fleet/src/main.js", env);
      children.push(relay);
      await waitFor(`${threshold} published events`, async () => (await published()) >= threshold, 30_000, 10);
      if (between) {
        // Hold row locks on the next unpublished rows: the relay reads them
        // (reads take no locks), sends them, and then waits to mark them.
        // Kafka is then ahead of the outbox: kill it right there.
        const locker = await lockNextUnpublished(testDb.admin);
        // The relay's next batch starts with the lowest unpublished rows, so
        // its mark ends up waiting on these locks, after the batch was sent.
        // Wait for that wait itself: a batch read before the locked rows
        // committed (a late commit of lower sequence numbers) is marked
        // without waiting, so "Kafka ahead of the outbox" alone may be a
        // passing moment.
        await waitFor("the relay's mark to wait on the locked rows", async () => (await count(testDb.admin,
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'fleet-outbox-relay' AND wait_event_type = 'Lock'")) === 1,
        20_000, 10);
        t.true((await inKafka()) > (await published()), "the waiting batch was sent");
        relay.child.kill("SIGKILL");
        await relay.exited;
        // PostgreSQL would still run the dead process's waiting UPDATE to its
        // commit once the locks go; end it, as if the process had died before
        // its mark reached the database.
        await testDb.admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'fleet-outbox-relay' AND wait_event_type = 'Lock'");
        await locker.release();
        t.true((await inKafka()) > (await published()), "killed after sending a batch, before marking it");
      } else {
        // Anywhere in its loop.
        relay.child.kill("SIGKILL");
      }
      t.is(await relay.exited, "SIGKILL");
      kills += 1;
      t.true((await published()) < committed.size, "killed with events still to publish");
    }
    const last = spawnFleet("dist/services/fleet/src/main.js", env);
    children.push(last);
    await new Promise((r) => setTimeout(r, 500));
    writing = false;
    await Promise.all(writers);
    await waitFor("the backlog to drain", async () =>
      (await count(testDb.admin, "SELECT count(*) AS n FROM outbox_events WHERE published_at IS NULL")) === 0, 30_000);
    t.is(await count(testDb.admin, "SELECT count(*) AS n FROM outbox_events"), committed.size, "the outbox holds exactly the committed events");

    const messages = await readTopic(kafka, topic, 60_000);
    const delivered = new Set(messages.map((m) => m.header("event-id")!));
    const lost = [...committed.keys()].filter((id) => !delivered.has(id));
    t.deepEqual(lost, [], "every committed event was delivered");
    t.deepEqual([...rolledBack].filter((id) => delivered.has(id)), [], "no rolled-back event was delivered");
    t.true([...delivered].every((id) => committed.has(id)), "nothing else was delivered");
    // Per aggregate, first deliveries come in commit order (duplicates of a
    // re-sent batch may follow; consumers drop them by event id).
    const firstSeen = new Set<string>();
    const lastN = new Map<string, bigint>();
    let outOfOrder = 0;
    for (const m of [...messages].sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))) {
      const id = m.header("event-id")!;
      if (firstSeen.has(id)) continue;
      firstSeen.add(id);
      const n = fromBinary(VehicleStateChangedSchema, m.value!).rowVersion;
      if (n < (lastN.get(m.key!) ?? 0n)) outOfOrder += 1;
      lastN.set(m.key!, n);
    }
    t.is(outOfOrder, 0, "per-aggregate order");
    t.log(`${kills} kills, ${committed.size} committed events in ${transactions} transactions, ` +
      `${rolledBack.size} rolled back, ${messages.length - delivered.size} duplicates delivered`);
    t.true(messages.length > delivered.size, "the batch sent before the kill was sent again (at least once)");
  } finally {
    writing = false;
    await Promise.allSettled(writers);
    for (const c of children) c.child.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    await db.close();
    await testDb.drop();
    await deleteTopicsWithPrefix(admin, prefix);
    await admin.disconnect();
  }
});
