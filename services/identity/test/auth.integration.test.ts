import { randomUUID } from "node:crypto";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { StaffType } from "../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import { UserStatus } from "../../../gen/fleetmesh/identity/v1/user_pb.js";
import { createTokenVerifier, type JwksDocument } from "../../platform/src/auth.js";
import { createScryptPasswordHasher } from "../src/adapters/crypto/scrypt-password-hasher.js";
import { roleDefinition } from "../src/domain/role-catalog.js";
import { JWKS_PATH } from "../src/main.js";
import {
  claimsOf,
  headerOf,
  PASSWORD,
  rejectsWith,
  startIdentity,
  uniqueEmail,
  violatedFields,
  type IdentityHarness,
} from "./support.js";

const test = anyTest as TestFn<IdentityHarness>;

test.before(async (t) => {
  t.context = await startIdentity();
});
test.after.always(async (t) => {
  await t.context.stop();
});

const jwksOf = async (h: IdentityHarness): Promise<{ status: number; cacheControl: string | null; body: JwksDocument }> => {
  const res = await fetch(`http://127.0.0.1:${h.service.opsPort}${JWKS_PATH}`);
  return { status: res.status, cacheControl: res.headers.get("cache-control"), body: (await res.json()) as JwksDocument };
};

const familyTokens = async (h: IdentityHarness, userId: string) =>
  (await h.db.admin.query<{ family_id: string; revoked: boolean; used: boolean }>(
    "SELECT family_id, revoked_at IS NOT NULL AS revoked, used_at IS NOT NULL AS used FROM refresh_tokens WHERE user_id = $1 ORDER BY issued_at",
    [userId],
  )).rows;

test("the JWKS on the ops port publishes every key of the ring, public parts only", async (t) => {
  const h = t.context;
  const { status, cacheControl, body } = await jwksOf(h);
  t.is(status, 200);
  t.is(cacheControl, "public, max-age=300");
  t.is(body.keys.length, 2, "current and previous key");
  t.is(body.keys[0]?.kid, h.signingKey.kid);
  for (const key of body.keys) {
    t.like(key, { kty: "RSA", alg: "RS256", use: "sig" });
    for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) t.false(secret in key, `${secret} is private`);
  }
});

test("login: tokens that the kit's verifier accepts against the JWKS, carrying the documented claims", async (t) => {
  const h = t.context;
  const customer = await h.user(["customer"]);
  const res = await h.client.login({ email: customer.email.toUpperCase(), password: PASSWORD });
  const tokens = res.tokens!;
  t.is(tokens.tokenType, "Bearer");
  t.regex(tokens.refreshToken, /^[A-Za-z0-9_-]{43}$/);
  t.is(res.user?.id, customer.id);
  t.deepEqual(res.user?.roles, ["customer"]);
  t.truthy(res.user?.lastLoginTime);
  t.like(headerOf(tokens.accessToken), { alg: "RS256", kid: h.signingKey.kid, typ: "JWT" });
  const claims = claimsOf(tokens.accessToken);
  t.like(claims, { iss: h.config.tokens.issuer, aud: h.config.tokens.audience, sub: customer.id, customer_id: customer.id, roles: ["customer"] });
  t.deepEqual(claims["permissions"], [...roleDefinition("customer")!.permissions].sort());
  t.is((claims["exp"] as number) - (claims["iat"] as number), 900);
  t.regex(String(claims["jti"]), /^[0-9a-f-]{36}$/);
  t.false("staff_id" in claims);
  const exp = Number(tokens.accessTokenExpireTime!.seconds);
  t.is(exp, claims["exp"] as number);

  const verifier = createTokenVerifier(h.config.auth, (await jwksOf(h)).body);
  const caller = await verifier.verify(`Bearer ${tokens.accessToken}`);
  t.is(caller.subject, customer.id);
  t.is(caller.customerId, customer.id);
  t.true(caller.permissions.has("rentals.read_own"));
  t.false(caller.permissions.has("rentals.read"));
});

test("a staff member's token carries staff_id; role changes reach the next token", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const mechanic = await h.user(["mechanic"]);
  const { staffProfile } = await h.client.createStaffProfile({ userId: mechanic.id, attributes: { staffType: StaffType.MECHANIC } }, admin.opts);
  const login = await h.client.login({ email: mechanic.email, password: PASSWORD });
  const claims = claimsOf(login.tokens!.accessToken);
  t.is(claims["staff_id"], staffProfile!.id);
  t.false("customer_id" in claims);
  await h.client.assignRole({ userId: mechanic.id, role: "driver" }, admin.opts);
  const refreshed = await h.client.refreshToken({ refreshToken: login.tokens!.refreshToken });
  t.deepEqual(claimsOf(refreshed.tokens!.accessToken)["roles"], ["driver", "mechanic"]);
  t.true((claimsOf(refreshed.tokens!.accessToken)["permissions"] as string[]).includes("rentals.read_own"));
});

