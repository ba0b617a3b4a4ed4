// Fault test: the Kafka broker is stopped and started again while fleet
// takes writes. Writes only need PostgreSQL, so they all succeed; the outbox
// backs up and drains once the broker is back; nothing is lost.
//
// The broker is a private one (own data directory and ports, started and
// stopped by scripts/infra/infra.sh), so the shared broker that other tests
// and developers use is never stopped.
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import { createPrivateBroker, readTopic, testKafka, waitFor } from "../../platform/src/testing/kafka.js";
import { count } from "./events-support.js";
import { sampleAttributes, startFleet, uniquePlate, type FleetHarness } from "./support.js";

test("with the broker stopped and restarted during a stream of writes, writes succeed and the backlog drains without loss", async (t) => {
  t.timeout(110_000);
  const broker = await createPrivateBroker();
  let fleet: FleetHarness | undefined;
  let writing = true;
  let writer: Promise<void> | undefined;
  try {
    const started = Date.now();
    await broker.start();
    t.log(`private broker up in ${Date.now() - started} ms`);
    fleet = await startFleet({
      kafka: {
        enabled: true,
        brokers: [...broker.brokers],
        relay: { pollIntervalMs: 1_000, leaderCheckMs: 250 },
        consumer: { enabled: false, groupId: "unused" },
      },
    });
    const h = fleet;
    let ok = 0;
    const failures: string[] = [];
    writer = (async () => {
      while (writing) {
        try {
          await h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, h.as());
          ok += 1;
        } catch (err) {
          failures.push(String(err));
        }
        await sleep(10);
      }
    })();
    const backlog = () => count(h.db.admin, "SELECT count(*) AS n FROM outbox_events WHERE published_at IS NULL");
    await waitFor("the relay to publish", async () => ok > 20 && (await backlog()) < 5, 20_000);

    const outage = Date.now();
    await broker.stop();
    const writesBefore = ok;
    await sleep(2_000);
    t.true((await backlog()) > 0, "events wait in the outbox while the broker is down");
    await broker.start();
    t.log(`broker down for ${Date.now() - outage} ms; ${ok - writesBefore} writes meanwhile`);
    t.true(ok - writesBefore > 50, "writes went on during the outage");
    await sleep(1_000);
    writing = false;
    await writer;
    t.deepEqual(failures, [], "no write failed");

    const drainStarted = Date.now();
    await waitFor("the backlog to drain", async () => (await backlog()) === 0, 30_000);
    t.log(`backlog drained ${Date.now() - drainStarted} ms after the last write`);
    const failed = /outbox_publish_failures_total\{service="fleet"\} (\d+)/.exec(await h.service.metrics.registry.metrics());
    t.true(Number(failed?.[1] ?? 0) > 0, "the relay noticed the outage");

    const written = new Set((await h.db.admin.query<{ id: string }>("SELECT id FROM outbox_events")).rows.map((r) => r.id));
    t.is(written.size, ok, "one event per write");
    const delivered = new Set((await readTopic(testKafka([...broker.brokers]), "fleet.vehicle.v1", 30_000)).map((m) => m.header("event-id")));
    t.deepEqual([...written].filter((id) => !delivered.has(id)), [], "every event reached Kafka");
  } finally {
    writing = false;
    await writer?.catch(() => undefined);
    await fleet?.stop();
    await broker.destroy();
  }
});
