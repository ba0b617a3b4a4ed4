// The consumer kit's retry and dead-letter policy and the dead-letter replay
// command, with handlers of the test's own (effects in a test table of a
// fleet database), against the real broker.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import anyTest, { type TestFn } from "ava";
import type { Kafka } from "kafkajs";
import { pino } from "pino";
import { Registry } from "prom-client";
import { RentalActivatedSchema } from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { createDatabase, repoRoot, type Database } from "../../platform/src/db.js";
import { createEventConsumer, handleEvent, type EventConsumer, type EventConsumerOptions } from "../../platform/src/events/consumer.js";
import { PermanentEventError } from "../../platform/src/events/failures.js";
import type { TestDatabase } from "../../platform/src/testing/harness.js";
import {
  createExactTopics, groupLag, openKafkaTestContext, readTopic, TEST_BROKERS, waitFor, type KafkaTestContext,
} from "../../platform/src/testing/kafka.js";
import { rentalActivated, startEventSource, type EventSource } from "./events-support.js";
import { createTestDatabaseRetrying } from "./support.js";

interface Context extends KafkaTestContext {
  readonly testDb: TestDatabase;
  readonly db: Database;
  readonly source: EventSource;
  readonly consumer: EventConsumer;
  readonly registry: Registry;
  /** Rental ids whose activation fails like a bug would (plain Error), and how often it was tried. */
  readonly failing: Map<string, number>;
  /** Rental ids whose activation is refused as permanently invalid, until removed. */
  readonly blocked: Set<string>;
}

const test = anyTest as TestFn<Context>;

const effectsOf = async (db: Database, rentalId: string): Promise<number> =>
  Number((await db.knex.raw<{ rows: Array<{ n: string }> }>("SELECT count(*) AS n FROM test_effects WHERE rental_id = ?", [rentalId])).rows[0]!.n);

const consumerOptions = (c: { kafka: Kafka; db: Database; registry: Registry }, prefix: string, handlers: EventConsumerOptions["handlers"]): EventConsumerOptions => ({
  kafka: c.kafka,
  db: c.db,
  log: pino({ level: "silent" }),
  registry: c.registry,
  groupId: `${prefix}kit`,
  topicPrefix: prefix,
  handlers,
  maxAttempts: 3,
  retryInitialMs: 20,
  retryMaxMs: 100,
  partitionsConcurrently: 3,
  sessionTimeoutMs: 6_000,
  fromBeginning: true,
  inboxRetentionDays: 30,
});

/** Records the activation in test_effects, inside the inbox transaction. */
const recordingHandler = (db: Database, failing: Map<string, number>, blocked: Set<string>) =>
  handleEvent(RentalActivatedSchema, async (m, event) => {
    if (failing.has(m.rentalId)) {
      failing.set(m.rentalId, failing.get(m.rentalId)! + 1);
      throw new Error(`boom: rental ${m.rentalId} cannot be handled`);
    }
    if (blocked.has(m.rentalId)) throw new PermanentEventError("TEST_BLOCKED", `rental ${m.rentalId} is blocked`);
    await db.executor()("test_effects").insert({ message_id: event.messageId, rental_id: m.rentalId });
  });

test.before(async (t) => {
  const kafkaContext = await openKafkaTestContext(["rental.rental.v1"]);
  const { kafka, prefix } = kafkaContext;
  const testDb = await createTestDatabaseRetrying("fleet", "migrations/fleet");
  await testDb.admin.query(`CREATE TABLE test_effects (message_id text PRIMARY KEY, rental_id text NOT NULL);
    GRANT SELECT, INSERT ON test_effects TO ${testDb.config.user}`);
  const db = createDatabase(testDb.config, "kit-test");
  const registry = new Registry();
  const failing = new Map<string, number>();
  const blocked = new Set<string>();
  const consumer = createEventConsumer(consumerOptions({ kafka, db, registry }, prefix, [recordingHandler(db, failing, blocked)]));
  consumer.start();
  const source = await startEventSource(prefix);
  t.context = { ...kafkaContext, testDb, db, source, consumer, registry, failing, blocked };
});

test.after.always(async (t) => {
  const c = t.context;
  await c.consumer?.stop();
  await c.source?.stop();
  await c.db?.close();
  await c.testDb?.drop();
  await c.close();
});

