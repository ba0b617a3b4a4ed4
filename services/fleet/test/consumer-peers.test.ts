import { randomUUID } from "node:crypto";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { Registry } from "prom-client";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { RentalActivatedSchema } from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { createDatabase, type Database } from "../../platform/src/db.js";
import { createEventConsumer, handleEventRemoteFirst, type EventConsumer } from "../../platform/src/events/consumer.js";
import { createPeerClient } from "../../platform/src/peers/peer-client.js";
import { createServiceCredential } from "../../platform/src/peers/service-credential.js";
import { createTestDatabase, type TestDatabase } from "../../platform/src/testing/harness.js";
import { openKafkaTestContext, waitFor, type KafkaTestContext } from "../../platform/src/testing/kafka.js";
import { startStubFleet } from "../../platform/src/testing/peer-stub.js";
import { rentalActivated, startEventSource, type EventSource } from "./events-support.js";

// A consumer's call to a peer service, through the kit, against the real
// broker: it carries the service's own token (there is no end user), it is
// made before the inbox transaction opens (no pooled connection held while
// the peer answers), and the event's effect still applies exactly once.

interface Context extends KafkaTestContext {
  readonly testDb: TestDatabase;
  readonly db: Database;
  readonly source: EventSource;
  readonly consumer: EventConsumer;
  readonly peer: Awaited<ReturnType<typeof startStubFleet>>;
  readonly busyDuringPeerCall: number[];
  readonly tokensIssued: () => number;
}

const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const kafkaContext = await openKafkaTestContext(["rental.rental.v1"]);
  const testDb = await createTestDatabase("fleet", "migrations/fleet");
  await testDb.admin.query(`CREATE TABLE test_effects (message_id text PRIMARY KEY, rental_id text NOT NULL, peer_said text NOT NULL);
    GRANT SELECT, INSERT ON test_effects TO ${testDb.config.user}`);
  const db = createDatabase(testDb.config, "consumer-peers");
  const busyDuringPeerCall: number[] = [];
  const peer = await startStubFleet(50, () => {
    const stats = db.poolStats();
    busyDuringPeerCall.push(stats.total - stats.idle);
  });
  let issued = 0;
  const credential = createServiceCredential(async () => {
    issued += 1;
    return { accessToken: "rental-service-token", expiresAt: Date.now() + 600_000 };
  });
  const fleet = createPeerClient("fleet", FleetService, { address: peer.address, deadlineMs: 2_000 }, credential);
  const handler = handleEventRemoteFirst(
    RentalActivatedSchema,
    // As a consumer does: no request, so the call is the service's own.
    async (m) => fleet.getVehicle({ vehicleId: m.vehicleId }).then(() => "found", (err: { reason?: string }) => err.reason ?? "error"),
    async (m, event, peerSaid: string) => {
      await db.executor()("test_effects").insert({ message_id: event.messageId, rental_id: m.rentalId, peer_said: peerSaid });
    },
  );
  const consumer = createEventConsumer({
    kafka: kafkaContext.kafka,
    db,
    log: pino({ level: "silent" }),
    registry: new Registry(),
    groupId: `${kafkaContext.prefix}peers`,
    topicPrefix: kafkaContext.prefix,
    handlers: [handler],
    maxAttempts: 3,
    retryInitialMs: 20,
    retryMaxMs: 100,
    // One at a time, so that the pool count during a peer call is this event's alone.
    partitionsConcurrently: 1,
    // No parking, so no re-drive worker polls the pool while the peer answers
    // (its poll once landed inside a peer call and was counted as the event's).
    parkWindowMs: 0,
    sessionTimeoutMs: 6_000,
    fromBeginning: true,
    inboxRetentionDays: 30,
  });
  consumer.start();
  const source = await startEventSource(kafkaContext.prefix);
  t.context = { ...kafkaContext, testDb, db, source, consumer, peer, busyDuringPeerCall, tokensIssued: () => issued };
});

test.after.always(async (t) => {
  await t.context.consumer?.stop();
  await t.context.source?.stop();
  t.context.peer?.stop();
  await t.context.db?.close();
  await t.context.testDb?.drop();
  await t.context.close?.();
});

test("a consumer's peer call carries the service token, holds no connection, and the effect applies", async (t) => {
  const rentals = [randomUUID(), randomUUID(), randomUUID()];
  await t.context.source.emit(...rentals.map((r) => rentalActivated(r, randomUUID())));
  await t.context.source.drained();
  await waitFor("every effect", async () =>
    Number((await t.context.testDb.admin.query<{ n: string }>("SELECT count(*) AS n FROM test_effects")).rows[0]!.n) === 3, 30_000);
  const effects = (await t.context.testDb.admin.query<{ rental_id: string; peer_said: string }>("SELECT rental_id, peer_said FROM test_effects")).rows;
  t.deepEqual(effects.map((e) => e.rental_id).sort(), [...rentals].sort());
  t.true(effects.every((e) => e.peer_said === "VEHICLE_NOT_FOUND" || e.peer_said === "NOT_FOUND"), JSON.stringify(effects));
  t.true(t.context.peer.seen.every((s) => s.authorization === "Bearer rental-service-token"), "every peer call carried the service token");
  t.is(t.context.peer.seen.length, 3, "one peer call per event");
  t.is(t.context.tokensIssued(), 1);
  t.deepEqual(t.context.busyDuringPeerCall, [0, 0, 0], "no pooled connection held while the peer answered");
});
