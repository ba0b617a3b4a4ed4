import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import anyTest, { type TestFn } from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { VehicleStatus } from "../../gen/fleetmesh/fleet/v1/vehicle_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { sampleAttributes, uniquePlate } from "../../services/fleet/test/support.js";
import { createGrpcWebTextClient } from "./grpc-web-text-client.js";
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

test("gRPC-web text (base64, the default of Google's grpc-web client) works beside binary gRPC-web", async (t) => {
  const h = t.context;
  const text = createGrpcWebTextClient(h.baseUrl);
  try {
    const headers = { authorization: bearer(h) };
    const { vehicle } = await text.unary(FleetService.method.registerVehicle, { plateNumber: uniquePlate(), attributes: sampleAttributes }, headers);
    t.is(vehicle?.status, VehicleStatus.ACTIVE);

    // On the wire: a request in three padded base64 segments; a base64 reply
    // holding the message frame, then the trailer frame.
    const { getVehicle } = FleetService.method;
    const request = toBinary(getVehicle.input, create(getVehicle.input, { vehicleId: vehicle!.id }));
    const reply = await text.post(`/${FleetService.typeName}/GetVehicle`, request, headers, 3);
    t.is(reply.httpStatus, 200);
    t.regex(reply.contentType ?? "", /^application\/grpc-web-text/);
    t.regex(reply.body, /^[A-Za-z0-9+/]+=*$/);
    t.is(reply.messages.length, 1);
    t.is(fromBinary(getVehicle.output, reply.messages[0]!).vehicle?.id, vehicle!.id);
    t.is(reply.trailer.get("grpc-status"), "0");

    // A domain error: grpc-status, grpc-message and grpc-status-details-bin in the trailer frame.
    const { recordOdometerReading } = FleetService.method;
    const bad = await text.post(`/${FleetService.typeName}/RecordOdometerReading`,
      toBinary(recordOdometerReading.input, create(recordOdometerReading.input, { vehicleId: vehicle!.id, readingKm: -5 })), headers);
    t.is(bad.httpStatus, 200);
    t.is(bad.messages.length, 0);
    t.is(bad.trailer.get("grpc-status"), String(Code.InvalidArgument));
    t.truthy(bad.trailer.get("grpc-message"));
    t.truthy(bad.trailer.get("grpc-status-details-bin"));
    const domainError = findTrailerError(bad.trailer)!;
    t.is(domainError.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "reading_km");
    t.is(domainError.findDetails(ErrorInfoSchema)[0]?.reason, "INVALID_ARGUMENT");

    // Authentication and authorization failures arrive the same way.
    const anonymous = await text.post(`/${FleetService.typeName}/GetVehicle`, request);
    t.is(anonymous.trailer.get("grpc-status"), String(Code.Unauthenticated));
    const forbidden = ConnectError.from(await t.throwsAsync(text.unary(FleetService.method.registerVehicle,
      { plateNumber: uniquePlate(), attributes: sampleAttributes }, { authorization: bearer(h, ["vehicles.read"]) })));
    t.is(forbidden.code, Code.PermissionDenied);
    t.is(forbidden.findDetails(ErrorInfoSchema)[0]?.reason, "PERMISSION_DENIED");
  } finally {
    text.close();
  }
});

test("gRPC-web binary: errors and auth failures arrive in the trailer", async (t) => {
  const h = t.context;
  const client = createClient(FleetService, createGrpcWebTransport({ baseUrl: h.baseUrl, httpVersion: "1.1" }));
  const invalid = ConnectError.from(await t.throwsAsync(client.getVehicle({ vehicleId: "nope" }, { headers: { authorization: bearer(h) } })));
  t.is(invalid.code, Code.InvalidArgument);
  t.deepEqual(invalid.details.map((d) => ("type" in d ? d.type : d.desc.typeName)).sort(), ["google.rpc.BadRequest", "google.rpc.ErrorInfo"]);
  const anonymous = ConnectError.from(await t.throwsAsync(client.getVehicle({ vehicleId: "nope" })));
  t.is(anonymous.code, Code.Unauthenticated);
  const forbidden = ConnectError.from(await t.throwsAsync(client.registerVehicle(
    { plateNumber: uniquePlate(), attributes: sampleAttributes }, { headers: { authorization: bearer(h, ["vehicles.read"]) } })));
  t.is(forbidden.code, Code.PermissionDenied);
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
