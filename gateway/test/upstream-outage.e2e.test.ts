import { Writable } from "node:stream";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import anyTest, { type TestFn } from "ava";
import { pino } from "pino";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { startMesh, type Mesh } from "./mesh.js";

// Finding 4 of issue 9: with fleet down, the gateway stays ready, identity
// still works through it, fleet's routes fail with a plain-words UNAVAILABLE
// (no internal address), gateway_upstream_up shows fleet down, and all of it
// recovers when fleet comes back.

interface Context { mesh: Mesh; logLines: string[] }
const test = anyTest.serial as TestFn<Context>;
const ADMIN = { email: "outage-admin@example.test", password: "correct-horse-battery-staple-9" };
/** Anything that looks like an address: a dotted quad, a host:port, an errno. */
const ADDRESS_LIKE = /\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|:\d{2,5}\b|\bE[A-Z]{4,}\b|localhost/;

test.before(async (t) => {
  const logLines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logLines.push(chunk.toString()); done(); } });
  const mesh = await startMesh("identity", {
    upstreamProbe: { intervalMs: 200, timeoutMs: 500 },
    gatewayLog: pino({ level: "info" }, sink),
  });
  await mesh.identity.useCases.users.bootstrapAdmin({ email: ADMIN.email, displayName: "Otto Outage", password: ADMIN.password });
  t.context = { mesh, logLines };
});
test.after.always(async (t) => {
  await t.context?.mesh.stop();
});

const ops = (mesh: Mesh, path: string) => fetch(`http://127.0.0.1:${mesh.gateway.opsPort}${path}`);

const upstreamUp = async (mesh: Mesh, upstream: string): Promise<number | undefined> => {
  const text = await (await ops(mesh, "/metrics")).text();
  const m = new RegExp(`^gateway_upstream_up\\{upstream="${upstream}",service="gateway"\\} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
};

/** Polls until the gauge shows `want`; returns the milliseconds it took. */
const waitForUpstream = async (mesh: Mesh, upstream: string, want: number, withinMs = 10_000): Promise<number> => {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if ((await upstreamUp(mesh, upstream)) === want) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gateway_upstream_up{upstream="${upstream}"} did not become ${want} within ${withinMs} ms (last ${await upstreamUp(mesh, upstream)})`);
};

