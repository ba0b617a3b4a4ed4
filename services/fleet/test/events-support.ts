// Shared by fleet's events tests: Kafka configuration for a test, a stand-in
// upstream producer (rental/maintenance do not exist yet) that publishes
// through the real outbox and relay, event builders and a database checksum.
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Kafka } from "kafkajs";
import type pg from "pg";
import { pino } from "pino";
import { Registry } from "prom-client";
import {
  MaintenanceCancelledSchema,
  MaintenanceCompletedSchema,
  MaintenanceStartedSchema,
} from "../../../gen/fleetmesh/maintenance/v1/events_pb.js";
import { MaintenanceStatus } from "../../../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import {
  RentalActivatedSchema,
  RentalCancelledSchema,
  RentalCompletedSchema,
} from "../../../gen/fleetmesh/rental/v1/events_pb.js";
import { RentalStatus } from "../../../gen/fleetmesh/rental/v1/rental_pb.js";
import { createDatabase, repoRoot, type Database } from "../../platform/src/db.js";
import { appendToOutbox, type OutboxMessage } from "../../platform/src/events/outbox.js";
import { createOutboxRelay, type OutboxRelay } from "../../platform/src/events/outbox-relay.js";
import type { TestDatabase, TestKeys } from "../../platform/src/testing/harness.js";
import { testKafka, TEST_BROKERS, waitFor } from "../../platform/src/testing/kafka.js";
import { createTestDatabaseRetrying } from "./support.js";

/** Logical topics fleet produces to and consumes from. */
export const FLEET_TOPICS = ["fleet.vehicle.v1", "rental.rental.v1", "maintenance.job.v1"] as const;

/** A `kafka` config section for fleet in a test: own topics (prefix) and group, quick timings. */
export const fleetKafkaConfig = (prefix: string, overrides: { brokers?: readonly string[]; consumer?: Record<string, unknown>; relay?: Record<string, unknown> } = {}) => ({
  enabled: true,
  brokers: [...(overrides.brokers ?? TEST_BROKERS)],
  topicPrefix: prefix,
  relay: { pollIntervalMs: 2_000, leaderCheckMs: 250, ...overrides.relay },
  consumer: {
    groupId: `${prefix}fleet`,
    maxAttempts: 3,
    retryInitialMs: 20,
    retryMaxMs: 200,
    sessionTimeoutMs: 6_000,
    ...overrides.consumer,
  },
});

/**
 * Stands in for the rental and maintenance services: a database with an
 * outbox and the real relay publishing it, so fleet is tested with events
 * produced exactly as a real producer would.
 */
