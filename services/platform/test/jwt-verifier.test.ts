import { readFileSync } from "node:fs";
import test from "ava";
import jwt from "jsonwebtoken";
import { createJwtVerifier, createTokenVerifier, decodeUnverified, type JwksDocument } from "../src/auth.js";
import { DomainError } from "../src/errors.js";
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER } from "../src/testing/harness.js";

// The lower-level verifier under createTokenVerifier: the same checks, and the
// verified raw claims for callers that interpret them (identity's delegated login).

const keys = createTestKeys();
const jwks = JSON.parse(readFileSync(keys.auth.jwksFile, "utf8")) as JwksDocument;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

test("returns the verified raw claims, whatever they are", async (t) => {
  const verifier = createJwtVerifier({ ...keys.auth, jwks });
  const claims = await verifier.verify(keys.token({ email: "e@x.io", groups: ["a", "b"], email_verified: true }));
  t.like(claims, { iss: TEST_ISSUER, aud: TEST_AUDIENCE, email: "e@x.io", groups: ["a", "b"], email_verified: true });
  t.is(typeof claims.exp, "number");
});

test("same checks as the bearer verifier: exp required, iss, aud, alg, key-carrying headers, unknown kid", async (t) => {
  const verifier = createJwtVerifier({ ...keys.auth, jwksFile: keys.auth.jwksFile });
  const refused = async (token: string, message: RegExp, reason = "UNAUTHENTICATED") => {
    const err = await t.throwsAsync(verifier.verify(token), { instanceOf: DomainError });
    t.is(err?.kind, "unauthenticated");
    t.is(err?.reason, reason);
    t.regex(err?.message ?? "", message);
  };
  await refused(jwt.sign({ sub: "u" }, keys.privateKey, { algorithm: "RS256", keyid: keys.kid, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }), /no expiry/);
  await refused(keys.token({}, { expiresIn: -60 }), /expired/, "TOKEN_EXPIRED");
  await refused(keys.token({}, { issuer: "https://evil" }), /issuer/);
  await refused(keys.token({}, { audience: "other" }), /audience/);
  await refused(keys.token({}, { header: { alg: "RS256", kid: keys.kid, jku: "http://127.0.0.1:1/jwks" } as jwt.JwtHeader }), /carry keys/);
  await refused(keys.token({}, { keyid: "nope" }), /unknown signing key/);
  await refused(`${b64({ alg: "none", kid: keys.kid })}.${b64({ sub: "u" })}.`, /algorithm not allowed/);
  await refused("Bearer x.y.z", /malformed/);
});

test("an audience list accepts a token for any of its entries", async (t) => {
  const verifier = createJwtVerifier({ ...keys.auth, jwks, audience: ["first", TEST_AUDIENCE] });
  await t.notThrowsAsync(verifier.verify(keys.token()));
  await t.throwsAsync(verifier.verify(keys.token({}, { audience: "third" })), { instanceOf: DomainError });
});

test("a payload that is not JSON is a malformed token (UNAUTHENTICATED), not a crash", async (t) => {
  const garbage = `${b64({ alg: "RS256", typ: "JWT", kid: keys.kid })}.${Buffer.from("{not json").toString("base64url")}.sig`;
  t.is(decodeUnverified(garbage), null);
  const err = await t.throwsAsync(createJwtVerifier({ ...keys.auth, jwks }).verify(garbage), { instanceOf: DomainError });
  t.regex(err?.message ?? "", /malformed token/);
  const bearer = await t.throwsAsync(createTokenVerifier(keys.auth, jwks).verify(`Bearer ${garbage}`), { instanceOf: DomainError });
  t.is(bearer?.kind, "unauthenticated");
});