test("a poison message goes to the dead-letter topic after the configured attempts, and later messages are processed", async (t) => {
  const c = t.context;
  const poison = randomUUID();
  const behind = randomUUID();
  const other = randomUUID();
  c.failing.set(poison, 0);
  const [poisonEvent] = await c.source.emit(rentalActivated(poison, randomUUID()));
  // Behind it in the same partition (same key), and elsewhere.
  await c.source.emit({ ...rentalActivated(behind, randomUUID()), aggregateId: poison });
  await c.source.emit(rentalActivated(other, randomUUID()));
  const [dead] = await waitFor("the dead letter", async () => {
    const found = (await readTopic(c.kafka, `${c.prefix}rental.rental.v1.dlq`)).filter((m) => m.header("event-id") === poisonEvent);
    return found.length > 0 ? found : undefined;
  });
  t.is(dead!.header("dlq-attempts"), "3");
  t.is(dead!.header("dlq-error-reason"), "HANDLER_FAILED");
  t.regex(dead!.header("dlq-error-message") ?? "", /boom/);
  await waitFor("the later events", async () => (await effectsOf(c.db, other)) === 1 && (await effectsOf(c.db, behind)) === 1);
  t.is(c.failing.get(poison), 3, "tried maxAttempts times");
  t.is(await effectsOf(c.db, poison), 0);
  await waitFor("the offsets to be committed", async () => (await groupLag(c.admin, `${c.prefix}kit`, `${c.prefix}rental.rental.v1`)) === 0n);
  t.regex(await c.registry.metrics(), /events_handler_retries_total\{topic="[^"]+",event_type="fleetmesh.rental.v1.RentalActivated"\} [2-9]/);
});

test("the replay command sends dead letters back; the consumer applies each once, however often it is replayed", async (t) => {
  const c = t.context;
  const rentalId = randomUUID();
  c.blocked.add(rentalId);
  const [eventId] = await c.source.emit(rentalActivated(rentalId, randomUUID()));
  await waitFor("the dead letter", async () =>
    (await readTopic(c.kafka, `${c.prefix}rental.rental.v1.dlq`)).some((m) => m.header("event-id") === eventId));
  const replay = (...args: string[]) => promisify(execFile)(process.execPath, ["dist/scripts/events-replay-dlq.js",
    "--brokers", TEST_BROKERS.join(","), "--topic", `${c.prefix}rental.rental.v1`, "--event-id", eventId!, ...args], { cwd: repoRoot });
  const dry = await replay("--dry-run");
  t.regex(dry.stdout, /1 matching dead letter/);
  t.regex(dry.stdout, /TEST_BLOCKED/);
  t.regex(dry.stdout, /would replay 1 event/);
  const listed = JSON.parse((await replay("--dry-run", "--json")).stdout.trim()) as { payload: { rentalId: string }; reason: string };
  t.is(listed.payload.rentalId, rentalId, "payloads render as JSON");
  await new Promise((r) => setTimeout(r, 300));
  t.is(await effectsOf(c.db, rentalId), 0, "a dry run sends nothing");

  c.blocked.delete(rentalId);
  t.regex((await replay()).stdout, /replayed 1 event/);
  await waitFor("the replayed event to apply", async () => (await effectsOf(c.db, rentalId)) === 1);
  t.regex((await replay()).stdout, /replayed 1 event/);
  await waitFor("the second copy to be consumed", async () => (await groupLag(c.admin, `${c.prefix}kit`, `${c.prefix}rental.rental.v1`)) === 0n);
  t.is(await effectsOf(c.db, rentalId), 1, "replaying twice has no second effect");
  const copies = (await readTopic(c.kafka, `${c.prefix}rental.rental.v1.dlq`)).filter((m) => m.header("event-id") === eventId);
  t.is(copies.length, 1, "nothing was dead-lettered again");
  const none = await replay("--since", new Date(Date.now() + 3_600_000).toISOString(), "--dry-run");
  t.regex(none.stdout, /would replay 0 event/, "time filters apply");
});

test("when the dead-letter publish fails the offset is not committed and the partition waits, until it succeeds", async (t) => {
  const c = t.context;
  const prefix = `${c.prefix}nodlq.`;
  // The topic without its .dlq: dead-lettering cannot succeed.
  await createExactTopics(c.admin, [`${prefix}rental.rental.v1`], 1);
  const registry = new Registry();
  const blocked = new Set<string>();
  const consumer = createEventConsumer(consumerOptions({ kafka: c.kafka, db: c.db, registry }, prefix, [recordingHandler(c.db, new Map(), blocked)]));
  const source = await startEventSource(prefix);
  consumer.start();
  try {
    const poison = randomUUID();
    const next = randomUUID();
    blocked.add(poison);
    await source.emit(rentalActivated(poison, randomUUID()));
    await source.emit(rentalActivated(next, randomUUID()));
    await waitFor("a failed dead-letter publish", async () => /events_dead_letter_failures_total\{topic="[^"]+"\} [1-9]/.test(await registry.metrics()));
    await new Promise((r) => setTimeout(r, 1_500));
    t.is(await effectsOf(c.db, next), 0, "the partition does not move past the poison message");
    t.is(await groupLag(c.admin, `${prefix}kit`, `${prefix}rental.rental.v1`), 2n, "no offset committed");

    await createExactTopics(c.admin, [`${prefix}rental.rental.v1.dlq`], 1);
    await waitFor("the next event", async () => (await effectsOf(c.db, next)) === 1, 30_000);
    await waitFor("the offsets", async () => (await groupLag(c.admin, `${prefix}kit`, `${prefix}rental.rental.v1`)) === 0n);
    const dead = await readTopic(c.kafka, `${prefix}rental.rental.v1.dlq`);
    t.is(dead.length, 1);
    t.is(dead[0]!.header("dlq-error-reason"), "TEST_BLOCKED");
  } finally {
    await consumer.stop();
    await source.stop();
  }
});
