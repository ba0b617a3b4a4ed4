// Issue 9, finding 3: with PostgreSQL stopped, GetVehicle and Login returned
// INTERNAL and fleet's gRPC health still said SERVING. Here PostgreSQL (a
// private server: the shared one keeps running for everyone else) stops in
// the middle of a load of reads and writes against fleet and logins against
// identity: every failure is UNAVAILABLE / DEPENDENCY_UNAVAILABLE, health and
// /readyz say not serving during the outage, every acknowledged write is in
// the database afterwards, and full service is back within seconds of the
// restart, without restarting the services.
import { status as GrpcStatus } from "@grpc/grpc-js";
import test from "ava";
import pgDriver from "pg";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../../gen/grpc/health/v1/health_pb.js";
import { createServiceClient, GrpcCallError } from "../../platform/src/grpc/client.js";
import { findDetail } from "../../platform/src/grpc/status.js";
import { createTestDatabase } from "../../platform/src/testing/harness.js";
import { createPrivatePostgres } from "../../platform/src/testing/postgres.js";
import { PASSWORD, startIdentity } from "../../identity/test/support.js";
import { sampleAttributes, startFleet, uniquePlate } from "./support.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tally {
  ok: number;
  unavailable: number;
  /** Anything else: code, reason and message. Must stay empty. */
  wrong: string[];
}

