// The kit refuses text no service may store, for every RPC, before any
// handler runs: NUL and other controls, bidi overrides, invalid UTF-8 (raw on
// the wire, or a lone surrogate that the client's encoder turned into U+FFFD),
// and over-long strings; each with INVALID_ARGUMENT naming the field path.
import { create, fromBinary, toBinary, type DescMethod } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { FleetService, RegisterVehicleRequestSchema, RegisterVehicleResponseSchema, UpdateVehicleRequestSchema } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { HealthListResponseSchema } from "../../../gen/grpc/health/v1/health_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { DomainError } from "../src/errors.js";
import { createServiceClient, GrpcCallError, type ServiceClient } from "../src/grpc/client.js";
import { findInvalidUtf8, requestTextViolations } from "../src/grpc/request-text.js";
import { bindService, createGrpcServer, type GrpcServer, type ServiceHandlers, type UnaryHandler } from "../src/grpc/server.js";
import { findDetail, type DecodedStatus } from "../src/grpc/status.js";
import { createMetrics } from "../src/metrics.js";
import {
  HOSTILE_TEXTS,
  LEGITIMATE_TEXTS,
  methodsWithText,
  rawUnaryCall,
  stringFieldPaths,
  withSurrogateBytes,
} from "../src/testing/hostile-text.js";
import { MAX_TEXT_FIELD_LENGTH, textProblem } from "../src/validation.js";

interface Ctx {
  servers: GrpcServer[];
  address: string;
  longAddress: string;
  handled: string[];
}
const test = anyTest as TestFn<Ctx>;

async function startServer(handled: string[], textLimits?: Record<string, number>): Promise<{ server: GrpcServer; address: string }> {
  const handlers: Record<string, UnaryHandler> = {};
  for (const method of FleetService.methods) {
    handlers[method.localName] = (request) => {
      handled.push(method.name);
      return method.name === "RegisterVehicle"
        ? Promise.resolve(create(RegisterVehicleResponseSchema, { vehicle: { plateNumber: (request as unknown as { plateNumber: string }).plateNumber.slice(0, 8) } }))
        : Promise.reject(new DomainError("not_found", "VEHICLE_NOT_FOUND", "no such vehicle"));
    };
  }
  const server = createGrpcServer({
    bindings: [bindService(FleetService, handlers as unknown as ServiceHandlers<typeof FleetService>)],
    log: pino({ level: "silent" }),
    metrics: createMetrics("test", { runtime: false }),
    verifier: undefined,
    ...(textLimits ? { textLimits } : {}),
  });
  const port = await server.listen("127.0.0.1", 0);
  server.setServing("SERVING");
  return { server, address: `127.0.0.1:${port}` };
}

test.before(async (t) => {
  const handled: string[] = [];
  const plain = await startServer(handled);
  const long = await startServer(handled, { "fleetmesh.fleet.v1.RegisterVehicleRequest.plate_number": 2 << 20 });
  t.context = { servers: [plain.server, long.server], address: plain.address, longAddress: long.address, handled };
});

test.after.always(async (t) => {
  await Promise.all(t.context.servers.map((s) => s.shutdown(500)));
});

const violationsOf = (status: DecodedStatus | undefined) =>
  (findDetail(status, BadRequestSchema)?.fieldViolations ?? []).map((v) => ({ field: v.field, reason: v.reason }));

const call = (client: ServiceClient<typeof FleetService>, method: DescMethod, request: unknown): Promise<unknown> =>
  (client as unknown as Record<string, (r: unknown) => Promise<unknown>>)[method.localName]!(request);

