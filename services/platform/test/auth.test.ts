import { createHmac, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import test from "ava";
import jwt from "jsonwebtoken";
import { FleetService } from "../../../gen/fleetmesh/fleet/v1/fleet_service_pb.js";
import { authorize, createTokenVerifier, methodAuthorization, type JwksDocument } from "../src/auth.js";
import { DomainError } from "../src/errors.js";
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER } from "../src/testing/harness.js";

const keys = createTestKeys();
const jwks = JSON.parse(readFileSync(keys.auth.jwksFile, "utf8")) as JwksDocument;
const verifier = createTokenVerifier(keys.auth, jwks);

const rejects = (t: import("ava").ExecutionContext, token: string, reason = "UNAUTHENTICATED") => {
  const err = t.throws(() => verifier.verify(`Bearer ${token}`), { instanceOf: DomainError });
  t.is(err?.kind, "unauthenticated");
  t.is(err?.reason, reason);
};

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

test("a valid token yields the caller", (t) => {
  const caller = verifier.verify(`Bearer ${keys.token({ permissions: ["vehicles.read"], staff_id: "s-1" })}`);
  t.false(caller.anonymous);
  t.true(caller.permissions.has("vehicles.read"));
  t.is(caller.staffId, "s-1");
});

test("missing or malformed authorization is UNAUTHENTICATED", (t) => {
  for (const header of [undefined, "", "Basic abc", "Bearer", "Bearer a.b", `bearer ${keys.token()}`]) {
    t.throws(() => verifier.verify(header), { instanceOf: DomainError }, String(header));
  }
});

test("expired, not-yet-valid, wrong issuer and wrong audience are refused", (t) => {
  rejects(t, keys.token({}, { expiresIn: -60 }), "TOKEN_EXPIRED");
  rejects(t, keys.token({}, { notBefore: 120 }));
  rejects(t, keys.token({}, { issuer: "https://evil" }));
  rejects(t, keys.token({}, { audience: "someone-else" }));
});

test("a token without exp is refused", (t) => {
  const token = jwt.sign({ sub: "u1" }, keys.privateKey, { algorithm: "RS256", keyid: keys.kid, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  rejects(t, token);
});

test("signature stripped (alg none) and tampered claims are refused", (t) => {
  const [h, p, s] = keys.token({ permissions: ["vehicles.read"] }).split(".");
  rejects(t, `${b64({ alg: "none", kid: keys.kid })}.${p}.`);
  const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
  rejects(t, `${h}.${b64({ ...claims, permissions: ["users.manage"] })}.${s}`);
});

test("algorithm confusion: HS256 signed with the public key is refused", (t) => {
  const publicJwk = jwks.keys[0]!;
  const header = { alg: "HS256", kid: keys.kid, typ: "JWT" };
  const payload = { sub: "u1", iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 };
  const signingInput = `${b64(header)}.${b64(payload)}`;
  const sig = createHmac("sha256", JSON.stringify(publicJwk)).update(signingInput).digest("base64url");
  rejects(t, `${signingInput}.${sig}`);
});

test("unknown kid, and keys embedded in headers, are never trusted", (t) => {
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  rejects(t, jwt.sign({ sub: "u1" }, other.privateKey, { algorithm: "RS256", keyid: "unknown", issuer: TEST_ISSUER, audience: TEST_AUDIENCE, expiresIn: 60 }));
  rejects(t, jwt.sign({ sub: "u1" }, other.privateKey, { algorithm: "RS256", keyid: "../../etc/passwd", issuer: TEST_ISSUER, audience: TEST_AUDIENCE, expiresIn: 60 }));
  // Attacker signs with their own key and ships it in the header under our kid.
  const embedded = jwt.sign({ sub: "u1" }, other.privateKey, {
    algorithm: "RS256", keyid: keys.kid, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, expiresIn: 60,
    header: { alg: "RS256", kid: keys.kid, jwk: other.publicKey.export({ format: "jwk" }) } as jwt.JwtHeader,
  });
  rejects(t, embedded);
  const jku = jwt.sign({ sub: "u1" }, keys.privateKey, {
    algorithm: "RS256", issuer: TEST_ISSUER, audience: TEST_AUDIENCE, expiresIn: 60,
    header: { alg: "RS256", kid: keys.kid, jku: "https://evil/jwks" } as jwt.JwtHeader,
  });
  rejects(t, jku);
});

test("every fleet RPC declares a permission, and authorize enforces it", (t) => {
  for (const method of FleetService.methods) {
    const requirement = methodAuthorization(method);
    t.truthy(requirement?.permission, `${method.name} declares a permission`);
  }
  const caller = verifier.verify(`Bearer ${keys.token({ permissions: ["vehicles.read"] })}`);
  t.notThrows(() => authorize(FleetService.method.getVehicle, caller));
  const denied = t.throws(() => authorize(FleetService.method.registerVehicle, caller), { instanceOf: DomainError });
  t.is(denied?.kind, "permission_denied");
});

test("a cached verification still expires with the token", async (t) => {
  const strict = createTokenVerifier({ ...keys.auth, clockToleranceSec: 0 }, jwks);
  const token = `Bearer ${keys.token({}, { expiresIn: 1 })}`;
  t.notThrows(() => strict.verify(token));
  t.notThrows(() => strict.verify(token), "served from the cache");
  await new Promise((r) => setTimeout(r, 1_100));
  const err = t.throws(() => strict.verify(token), { instanceOf: DomainError });
  t.is(err?.reason, "TOKEN_EXPIRED");
});
