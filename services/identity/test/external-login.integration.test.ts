import { createHmac, createPublicKey, randomUUID } from "node:crypto";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { UserStatus } from "../../../gen/fleetmesh/identity/v1/user_pb.js";
import { createTokenVerifier, type JwksDocument } from "../../platform/src/auth.js";
import { catalogPermissionsOf } from "../src/domain/role-catalog.js";
import { JWKS_PATH } from "../src/main.js";
import { ID_TOKEN_TYPE, JWT_TOKEN_TYPE, signWithHeader, startExternalIssuer, type ExternalIssuer } from "./external-issuer.js";
import { claimsOf, rejectsWith, startIdentity, uniqueEmail, violatedFields, type IdentityHarness } from "./support.js";

// Delegated login (ExchangeExternalToken) against real PostgreSQL and Redis,
// with two external issuers: "sso" (JWKS served over HTTP, auto-provisioning)
// and "partner-idp" (JWKS from a file, no auto-provisioning). Tokens are real
// RS256 JWTs signed with locally generated keys.

interface Context {
  readonly h: IdentityHarness;
  readonly sso: ExternalIssuer;
  readonly strict: ExternalIssuer;
  /** A server that must never be asked anything (jku targets, untrusted issuers). */
  readonly trap: ExternalIssuer;
}

const test = anyTest as TestFn<Context>;

const MAPPING = { "fleet-managers": "fleet_manager", "counter-staff": "rental_agent", customers: "customer" };

test.before(async (t) => {
  const [sso, strict, trap] = await Promise.all([startExternalIssuer(), startExternalIssuer(), startExternalIssuer()]);
  const h = await startIdentity({
    rateLimits: { externalExchange: { limit: 3, windowSec: 60 } },
    externalIssuers: [
      {
        name: "sso",
        issuer: sso.issuer,
        audience: sso.audience,
        jwksUrl: sso.jwksUrl,
        jwksMinRefreshSec: 60,
        clockToleranceSec: 5,
        roleMapping: MAPPING,
        autoProvision: true,
      },
      {
        name: "partner-idp",
        issuer: strict.issuer,
        audience: [strict.audience, "another-client"],
        jwksFile: strict.jwksFile,
        clockToleranceSec: 5,
        rolesClaim: "roles",
        roleMapping: { mechanics: "mechanic" },
      },
    ],
  });
  t.context = { h, sso, strict, trap };
});
test.after.always(async (t) => {
  await t.context.h?.stop();
  await Promise.all([t.context.sso?.close(), t.context.strict?.close(), t.context.trap?.close()]);
});

const exchange = (h: IdentityHarness, subjectToken: string, subjectTokenType = ID_TOKEN_TYPE) =>
  h.client.exchangeExternalToken({ subjectToken, subjectTokenType });

const refused = (t: import("ava").ExecutionContext<Context>, subjectToken: string, message?: string) =>
  rejectsWith(t, exchange(t.context.h, subjectToken), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS").then((err) => {
    if (message) t.regex(err.message, new RegExp(message));
    return err;
  });

