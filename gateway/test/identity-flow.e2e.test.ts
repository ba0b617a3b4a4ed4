import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { createServiceClient, GrpcCallError } from "../../services/platform/src/grpc/client.js";
import { grpcurlBinary } from "../../services/platform/src/testing/harness.js";
import { startMesh, type Mesh } from "./mesh.js";

// The README's flow, end to end with tokens issued by identity itself and
// verified everywhere against identity's published JWKS: bootstrap an admin,
// log in, call fleet through the gateway and straight to the service,
// refresh with rotation, client credentials, a disabled user.

const test = anyTest as TestFn<Mesh>;
const ADMIN = { email: "admin@example.test", password: "correct-horse-battery-staple-9" };

test.before(async (t) => {
  t.context = await startMesh("identity");
  await t.context.identity.useCases.users.bootstrapAdmin({ email: ADMIN.email, displayName: "Ada Admin", password: ADMIN.password });
});
test.after.always(async (t) => {
  await t.context.stop();
});

const rpc = async (mesh: Mesh, path: string, body: unknown, token?: string) => {
  const res = await fetch(`${mesh.baseUrl}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { code?: string } };
};

const tokenRequest = async (mesh: Mesh, form: Record<string, string>, basic?: [string, string]) => {
  const res = await fetch(`${mesh.baseUrl}/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(basic ? { authorization: `Basic ${Buffer.from(`${encodeURIComponent(basic[0])}:${encodeURIComponent(basic[1])}`).toString("base64")}` } : {}),
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string | number> };
};

interface Tokens { accessToken: string; refreshToken: string }

const login = async (mesh: Mesh, email: string, password: string): Promise<Tokens> => {
  const res = await rpc(mesh, "fleetmesh.identity.v1.IdentityService/Login", { email, password });
  if (res.status !== 200) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
  return (res.body as unknown as { tokens: Tokens }).tokens;
};

test("bootstrap admin, log in, call fleet through the gateway and straight to the service", async (t) => {
  const mesh = t.context;
  const { accessToken } = await login(mesh, ADMIN.email, ADMIN.password);
  const registered = await rpc(mesh, "fleetmesh.fleet.v1.FleetService/RegisterVehicle",
    { plateNumber: "FLOW-1", attributes: { make: "Skoda", model: "Octavia" } }, accessToken);
  t.is(registered.status, 200, JSON.stringify(registered.body));
  const vehicleId = (registered.body["vehicle"] as { id: string; createdBy: string }).id;

  const direct = createServiceClient(FleetService, { address: mesh.fleetAddress, deadlineMs: 5_000 });
  const got = await direct.getVehicle({ vehicleId }, { headers: { authorization: `Bearer ${accessToken}` } });
  t.is(got.vehicle?.plateNumber, "FLOW-1");
  direct.close();

  const { stdout } = await promisify(execFile)(await grpcurlBinary(t), ["-plaintext", "-H", `authorization: Bearer ${accessToken}`,
    "-d", JSON.stringify({ vehicle_id: vehicleId }), mesh.fleetAddress, "fleetmesh.fleet.v1.FleetService/GetVehicle"]);
  t.is((JSON.parse(stdout) as { vehicle: { id: string } }).vehicle.id, vehicleId);
});

test("refresh rotates; reusing a refresh token revokes its whole family", async (t) => {
  const mesh = t.context;
  const first = await login(mesh, ADMIN.email, ADMIN.password);
  const rotated = await tokenRequest(mesh, { grant_type: "refresh_token", refresh_token: first.refreshToken });
  t.is(rotated.status, 200, JSON.stringify(rotated.body));
  t.is(rotated.body["token_type"], "Bearer");
  t.true(Number(rotated.body["expires_in"]) > 0);
  t.not(rotated.body["refresh_token"], first.refreshToken);

  const reuse = await tokenRequest(mesh, { grant_type: "refresh_token", refresh_token: first.refreshToken });
  t.is(reuse.status, 400);
  t.is(reuse.body["error"], "invalid_grant");
  const newestToo = await tokenRequest(mesh, { grant_type: "refresh_token", refresh_token: String(rotated.body["refresh_token"]) });
  t.is(newestToo.body["error"], "invalid_grant", "the family is revoked, including its newest token");
});

