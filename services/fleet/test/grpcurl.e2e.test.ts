import { execFile } from "node:child_process";
import { promisify } from "node:util";
import anyTest, { type TestFn } from "ava";
import { grpcurlBinary } from "../../platform/src/testing/harness.js";
import { sampleAttributes, startFleet, uniquePlate, type FleetHarness } from "./support.js";

const run = promisify(execFile);
const test = anyTest as TestFn<FleetHarness>;

/** The real grpcurl binary, installed from the Go module proxy by scripts/infra/tools.sh. */
let grpcurl = "";

test.before(async (t) => {
  const fleet = startFleet();
  try {
    grpcurl = await grpcurlBinary(t);
  } finally {
    t.context = await fleet;
  }
});
test.after.always(async (t) => {
  await t.context?.stop();
});

/** grpcurl [flags] address [verb or method] [symbol] */
const call = (h: FleetHarness, flags: readonly string[], ...positional: string[]) =>
  run(grpcurl, ["-plaintext", "-max-time", "10", ...flags, `127.0.0.1:${h.service.grpcPort}`, ...positional]);

test("grpcurl lists fleet, health and reflection services via reflection", async (t) => {
  const { stdout } = await call(t.context, [], "list");
  const services = stdout.trim().split("\n").sort();
  t.deepEqual(services, ["fleetmesh.fleet.v1.FleetService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]);
});

test("grpcurl describes methods and messages", async (t) => {
  const { stdout } = await call(t.context, [], "describe", "fleetmesh.fleet.v1.FleetService.GetVehicle");
  t.regex(stdout, /rpc GetVehicle \( \.fleetmesh\.fleet\.v1\.GetVehicleRequest \) returns \( \.fleetmesh\.fleet\.v1\.GetVehicleResponse \)/);
  const msg = await call(t.context, [], "describe", "fleetmesh.fleet.v1.Vehicle");
  t.regex(msg.stdout, /plate_number/);
});

test("grpcurl calls GetVehicle with a bearer token, and health Check", async (t) => {
  const h = t.context;
  const { vehicle } = await h.client.registerVehicle({ plateNumber: uniquePlate(), attributes: sampleAttributes }, h.as());
  const { stdout } = await call(h, ["-H", `authorization: ${h.as().headers["authorization"]}`,
    "-d", JSON.stringify({ vehicle_id: vehicle!.id })], "fleetmesh.fleet.v1.FleetService/GetVehicle");
  const body = JSON.parse(stdout) as { vehicle: { id: string; status: string } };
  t.is(body.vehicle.id, vehicle!.id);
  t.is(body.vehicle.status, "VEHICLE_STATUS_ACTIVE");
  const health = await call(h, [], "grpc.health.v1.Health/Check");
  t.is((JSON.parse(health.stdout) as { status: string }).status, "SERVING");
});

test("grpcurl shows error details for a bad request", async (t) => {
  const h = t.context;
  const err = await t.throwsAsync(call(h, ["-H", `authorization: ${h.as().headers["authorization"]}`,
    "-d", '{"vehicle_id":"nope"}'], "fleetmesh.fleet.v1.FleetService/GetVehicle")) as Error & { stdout: string; stderr: string };
  t.regex(err.stdout + err.stderr, /InvalidArgument/);
  t.regex(err.stdout + err.stderr, /google\.rpc\.BadRequest/);
});
