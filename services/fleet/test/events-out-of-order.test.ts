// Vehicle state stays right whatever the order in which rental and
// maintenance events arrive: events of different rentals and jobs of one
// vehicle travel on different keys and topics, so a take can arrive before
// the release that frees the vehicle, or a completion before its activation.
// Fleet defers such events (DeferredEventError); the kit parks them off the
// partition and re-drives them until they apply (docs/events.md, "Fleet
// consumer" and "Parked events"). Real PostgreSQL and Kafka.
import { randomUUID } from "node:crypto";
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import anyTest, { type TestFn } from "ava";
import { VehicleStateChangedSchema } from "../../../gen/fleetmesh/fleet/v1/events_pb.js";
import { MaintenanceCompletedSchema, MaintenanceStartedSchema } from "../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { RentalActivatedSchema, RentalCompletedSchema } from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import type { OutboxMessage } from "../../platform/src/events/outbox.js";
import { groupLag, openKafkaTestContext, readTopic, waitFor, type KafkaTestContext } from "../../platform/src/testing/kafka.js";
import { count, FLEET_TOPICS, fleetKafkaConfig, insertVehicle, startEventSource, vehicleState, type EventSource } from "./events-support.js";
import { startFleet, type FleetHarness } from "./support.js";

interface Context extends KafkaTestContext {
  readonly source: EventSource;
  readonly fleet: FleetHarness;
}

const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const kafka = await openKafkaTestContext(FLEET_TOPICS);
  const source = await startEventSource(kafka.prefix);
  // A park window far above what settling takes; quick re-drives.
  const fleet = await startFleet({
    kafka: fleetKafkaConfig(kafka.prefix, { consumer: { parkWindowMs: 60_000, parkRetryInitialMs: 50, parkRetryMaxMs: 250 } }),
  });
  t.context = { ...kafka, source, fleet };
});

test.after.always(async (t) => {
  await t.context.fleet?.stop();
  await t.context.source?.stop();
  await t.context.close();
});

/** mulberry32: a small seeded PRNG, so a failing permutation can be replayed from its seed. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
};

const shuffled = <T>(items: readonly T[], seed: number): T[] => {
  const random = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

type Step = { readonly what: string; readonly hold: "rental" | "maintenance_job"; readonly holdId: string; readonly take: boolean; readonly at: Date; readonly km: number };

/**
 * One vehicle's life in order: rental A, a maintenance job, rental B, each
 * taking and giving back the vehicle, a minute apart, the odometer growing.
 */
const lifeOf = (start: Date): Step[] => {
  const [a, m, b] = [randomUUID(), randomUUID(), randomUUID()];
  const at = (i: number) => new Date(start.getTime() + i * 60_000);
  return [
    { what: "A activated", hold: "rental", holdId: a, take: true, at: at(0), km: 1_000 },
    { what: "A completed", hold: "rental", holdId: a, take: false, at: at(1), km: 1_250 },
    { what: "M started", hold: "maintenance_job", holdId: m, take: true, at: at(2), km: 1_260 },
    { what: "M completed", hold: "maintenance_job", holdId: m, take: false, at: at(3), km: 1_270 },
    { what: "B activated", hold: "rental", holdId: b, take: true, at: at(4), km: 1_280 },
    { what: "B completed", hold: "rental", holdId: b, take: false, at: at(5), km: 1_600 },
  ];
};

/** The upstream event of a step, as rental or maintenance would publish it (keyed by rental or job id). */
const eventOf = (vehicleId: string, s: Step): OutboxMessage => {
  const time = timestampFromDate(s.at);
  if (s.hold === "rental") {
    return (s.take
      ? { schema: RentalActivatedSchema, aggregateId: s.holdId, message: create(RentalActivatedSchema, {
        rentalId: s.holdId, vehicleId, customerId: randomUUID(), pickupTime: time, originLocationId: randomUUID(), rowVersion: 2n, pickupOdometerKm: s.km }) }
      : { schema: RentalCompletedSchema, aggregateId: s.holdId, message: create(RentalCompletedSchema, {
        rentalId: s.holdId, vehicleId, customerId: randomUUID(), returnTime: time, rowVersion: 3n, returnOdometerKm: s.km }) }) as OutboxMessage;
  }
  return (s.take
    ? { schema: MaintenanceStartedSchema, aggregateId: s.holdId, message: create(MaintenanceStartedSchema, {
      maintenanceJobId: s.holdId, vehicleId, startTime: time, rowVersion: 2n, odometerKm: s.km }) }
    : { schema: MaintenanceCompletedSchema, aggregateId: s.holdId, message: create(MaintenanceCompletedSchema, {
      maintenanceJobId: s.holdId, vehicleId, completeTime: time, rowVersion: 3n, odometerKm: s.km }) }) as OutboxMessage;
};

