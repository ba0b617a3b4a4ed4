import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import anyTest, { type TestFn } from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { VehicleStatus } from "../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { sampleAttributes, uniquePlate } from "../../services/fleet/test/support.js";
import { ALLOWED_ORIGIN, startMesh, type MeshHarness } from "./support.js";

const test = anyTest as TestFn<MeshHarness>;

test.before(async (t) => {
  t.context = await startMesh();
});
test.after.always(async (t) => {
  await t.context.stop();
});

const bearer = (h: MeshHarness, permissions?: readonly string[]) => h.fleet.as(permissions).headers["authorization"]!;

const postJson = (h: MeshHarness, method: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${h.baseUrl}/fleetmesh.fleet.v1.FleetService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: bearer(h), ...headers },
    body,
  });

test("Connect JSON over HTTP/1.1, as curl or a browser would call it", async (t) => {
  const h = t.context;
  const plate = uniquePlate();
  const res = await postJson(h, "RegisterVehicle", JSON.stringify({
    plateNumber: plate,
    attributes: { make: "Tesla", model: "Model 3", acquisitionPrice: { amountMinor: "4500000", currencyCode: "EUR" } },
  }), { "x-request-id": "req-from-browser-1" });
  t.is(res.status, 200);
  t.is(res.headers.get("x-request-id"), "req-from-browser-1");
  const body = (await res.json()) as { vehicle: { id: string; status: string; rowVersion: string; attributes: { acquisitionPrice: { amountMinor: string } } } };
  t.is(body.vehicle.status, "VEHICLE_STATUS_ACTIVE");
  t.is(body.vehicle.rowVersion, "1", "int64 is a JSON string, as proto3 JSON requires");
  t.is(body.vehicle.attributes.acquisitionPrice.amountMinor, "4500000");

  const get = await postJson(h, "GetVehicle", JSON.stringify({ vehicleId: body.vehicle.id }));
  t.is(get.status, 200);
  t.is(((await get.json()) as { vehicle: { plateNumber: string } }).vehicle.plateNumber, plate);

  // Read-only RPCs are also reachable with Connect GET (cacheable).
  const message = encodeURIComponent(JSON.stringify({ vehicleId: body.vehicle.id }));
  const viaGet = await fetch(`${h.baseUrl}/fleetmesh.fleet.v1.FleetService/GetVehicle?connect=v1&encoding=json&message=${message}`, {
    headers: { authorization: bearer(h) },
  });
  t.is(viaGet.status, 200);
});

test("Connect JSON errors carry the code and the google.rpc details", async (t) => {
  const h = t.context;
  const res = await postJson(h, "GetVehicle", JSON.stringify({ vehicleId: "nope" }));
  t.is(res.status, 400);
  const body = (await res.json()) as { code: string; message: string; details: Array<{ type: string; value: string }> };
  t.is(body.code, "invalid_argument");
  t.deepEqual(body.details.map((d) => d.type).sort(), ["google.rpc.BadRequest", "google.rpc.ErrorInfo"]);

  const malformed = await postJson(h, "GetVehicle", "{not json");
  t.is(malformed.status, 400);
  t.is(((await malformed.json()) as { code: string }).code, "invalid_argument");

  const unknownField = await postJson(h, "GetVehicle", JSON.stringify({ vehicleId: "x", bogus: 1 }));
  t.is(((await unknownField.json()) as { code: string }).code, "invalid_argument");

  const unknownEnum = await postJson(h, "ListVehicles", JSON.stringify({ status: "VEHICLE_STATUS_FLYING" }));
  t.is(((await unknownEnum.json()) as { code: string }).code, "invalid_argument");

  const noToken = await fetch(`${h.baseUrl}/fleetmesh.fleet.v1.FleetService/ListVehicles`, {
    method: "POST", headers: { "content-type": "application/json" }, body: "{}",
  });
  t.is(noToken.status, 401);
  t.is(((await noToken.json()) as { code: string }).code, "unauthenticated");
});