const rpc = async (mesh: Mesh, path: string, body: unknown, token?: string) => {
  const res = await fetch(`${mesh.baseUrl}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const login = async (mesh: Mesh): Promise<string> => {
  const res = await rpc(mesh, "fleetmesh.identity.v1.IdentityService/Login", ADMIN);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { tokens: { accessToken: string } }).tokens.accessToken;
};

const errorInfoOf = (body: Record<string, unknown>) => {
  const details = (body["details"] ?? []) as Array<{ type: string; value: string }>;
  const info = details.find((d) => d.type === "google.rpc.ErrorInfo");
  return info ? fromBinary(ErrorInfoSchema, Buffer.from(info.value, "base64")) : undefined;
};

test("both upstreams up: the gauge says so", async (t) => {
  const { mesh } = t.context;
  await waitForUpstream(mesh, "fleet", 1);
  await waitForUpstream(mesh, "identity", 1);
  const res = await ops(mesh, "/readyz");
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { status: "ready", checks: {} });
});

test("fleet down: gateway ready, login works, fleet routes UNAVAILABLE in plain words, gauge 0", async (t) => {
  const { mesh, logLines } = t.context;
  const token = await login(mesh);
  const registered = await rpc(mesh, "fleetmesh.fleet.v1.FleetService/RegisterVehicle",
    { plateNumber: "OUT-1", attributes: { make: "Skoda", model: "Octavia" } }, token);
  t.is(registered.status, 200, JSON.stringify(registered.body));
  const vehicleId = (registered.body["vehicle"] as { id: string }).id;

  await mesh.stopFleet();
  const tookMs = await waitForUpstream(mesh, "fleet", 0);
  t.log(`gateway_upstream_up{upstream="fleet"} fell to 0 ${tookMs} ms after fleet stopped (probe every 200 ms)`);
  t.is(await upstreamUp(mesh, "identity"), 1);

  const ready = await ops(mesh, "/readyz");
  t.is(ready.status, 200, "one upstream down is not a gateway outage");
  const upstreams = (await (await ops(mesh, "/upstreams")).json()) as Record<string, { up: boolean }>;
  t.is(upstreams["fleet"]?.up, false);
  t.is(upstreams["identity"]?.up, true);

  // Identity still works through the gateway.
  t.truthy(await login(mesh));

  // Connect JSON: 503 unavailable, plain words, ErrorInfo DEPENDENCY_UNAVAILABLE.
  const viaConnect = await rpc(mesh, "fleetmesh.fleet.v1.FleetService/GetVehicle", { vehicleId }, token);
  t.is(viaConnect.status, 503);
  t.is(viaConnect.body["code"], "unavailable");
  t.is(viaConnect.body["message"], "fleet service unavailable");
  t.notRegex(JSON.stringify(viaConnect.body), ADDRESS_LIKE);
  const info = errorInfoOf(viaConnect.body);
  t.is(info?.reason, "DEPENDENCY_UNAVAILABLE");
  t.is(info?.domain, "fleetmesh");
  t.deepEqual(info?.metadata, { dependency: "fleet" });

  // gRPC and gRPC-web: the same status in the trailers.
  for (const [name, transport] of [
    ["gRPC", createGrpcTransport({ baseUrl: mesh.baseUrl })],
    ["gRPC-web", createGrpcWebTransport({ baseUrl: mesh.baseUrl, httpVersion: "1.1" })],
  ] as const) {
    const client = createClient(FleetService, transport);
    const err = await t.throwsAsync(client.getVehicle({ vehicleId }, { headers: { authorization: `Bearer ${token}` } }));
    const connectError = ConnectError.from(err);
    t.is(connectError.code, Code.Unavailable, name);
    t.is(connectError.rawMessage, "fleet service unavailable", name);
    t.is(connectError.findDetails(ErrorInfoSchema)[0]?.reason, "DEPENDENCY_UNAVAILABLE", name);
  }

  // The gateway's health: itself SERVING, fleet NOT_SERVING, identity SERVING.
  const health = createClient(Health, createGrpcTransport({ baseUrl: mesh.baseUrl }));
  t.is((await health.check({ service: "" })).status, HealthCheckResponse_ServingStatus.SERVING);
  t.is((await health.check({ service: "fleetmesh.fleet.v1.FleetService" })).status, HealthCheckResponse_ServingStatus.NOT_SERVING);
  t.is((await health.check({ service: "fleetmesh.identity.v1.IdentityService" })).status, HealthCheckResponse_ServingStatus.SERVING);

  // The log keeps what the client does not see.
  const logged = logLines.map((l) => JSON.parse(l) as { msg: string; upstream?: string; err?: { message?: string } })
    .find((l) => l.msg === "upstream call failed" && l.upstream === "fleet");
  t.regex(logged?.err?.message ?? "", /ECONNREFUSED 127\.0\.0\.1:\d+/);
});

test("fleet back: the gauge recovers and fleet routes work again", async (t) => {
  const { mesh } = t.context;
  await mesh.restartFleet();
  const tookMs = await waitForUpstream(mesh, "fleet", 1);
  t.log(`gateway_upstream_up{upstream="fleet"} back to 1 ${tookMs} ms after fleet restarted`);
  const token = await login(mesh);
  const started = Date.now();
  let res = await rpc(mesh, "fleetmesh.fleet.v1.FleetService/ListVehicles", { page: { pageSize: 10 } }, token);
  while (res.status !== 200 && Date.now() - started < 5_000) {
    await new Promise((r) => setTimeout(r, 100));
    res = await rpc(mesh, "fleetmesh.fleet.v1.FleetService/ListVehicles", { page: { pageSize: 10 } }, token);
  }
  t.is(res.status, 200, JSON.stringify(res.body));
  t.true((res.body["vehicles"] as Array<{ plateNumber: string }>).some((v) => v.plateNumber === "OUT-1"));
  const health = createClient(Health, createGrpcTransport({ baseUrl: mesh.baseUrl }));
  t.is((await health.check({ service: "fleetmesh.fleet.v1.FleetService" })).status, HealthCheckResponse_ServingStatus.SERVING);
});