interface Outcome {
  readonly state: { status: string; hold_kind: string | null; hold_id: string | null; odometer_km: number | null; row_version: string } | undefined;
  /** vehicle_holds, by the time each hold took the vehicle. */
  readonly holds: string[];
  /** VehicleStateChanged events fleet wrote, sorted (their order follows arrival, their set must not). */
  readonly changes: string[];
}

const outcomeOf = async (fleet: FleetHarness, vehicleId: string): Promise<Outcome> => ({
  state: await vehicleState(fleet.db.admin, vehicleId),
  holds: (await fleet.db.admin.query<{ h: string }>(
    `SELECT concat_ws('|', hold_kind, hold_id, to_char(taken_at AT TIME ZONE 'UTC', 'HH24:MI'), to_char(released_at AT TIME ZONE 'UTC', 'HH24:MI'), ended_by) AS h
       FROM vehicle_holds WHERE vehicle_id = $1 ORDER BY taken_at`, [vehicleId])).rows.map((r) => r.h),
  changes: (await fleet.db.admin.query<{ payload_bin: Buffer }>(
    "SELECT payload_bin FROM outbox_events WHERE aggregate_id = $1 AND event_type = 'fleetmesh.fleet.v1.VehicleStateChanged'", [vehicleId]))
    .rows.map((r) => fromBinary(VehicleStateChangedSchema, r.payload_bin)).map((c) => `${c.previousStatus}>${c.newStatus} ${c.causeRef} ${c.reason}`).sort(),
});

/** What the in-order sequence gives, from the steps alone. */
const expectedOf = (steps: readonly Step[]): Outcome => {
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);
  const holds = steps.filter((s) => s.take).map((take) => {
    const release = steps.find((s) => !s.take && s.holdId === take.holdId)!;
    return `${take.hold}|${take.holdId}|${hhmm(take.at)}|${hhmm(release.at)}|event`;
  });
  const ref = (s: Step) => `${s.hold === "rental" ? "rentals" : "maintenance_jobs"}/${s.holdId}`;
  // fleet.v1.VehicleStatus: ACTIVE 1, RENTED 2, UNDER_MAINTENANCE 3.
  const held = (s: Step) => (s.hold === "rental" ? 2 : 3);
  const reason = (s: Step) => `${s.hold === "rental" ? "rental" : "maintenance"} ${s.take ? (s.hold === "rental" ? "activated" : "started") : "completed"}`;
  return {
    state: { status: "active", hold_kind: null, hold_id: null, odometer_km: Math.max(...steps.map((s) => s.km)), row_version: String(1 + steps.length) },
    holds,
    changes: steps.map((s) => (s.take ? `1>${held(s)} ${ref(s)} ${reason(s)}` : `${held(s)}>1 ${ref(s)} ${reason(s)}`)).sort(),
  };
};