test("auto-provisioning: a new user gets the mapped roles, and identity's token carries their permissions", async (t) => {
  const { h, sso } = t.context;
  const email = uniqueEmail("sso");
  const subject = randomUUID();
  const res = await exchange(h, sso.idToken({ sub: subject, email: email.toUpperCase(), groups: ["fleet-managers", "not-mapped"] }));
  const user = res.user!;
  t.is(user.attributes?.email, email, "stored normalised");
  t.is(user.attributes?.displayName, "Erin External");
  t.is(user.status, UserStatus.ACTIVE);
  t.deepEqual(user.roles, ["fleet_manager"]);
  t.false(user.hasPassword, "no password: they log in through the issuer");
  t.truthy(user.lastLoginTime);

  // The access token is identity's own, and verifies with the kit against identity's JWKS.
  const jwks = (await (await fetch(`http://127.0.0.1:${h.service.opsPort}${JWKS_PATH}`)).json()) as JwksDocument;
  const caller = await createTokenVerifier(h.config.auth, jwks).verify(`Bearer ${res.tokens!.accessToken}`);
  t.is(caller.subject, user.id);
  t.deepEqual([...caller.permissions].sort(), catalogPermissionsOf(["fleet_manager"]));
  const claims = claimsOf(res.tokens!.accessToken);
  t.like(claims, { iss: h.config.tokens.issuer, aud: h.config.tokens.audience, sub: user.id, roles: ["fleet_manager"] });
  t.false(JSON.stringify(claims).includes(subject), "nothing of the external token is copied into ours");

  // A permissioned RPC works with it, and the refresh token is a new family that rotates.
  const me = await h.client.getCurrentUser({}, h.bearer(res.tokens!.accessToken));
  t.is(me.user?.id, user.id);
  const rotated = await h.client.refreshToken({ refreshToken: res.tokens!.refreshToken });
  t.truthy(rotated.tokens?.accessToken);
  const families = await h.db.admin.query<{ n: number }>("SELECT count(DISTINCT family_id)::int AS n FROM refresh_tokens WHERE user_id = $1", [user.id]);
  t.is(families.rows[0]?.n, 1);

  // A second login finds the same user (by email), adds nothing, provisions nothing.
  const again = await exchange(h, sso.idToken({ sub: subject, email, groups: ["fleet-managers"] }));
  t.is(again.user?.id, user.id);
  t.is(again.user?.rowVersion, user.rowVersion);
  t.true(sso.hits() >= 1, "the issuer's JWKS came from its configured URL");
  t.true(h.logs.some((l) => l.includes('"msg":"delegated login"') && l.includes(user.id) && l.includes('"issuer":"sso"')), "audit line");
});

test("two first logins at once provision one user", async (t) => {
  const { h, sso } = t.context;
  const email = uniqueEmail("race");
  const results = await Promise.all([1, 2, 3].map(() => exchange(h, sso.idToken({ email, groups: ["customers"] }))));
  t.is(new Set(results.map((r) => r.user?.id)).size, 1);
  const rows = await h.db.admin.query("SELECT 1 FROM users WHERE email = $1", [email]);
  t.is(rows.rowCount, 1);
});

test("an existing user keeps the roles granted here and gains the mapped ones; roles are never removed", async (t) => {
  const { h, sso } = t.context;
  const local = await h.user(["mechanic"]);
  const subject = randomUUID();
  // Space-separated groups; the email matched case-insensitively (citext).
  const first = await exchange(h, sso.idToken({ sub: subject, email: local.email.toUpperCase(), groups: "counter-staff customers" }));
  t.is(first.user?.id, local.id);
  t.deepEqual(first.user?.roles, ["customer", "mechanic", "rental_agent"]);
  t.true(first.user!.hasPassword, "the password login still works");
  const claims = claimsOf(first.tokens!.accessToken);
  t.deepEqual(claims["permissions"], catalogPermissionsOf(["customer", "mechanic", "rental_agent"]));
  t.is(claims["customer_id"], local.id);

  // The next token maps to nothing: nothing is removed.
  const second = await exchange(h, sso.idToken({ sub: subject, email: local.email, groups: [] }));
  t.deepEqual(second.user?.roles, ["customer", "mechanic", "rental_agent"]);
  t.is(second.user?.rowVersion, first.user?.rowVersion, "no change, no new row version");
  const row = await h.db.admin.query<{ last_login_time: Date }>("SELECT last_login_time FROM users WHERE id = $1", [local.id]);
  t.truthy(row.rows[0]?.last_login_time);
  const granted = await h.db.admin.query<{ granted_by: string | null }>(
    "SELECT ur.granted_by FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 AND r.name = 'rental_agent'", [local.id]);
  t.is(granted.rows[0]?.granted_by, null, "granted by the system, not by a user");
});

