// A service's gRPC health follows its readiness checks (the ones /readyz
// answers with): NOT_SERVING while one fails, SERVING again once it passes,
// without a restart.
import { create } from "@bufbuild/protobuf";
import test from "ava";
import { pino } from "pino";
import { FleetService, GetVehicleResponseSchema } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { serviceConfigSchema } from "../src/config.js";
import { createServiceClient } from "../src/grpc/client.js";
import { bindService, type ServiceHandlers, type UnaryHandler } from "../src/grpc/server.js";
import { startService } from "../src/service-runtime.js";
import { createTestDatabase, createTestKeys } from "../src/testing/harness.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("gRPC health and /readyz follow the readiness checks, both ways", async (t) => {
  const db = await createTestDatabase("fleet", "migrations/fleet");
  t.teardown(() => db.drop());
  const handlers: Record<string, UnaryHandler> = {};
  for (const m of FleetService.methods) handlers[m.localName] = () => Promise.resolve(create(GetVehicleResponseSchema, {}));
  let problem: string | undefined;
  const service = await startService({
    config: serviceConfigSchema.parse({
      service: { name: "fleet" },
      grpc: { host: "127.0.0.1", port: 0 },
      ops: { host: "127.0.0.1", port: 0 },
      database: db.config,
      auth: { ...createTestKeys().auth, enabled: false },
      log: { level: "silent" },
      shutdown: { graceMs: 500 },
    }),
    log: pino({ level: "silent" }),
    compose: () => ({
      bindings: [bindService(FleetService, handlers as unknown as ServiceHandlers<typeof FleetService>)],
      readinessChecks: [{ name: "dependency", check: () => Promise.resolve(problem) }],
    }),
    readinessIntervalMs: 100,
  });
  t.teardown(() => service.stop());
  const health = createServiceClient(Health, { address: `127.0.0.1:${service.grpcPort}`, deadlineMs: 1_000 });
  t.teardown(() => health.close());
  const status = async (name = "") => (await health.check({ service: name })).status;
  const readyz = async () => (await fetch(`http://127.0.0.1:${service.opsPort}/readyz`)).status;
  const eventually = async (want: HealthCheckResponse_ServingStatus) => {
    for (let i = 0; i < 50 && (await status()) !== want; i++) await sleep(50);
    return status();
  };

  t.is(await status(), HealthCheckResponse_ServingStatus.SERVING, "SERVING once started with passing checks");
  problem = "gone";
  t.is(await eventually(HealthCheckResponse_ServingStatus.NOT_SERVING), HealthCheckResponse_ServingStatus.NOT_SERVING);
  t.is(await status(FleetService.typeName), HealthCheckResponse_ServingStatus.NOT_SERVING, "per service name too");
  t.is(await readyz(), 503);
  problem = undefined;
  t.is(await eventually(HealthCheckResponse_ServingStatus.SERVING), HealthCheckResponse_ServingStatus.SERVING);
  t.is(await status(FleetService.typeName), HealthCheckResponse_ServingStatus.SERVING);
  t.is(await readyz(), 200);
});
