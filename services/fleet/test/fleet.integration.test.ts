import { randomUUID } from "node:crypto";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import anyTest, { type TestFn } from "ava";
import { VehicleStatus } from "../../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { ADMIN_SUBJECT, rejectsWith, sampleAttributes, startFleet, uniquePlate, violatedFields, type FleetHarness } from "./support.js";

const test = anyTest as TestFn<FleetHarness>;

test.before(async (t) => {
  t.context = await startFleet();
});
test.after.always(async (t) => {
  await t.context.stop();
});

const register = async (h: FleetHarness, plate = uniquePlate()) =>
  (await h.client.registerVehicle({ plateNumber: plate, attributes: sampleAttributes }, h.as())).vehicle!;

const countRows = async (h: FleetHarness, sql: string, params: unknown[]): Promise<number> =>
  Number((await h.db.admin.query<{ n: string }>(sql, params)).rows[0]!.n);

test("register, get and audit columns from the caller", async (t) => {
  const h = t.context;
  const plate = uniquePlate();
  const created = await register(h, ` ${plate.toLowerCase()} `);
  t.is(created.plateNumber, plate.toUpperCase());
  t.is(created.status, VehicleStatus.ACTIVE);
  t.is(created.rowVersion, 1n);
  t.is(created.createdBy, ADMIN_SUBJECT);
  const { vehicle } = await h.client.getVehicle({ vehicleId: created.id }, h.as(["vehicles.read"]));
  t.is(vehicle?.attributes?.model, "Corolla");
  t.is(vehicle?.attributes?.year, 2022);
  t.is(vehicle?.attributes?.variant, undefined);
  const row = await h.db.admin.query("SELECT created_by, updated_by FROM vehicles WHERE id = $1", [created.id]);
  t.deepEqual(row.rows[0], { created_by: ADMIN_SUBJECT, updated_by: ADMIN_SUBJECT });
});

test("money round-trips as bigint minor units with its currency", async (t) => {
  const h = t.context;
  const big = 9_007_199_254_740_993n; // above Number.MAX_SAFE_INTEGER
  const { vehicle } = await h.client.registerVehicle({
    plateNumber: uniquePlate(),
    attributes: { ...sampleAttributes, acquisitionPrice: { amountMinor: big, currencyCode: "EUR" } },
  }, h.as());
  const got = (await h.client.getVehicle({ vehicleId: vehicle!.id }, h.as())).vehicle!;
  t.is(got.attributes?.acquisitionPrice?.amountMinor, big);
  t.is(got.attributes?.acquisitionPrice?.currencyCode, "EUR");
});

test("duplicate plates are ALREADY_EXISTS", async (t) => {
  const h = t.context;
  const plate = uniquePlate();
  await register(h, plate);
  await rejectsWith(t, register(h, plate.toLowerCase()), GrpcStatus.ALREADY_EXISTS, "PLATE_NUMBER_TAKEN");
});

test("unknown vehicle is NOT_FOUND", async (t) => {
  const h = t.context;
  await rejectsWith(t, h.client.getVehicle({ vehicleId: randomUUID() }, h.as()), GrpcStatus.NOT_FOUND, "VEHICLE_NOT_FOUND");
});

test("bad input is INVALID_ARGUMENT with field violations and writes nothing", async (t) => {
  const h = t.context;
  const plate = uniquePlate();
  const cases: Array<[string, () => Promise<unknown>, string[]]> = [
    ["missing attributes", () => h.client.registerVehicle({ plateNumber: plate }, h.as()), ["attributes"]],
    ["empty plate", () => h.client.registerVehicle({ plateNumber: "", attributes: sampleAttributes }, h.as()), ["plate_number"]],
    ["oversized make", () => h.client.registerVehicle({ plateNumber: plate, attributes: { ...sampleAttributes, make: "x".repeat(121) } }, h.as()), ["attributes.make"]],
    ["negative capacity", () => h.client.registerVehicle({ plateNumber: plate, attributes: { ...sampleAttributes, passengerCapacity: -3 } }, h.as()), ["attributes.passenger_capacity"]],
    ["bad currency", () => h.client.registerVehicle({ plateNumber: plate, attributes: { ...sampleAttributes, acquisitionPrice: { amountMinor: 1n, currencyCode: "euro" } } }, h.as()), ["attributes.acquisition_price.currency_code"]],
    ["malformed uuid", () => h.client.getVehicle({ vehicleId: "not-a-uuid" }, h.as()), ["vehicle_id"]],
    ["empty uuid", () => h.client.getVehicle({ vehicleId: "" }, h.as()), ["vehicle_id"]],
    ["unknown status filter", () => h.client.listVehicles({ status: 42 as VehicleStatus }, h.as()), ["status"]],
    ["negative page size", () => h.client.listVehicles({ page: { pageSize: -1 } }, h.as()), ["page.page_size"]],
    ["garbage page token", () => h.client.listVehicles({ page: { pageToken: "garbage" } }, h.as()), ["page.page_token"]],
  ];
  for (const [name, call, fields] of cases) {
    const err = await t.throwsAsync(call());
    const grpcErr = err as Parameters<typeof violatedFields>[0];
    t.is(GrpcStatus[grpcErr.code], "INVALID_ARGUMENT", name);
    t.deepEqual(violatedFields(grpcErr), fields.sort(), name);
  }
  t.is(await countRows(h, "SELECT count(*) AS n FROM vehicles WHERE plate_number = $1", [plate]), 0);
});

