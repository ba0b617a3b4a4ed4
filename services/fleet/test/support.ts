import { status as GrpcStatus } from "@grpc/grpc-js";
import type { ExecutionContext } from "ava";
import { pino } from "pino";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { serviceConfigSchema, type ServiceConfig } from "../../platform/src/config.js";
import { createServiceClient, GrpcCallError, type ServiceClient } from "../../platform/src/grpc/client.js";
import { findDetail } from "../../platform/src/grpc/status.js";
import type { RunningService } from "../../platform/src/service-runtime.js";
import { createTestDatabase, createTestKeys, type TestDatabase, type TestKeys } from "../../platform/src/testing/harness.js";
import { build } from "../src/main.js";

export interface FleetHarness {
  readonly db: TestDatabase;
  readonly keys: TestKeys;
  readonly service: RunningService;
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

export async function startFleet(overrides: { authEnabled?: boolean } = {}): Promise<FleetHarness> {
  const db = await createTestDatabase("fleet", "migrations/fleet");
  const keys = createTestKeys();
  const config = serviceConfigSchema.parse({
    service: { name: "fleet" },
    grpc: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    database: db.config,
    auth: { ...keys.auth, enabled: overrides.authEnabled ?? true },
    log: { level: "silent" },
    shutdown: { graceMs: 2_000 },
  });
  const service = await build(config, { log: pino({ level: "silent" }) });
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
      await db.drop();
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