const parkedTotal = async (fleet: FleetHarness): Promise<number> =>
  [...(await fleet.service.metrics.registry.metrics()).matchAll(/^events_parked_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);

test.serial("shuffled deliveries of rental and maintenance events leave every vehicle as the in-order sequence does, nothing dead-lettered", async (t) => {
  const { source, fleet } = t.context;
  const seeds = [0, 1_337, 20_260_101, 424_242];
  const start = new Date(Date.UTC(2026, 0, 1, 8, 0, 0));
  // Two vehicles per permutation, their events interleaved; seed 0 is the identity (the in-order control).
  type Vehicle = { vehicleId: string; steps: Step[] };
  const runs: Array<{ seed: number; vehicles: Vehicle[]; order: Array<{ vehicleId: string; step: Step }> }> = [];
  for (const seed of seeds) {
    const vehicles: Vehicle[] = [];
    for (const v of [0, 1]) vehicles.push({ vehicleId: await insertVehicle(fleet.db.admin), steps: lifeOf(new Date(start.getTime() + v * 3_600_000)) });
    const all = vehicles.flatMap(({ vehicleId, steps }) => steps.map((step) => ({ vehicleId, step })));
    runs.push({ seed, vehicles, order: seed === 0 ? all : shuffled(all, seed) });
  }
  const describe = () => runs.map((r) => `seed ${r.seed}: ${r.order.map((o) => `${o.vehicleId.slice(0, 4)}:${o.step.what}`).join(", ")}`).join("\n");
  t.log(describe());

  // Each event in its own transaction, in permutation order, the permutations interleaved.
  const eventIds: string[] = [];
  for (let i = 0; i < 12; i++) {
    for (const run of runs) {
      const { vehicleId, step } = run.order[i]!;
      eventIds.push(...(await source.emit(eventOf(vehicleId, step))));
    }
  }
  const vehicleIds = runs.flatMap((r) => r.vehicles.map((v) => v.vehicleId));
  const settled = await waitFor("every vehicle to settle and nothing to stay parked", async () => {
    const versions = await count(fleet.db.admin, "SELECT count(*) AS n FROM vehicles WHERE id = ANY($1) AND row_version = 7", [vehicleIds]);
    const parked = await count(fleet.db.admin, "SELECT count(*) AS n FROM parked_events WHERE message_id = ANY($1)", [eventIds]);
    const inbox = await count(fleet.db.admin, "SELECT count(*) AS n FROM inbox_processed_messages WHERE message_id = ANY($1)", [eventIds]);
    return versions === vehicleIds.length && parked === 0 && inbox === eventIds.length ? true : undefined;
  }, 60_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\npermutations:\n${describe()}`);
  });
  t.true(settled);

  for (const run of runs) {
    for (const { vehicleId, steps } of run.vehicles) {
      t.deepEqual(await outcomeOf(fleet, vehicleId), expectedOf(steps), `vehicle ${vehicleId}, seed ${run.seed}\n${describe()}`);
    }
  }
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM inbox_processed_messages WHERE message_id = ANY($1) AND outcome = 'applied'", [eventIds]),
    eventIds.length, "every event applied, each recorded once (message_id is the inbox's key)");
  for (const topic of ["rental.rental.v1", "maintenance.job.v1"]) {
    const dead = (await readTopic(t.context.kafka, `${t.context.prefix}${topic}.dlq`)).filter((m) => eventIds.includes(m.header("event-id") ?? ""));
    t.deepEqual(dead.map((m) => m.header("dlq-error-reason")), [], `nothing dead-lettered on ${topic}`);
    await waitFor(`the group to commit past ${topic}`, async () => (await groupLag(t.context.admin, `${t.context.prefix}fleet`, `${t.context.prefix}${topic}`)) === 0n);
  }
  // Seeds 1337 and others put completions before their activations on the same key: those must have been parked.
  t.true(await parkedTotal(fleet) > 0, "some events were parked and re-driven");
  t.regex(await fleet.service.metrics.registry.metrics(), /events_unparked_total\{[^}]*outcome="applied"[^}]*\} [1-9]/);
});

test.serial("a parked event delivered again is parked once and applied once, when what it waits for arrives", async (t) => {
  const { source, fleet } = t.context;
  const vehicleId = await insertVehicle(fleet.db.admin);
  const steps = lifeOf(new Date(Date.UTC(2026, 0, 2, 8, 0, 0))).slice(0, 2);
  const completion = randomUUID();
  await source.emit({ ...eventOf(vehicleId, steps[1]!), eventId: completion } as OutboxMessage);
  await waitFor("the completion to be parked", async () =>
    (await count(fleet.db.admin, "SELECT count(*) AS n FROM parked_events WHERE message_id = $1", [completion])) === 1 || undefined);
  const parkedBefore = await parkedTotal(fleet);
  // The same event again (a producer retry), then a marker behind it on the same key (same rental).
  await source.db.knex.raw("UPDATE outbox_events SET published_at = NULL WHERE id = ?", [completion]);
  await source.db.knex.raw("SELECT pg_notify('outbox_events', '')");
  await waitFor("the copy to be consumed", async () =>
    /events_consumed_total\{[^}]*event_type="fleetmesh\.rental\.v1\.RentalCompleted",outcome="duplicate"[^}]*\} [1-9]/.test(await fleet.service.metrics.registry.metrics()) || undefined);
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM parked_events WHERE message_id = $1", [completion]), 1, "parked once");
  t.is(await parkedTotal(fleet), parkedBefore, "the copy is not counted as parked again");
  t.is((await vehicleState(fleet.db.admin, vehicleId))?.row_version, "1", "nothing applied yet");

  await source.emit(eventOf(vehicleId, steps[0]!));
  await waitFor("both to apply and the park to empty", async () =>
    (await vehicleState(fleet.db.admin, vehicleId))?.row_version === "3"
    && (await count(fleet.db.admin, "SELECT count(*) AS n FROM parked_events WHERE message_id = $1", [completion])) === 0 || undefined);
  t.deepEqual(await outcomeOf(fleet, vehicleId), expectedOf(steps));
  t.is(await count(fleet.db.admin, "SELECT count(*) AS n FROM inbox_processed_messages WHERE message_id = $1 AND outcome = 'applied'", [completion]), 1);
});