test("odometer: negative or decreasing readings are rejected and nothing is written", async (t) => {
  const h = t.context;
  const v = await register(h);
  await h.client.recordOdometerReading({ vehicleId: v.id, readingKm: 1000 }, h.as());
  const negative = await rejectsWith(t, h.client.recordOdometerReading({ vehicleId: v.id, readingKm: -1 }, h.as()),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(negative), ["reading_km"]);
  await rejectsWith(t, h.client.recordOdometerReading({ vehicleId: v.id, readingKm: 999 }, h.as()),
    GrpcStatus.FAILED_PRECONDITION, "ODOMETER_DECREASING");
  await rejectsWith(t, h.client.recordOdometerReading({
    vehicleId: v.id, readingKm: 2000, recordTime: timestampFromDate(new Date(Date.now() + 3_600_000)),
  }, h.as()), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.is(await countRows(h, "SELECT count(*) AS n FROM vehicle_odometer_readings WHERE vehicle_id = $1", [v.id]), 1);
  const after = (await h.client.getVehicle({ vehicleId: v.id }, h.as())).vehicle!;
  t.is(after.odometerKm, 1000);
});

test("odometer: racing writers cannot store a decreasing sequence", async (t) => {
  const h = t.context;
  const v = await register(h);
  const readings = Array.from({ length: 20 }, (_, i) => 100 * (20 - i)); // descending attempts, all at once
  const results = await Promise.allSettled(readings.map((km) => h.client.recordOdometerReading({ vehicleId: v.id, readingKm: km }, h.as())));
  t.true(results.some((r) => r.status === "fulfilled"));
  const stored = await h.db.admin.query<{ reading_km: number }>(
    "SELECT reading_km FROM vehicle_odometer_readings WHERE vehicle_id = $1 ORDER BY recorded_at, reading_km", [v.id]);
  const kms = stored.rows.map((r) => r.reading_km);
  t.deepEqual(kms, [...kms].sort((a, b) => a - b), "stored readings are non-decreasing in time order");
  t.is(kms.length, results.filter((r) => r.status === "fulfilled").length);
});

test("odometer rows are append-only in the database itself", async (t) => {
  const h = t.context;
  const v = await register(h);
  await h.client.recordOdometerReading({ vehicleId: v.id, readingKm: 10 }, h.as());
  await t.throwsAsync(h.db.admin.query("UPDATE vehicle_odometer_readings SET reading_km = 0 WHERE vehicle_id = $1", [v.id]), { message: /append-only/ });
  await t.throwsAsync(h.db.admin.query("DELETE FROM vehicle_odometer_readings WHERE vehicle_id = $1", [v.id]), { message: /append-only/ });
});

test("lifecycle: valid transitions, invalid ones FAILED_PRECONDITION naming the current state", async (t) => {
  const h = t.context;
  const v = await register(h);
  const rented = (await h.client.changeVehicleStatus({ vehicleId: v.id, targetStatus: VehicleStatus.RENTED }, h.as())).vehicle!;
  t.is(rented.status, VehicleStatus.RENTED);
  t.is(rented.rowVersion, 2n);
  const err = await rejectsWith(t, h.client.changeVehicleStatus({ vehicleId: v.id, targetStatus: VehicleStatus.UNDER_MAINTENANCE }, h.as()),
    GrpcStatus.FAILED_PRECONDITION, "INVALID_VEHICLE_TRANSITION");
  t.regex(err.message, /rented/);
  await h.client.changeVehicleStatus({ vehicleId: v.id, targetStatus: VehicleStatus.ACTIVE }, h.as());
  const gone = (await h.client.decommissionVehicle({ vehicleId: v.id, reason: "sold" }, h.as())).vehicle!;
  t.is(gone.status, VehicleStatus.DECOMMISSIONED);
  await rejectsWith(t, h.client.changeVehicleStatus({ vehicleId: v.id, targetStatus: VehicleStatus.ACTIVE }, h.as()),
    GrpcStatus.FAILED_PRECONDITION, "VEHICLE_DECOMMISSIONED");
  await rejectsWith(t, h.client.recordOdometerReading({ vehicleId: v.id, readingKm: 5 }, h.as()),
    GrpcStatus.FAILED_PRECONDITION, "VEHICLE_DECOMMISSIONED");
  const invalidTarget = await rejectsWith(t, h.client.changeVehicleStatus({ vehicleId: v.id, targetStatus: VehicleStatus.UNSPECIFIED }, h.as()),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(invalidTarget), ["target_status"]);
});

test("optimistic concurrency: a stale row_version is ABORTED", async (t) => {
  const h = t.context;
  const v = await register(h);
  const updated = (await h.client.updateVehicle({
    vehicleId: v.id, expectedRowVersion: v.rowVersion, attributes: { model: "Yaris" }, updateMask: { paths: ["model"] },
  }, h.as())).vehicle!;
  t.is(updated.attributes?.model, "Yaris");
  t.is(updated.attributes?.make, "Toyota");
  t.is(updated.rowVersion, 2n);
  await rejectsWith(t, h.client.updateVehicle({
    vehicleId: v.id, expectedRowVersion: v.rowVersion, attributes: { model: "Auris" }, updateMask: { paths: ["model"] },
  }, h.as()), GrpcStatus.ABORTED, "ROW_VERSION_MISMATCH");
  const unknownPath = await rejectsWith(t, h.client.updateVehicle({
    vehicleId: v.id, expectedRowVersion: 2n, attributes: {}, updateMask: { paths: ["status"] },
  }, h.as()), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(unknownPath), ["update_mask"]);
  const current = (await h.client.getVehicle({ vehicleId: v.id }, h.as())).vehicle!;
  t.is(current.attributes?.model, "Yaris");
});

test("concurrent updates from the same version: exactly one wins", async (t) => {
  const h = t.context;
  const v = await register(h);
  const attempts = await Promise.allSettled(["A", "B", "C", "D"].map((variant) => h.client.updateVehicle({
    vehicleId: v.id, expectedRowVersion: 1n, attributes: { variant }, updateMask: { paths: ["variant"] },
  }, h.as())));
  t.is(attempts.filter((a) => a.status === "fulfilled").length, 1);
});

test("list with status filter and cursor pagination visits every vehicle once", async (t) => {
  const h = t.context;
  const ids = new Set<string>();
  for (let i = 0; i < 7; i++) {
    const v = await register(h);
    await h.client.changeVehicleStatus({ vehicleId: v.id, targetStatus: VehicleStatus.UNDER_MAINTENANCE }, h.as());
    ids.add(v.id);
  }
  const seen: string[] = [];
  let pageToken = "";
  do {
    const res = await h.client.listVehicles({ status: VehicleStatus.UNDER_MAINTENANCE, page: { pageSize: 3, pageToken } }, h.as());
    t.true(res.vehicles.length <= 3);
    for (const v of res.vehicles) {
      t.is(v.status, VehicleStatus.UNDER_MAINTENANCE);
      seen.push(v.id);
    }
    pageToken = res.page?.nextPageToken ?? "";
  } while (pageToken !== "");
  t.is(new Set(seen).size, seen.length, "no duplicates");
  for (const id of ids) t.true(seen.includes(id));
  // A token is bound to its filter.
  const first = await h.client.listVehicles({ status: VehicleStatus.UNDER_MAINTENANCE, page: { pageSize: 1 } }, h.as());
  await rejectsWith(t, h.client.listVehicles({ status: VehicleStatus.ACTIVE, page: { pageToken: first.page!.nextPageToken } }, h.as()),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
});

test("odometer readings list newest first with paging", async (t) => {
  const h = t.context;
  const v = await register(h);
  for (const km of [10, 20, 30, 40, 50]) await h.client.recordOdometerReading({ vehicleId: v.id, readingKm: km }, h.as());
  const p1 = await h.client.listOdometerReadings({ vehicleId: v.id, page: { pageSize: 3 } }, h.as());
  const p2 = await h.client.listOdometerReadings({ vehicleId: v.id, page: { pageSize: 3, pageToken: p1.page!.nextPageToken } }, h.as());
  t.deepEqual([...p1.readings, ...p2.readings].map((r) => r.readingKm), [50, 40, 30, 20, 10]);
  t.is(p2.page?.nextPageToken, "");
});

test("idempotency key: same request replays, different request is rejected, concurrent duplicates run once", async (t) => {
  const h = t.context;
  const plate = uniquePlate();
  const key = `key-${randomUUID()}`;
  const opts = { ...h.as(), idempotencyKey: key };
  const first = await h.client.registerVehicle({ plateNumber: plate, attributes: sampleAttributes }, opts);
  const again = await h.client.registerVehicle({ plateNumber: plate, attributes: sampleAttributes }, opts);
  t.is(again.vehicle?.id, first.vehicle?.id);
  await rejectsWith(t, h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, opts),
    GrpcStatus.INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED");

  const plate2 = uniquePlate();
  const key2 = { ...h.as(), idempotencyKey: `key-${randomUUID()}` };
  const racers = await Promise.all(Array.from({ length: 8 }, () =>
    h.client.registerVehicle({ plateNumber: plate2, attributes: sampleAttributes }, key2)));
  t.is(new Set(racers.map((r) => r.vehicle?.id)).size, 1, "every duplicate got the one result");
  t.is(await countRows(h, "SELECT count(*) AS n FROM vehicles WHERE plate_number = $1", [plate2]), 1);

  const badKey = await rejectsWith(t, h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes },
    { ...h.as(), idempotencyKey: "short" }), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(badKey), ["idempotency-key"]);
});