test("client credentials for a partner, and least privilege on what the token may do", async (t) => {
  const mesh = t.context;
  const { accessToken } = await login(mesh, ADMIN.email, ADMIN.password);
  const created = await rpc(mesh, "fleetmesh.identity.v1.IdentityService/CreateServiceClient",
    { name: "Partner booking site", roles: ["partner"] }, accessToken);
  t.is(created.status, 200, JSON.stringify(created.body));
  const client = created.body as { serviceClient: { clientId: string }; clientSecret: string };
  const issued = await tokenRequest(mesh, { grant_type: "client_credentials" }, [client.serviceClient.clientId, client.clientSecret]);
  t.is(issued.status, 200, JSON.stringify(issued.body));
  t.is(issued.body["refresh_token"], undefined, "no refresh token for client credentials");
  const partnerToken = String(issued.body["access_token"]);
  const denied = await rpc(mesh, "fleetmesh.fleet.v1.FleetService/ListVehicles", {}, partnerToken);
  t.is(denied.body.code, "permission_denied");
  const wrongSecret = await tokenRequest(mesh, { grant_type: "client_credentials", client_id: client.serviceClient.clientId, client_secret: "nope" });
  t.is(wrongSecret.status, 401);
  t.is(wrongSecret.body["error"], "invalid_client");
});

test("a disabled user's refresh fails at once and login is refused", async (t) => {
  const mesh = t.context;
  const admin = await login(mesh, ADMIN.email, ADMIN.password);
  const email = "manager@example.test";
  const password = "another-long-passphrase-42";
  const created = await rpc(mesh, "fleetmesh.identity.v1.IdentityService/CreateUser",
    { attributes: { email, displayName: "Fran Manager" }, initialPassword: password, roles: ["fleet_manager"] }, admin.accessToken);
  t.is(created.status, 200, JSON.stringify(created.body));
  const userId = (created.body["user"] as { id: string }).id;
  const manager = await login(mesh, email, password);
  t.is((await rpc(mesh, "fleetmesh.fleet.v1.FleetService/ListVehicles", {}, manager.accessToken)).status, 200);

  const disabled = await rpc(mesh, "fleetmesh.identity.v1.IdentityService/DisableUser", { userId, reason: "left the company" }, admin.accessToken);
  t.is(disabled.status, 200, JSON.stringify(disabled.body));
  const refresh = await tokenRequest(mesh, { grant_type: "refresh_token", refresh_token: manager.refreshToken });
  t.is(refresh.body["error"], "invalid_grant");
  const relogin = await rpc(mesh, "fleetmesh.identity.v1.IdentityService/Login", { email, password });
  // The contract: a disabled user fails with PERMISSION_DENIED, reason USER_DISABLED.
  t.is(relogin.body.code, "permission_denied");
  const details = relogin.body["details"] as Array<{ type: string }>;
  t.true(details.some((d) => d.type === "google.rpc.ErrorInfo"));
});

test("fleet refuses tokens that identity did not sign", async (t) => {
  const mesh = t.context;
  const direct = createServiceClient(FleetService, { address: mesh.fleetAddress, deadlineMs: 5_000 });
  // Signed by the test key under a kid identity never published.
  const forged = mesh.keys.token({ permissions: ["vehicles.read"] });
  const err = await t.throwsAsync(direct.listVehicles({}, { headers: { authorization: `Bearer ${forged}` } }), { instanceOf: GrpcCallError });
  t.is(err?.code, GrpcStatus.UNAUTHENTICATED);
  direct.close();
});

test("the gateway's JWKS is what identity publishes, public members only", async (t) => {
  const mesh = t.context;
  const published = await (await fetch(mesh.jwksUrl)).json();
  const served = (await (await fetch(`${mesh.baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
  t.deepEqual(served, published);
  for (const key of served.keys) t.deepEqual(Object.keys(key).sort(), ["alg", "e", "kid", "kty", "n", "use"]);
});
