import { pino } from "pino";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import type { ServiceConfig } from "../../platform/src/config.js";
import { createServiceClient, type ServiceClient } from "../../platform/src/grpc/client.js";
import type { Logger } from "../../platform/src/logger.js";
import { createTestDatabase, createTestKeys, type TestDatabase, type TestKeys } from "../../platform/src/testing/harness.js";
import { testServiceConfig } from "../../platform/src/testing/service-config.js";
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

/** Kept for the event tests' imports: the kit's createTestDatabase retries concurrent provisioning itself. */
export const createTestDatabaseRetrying = createTestDatabase;

export async function startFleet(overrides: StartFleetOptions = {}): Promise<FleetHarness> {
  const db = overrides.db ?? await createTestDatabaseRetrying("fleet", "migrations/fleet");
  const keys = createTestKeys();
  const config = testServiceConfig({
    name: "fleet",
    db,
    auth: { ...keys.auth, enabled: overrides.authEnabled ?? true },
    extra: overrides.kafka ? { kafka: overrides.kafka } : {},
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

export { rejectsWith, violatedFields } from "../../platform/src/testing/assertions.js";

export const sampleAttributes = { make: "Toyota", model: "Corolla", year: 2022, passengerCapacity: 5 };

let plateCounter = 0;
export const uniquePlate = (): string => `T${process.pid % 1000}-${Date.now() % 100000}-${++plateCounter}`;