test("PostgreSQL stops under load: UNAVAILABLE not INTERNAL, health follows, no acknowledged write lost, back within seconds", async (t) => {
  const pg = await createPrivatePostgres();
  t.teardown(() => pg.destroy());
  await pg.start();
  const fleetDb = await createTestDatabase("fleet", "migrations/fleet", pg.superuser);
  const identityDb = await createTestDatabase("identity", "migrations/identity", pg.superuser);
  // Their superuser connections die with the server: without a listener that would crash the test.
  for (const db of [fleetDb, identityDb]) db.admin.on("error", () => undefined);
  const fleet = await startFleet({ db: fleetDb });
  const identity = await startIdentity({ db: identityDb });
  t.teardown(async () => {
    await fleet.stop();
    await identity.stop();
    await fleetDb.admin.end().catch(() => undefined);
    await identityDb.admin.end().catch(() => undefined);
  });
  const admin = await identity.admin();
  const adminEmail = (await identity.client.getCurrentUser({}, admin.opts)).user!.attributes!.email;
  const opts = fleet.as();
  const health = createServiceClient(Health, { address: `127.0.0.1:${fleet.service.grpcPort}`, deadlineMs: 1_000 });
  t.teardown(() => health.close());
  const fleetServing = async () => (await health.check({ service: "" })).status;
  const readyz = async () => (await fetch(`http://127.0.0.1:${fleet.service.opsPort}/readyz`)).status;
  t.is(await fleetServing(), HealthCheckResponse_ServingStatus.SERVING);

  // One vehicle per odometer writer, and one to read.
  const writers = 2;
  const vehicles = await Promise.all(Array.from({ length: writers + 1 }, () =>
    fleet.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, opts).then((r) => r.vehicle!.id)));
  const readVehicle = vehicles[writers]!;

  const tallies: Record<string, Tally> = {};
  const ackedPlates: string[] = [];
  const ackedReadings: Array<{ vehicleId: string; km: number }> = [];
  let lastOkAt = 0;
  let running = true;
  const loop = async (name: string, op: () => Promise<void>) => {
    const tally: Tally = (tallies[name] = { ok: 0, unavailable: 0, wrong: [] });
    while (running) {
      try {
        await op();
        tally.ok++;
        lastOkAt = Date.now();
      } catch (err) {
        const reason = err instanceof GrpcCallError ? findDetail(err.status, ErrorInfoSchema)?.reason : undefined;
        if (err instanceof GrpcCallError && err.code === GrpcStatus.UNAVAILABLE && reason === "DEPENDENCY_UNAVAILABLE") tally.unavailable++;
        else tally.wrong.push(err instanceof GrpcCallError ? `${GrpcStatus[err.code]} ${reason} ${err.message}` : String(err));
      }
      await sleep(20);
    }
  };
  const loops = [
    loop("RegisterVehicle", async () => {
      const plateNumber = uniquePlate();
      await fleet.client.registerVehicle({ plateNumber, attributes: sampleAttributes }, opts);
      ackedPlates.push(plateNumber);
    }),
    ...vehicles.slice(0, writers).map((vehicleId, i) => {
      let km = 0;
      return loop(`RecordOdometerReading#${i}`, async () => {
        km += 10; // a failed write's value is skipped: readings only need to grow
        await fleet.client.recordOdometerReading({ vehicleId, readingKm: km }, opts);
        ackedReadings.push({ vehicleId, km });
      });
    }),
    loop("GetVehicle", async () => {
      await fleet.client.getVehicle({ vehicleId: readVehicle }, opts);
    }),
    loop("ListVehicles", async () => {
      await fleet.client.listVehicles({ page: { pageSize: 5, pageToken: "" } }, opts);
    }),
    loop("Login", async () => {
      await identity.client.login({ email: adminEmail, password: PASSWORD });
    }),
  ];

  await sleep(1_500);
  const okBeforeOutage = Object.values(tallies).every((x) => x.ok > 0);
  await pg.stop();
  const stoppedAt = Date.now();
  await sleep(2_500);
  // Readiness re-checks at once when a call finds the database gone, and on its timer.
  const healthDuringOutage = await fleetServing();
  const readyzDuringOutage = await readyz();
  const okDuringOutage = Date.now() - lastOkAt > 1_500;

  await pg.start();
  const restartedAt = Date.now();
  const okAfter = (name: string) => tallies[name]!.ok;
  const marks = Object.fromEntries(Object.keys(tallies).map((n) => [n, okAfter(n)]));
  // Full service: every kind of call succeeded again, and health says so.
  let recoveredAt = 0;
  while (Date.now() - restartedAt < 20_000) {
    const allBack = Object.keys(tallies).every((n) => okAfter(n) > marks[n]!);
    if (allBack && (await fleetServing()) === HealthCheckResponse_ServingStatus.SERVING && (await readyz()) === 200) {
      recoveredAt = Date.now();
      break;
    }
    await sleep(100);
  }
  await sleep(1_000);
  running = false;
  await Promise.all(loops);

  const recoverySeconds = recoveredAt ? (recoveredAt - restartedAt) / 1000 : Number.NaN;
  t.log(`outage ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s; full service ${recoverySeconds.toFixed(2)} s after the restart`);
  t.log(Object.entries(tallies).map(([n, x]) => `${n}: ${x.ok} ok, ${x.unavailable} unavailable`).join("; "));
  t.true(okBeforeOutage, "every call succeeded before the outage");
  t.true(okDuringOutage, "no call succeeded while PostgreSQL was down");
  for (const [name, tally] of Object.entries(tallies)) {
    t.deepEqual(tally.wrong.slice(0, 5), [], `${name}: only OK or UNAVAILABLE / DEPENDENCY_UNAVAILABLE`);
    t.true(tally.unavailable > 0, `${name} saw the outage`);
  }
  t.is(healthDuringOutage, HealthCheckResponse_ServingStatus.NOT_SERVING, "gRPC health during the outage");
  t.is(readyzDuringOutage, 503, "/readyz during the outage");
  t.true(recoveredAt > 0 && recoverySeconds < 10, `full service ${recoverySeconds} s after the restart`);

  // No acknowledged write lost.
  const { rows: plates } = await query(pg.superuser, fleetDb.config.database, "SELECT plate_number FROM vehicles");
  const stored = new Set(plates.map((r) => String(r["plate_number"])));
  t.deepEqual(ackedPlates.filter((p) => !stored.has(p)), [], "acknowledged registrations");
  const { rows: readings } = await query(pg.superuser, fleetDb.config.database, "SELECT vehicle_id, reading_km FROM vehicle_odometer_readings");
  const storedReadings = new Set(readings.map((r) => `${String(r["vehicle_id"])}:${String(r["reading_km"])}`));
  t.deepEqual(ackedReadings.filter((r) => !storedReadings.has(`${r.vehicleId}:${r.km}`)), [], "acknowledged odometer readings");
  t.true(ackedPlates.length > 0 && ackedReadings.length > 0);
});

/** A fresh superuser connection to a database of the private server (the harness's died with it). */
async function query(superuser: { host: string; port: number; user: string; password: string }, database: string, sql: string) {
  const client = new pgDriver.Client({ ...superuser, database });
  await client.connect();
  try {
    return await client.query<Record<string, unknown>>(sql);
  } finally {
    await client.end();
  }
}
