import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import anyTest, { type TestFn } from "ava";
import { repoRoot } from "../../services/platform/src/db.js";
import { grpcurlBinary } from "../../services/platform/src/testing/harness.js";
import { startMesh, type Mesh } from "./mesh.js";

// An operator's view of the gateway: the real grpcurl against its public
// port, with reflection and health answered by the gateway itself.

const run = promisify(execFile);
const test = anyTest as TestFn<Mesh>;

/** The real grpcurl binary, installed from the Go module proxy by scripts/infra/tools.sh. */
let grpcurl = "";

test.before(async (t) => {
  // The ledger runs but is left out of the gateway's routes: the unrouted service of these tests.
  const mesh = startMesh("test-keys", { unroutedAtGateway: ["ledger"] });
  try {
    grpcurl = await grpcurlBinary(t);
  } finally {
    t.context = await mesh;
  }
});
test.after.always(async (t) => {
  // The context is {} when the before hook failed (grpcurl missing).
  if (typeof t.context?.stop === "function") await t.context.stop();
});

/** grpcurl [flags] <gateway> [verb or method] [symbol] */
const call = (mesh: Mesh, flags: readonly string[], ...positional: string[]) =>
  run(grpcurl, ["-plaintext", "-max-time", "10", ...flags, `127.0.0.1:${mesh.gateway.port}`, ...positional]);

