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

const rejects = async (t: import("ava").ExecutionContext, token: string, reason = "UNAUTHENTICATED") => {
  const err = await t.throwsAsync(verifier.verify(`Bearer ${token}`), { instanceOf: DomainError });
  t.is(err?.kind, "unauthenticated");
  t.is(err?.reason, reason);
};

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

test("a valid token yields the caller", async (t) => {
  const caller = await verifier.verify(`Bearer ${keys.token({ permissions: ["vehicles.read"], staff_id: "s-1" })}`);
  t.false(caller.anonymous);
  t.true(caller.permissions.has("vehicles.read"));
  t.is(caller.staffId, "s-1");
});

test("missing or malformed authorization is UNAUTHENTICATED", async (t) => {
  for (const header of [undefined, "", "Basic abc", "Bearer", "Bearer a.b", `bearer ${keys.token()}`]) {
    await t.throwsAsync(verifier.verify(header), { instanceOf: DomainError }, String(header));
  }
});

test("expired, not-yet-valid, wrong issuer and wrong audience are refused", async (t) => {
  await rejects(t, keys.token({}, { expiresIn: -60 }), "TOKEN_EXPIRED");
  await rejects(t, keys.token({}, { notBefore: 120 }));
  await rejects(t, keys.token({}, { issuer: "https://evil" }));
  await rejects(t, keys.token({}, { audience: "someone-else" }));
});

test("a token without exp is refused", async (t) => {
  const token = jwt.sign({ sub: "u1" }, keys.privateKey, { algorithm: "RS256", keyid: keys.kid, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  await rejects(t, token);
});

test("signature stripped (alg none) and tampered claims are refused", async (t) => {
  const [h, p, s] = keys.token({ permissions: ["vehicles.read"] }).split(".");
  await rejects(t, `${b64({ alg: "none", kid: keys.kid })}.${p}.`);
  const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
  await rejects(t, `${h}.${b64({ ...claims, permissions: ["users.manage"] })}.${s}`);
});

test("algorithm confusion: HS256 signed with the public key is refused", async (t) => {
  const publicJwk = jwks.keys[0]!;
  const header = { alg: "HS256", kid: keys.kid, typ: "JWT" };
  const payload = { sub: "u1", iss: TEST_ISSUER, aud: TEST_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 };
  const signingInput = `${b64(header)}.${b64(payload)}`;
  const sig = createHmac("sha256", JSON.stringify(publicJwk)).update(signingInput).digest("base64url");
  await rejects(t, `${signingInput}.${sig}`);
});

test("unknown kid, and keys embedded in headers, are never trusted", async (t) => {
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  await rejects(t, jwt.sign({ sub: "u1" }, other.privateKey, { algorithm: "RS256", keyid: "unknown", issuer: TEST_ISSUER, audience: TEST_AUDIENCE, expiresIn: 60 }));
  await rejects(t, jwt.sign({ sub: "u1" }, other.privateKey, { algorithm: "RS256", keyid: "../../etc/passwd", issuer: TEST_ISSUER, audience: TEST_AUDIENCE, expiresIn: 60 }));
  // Attacker signs with their own key and ships it in the header under our kid.
  const embedded = jwt.sign({ sub: "u1" }, other.privateKey, {
    algorithm: "RS256", keyid: keys.kid, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, expiresIn: 60,
    header: { alg: "RS256", kid: keys.kid, jwk: other.publicKey.export({ format: "jwk" }) } as jwt.JwtHeader,
  });
  await rejects(t, embedded);
  const jku = jwt.sign({ sub: "u1" }, keys.privateKey, {
    algorithm: "RS256", issuer: TEST_ISSUER, audience: TEST_AUDIENCE, expiresIn: 60,
    header: { alg: "RS256", kid: keys.kid, jku: "https://evil/jwks" } as jwt.JwtHeader,
  });
  await rejects(t, jku);
});

test("every fleet RPC declares a permission, and authorize enforces it", async (t) => {
  for (const method of FleetService.methods) {
    const requirement = methodAuthorization(method);
    t.truthy(requirement?.permission, `${method.name} declares a permission`);
  }
  const caller = await verifier.verify(`Bearer ${keys.token({ permissions: ["vehicles.read"] })}`);
  t.notThrows(() => authorize(FleetService.method.getVehicle, caller));
  const denied = t.throws(() => authorize(FleetService.method.registerVehicle, caller), { instanceOf: DomainError });
  t.is(denied?.kind, "permission_denied");
});

test("a cached verification still expires with the token", async (t) => {
  const strict = createTokenVerifier({ ...keys.auth, clockToleranceSec: 0 }, jwks);
  // exp is whole seconds from a floored iat: with 1 s a token signed late in a
  // second could expire before its first check. 2 s leaves at least one.
  const token = `Bearer ${keys.token({}, { expiresIn: 2 })}`;
  await t.notThrowsAsync(strict.verify(token));
  await t.notThrowsAsync(strict.verify(token), "served from the cache");
  await new Promise((r) => setTimeout(r, 2_100));
  const err = await t.throwsAsync(strict.verify(token), { instanceOf: DomainError });
  t.is(err?.reason, "TOKEN_EXPIRED");
});

test("keys from a JWKS URL: rotation is picked up, unknown kids refresh at most once per interval", async (t) => {
  const { createServer } = await import("node:http");
  let served: JwksDocument = jwks;
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(served));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as import("node:net").AddressInfo).port;
  try {
    const remote = createTokenVerifier({
      ...keys.auth, jwksFile: undefined, jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`, jwksMinRefreshSec: 1,
    });
    await t.notThrowsAsync(remote.verify(`Bearer ${keys.token()}`));
    t.is(fetches, 1);
    // A flood of unknown kids costs at most one fetch per interval.
    for (let i = 0; i < 20; i++) {
      await t.throwsAsync(remote.verify(`Bearer ${keys.token({}, { keyid: `forged-${i}` })}`));
    }
    t.true(fetches <= 2, `fetched ${fetches} times`);
    // Rotation: a new key appears in the JWKS; after the interval its tokens verify.
    const next = createTestKeys({ freshKeyPair: true });
    served = { keys: [...jwks.keys, ...(JSON.parse(readFileSync(next.auth.jwksFile, "utf8")) as JwksDocument).keys] };
    await new Promise((r) => setTimeout(r, 1_100));
    const rotated = await remote.verify(`Bearer ${next.token({}, { issuer: keys.auth.issuer, audience: keys.auth.audience })}`);
    t.false(rotated.anonymous);
  } finally {
    server.close();
  }
});

test("a JWKS entry with private key material is refused, not ignored", (t) => {
  // It used to be skipped while the rest of the set was used; refusing the
  // whole set makes the leak visible at start-up (see jwks-leak.test.ts).
  const priv = keys.privateKey.export({ format: "jwk" });
  const err = t.throws(() => createTokenVerifier(keys.auth, { keys: [{ ...priv, kid: keys.kid, alg: "RS256" }] }));
  t.regex(err?.message ?? "", /private key material \(d, p, q, dp, dq, qi\)/);
});
