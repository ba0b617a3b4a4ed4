// The gateway's raw lane (gateway/src/raw-lane.ts): gRPC, gRPC-web binary and
// text, and Connect binary are forwarded as bytes; the edge rules still hold.
import { create, fromBinary, toBinary, type DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { GrpcCallError } from "../../services/platform/src/grpc/client.js";
import { STATUS_DETAILS_KEY } from "../../services/platform/src/grpc/status.js";
import type { Metrics } from "../../services/platform/src/metrics.js";
import { sampleAttributes, uniquePlate } from "../../services/fleet/test/support.js";
import { gatewayConfigSchema } from "../src/config.js";
import { build } from "../src/main.js";
import { createGrpcWebTextClient, type GrpcWebTextClient } from "./grpc-web-text-client.js";
import { ALLOWED_ORIGIN, startMesh, type MeshHarness } from "./support.js";

interface Context {
  readonly mesh: MeshHarness;
  /** The gateway's access log lines, parsed. */
  readonly lines: Array<Record<string, unknown>>;
  readonly text: GrpcWebTextClient;
}

const test = anyTest as TestFn<Context>;

test.before(async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const gatewayLog = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const mesh = await startMesh({ gatewayLog });
  t.context = { mesh, lines, text: createGrpcWebTextClient(mesh.baseUrl) };
});
test.after.always(async (t) => {
  t.context.text.close();
  await t.context.mesh.stop();
});

const { getVehicle, listVehicles, registerVehicle, recordOdometerReading } = FleetService.method;
/** One uncompressed length-prefixed message. */
function frame(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

const pathOf = (m: DescMethod): string => `/${m.parent.typeName}/${m.name}`;
const bearer = (c: Context, permissions?: readonly string[]): string => c.mesh.fleet.as(permissions).headers["authorization"]!;

const transports = (baseUrl: string): Array<[string, Transport]> => [
  ["gRPC", createGrpcTransport({ baseUrl })],
  ["gRPC-web", createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ["Connect binary", createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true })],
  ["Connect binary over HTTP/2", createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true })],
];

/** Requests the service counted for a method (every outcome). */
async function servedBy(metrics: Metrics, method: DescMethod): Promise<number> {
  const metric = await metrics.registry.getSingleMetric("rpc_server_requests_total")!.get();
  return metric.values.filter((v) => v.labels["method"] === pathOf(method)).reduce((n, v) => n + v.value, 0);
}

const accessLine = (c: Context, requestId: string): Record<string, unknown> | undefined =>
  c.lines.find((l) => l["msg"] === "rpc" && l["requestId"] === requestId);

test.serial("gRPC, gRPC-web (binary and text), Connect binary and Connect JSON unary take the raw lane; Connect GET stays on Connect's handler", async (t) => {
  const c = t.context;
  const headers = (id: string) => ({ authorization: bearer(c), "x-request-id": id });
  for (const [name, transport] of transports(c.mesh.baseUrl)) {
    const id = `raw-${name.replace(/\W+/g, "-")}`;
    const res = await createClient(FleetService, transport).listVehicles({ page: { pageSize: 1 } }, { headers: headers(id) });
    t.true(Array.isArray(res.vehicles), name);
    t.like(accessLine(c, id), { lane: "raw", status: "OK", method: pathOf(listVehicles) }, name);
  }
  await c.text.unary(listVehicles, { page: { pageSize: 1 } }, headers("raw-text"));
  t.like(accessLine(c, "raw-text"), { lane: "raw", status: "OK", protocol: "application/grpc-web-text" });

  const json = createClient(FleetService, createConnectTransport({ baseUrl: c.mesh.baseUrl, httpVersion: "1.1", useBinaryFormat: false }));
  await json.listVehicles({}, { headers: headers("connect-json") });
  // JSON is transcoded once each way at the edge; the upstream still gets protobuf bytes.
  t.like(accessLine(c, "connect-json"), { lane: "raw", status: "OK", protocol: "application/json" });
  const get = createClient(FleetService, createConnectTransport({ baseUrl: c.mesh.baseUrl, httpVersion: "1.1", useBinaryFormat: false, useHttpGet: true }));
  await get.listVehicles({}, { headers: headers("connect-get") });
  t.like(accessLine(c, "connect-get"), { lane: "connect", status: "OK" });

  // The same metric and labels, whichever lane.
  const metric = await c.mesh.gateway.metrics.registry.getSingleMetric("rpc_server_requests_total")!.get();
  const ok = metric.values.find((v) => v.labels["method"] === pathOf(listVehicles) && v.labels["code"] === "OK");
  t.true((ok?.value ?? 0) >= 6);
});