test("the issuer's JWKS from a file, audience from a list, roles from a configured claim; a jwt token type is accepted", async (t) => {
  const { h, strict } = t.context;
  const local = await h.user(["customer"]);
  const res = await exchange(h, strict.idToken({ email: local.email, roles: ["mechanics"] }, { audience: "another-client" }), JWT_TOKEN_TYPE);
  t.deepEqual(res.user?.roles, ["customer", "mechanic"]);
});

test("refused: untrusted issuer, and nothing a token names is ever fetched", async (t) => {
  const { sso, trap } = t.context;
  // An issuer we do not trust, whose keys would be at the trap: never asked.
  await refused(t, trap.idToken({ groups: ["fleet-managers"] }), "issuer not trusted");
  await refused(t, trap.idToken({}, { header: { alg: "RS256", kid: trap.kid, jku: trap.jwksUrl } as never }), "issuer not trusted");
  // A trusted iss, but the key comes with the token (jku, jwk, x5u): refused before any lookup.
  const payload = { sub: randomUUID(), email: uniqueEmail(), email_verified: true, iss: sso.issuer, aud: sso.audience, exp: Math.floor(Date.now() / 1000) + 300 };
  await refused(t, signWithHeader(payload, trap.privateKey, { kid: sso.kid, jku: trap.jwksUrl }), "may not carry keys");
  await refused(t, signWithHeader(payload, trap.privateKey, { kid: sso.kid, x5u: `${trap.jwksUrl}.pem` }), "may not carry keys");
  await refused(t, signWithHeader(payload, trap.privateKey, { kid: sso.kid, jwk: trap.privateKey.export({ format: "jwk" }) }), "may not carry keys");
  // No iss at all, and not a JWT.
  await refused(t, signWithHeader({ ...payload, iss: undefined }, sso.privateKey, { kid: sso.kid }), "issuer not trusted");
  await refused(t, "not.a.jwt", "issuer not trusted");
  t.is(trap.hits(), 0, "no request reached a URL named by a token or an untrusted issuer");
});

test("refused: wrong audience, expired, not yet valid, no expiry, forged signature, alg none, HS256 confusion", async (t) => {
  const { sso, trap } = t.context;
  await refused(t, sso.idToken({}, { audience: "someone-else" }), "audience");
  await refused(t, sso.idToken({}, { expiresIn: -60 }), "expired");
  await refused(t, sso.idToken({}, { notBefore: 120 }));
  const noExp = { sub: randomUUID(), email: uniqueEmail(), email_verified: true, iss: sso.issuer, aud: sso.audience };
  await refused(t, signWithHeader(noExp, sso.privateKey, { kid: sso.kid }), "no expiry");
  // Signed by someone else's key under the issuer's kid.
  await refused(t, signWithHeader({ ...noExp, exp: Math.floor(Date.now() / 1000) + 300 }, trap.privateKey, { kid: sso.kid }), "signature");
  // Tampered claims: the groups changed after signing.
  const [hd, body, sig] = sso.idToken({ groups: ["customers"] }).split(".");
  const claims = JSON.parse(Buffer.from(body!, "base64url").toString()) as Record<string, unknown>;
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  await refused(t, `${hd}.${b64({ ...claims, groups: ["fleet-managers"] })}.${sig}`, "signature");
  await refused(t, `${b64({ alg: "none", kid: sso.kid })}.${b64(claims)}.`, "algorithm");
  // Algorithm confusion: HMAC keyed with the issuer's public key.
  const publicPem = createPublicKey(sso.privateKey).export({ format: "pem", type: "spki" });
  const hsInput = `${b64({ alg: "HS256", kid: sso.kid })}.${b64(claims)}`;
  const hsSig = createHmac("sha256", publicPem).update(hsInput).digest("base64url");
  await refused(t, `${hsInput}.${hsSig}`, "algorithm");
  await refused(t, sso.idToken({}, { keyid: "unknown-kid" }), "unknown signing key");
});

