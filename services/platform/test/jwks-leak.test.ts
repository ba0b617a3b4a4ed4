import { createPrivateKey, createPublicKey, type JsonWebKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import test from "ava";
import jwt from "jsonwebtoken";
import {
  createJwtVerifier,
  createTokenVerifier,
  PRIVATE_JWK_MEMBERS,
  publicJwksOf,
  UnsafeJwksError,
  type JwksDocument,
} from "../src/auth.js";
import { DomainError } from "../src/errors.js";
import { testTempDir, createTestKeys, TEST_AUDIENCE, TEST_ISSUER } from "../src/testing/harness.js";

// Regression for a forgeable-token hole: a JWKS written by deleting only `d`
// from the private JWK still carried p, q, dp, dq and qi, and the verifier
// accepted it. Anyone who could read the JWKS (the gateway served it) could
// rebuild the signing key and mint tokens with every permission.

const keys = createTestKeys();
const KID = keys.kid;
const publicKey = createPublicKey(keys.privateKey);

/** What the old scripts/dev-keys.ts published: the private JWK without `d`. */
function leakedPrimesJwks(): JwksDocument {
  const { d: _dropped, ...rest } = keys.privateKey.export({ format: "jwk" });
  return { keys: [{ ...rest, kid: KID, alg: "RS256", use: "sig" }] };
}

const fromB64u = (s: string): bigint => BigInt(`0x${Buffer.from(s, "base64url").toString("hex")}`);
const toB64u = (n: bigint): string => {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex").toString("base64url");
};
const modInverse = (a: bigint, m: bigint): bigint => {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
};

/** The attacker's side: rebuild the private key from n, e, p, q alone. */
function forgeSigningKey(leaked: JsonWebKey) {
  const [p, q, e] = [fromB64u(leaked.p!), fromB64u(leaked.q!), fromB64u(leaked.e!)];
  const d = modInverse(e, (p - 1n) * (q - 1n));
  return createPrivateKey({ key: { ...leaked, d: toB64u(d) }, format: "jwk" });
}

const forgedToken = (leaked: JwksDocument): string =>
  jwt.sign({ sub: "attacker", permissions: ["fleet.vehicles.write", "identity.users.read"] }, forgeSigningKey(leaked.keys[0]!), {
    algorithm: "RS256",
    keyid: KID,
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    expiresIn: 600,
  });

test("the leaked primes really rebuild the signing key (the attack this guards against)", (t) => {
  const token = forgedToken(leakedPrimesJwks());
  // The forged signature verifies under the genuine public key.
  t.notThrows(() => jwt.verify(token, publicKey, { algorithms: ["RS256"] }));
});

test("a key set with any private member is refused at start-up, naming the key and members", (t) => {
  const leaked = leakedPrimesJwks();
  const err = t.throws(() => createTokenVerifier(keys.auth, leaked), { instanceOf: UnsafeJwksError });
  t.regex(err?.message ?? "", new RegExp(`key ${KID} carries private key material \\(p, q, dp, dq, qi\\)`));
  for (const member of PRIVATE_JWK_MEMBERS) {
    const one: JwksDocument = { keys: [{ ...publicKey.export({ format: "jwk" }), kid: KID, [member]: "AQAB" }] };
    t.throws(() => createJwtVerifier({ ...keys.auth, jwks: one }), { instanceOf: UnsafeJwksError }, member);
  }
  const symmetric: JwksDocument = { keys: [{ kty: "oct", kid: KID } as JsonWebKey] };
  t.throws(() => createJwtVerifier({ ...keys.auth, jwks: symmetric }), { instanceOf: UnsafeJwksError, message: /key type oct/ });
});

test("a JWKS file with leaked primes stops the process from starting", (t) => {
  const file = join(testTempDir("fm-jwks-"), "jwks.json");
  writeFileSync(file, JSON.stringify(leakedPrimesJwks()));
  const err = t.throws(() => createTokenVerifier({ ...keys.auth, jwksFile: file }), { instanceOf: UnsafeJwksError });
  t.true(err?.message.startsWith(file));
});

test("a forged token is refused when identity's JWKS URL starts serving leaked primes", async (t) => {
  let served: unknown = JSON.parse(readFileSync(keys.auth.jwksFile, "utf8"));
  const server: Server = createServer((_req, res) => res.end(JSON.stringify(served)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const refusals: Error[] = [];
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const remote = createTokenVerifier(
      { ...keys.auth, jwksFile: undefined, jwksUrl: url, jwksCacheSec: 10, jwksMinRefreshSec: 1 },
      undefined,
      (err) => refusals.push(err),
    );
    served = leakedPrimesJwks();
    const err = await t.throwsAsync(remote.verify(`Bearer ${forgedToken(leakedPrimesJwks())}`), { instanceOf: DomainError });
    t.is(err?.kind, "unauthenticated");
    t.is(refusals.length, 1);
    t.true(refusals[0] instanceof UnsafeJwksError);
  } finally {
    server.close();
  }
});

test("publicJwksOf keeps public members and metadata only, and never strips a leak silently", (t) => {
  const publicJwk = { ...publicKey.export({ format: "jwk" }), kid: KID, alg: "RS256", use: "sig", x5u: "http://evil" };
  t.deepEqual(publicJwksOf({ keys: [publicJwk] }, "test"), {
    keys: [{ kty: "RSA", n: publicJwk.n, e: publicJwk.e, kid: KID, alg: "RS256", use: "sig" }],
  });
  t.throws(() => publicJwksOf(leakedPrimesJwks(), "test"), { instanceOf: UnsafeJwksError });
  t.throws(() => publicJwksOf({ nokeys: true }, "test"), { instanceOf: UnsafeJwksError, message: /not a JWKS/ });
});

test("the development key script publishes public members only", async (t) => {
  process.env["FLEET_LOCAL_DIR"] = testTempDir("fm-devkeys-");
  const { ensureDevKeys, devJwksFile } = await import("../../../scripts/dev-keys.js");
  ensureDevKeys();
  const written = JSON.parse(readFileSync(devJwksFile, "utf8")) as { keys: Array<Record<string, unknown>> };
  t.is(written.keys.length, 1);
  t.deepEqual(Object.keys(written.keys[0]!).sort(), ["alg", "e", "kid", "kty", "n", "use"]);
  t.notThrows(() => createTokenVerifier({ ...keys.auth, jwksFile: devJwksFile }));
});
