import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { status as GrpcStatus } from "@grpc/grpc-js";
import test from "ava";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { repoRoot } from "../../platform/src/db.js";
import { createServiceClient, GrpcCallError } from "../../platform/src/grpc/client.js";
import { createTestDatabase, createTestKeys } from "../../platform/src/testing/harness.js";
import { sampleAttributes, startFleet, uniquePlate } from "./support.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.serial("the service survives its database connections being killed", async (t) => {
  const h = await startFleet();
  try {
    const { vehicle } = await h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, h.as());
    await h.db.admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    await sleep(200);
    // The pool notices dead connections; at worst one call fails UNAVAILABLE-like, never a crash.
    let ok = false;
    for (let i = 0; i < 5 && !ok; i++) {
      try {
        await h.client.getVehicle({ vehicleId: vehicle!.id }, h.as());
        ok = true;
      } catch (err) {
        t.true(err instanceof GrpcCallError);
      }
    }
    t.true(ok, "calls succeed again after the database dropped the connections");
  } finally {
    await h.stop();
  }
});

test.serial("SIGTERM: the process drains, exits 0 within the grace period and refuses new calls", async (t) => {
  const db = await createTestDatabase("fleet", "migrations/fleet");
  const keys = createTestKeys();
  const grpcPort = 50_261;
  const opsPort = 9_661;
  const child = spawn(process.execPath, ["dist/services/fleet/src/main.js"], {
    cwd: repoRoot,
    env: {
      ...process.env,
      FLEETMESH__GRPC__PORT: String(grpcPort),
      FLEETMESH__OPS__PORT: String(opsPort),
      FLEETMESH__DATABASE__HOST: db.config.host,
      FLEETMESH__DATABASE__PORT: String(db.config.port),
      FLEETMESH__DATABASE__DATABASE: db.config.database,
      FLEETMESH__DATABASE__USER: db.config.user,
      FLEETMESH__DATABASE__PASSWORD: db.config.password,
      FLEETMESH__AUTH__JWKS_FILE: keys.auth.jwksFile,
      FLEETMESH__AUTH__ISSUER: keys.auth.issuer,
      FLEETMESH__AUTH__AUDIENCE: keys.auth.audience,
      FLEETMESH__SHUTDOWN__GRACE_MS: "3000",
      FLEETMESH__KAFKA__ENABLED: "false",
      FLEETMESH__LOG__LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    for (let i = 0; i < 100; i++) {
      if (await fetch(`http://127.0.0.1:${opsPort}/readyz`).then((r) => r.ok, () => false)) break;
      await sleep(100);
    }
    const health = createServiceClient(Health, { address: `127.0.0.1:${grpcPort}`, deadlineMs: 1_000 });
    t.is((await health.check({ service: "fleetmesh.fleet.v1.FleetService" })).status, 1, "SERVING");
    const fleet = createServiceClient(FleetService, { address: `127.0.0.1:${grpcPort}`, deadlineMs: 2_000 });
    const token = { headers: { authorization: `Bearer ${keys.token({ permissions: ["vehicles.read"] })}` } };
    await fleet.listVehicles({}, token);
    const startedAt = Date.now();
    child.kill("SIGTERM");
    const code = await exited;
    t.is(code, 0, stderr);
    t.true(Date.now() - startedAt < 3_000 + 2_000, "exits inside the grace period");
    const err = await t.throwsAsync(fleet.listVehicles({}, token));
    t.is((err as GrpcCallError).code, GrpcStatus.UNAVAILABLE);
    health.close();
    fleet.close();
  } finally {
    child.kill("SIGKILL");
    await db.drop();
  }
});

test("a bad configuration stops the process with one message naming every bad key", async (t) => {
  const run = promisify(execFile);
  const err = (await t.throwsAsync(run(process.execPath, ["dist/services/fleet/src/main.js"], {
    cwd: repoRoot,
    env: { ...process.env, FLEETMESH__GRPC__PORT: "-1", FLEETMESH__DATABASE__POOL_MAX: "zero" },
  }))) as Error & { code: number; stderr: string };
  t.is(err.code, 1);
  t.regex(err.stderr, /invalid configuration/);
  t.regex(err.stderr, /grpc\.port/);
  t.regex(err.stderr, /database\.poolMax/);
  t.regex(err.stderr, /database\.password/);
});