export interface EventSource {
  readonly db: Database;
  readonly testDb: TestDatabase;
  readonly relay: OutboxRelay;
  /** Appends the events in one transaction; returns their event ids. */
  emit(...events: OutboxMessage[]): Promise<string[]>;
  /** Resolves once every emitted event is published. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEventSource(prefix: string, brokers: readonly string[] = TEST_BROKERS): Promise<EventSource> {
  const testDb = await createTestDatabaseRetrying("evsrc", "migrations/fleet");
  const db = createDatabase(testDb.config, "event-source");
  const relay = createOutboxRelay({
    db,
    connection: testDb.config,
    kafka: testKafka(brokers, "event-source"),
    topicPrefix: prefix,
    log: pino({ level: "silent" }),
    registry: new Registry(),
    batchSize: 500,
    pollIntervalMs: 2_000,
    leaderCheckMs: 250,
    retainPublishedHours: 1,
  });
  relay.start();
  return {
    db,
    testDb,
    relay,
    emit: (...events) => db.transaction((trx) => appendToOutbox(trx, events)),
    drained: async () => {
      await waitFor("the event source to publish its outbox", async () => (await relay.backlog()) === 0, 20_000);
    },
    async stop() {
      await relay.stop();
      await db.close();
      await testDb.drop();
    },
  };
}

const event = <Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, aggregateId: string, eventId?: string): OutboxMessage =>
  ({ schema, message, aggregateId, ...(eventId ? { eventId } : {}) }) as OutboxMessage;

const now = () => timestampFromDate(new Date());

export const rentalActivated = (rentalId: string, vehicleId: string, pickupOdometerKm?: number, eventId?: string) =>
  event(RentalActivatedSchema, create(RentalActivatedSchema, {
    rentalId, vehicleId, customerId: randomUUID(), pickupTime: now(), originLocationId: randomUUID(), rowVersion: 2n,
    ...(pickupOdometerKm === undefined ? {} : { pickupOdometerKm }),
  }), rentalId, eventId);

export const rentalCompleted = (rentalId: string, vehicleId: string, returnOdometerKm?: number) =>
  event(RentalCompletedSchema, create(RentalCompletedSchema, {
    rentalId, vehicleId, customerId: randomUUID(), returnTime: now(), rowVersion: 3n,
    ...(returnOdometerKm === undefined ? {} : { returnOdometerKm }),
  }), rentalId);

export const rentalCancelled = (rentalId: string, vehicleId: string, previousStatus: RentalStatus) =>
  event(RentalCancelledSchema, create(RentalCancelledSchema, {
    rentalId, vehicleId, customerId: randomUUID(), previousStatus, reason: "customer cancelled", cancelTime: now(), rowVersion: 2n,
  }), rentalId);

export const maintenanceStarted = (jobId: string, vehicleId: string, odometerKm?: number) =>
  event(MaintenanceStartedSchema, create(MaintenanceStartedSchema, {
    maintenanceJobId: jobId, vehicleId, startTime: now(), rowVersion: 2n, ...(odometerKm === undefined ? {} : { odometerKm }),
  }), jobId);

export const maintenanceCompleted = (jobId: string, vehicleId: string, odometerKm?: number) =>
  event(MaintenanceCompletedSchema, create(MaintenanceCompletedSchema, {
    maintenanceJobId: jobId, vehicleId, completeTime: now(), rowVersion: 3n, ...(odometerKm === undefined ? {} : { odometerKm }),
  }), jobId);

export const maintenanceCancelled = (jobId: string, vehicleId: string, previousStatus: MaintenanceStatus) =>
  event(MaintenanceCancelledSchema, create(MaintenanceCancelledSchema, {
    maintenanceJobId: jobId, vehicleId, previousStatus, reason: "not needed", cancelTime: now(), rowVersion: 3n,
  }), jobId);

export { MaintenanceStatus, RentalStatus };

/** Inserts a vehicle straight into fleet's database (as the superuser), ACTIVE, row_version 1. */
export async function insertVehicle(admin: pg.Client, id = randomUUID()): Promise<string> {
  await admin.query(
    `INSERT INTO vehicles (id, plate_number, make, model, status, row_version, created_at, updated_at)
     VALUES ($1, $2, 'Test', 'Car', 'active', 1, now(), now())`,
    [id, `EV-${id.slice(0, 8).toUpperCase()}`],
  );
  return id;
}

export interface VehicleState {
  readonly status: string;
  readonly hold_kind: string | null;
  readonly hold_id: string | null;
  readonly odometer_km: number | null;
  readonly row_version: string;
}

export const vehicleState = async (admin: pg.Client, id: string): Promise<VehicleState | undefined> =>
  (await admin.query<VehicleState>("SELECT status, hold_kind, hold_id, odometer_km, row_version::text FROM vehicles WHERE id = $1", [id])).rows[0];

export const waitForVehicle = (admin: pg.Client, id: string, expected: Partial<VehicleState>, timeoutMs = 20_000) =>
  waitFor(`vehicle ${id} to be ${JSON.stringify(expected)}`, async () => {
    const state = await vehicleState(admin, id);
    return state && Object.entries(expected).every(([k, v]) => state[k as keyof VehicleState] === v) ? state : undefined;
  }, timeoutMs);

export const count = async (admin: pg.Client, sql: string, params: unknown[] = []): Promise<number> =>
  Number((await admin.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);

/**
 * md5 over everything an event could have changed in fleet's database:
 * vehicles, odometer readings, the events fleet wrote, the inbox.
 */
export async function fleetChecksum(admin: pg.Client): Promise<string> {
  const { rows } = await admin.query<{ sum: string }>(`
    SELECT md5(
      coalesce((SELECT string_agg(concat_ws('|', id, status, hold_kind, hold_id, odometer_km, row_version, updated_at), ',' ORDER BY id) FROM vehicles), '')
      || '#' || coalesce((SELECT string_agg(concat_ws('|', id, vehicle_id, reading_km, recorded_at), ',' ORDER BY id) FROM vehicle_odometer_readings), '')
      || '#' || coalesce((SELECT string_agg(concat_ws('|', id, event_type, aggregate_id, md5(payload_bin)), ',' ORDER BY id) FROM outbox_events), '')
      || '#' || coalesce((SELECT string_agg(concat_ws('|', message_id, outcome, error_reason), ',' ORDER BY message_id) FROM inbox_processed_messages), '')
    ) AS sum`);
  return rows[0]!.sum;
}

export const adminOf = async (kafka: Kafka) => {
  const admin = kafka.admin();
  await admin.connect();
  return admin;
};

/** Environment for a fleet process (dist/services/fleet/src/main.js) on a test database, with Kafka settings. */
export function fleetProcessEnv(db: TestDatabase, keys: TestKeys, kafka: Record<string, string>, ports: { grpc?: number; ops?: number } = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLEETMESH__GRPC__PORT: String(ports.grpc ?? 0),
    FLEETMESH__OPS__PORT: String(ports.ops ?? 0),
    // The test database's server, which is not the default one when FLEET_PG_PORT (or containers) say so.
    FLEETMESH__DATABASE__HOST: db.config.host,
    FLEETMESH__DATABASE__PORT: String(db.config.port),
    FLEETMESH__DATABASE__DATABASE: db.config.database,
    FLEETMESH__DATABASE__USER: db.config.user,
    FLEETMESH__DATABASE__PASSWORD: db.config.password,
    FLEETMESH__AUTH__JWKS_FILE: keys.auth.jwksFile,
    FLEETMESH__AUTH__ISSUER: keys.auth.issuer,
    FLEETMESH__AUTH__AUDIENCE: keys.auth.audience,
    FLEETMESH__SHUTDOWN__GRACE_MS: "3000",
    FLEETMESH__LOG__LEVEL: "warn",
  };
  for (const [key, value] of Object.entries(kafka)) env[`FLEETMESH__KAFKA__${key}`] = value;
  return env;
}

export interface FleetProcess {
  readonly child: ChildProcess;
  /** Resolves with the signal (or exit code) the process ended with. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
  stderr(): string;
}

/** Runs a compiled fleet entry point (main.js or a test fixture) as a child process. */
export function spawnFleet(entry: string, env: NodeJS.ProcessEnv): FleetProcess {
  const child = spawn(process.execPath, [entry], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // Logs (warn and above by default): kept with stderr for failure messages.
  child.stdout?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  return { child, exited, stderr: () => stderr };
}