test("wrong password, unknown email and a user without a password fail alike", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const user = await h.user(["customer"]);
  const noPassword = uniqueEmail("walkin");
  await h.client.createUser({ attributes: { email: noPassword, displayName: "Walk In" }, roles: ["customer"] }, admin.opts);
  const errors = [
    await rejectsWith(t, h.client.login({ email: user.email, password: "wrong-password-123" }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS"),
    await rejectsWith(t, h.client.login({ email: uniqueEmail("nobody"), password: PASSWORD }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS"),
    await rejectsWith(t, h.client.login({ email: noPassword, password: PASSWORD }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS"),
  ];
  t.is(new Set(errors.map((e) => e.message)).size, 1, "one message for every case");
  const missing = await rejectsWith(t, h.client.login({ email: "", password: "" }), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(missing), ["email", "password"]);
});

test("disabled user: login fails (after a correct password only), refresh fails at once, every refresh token is revoked", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const user = await h.user(["customer"]);
  const second = await h.client.login({ email: user.email, password: PASSWORD });
  const { user: disabled } = await h.client.disableUser({ userId: user.id, reason: "fraud" }, admin.opts);
  t.is(disabled?.status, UserStatus.DISABLED);
  t.is(disabled?.disableReason, "fraud");
  t.truthy(disabled?.disableTime);
  t.true((await familyTokens(h, user.id)).every((r) => r.revoked), "disabling revoked every refresh token");
  await rejectsWith(t, h.client.login({ email: user.email, password: "wrong-password-123" }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  await rejectsWith(t, h.client.login({ email: user.email, password: PASSWORD }), GrpcStatus.PERMISSION_DENIED, "USER_DISABLED");
  await rejectsWith(t, h.client.refreshToken({ refreshToken: user.refreshToken }), GrpcStatus.PERMISSION_DENIED, "USER_DISABLED");
  await rejectsWith(t, h.client.refreshToken({ refreshToken: second.tokens!.refreshToken }), GrpcStatus.PERMISSION_DENIED, "USER_DISABLED");
  await rejectsWith(t, h.client.changeOwnPassword({ currentPassword: PASSWORD, newPassword: "another-good-pass-9" }, user.opts),
    GrpcStatus.PERMISSION_DENIED, "USER_DISABLED");
  await h.client.enableUser({ userId: user.id }, admin.opts);
  const again = await h.client.login({ email: user.email, password: PASSWORD });
  t.truthy(again.tokens?.accessToken);
  await rejectsWith(t, h.client.refreshToken({ refreshToken: second.tokens!.refreshToken }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
});

test("refresh rotates within the family; a token works once", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const r1 = user.refreshToken;
  const second = await h.client.refreshToken({ refreshToken: r1 });
  const r2 = second.tokens!.refreshToken;
  t.not(r2, r1);
  t.not(claimsOf(second.tokens!.accessToken)["jti"], claimsOf(user.accessToken)["jti"]);
  const third = await h.client.refreshToken({ refreshToken: r2 });
  t.truthy(third.tokens?.accessToken);
  const rows = await familyTokens(h, user.id);
  t.is(new Set(rows.map((r) => r.family_id)).size, 1, "one family");
  t.deepEqual(rows.map((r) => r.used), [true, true, false]);
  const stored = await h.db.admin.query("SELECT count(*)::int AS n FROM refresh_tokens WHERE encode(token_hash, 'escape') LIKE $1", [`%${r2}%`]);
  t.is(stored.rows[0].n, 0, "only the digest is stored");
});

test("reuse of a rotated refresh token revokes the whole family: the newest token stops working too", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const other = await h.client.login({ email: user.email, password: PASSWORD }); // another session
  const rotated = await h.client.refreshToken({ refreshToken: user.refreshToken });
  await rejectsWith(t, h.client.refreshToken({ refreshToken: user.refreshToken }), GrpcStatus.UNAUTHENTICATED, "REFRESH_TOKEN_REUSED");
  await rejectsWith(t, h.client.refreshToken({ refreshToken: rotated.tokens!.refreshToken }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  await rejectsWith(t, h.client.refreshToken({ refreshToken: user.refreshToken }), GrpcStatus.UNAUTHENTICATED, "REFRESH_TOKEN_REUSED");
  const fresh = await h.client.refreshToken({ refreshToken: other.tokens!.refreshToken });
  t.truthy(fresh.tokens, "other sessions are not affected");
});

test("concurrent refreshes with the same token: at most one wins and the family is revoked", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const results = await Promise.allSettled(Array.from({ length: 6 }, () => h.client.refreshToken({ refreshToken: user.refreshToken })));
  const won = results.filter((r) => r.status === "fulfilled");
  t.true(won.length <= 1);
  t.true(results.some((r) => r.status === "rejected"));
  for (const r of won) {
    await rejectsWith(t, h.client.refreshToken({ refreshToken: r.value.tokens!.refreshToken }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  }
  t.true((await familyTokens(h, user.id)).every((r) => r.revoked));
});

test("unknown and expired refresh tokens", async (t) => {
  const h = t.context;
  await rejectsWith(t, h.client.refreshToken({ refreshToken: "x".repeat(43) }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  const user = await h.user(["customer"]);
  await h.db.admin.query(
    "UPDATE refresh_tokens SET issued_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' WHERE user_id = $1",
    [user.id],
  );
  await rejectsWith(t, h.client.refreshToken({ refreshToken: user.refreshToken }), GrpcStatus.UNAUTHENTICATED, "TOKEN_EXPIRED");
});

test("logout ends the presented session, all_sessions every one; someone else's token is ignored", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const s2 = await h.client.login({ email: user.email, password: PASSWORD });
  const s3 = await h.client.login({ email: user.email, password: PASSWORD });
  const stranger = await h.user(["customer"]);
  await h.client.logout({ refreshToken: stranger.refreshToken }, user.opts);
  t.truthy((await h.client.refreshToken({ refreshToken: stranger.refreshToken })).tokens, "not the caller's: untouched");
  await h.client.logout({ refreshToken: user.refreshToken }, user.opts);
  await rejectsWith(t, h.client.refreshToken({ refreshToken: user.refreshToken }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  const s2b = await h.client.refreshToken({ refreshToken: s2.tokens!.refreshToken });
  await h.client.logout({ allSessions: true }, user.opts);
  await rejectsWith(t, h.client.refreshToken({ refreshToken: s2b.tokens!.refreshToken }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  await rejectsWith(t, h.client.refreshToken({ refreshToken: s3.tokens!.refreshToken }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  const missing = await rejectsWith(t, h.client.logout({}, user.opts), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(missing), ["refresh_token"]);
  await rejectsWith(t, h.client.logout({ allSessions: true }), GrpcStatus.UNAUTHENTICATED, "UNAUTHENTICATED");
});

test("change own password: checks the current one and the policy, ends every session, returns a new one", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const wrong = await rejectsWith(t, h.client.changeOwnPassword({ currentPassword: "not-my-password-1", newPassword: "another-good-pass-9" }, user.opts),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_CREDENTIALS");
  t.deepEqual(violatedFields(wrong), ["current_password"]);
  const weak = await rejectsWith(t, h.client.changeOwnPassword({ currentPassword: PASSWORD, newPassword: "short" }, user.opts),
    GrpcStatus.INVALID_ARGUMENT, "WEAK_PASSWORD");
  t.deepEqual(violatedFields(weak), ["new_password"]);
  await rejectsWith(t, h.client.changeOwnPassword({ currentPassword: PASSWORD, newPassword: PASSWORD }, user.opts),
    GrpcStatus.INVALID_ARGUMENT, "WEAK_PASSWORD");
  await rejectsWith(t, h.client.changeOwnPassword({ currentPassword: PASSWORD, newPassword: user.email }, user.opts),
    GrpcStatus.INVALID_ARGUMENT, "WEAK_PASSWORD");
  const changed = await h.client.changeOwnPassword({ currentPassword: PASSWORD, newPassword: "another-good-pass-9" }, user.opts);
  t.truthy(changed.tokens?.refreshToken);
  await rejectsWith(t, h.client.refreshToken({ refreshToken: user.refreshToken }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  t.truthy((await h.client.refreshToken({ refreshToken: changed.tokens!.refreshToken })).tokens);
  await rejectsWith(t, h.client.login({ email: user.email, password: PASSWORD }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  t.truthy((await h.client.login({ email: user.email, password: "another-good-pass-9" })).tokens);
});

test("passwords are stored as scrypt hashes with their parameters; a login upgrades a weaker hash", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const hashOf = async () => (await h.db.admin.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE id = $1", [user.id])).rows[0]!.password_hash;
  t.regex(await hashOf(), /^scrypt\$N=1024,r=8,p=1\$/);
  t.false((await hashOf()).includes(PASSWORD));
  const weak = await createScryptPasswordHasher({ cost: 256, blockSize: 8, parallelization: 1 }).hash(PASSWORD);
  await h.db.admin.query("UPDATE users SET password_hash = $1 WHERE id = $2", [weak, user.id]);
  await h.client.login({ email: user.email, password: PASSWORD });
  t.regex(await hashOf(), /^scrypt\$N=1024,r=8,p=1\$/, "re-hashed with the current parameters");
  t.truthy((await h.client.login({ email: user.email, password: PASSWORD })).tokens);
});

test("client credentials: an access token only, with the client's roles; wrong secret or revoked client fail alike", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const created = await h.client.createServiceClient({ name: "Booking partner", roles: ["partner"] }, admin.opts);
  const client = created.serviceClient!;
  const secret = created.clientSecret;
  const res = await h.client.issueClientCredentialsToken({ clientId: client.clientId, clientSecret: secret });
  t.is(res.tokenType, "Bearer");
  t.truthy(res.expireTime);
  t.false("refreshToken" in res, "no refresh token (RFC 6749 4.4.3)");
  const claims = claimsOf(res.accessToken);
  t.like(claims, { sub: client.id, client_id: client.clientId, roles: ["partner"] });
  t.deepEqual(claims["permissions"], [...roleDefinition("partner")!.permissions].sort());
  t.false("customer_id" in claims || "staff_id" in claims);
  const caller = await createTokenVerifier(h.config.auth, (await jwksOf(h)).body).verify(`Bearer ${res.accessToken}`);
  t.true(caller.permissions.has("rentals.reserve"));
  const used = await h.client.getServiceClient({ serviceClientId: client.id }, admin.opts);
  t.truthy(used.serviceClient?.lastUseTime);

  const errors = [
    await rejectsWith(t, h.client.issueClientCredentialsToken({ clientId: client.clientId, clientSecret: `${secret}x` }),
      GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS"),
    await rejectsWith(t, h.client.issueClientCredentialsToken({ clientId: "svc_00000000000000000000000000000000", clientSecret: secret }),
      GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS"),
  ];
  await h.client.revokeServiceClient({ serviceClientId: client.id, reason: "contract ended" }, admin.opts);
  errors.push(await rejectsWith(t, h.client.issueClientCredentialsToken({ clientId: client.clientId, clientSecret: secret }),
    GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS"));
  t.is(new Set(errors.map((e) => e.message)).size, 1);
});

test("a Login writes neither the password nor any token to the logs", async (t) => {
  const h = t.context;
  const password = `Secret-${randomUUID()}`;
  const user = await h.user(["customer"], { password });
  await t.throwsAsync(h.client.login({ email: user.email, password: `${password}-wrong` }));
  const ok = await h.client.login({ email: user.email, password });
  await h.client.refreshToken({ refreshToken: ok.tokens!.refreshToken });
  await new Promise((r) => setTimeout(r, 50));
  const logs = h.logs.join("");
  t.regex(logs, /IdentityService\/Login/, "the calls were logged");
  for (const secret of [password, user.refreshToken, ok.tokens!.refreshToken, ok.tokens!.accessToken, user.accessToken]) {
    t.false(logs.includes(secret), "a secret reached the logs");
  }
  t.false(logs.includes("scrypt$"), "no password hash in the logs");
});

test("idempotency keys are refused where responses carry secrets, and nothing is stored", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const err = await rejectsWith(t, h.client.login({ email: user.email, password: PASSWORD }, { idempotencyKey: `key-${randomUUID()}` }),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(err), ["idempotency-key"]);
  await rejectsWith(t, h.client.refreshToken({ refreshToken: user.refreshToken }, { idempotencyKey: `key-${randomUUID()}` }),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.truthy((await h.client.refreshToken({ refreshToken: user.refreshToken })).tokens, "the refused call did not use the token");
  const stored = await h.db.admin.query("SELECT count(*)::int AS n FROM idempotency_keys WHERE scope LIKE '%Login' OR scope LIKE '%RefreshToken'");
  t.is(stored.rows[0].n, 0);
});

test("every RPC but the three anonymous ones needs a token with its declared permission", async (t) => {
  const h = t.context;
  await rejectsWith(t, h.client.getCurrentUser({}), GrpcStatus.UNAUTHENTICATED, "UNAUTHENTICATED");
  const customer = await h.user(["customer"]);
  await rejectsWith(t, h.client.listUsers({}, customer.opts), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  await rejectsWith(t, h.client.createServiceClient({ name: "x" }, customer.opts), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  const me = await h.client.getCurrentUser({}, customer.opts);
  t.is(me.user?.id, customer.id);
  // A subject that is not one of our user ids (another issuer, a dev token) owns nothing here.
  const foreign = h.as(["profile.read_own", "staff.read_own", "sessions.revoke_own"], { sub: "external|12345" });
  await rejectsWith(t, h.client.getCurrentUser({}, foreign), GrpcStatus.NOT_FOUND, "USER_NOT_FOUND");
  await rejectsWith(t, h.client.getOwnStaffProfile({}, foreign), GrpcStatus.NOT_FOUND, "STAFF_PROFILE_NOT_FOUND");
  await h.client.logout({ allSessions: true }, foreign);
});