test.serial("the request id comes back on success and on errors", async (t) => {
  const c = t.context;
  const res = await fetch(`${c.mesh.baseUrl}${pathOf(getVehicle)}`, {
    method: "POST",
    headers: { "content-type": "application/proto", authorization: bearer(c), "x-request-id": "raw-id-1" },
    body: toBinary(getVehicle.input, create(getVehicle.input, { vehicleId: "nope" })),
  });
  t.is(res.status, 400);
  t.is(res.headers.get("x-request-id"), "raw-id-1");
  const body = (await res.json()) as { code: string; details: Array<{ type: string }> };
  t.is(body.code, "invalid_argument");
  t.deepEqual(body.details.map((d) => d.type).sort(), ["google.rpc.BadRequest", "google.rpc.ErrorInfo"]);

  const grpc = createClient(FleetService, createGrpcTransport({ baseUrl: c.mesh.baseUrl }));
  let responseId: string | null = null;
  await grpc.listVehicles({}, { headers: { authorization: bearer(c) }, onHeader: (h) => (responseId = h.get("x-request-id")) });
  t.regex(responseId ?? "", /^[0-9a-f-]{36}$/, "generated when the client sends none");
});

test.serial("a browser's gRPC-web call from an allowed origin gets the CORS headers", async (t) => {
  const c = t.context;
  const res = await fetch(`${c.mesh.baseUrl}${pathOf(listVehicles)}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web-text", "x-grpc-web": "1", origin: ALLOWED_ORIGIN, authorization: bearer(c) },
    body: frame(toBinary(listVehicles.input, create(listVehicles.input, {}))).toString("base64"),
  });
  t.is(res.status, 200);
  t.is(res.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
  t.regex(res.headers.get("access-control-expose-headers") ?? "", /Grpc-Status-Details-Bin/i);
  t.regex(Buffer.from(await res.text(), "base64").toString("latin1"), /grpc-status: 0\r\n/);
});

test.serial("unauthenticated and forbidden calls are refused at the edge and never reach fleet", async (t) => {
  const c = t.context;
  const before = await servedBy(c.mesh.fleet.service.metrics, registerVehicle);
  for (const [name, transport] of transports(c.mesh.baseUrl)) {
    const client = createClient(FleetService, transport);
    const request = { plateNumber: uniquePlate(), attributes: sampleAttributes };
    const anonymous = ConnectError.from(await t.throwsAsync(client.registerVehicle(request)));
    t.is(anonymous.code, Code.Unauthenticated, name);
    t.is(anonymous.findDetails(ErrorInfoSchema)[0]?.reason, "UNAUTHENTICATED", name);
    const forged = ConnectError.from(await t.throwsAsync(client.registerVehicle(request, { headers: { authorization: "Bearer a.b.c" } })));
    t.is(forged.code, Code.Unauthenticated, name);
    const forbidden = ConnectError.from(await t.throwsAsync(client.registerVehicle(request, { headers: { authorization: bearer(c, ["vehicles.read"]) } })));
    t.is(forbidden.code, Code.PermissionDenied, name);
    t.is(forbidden.findDetails(ErrorInfoSchema)[0]?.metadata["permission"], "vehicles.register", name);
  }
  const text = ConnectError.from(await t.throwsAsync(c.text.unary(registerVehicle, { plateNumber: uniquePlate() }, { authorization: bearer(c, ["vehicles.read"]) })));
  t.is(text.code, Code.PermissionDenied);
  t.is(await servedBy(c.mesh.fleet.service.metrics, registerVehicle), before, "fleet saw none of them");
});

test.serial("messages over 4 MiB are refused with RESOURCE_EXHAUSTED before fleet sees them", async (t) => {
  const c = t.context;
  const before = await servedBy(c.mesh.fleet.service.metrics, getVehicle);
  const huge = "x".repeat(4 * 1024 * 1024 + 1);
  for (const [name, transport] of transports(c.mesh.baseUrl)) {
    const err = ConnectError.from(await t.throwsAsync(createClient(FleetService, transport).getVehicle({ vehicleId: huge }, { headers: { authorization: bearer(c) } })));
    t.is(err.code, Code.ResourceExhausted, name);
  }
  const text = ConnectError.from(await t.throwsAsync(c.text.unary(getVehicle, { vehicleId: huge }, { authorization: bearer(c) })));
  t.is(text.code, Code.ResourceExhausted);
  // An envelope that only promises a huge message is refused on its header.
  const promise = Buffer.from([0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
  const res = await fetch(`${c.mesh.baseUrl}${pathOf(getVehicle)}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", authorization: bearer(c) },
    body: promise,
  });
  t.is(res.status, 200);
  t.regex(Buffer.from(await res.arrayBuffer()).toString("latin1"), /grpc-status: 8\r\n/);
  // Just under the limit still gets through to fleet (which refuses the id).
  const under = ConnectError.from(await t.throwsAsync(createClient(FleetService, createGrpcTransport({ baseUrl: c.mesh.baseUrl }))
    .getVehicle({ vehicleId: "x".repeat(4 * 1024 * 1024 - 16) }, { headers: { authorization: bearer(c) } })));
  t.is(under.code, Code.InvalidArgument);
  t.is(await servedBy(c.mesh.fleet.service.metrics, getVehicle), before + 1, "only the last call reached fleet");
});