test("authentication and authorization come from the method's declared permission", async (t) => {
  const h = t.context;
  await rejectsWith(t, h.client.listVehicles({}), GrpcStatus.UNAUTHENTICATED, "UNAUTHENTICATED");
  await rejectsWith(t, h.client.listVehicles({}, { headers: { authorization: "Bearer abc.def.ghi" } }),
    GrpcStatus.UNAUTHENTICATED, "UNAUTHENTICATED");
  const expired = h.keys.token({ permissions: ["vehicles.read"] }, { expiresIn: -120 });
  await rejectsWith(t, h.client.listVehicles({}, { headers: { authorization: `Bearer ${expired}` } }),
    GrpcStatus.UNAUTHENTICATED, "TOKEN_EXPIRED");
  const readOnly = h.as(["vehicles.read"]);
  await h.client.listVehicles({}, readOnly);
  await rejectsWith(t, h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, readOnly),
    GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
});

test("ops port: healthz, readyz with migrations applied, metrics per RPC", async (t) => {
  const h = t.context;
  const base = `http://127.0.0.1:${h.service.opsPort}`;
  t.is((await fetch(`${base}/healthz`)).status, 200);
  const ready = await fetch(`${base}/readyz`);
  t.is(ready.status, 200);
  t.deepEqual(((await ready.json()) as { checks: unknown }).checks, { database: "ok", migrations: "ok" });
  await h.client.listVehicles({}, h.as());
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.regex(metrics, /rpc_server_requests_total\{method="\/fleetmesh\.fleet\.v1\.FleetService\/ListVehicles",code="OK",service="fleet"\} \d+/);
  t.regex(metrics, /rpc_server_duration_seconds_bucket/);
  t.regex(metrics, /db_pool_connections\{pool="fleet_test_[a-f0-9]+",state="total",service="fleet"\}/);
  t.regex(metrics, /nodejs_heap_size_used_bytes/);
});

test("the runtime database role has data access only: no DDL, no dropping tables", async (t) => {
  const { default: pg } = await import("pg");
  const h = t.context;
  const app = new pg.Client({ ...h.db.config, user: h.db.config.user, password: h.db.config.password });
  await app.connect();
  try {
    await app.query("SELECT count(*) FROM vehicles");
    await t.throwsAsync(app.query("CREATE TABLE sneaky (id int)"), { message: /permission denied/ });
    await t.throwsAsync(app.query("DROP TABLE vehicles"), { message: /must be owner/ });
    await t.throwsAsync(app.query("ALTER TABLE vehicles DROP CONSTRAINT vehicles_plate_number_key"), { message: /must be owner/ });
  } finally {
    await app.end();
  }
});