test("gRPC over HTTP/2 on the same port: codes and details reach the client", async (t) => {
  const h = t.context;
  const client = createClient(FleetService, createGrpcTransport({ baseUrl: h.baseUrl }));
  const headers = { authorization: bearer(h) };
  const { vehicle } = await client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, { headers });
  t.is(vehicle?.status, VehicleStatus.ACTIVE);
  const err = await t.throwsAsync(client.changeVehicleStatus(
    { vehicleId: vehicle!.id, targetStatus: VehicleStatus.DECOMMISSIONED }, { headers }), { instanceOf: ConnectError });
  t.is(err?.code, Code.InvalidArgument);
  const transition = await t.throwsAsync(client.recordOdometerReading({ vehicleId: vehicle!.id, readingKm: -5 }, { headers }));
  const details = ConnectError.from(transition).findDetails(BadRequestSchema);
  t.is(details[0]?.fieldViolations[0]?.field, "reading_km");
  await client.changeVehicleStatus({ vehicleId: vehicle!.id, targetStatus: VehicleStatus.RENTED }, { headers });
  const invalid = ConnectError.from(await t.throwsAsync(client.changeVehicleStatus(
    { vehicleId: vehicle!.id, targetStatus: VehicleStatus.UNDER_MAINTENANCE }, { headers })));
  t.is(invalid.code, Code.FailedPrecondition);
  t.is(invalid.findDetails(ErrorInfoSchema)[0]?.reason, "INVALID_VEHICLE_TRANSITION");
  t.regex(invalid.rawMessage, /rented/);
});

test("gRPC-web and Connect binary work too", async (t) => {
  const h = t.context;
  for (const transport of [
    createGrpcWebTransport({ baseUrl: h.baseUrl, httpVersion: "1.1" }),
    createConnectTransport({ baseUrl: h.baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
    createConnectTransport({ baseUrl: h.baseUrl, httpVersion: "2" }),
  ]) {
    const client = createClient(FleetService, transport);
    const res = await client.listVehicles({ page: { pageSize: 1 } }, { headers: { authorization: bearer(h) } });
    t.true(Array.isArray(res.vehicles));
  }
});

test("authorization at the edge uses the same declared permissions", async (t) => {
  const h = t.context;
  const client = createClient(FleetService, createConnectTransport({ baseUrl: h.baseUrl, httpVersion: "1.1" }));
  const err = ConnectError.from(await t.throwsAsync(client.registerVehicle(
    { plateNumber: uniquePlate(), attributes: sampleAttributes }, { headers: { authorization: bearer(h, ["vehicles.read"]) } })));
  t.is(err.code, Code.PermissionDenied);
  t.is(err.findDetails(ErrorInfoSchema)[0]?.reason, "PERMISSION_DENIED");
});

test("idempotency keys travel from the edge to the service", async (t) => {
  const h = t.context;
  const plate = uniquePlate();
  const send = () => postJson(h, "RegisterVehicle", JSON.stringify({ plateNumber: plate, attributes: sampleAttributes }),
    { "idempotency-key": "edge-key-0001" });
  const a = (await (await send()).json()) as { vehicle: { id: string } };
  const b = (await (await send()).json()) as { vehicle: { id: string } };
  t.is(a.vehicle.id, b.vehicle.id);
});

test("deadlines propagate: an expired client deadline fails fast", async (t) => {
  const h = t.context;
  const client = createClient(FleetService, createGrpcTransport({ baseUrl: h.baseUrl }));
  const err = ConnectError.from(await t.throwsAsync(client.listVehicles({}, { headers: { authorization: bearer(h) }, timeoutMs: 1 })));
  t.is(err.code, Code.DeadlineExceeded);
});

test("CORS: allowed origins get preflight answers, others do not", async (t) => {
  const h = t.context;
  const preflight = await fetch(`${h.baseUrl}/fleetmesh.fleet.v1.FleetService/ListVehicles`, {
    method: "OPTIONS",
    headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
  });
  t.is(preflight.status, 204);
  t.is(preflight.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
  t.regex(preflight.headers.get("access-control-allow-headers") ?? "", /Authorization/);
  const other = await fetch(`${h.baseUrl}/fleetmesh.fleet.v1.FleetService/ListVehicles`, {
    method: "OPTIONS", headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
  });
  t.is(other.headers.get("access-control-allow-origin"), null);
});

test("gateway readiness is its own: ready while it runs", async (t) => {
  const h = t.context;
  const ready = await fetch(`http://127.0.0.1:${h.gateway.opsPort}/readyz`);
  t.is(ready.status, 200);
});