test.serial("malformed framing is INVALID_ARGUMENT, not INTERNAL", async (t) => {
  const c = t.context;
  const message = toBinary(getVehicle.input, create(getVehicle.input, { vehicleId: "x" }));
  const framed = frame(message);
  const send = async (contentType: string, body: Uint8Array | string): Promise<string> => {
    const res = await fetch(`${c.mesh.baseUrl}${pathOf(getVehicle)}`, {
      method: "POST", headers: { "content-type": contentType, authorization: bearer(c) }, body,
    });
    const text = Buffer.from(await res.arrayBuffer()).toString("latin1");
    return contentType.includes("text") ? Buffer.from(text, "base64").toString("latin1") : text;
  };
  t.regex(await send("application/grpc-web+proto", framed.subarray(0, framed.length - 1)), /grpc-status: 3\r\n/, "truncated");
  t.regex(await send("application/grpc-web+proto", Buffer.concat([framed, framed])), /grpc-status: 3\r\n/, "two messages in a unary call");
  t.regex(await send("application/grpc-web+proto", Buffer.from([1, 0, 0, 0, 0])), /grpc-status: 3\r\n/, "compressed without grpc-encoding");
  t.regex(await send("application/grpc-web-text", "not base64!"), /grpc-status: 3\r\n/, "not base64");
});

test.serial("deadlines propagate to fleet: a call blocked there ends at the client's deadline", async (t) => {
  const c = t.context;
  const { vehicle } = await c.mesh.fleet.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, c.mesh.fleet.as());
  const admin = c.mesh.fleet.db.admin;
  await admin.query("BEGIN");
  await admin.query("LOCK TABLE vehicles IN ACCESS EXCLUSIVE MODE");
  try {
    for (const [name, transport] of transports(c.mesh.baseUrl)) {
      const startedAt = Date.now();
      const err = ConnectError.from(await t.throwsAsync(createClient(FleetService, transport)
        .getVehicle({ vehicleId: vehicle!.id }, { headers: { authorization: bearer(c) }, timeoutMs: 400 })));
      const elapsed = Date.now() - startedAt;
      t.is(err.code, Code.DeadlineExceeded, name);
      t.true(elapsed >= 350 && elapsed < 2_500, `${name}: ended after ${elapsed} ms, not at the gateway's 5 s default`);
      t.notRegex(err.rawMessage, /\d+\.\d+\.\d+\.\d+|remote_addr/, `${name}: no internal address`);
    }
  } finally {
    await admin.query("ROLLBACK");
  }
  const invalid = ConnectError.from(await t.throwsAsync(c.text.unary(getVehicle, { vehicleId: vehicle!.id }, { authorization: bearer(c), "grpc-timeout": "soon" })));
  t.is(invalid.code, Code.InvalidArgument);
});