test("refused: email missing, malformed or not verified (the default requires email_verified: true)", async (t) => {
  const { h, sso } = t.context;
  await refused(t, sso.idToken({ email_verified: false }), "not verified");
  await refused(t, sso.idToken({ email_verified: "true" }), "not verified");
  await refused(t, sso.idToken({ email_verified: undefined }), "not verified");
  await refused(t, sso.idToken({ email: undefined }), "no email");
  await refused(t, sso.idToken({ email: "not an email" }), "malformed email");
  const before = await h.db.admin.query("SELECT 1 FROM users WHERE email = 'not an email'");
  t.is(before.rowCount, 0);
});

test("auto-provisioning off: an unknown email is refused; auto-provisioning with no mapped role is refused too", async (t) => {
  const { h, strict, sso } = t.context;
  const email = uniqueEmail("unknown");
  await rejectsWith(t, exchange(h, strict.idToken({ email, roles: ["mechanics"] })), GrpcStatus.FAILED_PRECONDITION, "EXTERNAL_USER_NOT_PROVISIONED");
  await rejectsWith(t, exchange(h, sso.idToken({ email, groups: ["not-mapped"] })), GrpcStatus.FAILED_PRECONDITION, "EXTERNAL_USER_NOT_PROVISIONED");
  const rows = await h.db.admin.query("SELECT 1 FROM users WHERE email = $1", [email]);
  t.is(rows.rowCount, 0, "nobody was created");
});

test("a disabled user is refused, and the refusal grants no role", async (t) => {
  const { h, sso } = t.context;
  const admin = await h.admin();
  const local = await h.user(["customer"]);
  await h.client.disableUser({ userId: local.id, reason: "left the company" }, admin.opts);
  await rejectsWith(t, exchange(h, sso.idToken({ email: local.email, groups: ["fleet-managers"] })), GrpcStatus.PERMISSION_DENIED, "USER_DISABLED");
  const after = await h.client.getUser({ userId: local.id }, admin.opts);
  t.deepEqual(after.user?.roles, ["customer"]);
});

test("requests: subject_token and a supported subject_token_type are required; an idempotency key is refused", async (t) => {
  const { h, sso } = t.context;
  const noToken = await rejectsWith(t, exchange(h, ""), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(noToken), ["subject_token"]);
  const noType = await rejectsWith(t, exchange(h, sso.idToken(), ""), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(noType), ["subject_token_type"]);
  const accessType = await rejectsWith(t, exchange(h, sso.idToken(), "urn:ietf:params:oauth:token-type:access_token"),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(accessType), ["subject_token_type"]);
  const huge = await rejectsWith(t, exchange(h, "a".repeat(9000)), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(huge), ["subject_token"]);
  await rejectsWith(t, h.client.exchangeExternalToken({ subjectToken: sso.idToken(), subjectTokenType: ID_TOKEN_TYPE }, { headers: { "idempotency-key": randomUUID() } }),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
});

test("rate limited per external subject (issuer and sub), not per email", async (t) => {
  const { h, sso } = t.context;
  const subject = randomUUID();
  const email = uniqueEmail("busy");
  for (let i = 0; i < 3; i++) await exchange(h, sso.idToken({ sub: subject, email, groups: ["customers"] }));
  const err = await rejectsWith(t, exchange(h, sso.idToken({ sub: subject, email, groups: ["customers"] })), GrpcStatus.RESOURCE_EXHAUSTED, "RATE_LIMITED");
  t.regex(err.message, /retry/);
  // Another subject of the same issuer is not affected.
  await t.notThrowsAsync(exchange(h, sso.idToken({ sub: randomUUID(), groups: ["customers"] })));
});

test("the subject token and the tokens issued never reach the logs", async (t) => {
  const { h, sso } = t.context;
  const token = sso.idToken({ groups: ["customers"] });
  const res = await exchange(h, token);
  await refused(t, sso.idToken({ email_verified: false }));
  const logs = h.logs.join("\n");
  for (const secret of [token, token.split(".")[2]!, res.tokens!.accessToken, res.tokens!.refreshToken]) t.false(logs.includes(secret));
});