const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    return `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
  throw new Error("grpcurl succeeded, expected a failure");
};

test("list: every routed service, health and reflection", async (t) => {
  const { stdout } = await call(t.context, [], "list");
  t.deepEqual(stdout.trim().split("\n").sort(), [
    "fleetmesh.fleet.v1.FleetService",
    "fleetmesh.identity.v1.IdentityService",
    "fleetmesh.maintenance.v1.MaintenanceService",
    "fleetmesh.rental.v1.RentalService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
  ]);
  const methods = await call(t.context, [], "list", "fleetmesh.identity.v1.IdentityService");
  t.true(methods.stdout.split("\n").includes("fleetmesh.identity.v1.IdentityService.Login"));
});

test("describe a service, a method and a message (with imports resolved)", async (t) => {
  const service = await call(t.context, [], "describe", "fleetmesh.fleet.v1.FleetService");
  t.regex(service.stdout, /fleetmesh\.fleet\.v1\.FleetService is a service:/);
  t.regex(service.stdout, /rpc RegisterVehicle \( \.fleetmesh\.fleet\.v1\.RegisterVehicleRequest \) returns \( \.fleetmesh\.fleet\.v1\.RegisterVehicleResponse \)/);
  const method = await call(t.context, [], "describe", "fleetmesh.identity.v1.IdentityService.Login");
  t.regex(method.stdout, /rpc Login \( \.fleetmesh\.identity\.v1\.LoginRequest \)/);
  const message = await call(t.context, [], "describe", "fleetmesh.fleet.v1.Vehicle");
  t.regex(message.stdout, /message Vehicle \{/);
  t.regex(message.stdout, /plate_number/);
  // A type from another file (fleetmesh/common/v1/money.proto): found through the dependency chain.
  const money = await call(t.context, [], "describe", "fleetmesh.common.v1.Money");
  t.regex(money.stdout, /amount_minor/);
  const enumValue = await call(t.context, [], "describe", "fleetmesh.fleet.v1.VEHICLE_STATUS_ACTIVE");
  t.regex(enumValue.stdout, /VEHICLE_STATUS_ACTIVE/);
});

test("describe an unknown symbol: not found, in grpcurl's words", async (t) => {
  const out = await failure(call(t.context, [], "describe", "fleetmesh.fleet.v1.NoSuchThing"));
  t.regex(out, /Symbol not found|not found/i);
});

test("a call with a bearer token, through reflection, to fleet and to identity", async (t) => {
  const mesh = t.context;
  const admin = mesh.keys.token({ permissions: ["vehicles.read", "vehicles.register"] });
  const plate = `GRPCURL-${Date.now() % 1_000_000}`;
  const registered = await call(mesh, ["-H", `authorization: Bearer ${admin}`,
    "-d", JSON.stringify({ plate_number: plate, attributes: { make: "Ford", model: "Transit" } })],
  "fleetmesh.fleet.v1.FleetService/RegisterVehicle");
  const vehicle = (JSON.parse(registered.stdout) as { vehicle: { id: string; plateNumber: string } }).vehicle;
  t.is(vehicle.plateNumber, plate);
  const got = await call(mesh, ["-H", `authorization: Bearer ${admin}`, "-d", JSON.stringify({ vehicle_id: vehicle.id })],
    "fleetmesh.fleet.v1.FleetService/GetVehicle");
  t.is((JSON.parse(got.stdout) as { vehicle: { id: string } }).vehicle.id, vehicle.id);

  // Without the token the edge refuses it, with grpc-status, as a service would.
  const anonymous = await failure(call(mesh, ["-d", JSON.stringify({ vehicle_id: vehicle.id })], "fleetmesh.fleet.v1.FleetService/GetVehicle"));
  t.regex(anonymous, /Code: Unauthenticated/);
  // An anonymous identity RPC answered by identity through the gateway: its own error passes through.
  const login = await failure(call(mesh, ["-d", JSON.stringify({ email: "nobody@example.test", password: "wrong-password-123" })],
    "fleetmesh.identity.v1.IdentityService/Login"));
  t.regex(login, /Code: Unauthenticated/);
});

test("health: the gateway itself, each routed service, and NOT_FOUND for others", async (t) => {
  const mesh = t.context;
  const gateway = await call(mesh, [], "grpc.health.v1.Health/Check");
  t.deepEqual(JSON.parse(gateway.stdout), { status: "SERVING" });
  for (const service of [
    "fleetmesh.fleet.v1.FleetService", "fleetmesh.identity.v1.IdentityService", "fleetmesh.maintenance.v1.MaintenanceService",
    "fleetmesh.rental.v1.RentalService",
  ]) {
    const upstream = await call(mesh, ["-d", JSON.stringify({ service })], "grpc.health.v1.Health/Check");
    t.deepEqual(JSON.parse(upstream.stdout), { status: "SERVING" }, service);
  }
  const unknown = await failure(call(mesh, ["-d", '{"service":"fleetmesh.ledger.v1.LedgerService"}'], "grpc.health.v1.Health/Check"));
  t.regex(unknown, /Code: NotFound/);
});

test("an unknown method gets UNIMPLEMENTED with a grpc-status, not INTERNAL", async (t) => {
  // grpcurl checks a method against reflection before calling it, so the
  // call goes out with the schema from proto files: ledger is not routed.
  const out = await failure(call(t.context, ["-import-path", resolve(repoRoot, "proto"), "-proto", "fleetmesh/ledger/v1/ledger_service.proto",
    "-d", "{}"], "fleetmesh.ledger.v1.LedgerService/GetInvoice"));
  t.regex(out, /Code: Unimplemented/);
  t.regex(out, /\/fleetmesh\.ledger\.v1\.LedgerService\/GetInvoice is not served by the gateway/);
  t.notRegex(out, /Internal/);
});

test("error details arrive decoded: reflection includes the google.rpc detail types", async (t) => {
  const mesh = t.context;
  const out = await failure(call(mesh, ["-H", `authorization: Bearer ${mesh.keys.token({ permissions: ["vehicles.read"] })}`,
    "-d", '{"vehicle_id":"nope"}'], "fleetmesh.fleet.v1.FleetService/GetVehicle"));
  t.regex(out, /Code: InvalidArgument/);
  t.regex(out, /"@type": "type\.googleapis\.com\/google\.rpc\.BadRequest"/);
  t.regex(out, /"field": "vehicle_id"/);
  t.notRegex(out, /is not recognized/);
});
