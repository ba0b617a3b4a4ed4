import { status as GrpcStatus } from "@grpc/grpc-js";
import type { ExecutionContext } from "ava";
import { pino } from "pino";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { serviceConfigSchema, type ServiceConfig } from "../../platform/src/config.js";
import { createServiceClient, GrpcCallError, type ServiceClient } from "../../platform/src/grpc/client.js";
import { findDetail } from "../../platform/src/grpc/status.js";
import type { Logger } from "../../platform/src/logger.js";
import { createTestDatabase, createTestKeys, type TestDatabase, type TestKeys } from "../../platform/src/testing/harness.js";
import { build, type BuildOverrides, type FleetRunning } from "../src/main.js";

export interface FleetHarness {
  readonly db: TestDatabase;
  readonly keys: TestKeys;
  readonly service: FleetRunning;
  readonly client: ServiceClient<typeof FleetService>;
  readonly config: ServiceConfig;
  /** Call options carrying a token with the given permissions (default: all fleet ones). */
  as(permissions?: readonly string[], headers?: Record<string, string>): { headers: Record<string, string> };
  stop(): Promise<void>;
}

export const FLEET_PERMISSIONS = [
  "vehicles.register",
  "vehicles.update",
  "vehicles.read",
  "vehicles.change_status",
  "vehicles.decommission",
  "vehicles.record_odometer",
];

export const ADMIN_SUBJECT = "00000000-0000-4000-8000-0000000000aa";

export interface StartFleetOptions {
  readonly authEnabled?: boolean;
  /**
   * The `kafka` configuration section (see kafkaConfigSchema); without it
   * fleet runs with Kafka disabled, as every test that does not need events.
   */
  readonly kafka?: Record<string, unknown>;
  /** An existing database instead of a fresh one (a restarted service); not dropped by stop(). */
  readonly db?: TestDatabase;
  readonly log?: Logger;
  readonly afterEventEffectCommitted?: BuildOverrides["afterEventEffectCommitted"];
}

/**
 * createTestDatabase, retried when another test process provisions the same
 * test roles at the same moment: concurrent ALTER ROLE on one role fails
 * with "tuple concurrently updated" (the harness does not serialise it).
 */
export async function createTestDatabaseRetrying(service: string, migrationsDir: string): Promise<TestDatabase> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createTestDatabase(service, migrationsDir);
    } catch (err) {
      const concurrent = (err as { code?: unknown }).code === "XX000" && /concurrently/.test((err as Error).message);
      if (!concurrent || attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
  }
}

export async function startFleet(overrides: StartFleetOptions = {}): Promise<FleetHarness> {
  const db = overrides.db ?? await createTestDatabaseRetrying("fleet", "migrations/fleet");
  const keys = createTestKeys();
  const config = serviceConfigSchema.parse({
    service: { name: "fleet" },
    grpc: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    database: db.config,
    auth: { ...keys.auth, enabled: overrides.authEnabled ?? true },
    log: { level: "silent" },
    shutdown: { graceMs: 2_000 },
    ...(overrides.kafka ? { kafka: overrides.kafka } : {}),
  });
  const service = await build(config, {
    log: overrides.log ?? pino({ level: "silent" }),
    ...(overrides.afterEventEffectCommitted ? { afterEventEffectCommitted: overrides.afterEventEffectCommitted } : {}),
  });
  const client = createServiceClient(FleetService, { address: `127.0.0.1:${service.grpcPort}`, deadlineMs: 5_000 });
  return {
    db,
    keys,
    service,
    client,
    config,
    as: (permissions = FLEET_PERMISSIONS, headers = {}) => ({
      headers: { authorization: `Bearer ${keys.token({ permissions, sub: ADMIN_SUBJECT })}`, ...headers },
    }),
    async stop() {
      client.close();
      await service.stop();
      if (!overrides.db) await db.drop();
    },
  };
}

/** Asserts a call failed with `code` and ErrorInfo `reason`; returns the error for further checks. */
export async function rejectsWith(
  t: ExecutionContext,
  promise: Promise<unknown>,
  code: GrpcStatus,
  reason: string,
): Promise<GrpcCallError> {
  const err = await t.throwsAsync(promise, { instanceOf: GrpcCallError });
  if (!(err instanceof GrpcCallError)) throw new Error("unreachable");
  t.is(GrpcStatus[err.code], GrpcStatus[code], err.message);
  t.is(findDetail(err.status, ErrorInfoSchema)?.reason, reason);
  return err;
}

export const violatedFields = (err: GrpcCallError): string[] =>
  (findDetail(err.status, BadRequestSchema)?.fieldViolations ?? []).map((v) => v.field).sort();

export const sampleAttributes = { make: "Toyota", model: "Corolla", year: 2022, passengerCapacity: 5 };

let plateCounter = 0;
export const uniquePlate = (): string => `T${process.pid % 1000}-${Date.now() % 100000}-${++plateCounter}`;