test("legitimate Unicode passes; each kind of hostile text has its reason", (t) => {
  for (const text of LEGITIMATE_TEXTS) t.is(textProblem(text), undefined, JSON.stringify(text));
  for (const hostile of HOSTILE_TEXTS) t.is(textProblem(hostile.value)?.reason as string | undefined, hostile.reason, hostile.name);
  t.is(textProblem("a\uFFFDb")?.reason, "INVALID_UTF8");
  t.is(textProblem("x".repeat(MAX_TEXT_FIELD_LENGTH)), undefined);
  t.is(textProblem("x".repeat(41), 40)?.reason, "TOO_LONG");
  // The description names the code point, never echoes the value.
  t.is(textProblem("secret\u0000value")?.description, "must not contain control character U+0000 (index 6)");
});

test("paths name nested, repeated and map fields; every bad field is listed", (t) => {
  const update = create(UpdateVehicleRequestSchema, {
    vehicleId: "ok",
    attributes: { make: "a\u0000", model: "Corolla", acquisitionPrice: { currencyCode: "E\u202EUR" } },
    updateMask: create(FieldMaskSchema, { paths: ["make", "model\uD800"] }),
  });
  t.deepEqual(requestTextViolations(UpdateVehicleRequestSchema, update).map((v) => `${v.field}:${v.reason}`), [
    "attributes.make:CONTROL_CHARACTER",
    "attributes.acquisition_price.currency_code:BIDI_CONTROL",
    "update_mask.paths[1]:INVALID_UTF8",
  ]);
  const info = create(ErrorInfoSchema, { reason: "ok", metadata: { good: "fine", bad: "x\u0007", "k\u0000": "v" } });
  t.deepEqual(requestTextViolations(ErrorInfoSchema, info).map((v) => `${v.field}:${v.reason}`).sort(), [
    "metadata:CONTROL_CHARACTER",
    'metadata["bad"]:CONTROL_CHARACTER',
  ]);
  const health = create(HealthListResponseSchema, { statuses: { svc: {} } });
  t.deepEqual(requestTextViolations(HealthListResponseSchema, health), []);
  const badRequest = create(BadRequestSchema, { fieldViolations: [{ field: "ok" }, { field: "ok", description: "\u2067" }] });
  t.deepEqual(requestTextViolations(BadRequestSchema, badRequest).map((v) => v.field), ["field_violations[1].description"]);
  t.deepEqual(
    requestTextViolations(RegisterVehicleRequestSchema, create(RegisterVehicleRequestSchema, { plateNumber: "x".repeat(100) }), {
      "fleetmesh.fleet.v1.RegisterVehicleRequest.plate_number": 10,
    }).map((v) => v.reason),
    ["TOO_LONG"],
  );
});

test("what a lone surrogate looks like after encoding and decoding", (t) => {
  // A client library (protobuf-es here, the gateway's JSON transcoding too)
  // encodes it as U+FFFD: the server decodes "a\uFFFDb", refused as INVALID_UTF8.
  const sent = toBinary(RegisterVehicleRequestSchema, create(RegisterVehicleRequestSchema, { plateNumber: "a\uD800b" }));
  t.is(Buffer.from(sent).toString("hex"), "0a0561efbfbd62");
  t.is(fromBinary(RegisterVehicleRequestSchema, sent).plateNumber, "a\uFFFDb");
  // Raw bytes of the surrogate itself: the strict decoder refuses the message,
  // and the kit names the field.
  const raw = new Uint8Array([0x0a, 0x05, 0x61, 0xed, 0xa0, 0x80, 0x62]);
  t.throws(() => fromBinary(RegisterVehicleRequestSchema, raw));
  t.is(findInvalidUtf8(RegisterVehicleRequestSchema, raw), "plate_number");
});

