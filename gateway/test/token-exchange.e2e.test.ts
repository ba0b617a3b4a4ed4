import { randomUUID } from "node:crypto";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { FleetService } from "../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { createServiceClient, GrpcCallError } from "../../services/platform/src/grpc/client.js";
import { ID_TOKEN_TYPE, JWT_TOKEN_TYPE, startExternalIssuer, type ExternalIssuer } from "../../services/identity/test/external-issuer.js";
import { startMesh, type Mesh } from "./mesh.js";

// Delegated login end to end: an external OIDC issuer's ID token exchanged at
// the gateway's token endpoint (RFC 8693) for identity's own tokens, which
// the gateway and fleet verify against identity's JWKS only.

const test = anyTest as TestFn<{ mesh: Mesh; sso: ExternalIssuer; other: ExternalIssuer }>;
const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

test.before(async (t) => {
  const [sso, other] = await Promise.all([startExternalIssuer(), startExternalIssuer()]);
  const mesh = await startMesh("identity", {
    externalIssuers: [{
      name: "sso",
      issuer: sso.issuer,
      audience: sso.audience,
      jwksUrl: sso.jwksUrl,
      roleMapping: { "fleet-managers": "fleet_manager", customers: "customer" },
      autoProvision: true,
    }],
  });
  t.context = { mesh, sso, other };
});
test.after.always(async (t) => {
  await t.context.mesh?.stop();
  await Promise.all([t.context.sso?.close(), t.context.other?.close()]);
});

const tokenRequest = async (mesh: Mesh, form: Record<string, string>) => {
  const res = await fetch(`${mesh.baseUrl}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, cacheControl: res.headers.get("cache-control"), body: (await res.json()) as Record<string, string | number> };
};

const exchange = (mesh: Mesh, subjectToken: string, extra: Record<string, string> = {}) =>
  tokenRequest(mesh, { grant_type: GRANT, subject_token: subjectToken, subject_token_type: ID_TOKEN_TYPE, ...extra });

const rpc = async (mesh: Mesh, path: string, body: unknown, token: string) => {
  const res = await fetch(`${mesh.baseUrl}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { code?: string } };
};

test("token exchange: an ID token for identity's tokens, answered per RFC 8693, usable through the gateway and straight to fleet", async (t) => {
  const { mesh, sso } = t.context;
  const res = await exchange(mesh, sso.idToken({ groups: ["fleet-managers"] }));
  t.is(res.status, 200, JSON.stringify(res.body));
  t.is(res.cacheControl, "no-store");
  t.like(res.body, { issued_token_type: ACCESS_TOKEN_TYPE, token_type: "Bearer" });
  t.true(Number(res.body["expires_in"]) > 0 && Number(res.body["expires_in"]) <= 900);
  t.regex(String(res.body["refresh_token"]), /^[A-Za-z0-9_-]{43}$/);
  const accessToken = String(res.body["access_token"]);

  // The gateway and fleet trust identity's JWKS only; the token they see is identity's.
  const registered = await rpc(mesh, "fleetmesh.fleet.v1.FleetService/RegisterVehicle",
    { plateNumber: `SSO-${randomUUID().slice(0, 6)}`, attributes: { make: "Skoda", model: "Enyaq" } }, accessToken);
  t.is(registered.status, 200, JSON.stringify(registered.body));
  const direct = createServiceClient(FleetService, { address: mesh.fleetAddress, deadlineMs: 5_000 });
  const vehicleId = (registered.body["vehicle"] as { id: string }).id;
  t.is((await direct.getVehicle({ vehicleId }, { headers: { authorization: `Bearer ${accessToken}` } })).vehicle?.id, vehicleId);
  // The external token itself is worth nothing to the services.
  const raw = await t.throwsAsync(direct.listVehicles({}, { headers: { authorization: `Bearer ${sso.idToken({ groups: ["fleet-managers"] })}` } }),
    { instanceOf: GrpcCallError });
  t.is(raw?.code, GrpcStatus.UNAUTHENTICATED);
  direct.close();

  // The refresh token rotates like any other.
  const rotated = await tokenRequest(mesh, { grant_type: "refresh_token", refresh_token: String(res.body["refresh_token"]) });
  t.is(rotated.status, 200, JSON.stringify(rotated.body));
});

test("a customer's mapped role is all the token can do", async (t) => {
  const { mesh, sso } = t.context;
  const res = await exchange(mesh, sso.idToken({ groups: ["customers"] }), { subject_token_type: JWT_TOKEN_TYPE });
  t.is(res.status, 200, JSON.stringify(res.body));
  const denied = await rpc(mesh, "fleetmesh.fleet.v1.FleetService/ListVehicles", {}, String(res.body["access_token"]));
  t.is(denied.body.code, "permission_denied");
});

test("a bad subject token is invalid_grant", async (t) => {
  const { mesh, sso, other } = t.context;
  for (const [what, token] of [
    ["untrusted issuer", other.idToken({ groups: ["fleet-managers"] })],
    ["wrong audience", sso.idToken({}, { audience: "someone-else" })],
    ["expired", sso.idToken({}, { expiresIn: -120 })],
    ["email not verified", sso.idToken({ email_verified: false })],
    ["not a JWT", "not-a-jwt"],
  ] as const) {
    const res = await exchange(mesh, token);
    t.is(res.status, 400, what);
    t.is(res.body["error"], "invalid_grant", what);
    t.is(res.body["access_token"], undefined, what);
  }
  t.is(other.hits(), 0, "the untrusted issuer's keys were never fetched");
});

test("no user for the identity (no role maps, nothing to provision) is invalid_grant with a clear description", async (t) => {
  const { mesh, sso } = t.context;
  const res = await exchange(mesh, sso.idToken({ groups: ["visitors"] }));
  t.is(res.status, 400);
  t.is(res.body["error"], "invalid_grant");
  t.regex(String(res.body["error_description"]), /administrator/);
});

test("malformed exchanges are invalid_request (or invalid_target), answered before identity is asked", async (t) => {
  const { mesh, sso } = t.context;
  const token = sso.idToken();
  const cases: Array<[Record<string, string>, string]> = [
    [{ grant_type: GRANT, subject_token_type: ID_TOKEN_TYPE }, "invalid_request"],
    [{ grant_type: GRANT, subject_token: token }, "invalid_request"],
    [{ grant_type: GRANT, subject_token: token, subject_token_type: "urn:ietf:params:oauth:token-type:saml2" }, "invalid_request"],
    [{ grant_type: GRANT, subject_token: token, subject_token_type: ACCESS_TOKEN_TYPE }, "invalid_request"],
    [{ grant_type: GRANT, subject_token: token, subject_token_type: ID_TOKEN_TYPE, actor_token: token, actor_token_type: ID_TOKEN_TYPE }, "invalid_request"],
    [{ grant_type: GRANT, subject_token: token, subject_token_type: ID_TOKEN_TYPE, requested_token_type: ID_TOKEN_TYPE }, "invalid_request"],
    [{ grant_type: GRANT, subject_token: token, subject_token_type: ID_TOKEN_TYPE, audience: "https://elsewhere" }, "invalid_target"],
  ];
  for (const [form, error] of cases) {
    const res = await tokenRequest(mesh, form);
    t.is(res.status, 400, JSON.stringify(form));
    t.is(res.body["error"], error, JSON.stringify(form));
  }
  // An explicit request for an access token is fine.
  const ok = await exchange(mesh, sso.idToken({ groups: ["customers"] }), { requested_token_type: ACCESS_TOKEN_TYPE });
  t.is(ok.status, 200, JSON.stringify(ok.body));
});
