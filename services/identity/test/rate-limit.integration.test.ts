import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { Redis } from "ioredis";
import type { TestDatabase } from "../../platform/src/testing/harness.js";
import { closedPort, errorMetadata, PASSWORD, rejectsWith, sharedTestDatabase, startIdentity, uniqueEmail } from "./support.js";
import { testRedisUrl } from "../../platform/src/testing/infra.js";

// One database, one service per test (each with its own limits and Redis).
const test = anyTest as TestFn<{ db: TestDatabase }>;

test.before(async (t) => {
  t.context = { db: await sharedTestDatabase() };
});
test.after.always(async (t) => {
  await t.context.db.drop();
});

const REDIS_URL = testRedisUrl();

test("login is limited per account: after the limit even the right password is RATE_LIMITED, with a retry hint", async (t) => {
  const h = await startIdentity({ db: t.context.db, rateLimits: { loginFailures: { limit: 3, windowSec: 120 } } });
  t.teardown(() => h.stop());
  const victim = await h.user(["customer"]);
  const bystander = await h.user(["customer"]);
  for (let i = 0; i < 3; i++) {
    await rejectsWith(t, h.client.login({ email: victim.email, password: `wrong-password-${i}xx` }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  }
  const limited = await rejectsWith(t, h.client.login({ email: victim.email.toUpperCase(), password: PASSWORD }),
    GrpcStatus.RESOURCE_EXHAUSTED, "RATE_LIMITED");
  const retryAfter = Number(errorMetadata(limited)["retry_after_seconds"]);
  t.true(retryAfter > 0 && retryAfter <= 120, `retry_after_seconds=${retryAfter}`);
  t.truthy((await h.client.login({ email: bystander.email, password: PASSWORD })).tokens, "other accounts are not affected");
  // Unknown accounts are counted the same way (no enumeration through the limiter either).
  const ghost = uniqueEmail("ghost");
  for (let i = 0; i < 3; i++) await t.throwsAsync(h.client.login({ email: ghost, password: "wrong-password-xx" }));
  await rejectsWith(t, h.client.login({ email: ghost, password: "wrong-password-xx" }), GrpcStatus.RESOURCE_EXHAUSTED, "RATE_LIMITED");
  // Wrong current passwords count against the account too.
  await rejectsWith(t, h.client.changeOwnPassword({ currentPassword: PASSWORD, newPassword: "another-good-pass-9" }, victim.opts),
    GrpcStatus.RESOURCE_EXHAUSTED, "RATE_LIMITED");

  // Keys: always with a TTL, never the email in clear.
  const redis = new Redis(REDIS_URL);
  t.teardown(() => redis.disconnect());
  const keys = await redis.keys(`${h.config.redis.keyPrefix}*`);
  t.true(keys.length >= 2);
  for (const key of keys) {
    const ttl = await redis.ttl(key);
    t.true(ttl > 0 && ttl <= 120, `${key} ttl ${ttl}`);
    t.false(key.includes("@"), "no email in the key");
  }
  // A success clears the account's failures.
  await redis.del(...keys);
  await t.throwsAsync(h.client.login({ email: victim.email, password: "wrong-password-00" }));
  t.truthy((await h.client.login({ email: victim.email, password: PASSWORD })).tokens);
  t.is((await redis.keys(`${h.config.redis.keyPrefix}rl:login:*`)).length, 0);
});

test("client credentials and refresh are limited per client and per user", async (t) => {
  const h = await startIdentity({
    db: t.context.db,
    rateLimits: { clientCredentials: { limit: 3, windowSec: 60 }, refresh: { limit: 2, windowSec: 60 } },
  });
  t.teardown(() => h.stop());
  const admin = await h.admin();
  const { serviceClient, clientSecret } = await h.client.createServiceClient({ name: "busy", roles: ["partner"] }, admin.opts);
  const other = await h.client.createServiceClient({ name: "calm", roles: ["partner"] }, admin.opts);
  for (let i = 0; i < 3; i++) await h.client.issueClientCredentialsToken({ clientId: serviceClient!.clientId, clientSecret });
  const limited = await rejectsWith(t, h.client.issueClientCredentialsToken({ clientId: serviceClient!.clientId, clientSecret }),
    GrpcStatus.RESOURCE_EXHAUSTED, "RATE_LIMITED");
  t.true(Number(errorMetadata(limited)["retry_after_seconds"]) >= 1);
  t.truthy((await h.client.issueClientCredentialsToken({ clientId: other.serviceClient!.clientId, clientSecret: other.clientSecret })).accessToken);

  const user = await h.user(["customer"]);
  const r2 = (await h.client.refreshToken({ refreshToken: user.refreshToken })).tokens!.refreshToken;
  const r3 = (await h.client.refreshToken({ refreshToken: r2 })).tokens!.refreshToken;
  await rejectsWith(t, h.client.refreshToken({ refreshToken: r3 }), GrpcStatus.RESOURCE_EXHAUSTED, "RATE_LIMITED");
});

test("Redis down and rateLimits.failOpen=false: token endpoints refuse with UNAVAILABLE, the rest works", async (t) => {
  const h = await startIdentity({ db: t.context.db, redisUrl: `redis://127.0.0.1:${await closedPort()}` });
  t.teardown(() => h.stop());
  const admin = await h.admin().catch((err: unknown) => err);
  t.truthy(admin instanceof Error, "even the admin cannot log in");
  const root = uniqueEmail("root");
  await h.service.useCases.users.bootstrapAdmin({ email: root, displayName: "Root", password: PASSWORD });
  const err = await rejectsWith(t, h.client.login({ email: root, password: PASSWORD }),
    GrpcStatus.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE");
  t.is(errorMetadata(err)["dependency"], "redis");
  await rejectsWith(t, h.client.issueClientCredentialsToken({ clientId: "svc_00000000000000000000000000000000", clientSecret: "x" }),
    GrpcStatus.UNAVAILABLE, "DEPENDENCY_UNAVAILABLE");
  const roles = await h.client.listRoles({}, h.as(["roles.read"]));
  t.true(roles.roles.length >= 8, "RPCs that need no limiter still work");
});

test("Redis down and rateLimits.failOpen=true: logins go through and the outage is logged", async (t) => {
  const h = await startIdentity({ db: t.context.db, redisUrl: `redis://127.0.0.1:${await closedPort()}`, rateLimits: { failOpen: true } });
  t.teardown(() => h.stop());
  const user = await h.user(["customer"]);
  t.truthy(user.accessToken);
  t.truthy((await h.client.refreshToken({ refreshToken: user.refreshToken })).tokens);
  await rejectsWith(t, h.client.login({ email: user.email, password: "wrong-password-xx" }), GrpcStatus.UNAUTHENTICATED, "INVALID_CREDENTIALS");
  const logs = h.logs.join("");
  t.regex(logs, /rate limiter unavailable; failing open/);
  t.regex(logs, /redis unavailable/);
});