test("invalid UTF-8 on the wire is located in nested and repeated fields", (t) => {
  for (const field of stringFieldPaths(UpdateVehicleRequestSchema)) {
    t.is(findInvalidUtf8(UpdateVehicleRequestSchema, withSurrogateBytes(field, UpdateVehicleRequestSchema)), field.path);
  }
  t.is(findInvalidUtf8(UpdateVehicleRequestSchema, toBinary(UpdateVehicleRequestSchema, create(UpdateVehicleRequestSchema, { vehicleId: "é" }))), undefined);
  t.is(findInvalidUtf8(UpdateVehicleRequestSchema, new Uint8Array([0x0a, 0xff, 0xff])), undefined);
  const map = toBinary(ErrorInfoSchema, create(ErrorInfoSchema, { metadata: { key: "a\u0800" } }));
  map[map.findIndex((b) => b === 0xe0)] = 0xed;
  t.is(findInvalidUtf8(ErrorInfoSchema, map), 'metadata["key"]');
  const bidiKey = toBinary(ErrorInfoSchema, create(ErrorInfoSchema, { metadata: { "k\u202E": "a\u0800" } }));
  bidiKey[bidiKey.findIndex((b) => b === 0xe0)] = 0xed;
  t.is(findInvalidUtf8(ErrorInfoSchema, bidiKey), 'metadata["k\\u202e"]', "a key in a path is escaped");
});

test.serial("every string field of every RPC: hostile text is INVALID_ARGUMENT naming the field, and no handler runs", async (t) => {
  const client = createServiceClient(FleetService, { address: t.context.address, deadlineMs: 10_000 });
  t.teardown(() => client.close());
  const before = t.context.handled.length;
  let cases = 0;
  for (const method of methodsWithText(FleetService)) {
    for (const field of stringFieldPaths(method.input)) {
      for (const hostile of HOSTILE_TEXTS) {
        const err = await t.throwsAsync(call(client, method, field.request(hostile.value)), { instanceOf: GrpcCallError });
        const label = `${method.name} ${field.path} ${hostile.name}`;
        t.is(GrpcStatus[err?.code ?? 0], "INVALID_ARGUMENT", label);
        t.is(findDetail(err?.status, ErrorInfoSchema)?.reason, "INVALID_ARGUMENT", label);
        t.deepEqual(violationsOf(err?.status), [{ field: field.path, reason: hostile.reason }], label);
        cases++;
      }
      // What only a raw client can send: the UTF-8 bytes of a surrogate.
      const raw = await rawUnaryCall(t.context.address, method, withSurrogateBytes(field, method.input));
      t.is(GrpcStatus[raw.code], "INVALID_ARGUMENT", `${method.name} ${field.path} raw`);
      t.deepEqual(violationsOf(raw.status), [{ field: field.path, reason: "INVALID_UTF8" }], `${method.name} ${field.path} raw`);
      cases++;
    }
  }
  t.true(cases > 100, `${cases} cases`);
  t.is(t.context.handled.length, before, "no handler saw hostile text");
});

test.serial("legitimate Unicode reaches the handler; a declared longer field takes 1 MB", async (t) => {
  const client = createServiceClient(FleetService, { address: t.context.address, deadlineMs: 10_000 });
  const long = createServiceClient(FleetService, { address: t.context.longAddress, deadlineMs: 10_000 });
  t.teardown(() => { client.close(); long.close(); });
  for (const text of LEGITIMATE_TEXTS) {
    const res = await client.registerVehicle({ plateNumber: text, attributes: { make: text, model: text } });
    t.is(res.vehicle?.plateNumber, text.slice(0, 8));
  }
  const mb = "x".repeat(1 << 20);
  await t.notThrowsAsync(long.registerVehicle({ plateNumber: mb }));
  const err = await t.throwsAsync(long.registerVehicle({ plateNumber: "ok", attributes: { make: mb } }), { instanceOf: GrpcCallError });
  t.deepEqual(violationsOf(err?.status), [{ field: "attributes.make", reason: "TOO_LONG" }]);
});

test("a message that is malformed otherwise stays MALFORMED on (message)", async (t) => {
  const method = FleetService.method.getVehicle;
  const raw = await rawUnaryCall(t.context.address, method, new Uint8Array([0x0a, 0xff, 0xff, 0xff]));
  t.is(GrpcStatus[raw.code], "INVALID_ARGUMENT");
  t.deepEqual(violationsOf(raw.status), [{ field: "(message)", reason: "MALFORMED" }]);
});