test.serial("upstream errors pass through with fleet's grpc-status-details-bin byte for byte", async (t) => {
  const c = t.context;
  const { vehicle } = await c.mesh.fleet.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, c.mesh.fleet.as());
  const request = { vehicleId: vehicle!.id, readingKm: -5 };
  const direct = await t.throwsAsync(c.mesh.fleet.client.recordOdometerReading(request, c.mesh.fleet.as()), { instanceOf: GrpcCallError });
  const fromFleet = (direct!.trailers!.get(STATUS_DETAILS_KEY)[0] as Buffer).toString("base64");

  const res = await fetch(`${c.mesh.baseUrl}${pathOf(recordOdometerReading)}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", authorization: bearer(c) },
    body: frame(toBinary(recordOdometerReading.input, create(recordOdometerReading.input, request))),
  });
  const body = Buffer.from(await res.arrayBuffer());
  t.is(body[0], 0x80, "a trailers-only reply: the trailer frame");
  const trailer = Object.fromEntries(body.subarray(5).toString("latin1").split("\r\n").filter(Boolean)
    .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
  t.is(trailer["grpc-status"], String(Code.InvalidArgument));
  t.is(decodeURIComponent(trailer["grpc-message"]!), direct!.message);
  t.is(Buffer.from(trailer[STATUS_DETAILS_KEY]!, "base64").toString("base64"), fromFleet);
  const status = fromBinary(StatusSchema, Buffer.from(trailer[STATUS_DETAILS_KEY]!, "base64"));
  t.is(status.code, Code.InvalidArgument);

  for (const [name, transport] of transports(c.mesh.baseUrl)) {
    const err = ConnectError.from(await t.throwsAsync(createClient(FleetService, transport).recordOdometerReading(request, { headers: { authorization: bearer(c) } })));
    t.is(err.code, Code.InvalidArgument, name);
    t.is(err.rawMessage, direct!.message, name);
    t.is(err.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field, "reading_km", name);
  }
});

test.serial("idempotency keys travel on the raw lane", async (t) => {
  const c = t.context;
  const client = createClient(FleetService, createGrpcTransport({ baseUrl: c.mesh.baseUrl }));
  const plateNumber = uniquePlate();
  const send = () => client.registerVehicle({ plateNumber, attributes: sampleAttributes },
    { headers: { authorization: bearer(c), "idempotency-key": "raw-lane-key-0001" } });
  const a = await send();
  const b = await send();
  t.is(a.vehicle?.id, b.vehicle?.id, "the second call replays the first: same key, same vehicle");
});

test.serial("an upstream that is down gives UNAVAILABLE in plain words, without its address", async (t) => {
  const c = t.context;
  const gateway = await build(gatewayConfigSchema.parse({
    service: { name: "gateway" },
    http: { host: "127.0.0.1", port: 0 },
    ops: { host: "127.0.0.1", port: 0 },
    auth: c.mesh.fleet.config.auth,
    cors: { allowedOrigins: [] },
    // Port 1 on loopback: nothing listens, connections are refused.
    upstreams: { fleet: { address: "127.0.0.1:1", deadlineMs: 2_000 } },
    log: { level: "silent" },
    shutdown: { graceMs: 500 },
  }), { log: pino({ level: "silent" }) });
  try {
    const baseUrl = `http://127.0.0.1:${gateway.port}`;
    for (const [name, transport] of transports(baseUrl)) {
      const err = ConnectError.from(await t.throwsAsync(createClient(FleetService, transport).listVehicles({}, { headers: { authorization: bearer(c) } })));
      t.is(err.code, Code.Unavailable, name);
      t.is(err.findDetails(ErrorInfoSchema)[0]?.reason, "DEPENDENCY_UNAVAILABLE", name);
      t.regex(err.rawMessage, /^fleet service unavailable$/, name);
      t.is(err.findDetails(ErrorInfoSchema)[0]?.metadata["dependency"], "fleet", name);
      t.notRegex(err.rawMessage, /127\.0\.0\.1|ECONNREFUSED|:1\b/, name);
    }
  } finally {
    await gateway.stop();
  }
});
