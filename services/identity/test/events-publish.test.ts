import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type ExecutionContext, type TestFn } from "ava";
import {
  StaffProfileChangedSchema,
  UserDisabledSchema,
  UserEnabledSchema,
  UserRegisteredSchema,
  UserRolesChangedSchema,
  UserUpdatedSchema,
} from "../../../gen/fleetmesh/identity/v1/events_pb.js";
import { StaffType } from "../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import { UserStatus } from "../../../gen/fleetmesh/identity/v1/user_pb.js";
import {
  createTopics, openKafkaTestContext, readTopic, TEST_BROKERS, waitFor, type KafkaTestContext, type ReadMessage,
} from "../../platform/src/testing/kafka.js";
import { readOutboxRows } from "../../platform/src/testing/outbox.js";
import { createUserUseCases } from "../src/app/user-use-cases.js";
import { createScryptPasswordHasher } from "../src/adapters/crypto/scrypt-password-hasher.js";
import { createEventOutbox } from "../src/adapters/db/event-outbox.js";
import { createRefreshTokenRepository } from "../src/adapters/db/refresh-token-repository.js";
import { createRoleRepository } from "../src/adapters/db/role-repository.js";
import { createStaffProfileRepository } from "../src/adapters/db/staff-profile-repository.js";
import { createUnitOfWork, createUserRepository } from "../src/adapters/db/user-repository.js";
import { ID_TOKEN_TYPE, startExternalIssuer } from "./external-issuer.js";
import { PASSWORD, rejectsWith, startIdentity, uniqueEmail, type IdentityHarness } from "./support.js";

// Identity's domain events against real PostgreSQL and the local Kafka
// broker: each change writes its event in its own transaction, and the relay
// publishes it to identity.user.v1 (under a per-test topic prefix), keyed by
// the user id.

type Context = KafkaTestContext;

const test = anyTest as TestFn<Context>;

const TOPIC = "identity.user.v1";
const USER = "fleetmesh.identity.v1.";

test.before(async (t) => {
  t.context = await openKafkaTestContext();
});

test.after.always(async (t) => {
  await t.context.close();
});

/** Identity publishing to its own topic (`<file prefix><n>.identity.user.v1`), so a test counts only its own messages. */
async function withPublishingIdentity(t: ExecutionContext<Context>, run: (h: IdentityHarness, published: () => Promise<ReadMessage[]>) => Promise<void>): Promise<void> {
  const prefix = `${t.context.prefix}${randomUUID().slice(0, 8)}.`;
  await createTopics(t.context.admin, [`${prefix}${TOPIC}`]);
  const h = await startIdentity({
    kafka: { enabled: true, brokers: [...TEST_BROKERS], topicPrefix: prefix, relay: { pollIntervalMs: 2_000, leaderCheckMs: 250 } },
  });
  try {
    t.truthy(h.service.events.relay, "Kafka enabled: the relay runs");
    t.is(h.service.events.consumer, undefined, "identity consumes nothing");
    await run(h, async () => {
      await waitFor("the outbox to drain", async () => (await h.service.events.relay!.backlog()) === 0);
      return readTopic(t.context.kafka, `${prefix}${TOPIC}`);
    });
  } finally {
    await h.stop();
  }
}

const outboxRows = (h: IdentityHarness, aggregateId?: string) => readOutboxRows(h.db.admin, aggregateId);

const outboxCount = async (h: IdentityHarness): Promise<number> =>
  Number((await h.db.admin.query<{ n: string }>("SELECT count(*) AS n FROM outbox_events")).rows[0]!.n);

test("each kind of change publishes its event, keyed by the user id, with the envelope in headers, in commit order", async (t) => {
  await withPublishingIdentity(t, async (h, published) => {
    const admin = await h.admin();
    const email = uniqueEmail("dana");
    const requestId = `req-${randomUUID()}`;
    const created = (await h.client.createUser(
      { attributes: { email, displayName: "Dana Driver" }, initialPassword: PASSWORD, roles: ["customer"] },
      { headers: { ...admin.opts.headers, "x-request-id": requestId } },
    )).user!;
    const id = created.id;
    const updated = (await h.client.updateUser({
      userId: id,
      expectedRowVersion: created.rowVersion,
      attributes: { email, displayName: "Dana D.", phoneNumber: "+4915112345678" },
      updateMask: { paths: ["email", "display_name", "phone_number"] },
    }, admin.opts)).user!;
    const login = await h.client.login({ email, password: PASSWORD });
    const self = (await h.client.updateCurrentUser({
      expectedRowVersion: updated.rowVersion, attributes: { displayName: "Dana Self" }, updateMask: { paths: ["display_name"] },
    }, h.bearer(login.tokens!.accessToken))).user!;
    const withDriver = (await h.client.assignRole({ userId: id, expectedRowVersion: 0n, role: "driver" }, admin.opts)).user!;
    const withoutCustomer = (await h.client.revokeRole({ userId: id, expectedRowVersion: 0n, role: "customer" }, admin.opts)).user!;
    const profile = (await h.client.createStaffProfile({ userId: id, attributes: { staffType: StaffType.DRIVER, licenseNumber: "B-123" } }, admin.opts)).staffProfile!;
    const changedProfile = (await h.client.updateStaffProfile({
      staffProfileId: profile.id,
      expectedRowVersion: profile.rowVersion,
      attributes: { staffType: StaffType.DRIVER, dailyRate: { amountMinor: 15_000n, currencyCode: "EUR" }, licenseNumber: "B-123" },
      updateMask: { paths: ["daily_rate", "license_number"] },
    }, admin.opts)).staffProfile!;
    const disabled = (await h.client.disableUser({ userId: id, expectedRowVersion: 0n, reason: "left the company" }, admin.opts)).user!;
    const enabled = (await h.client.enableUser({ userId: id, expectedRowVersion: 0n }, admin.opts)).user!;

    const rows = await outboxRows(h, id);
    const types = [
      "UserRegistered", "UserUpdated", "UserUpdated", "UserRolesChanged", "UserRolesChanged",
      "StaffProfileChanged", "StaffProfileChanged", "UserDisabled", "UserEnabled",
    ].map((name) => `${USER}${name}`);
    t.deepEqual(rows.map((r) => r.event_type), types, "one event per change, written with it");
    for (const row of rows) {
      t.like(row, { topic: TOPIC, aggregate_type: "user", aggregate_id: id, schema_version: 1 });
    }
    t.is(rows[0]!.request_id, requestId, "the RPC's request id travels with its event");

    const messages = (await published()).filter((m) => m.key === id);
    t.deepEqual(messages.map((m) => m.header("event-id")), rows.map((r) => r.id), "every event, once, in commit order");
    t.is(new Set(messages.map((m) => m.partition)).size, 1, "one user, one partition");
    messages.forEach((m, i) => {
      t.is(m.header("event-type"), types[i]);
      t.is(m.header("schema-version"), "1");
      t.is(m.header("aggregate-type"), "user");
      t.is(m.header("aggregate-id"), id);
      t.truthy(m.header("occurred-at"));
    });
    t.is(messages[0]!.header("request-id"), requestId);
    t.is(await h.db.admin.query("SELECT 1 FROM outbox_events WHERE published_at IS NULL").then((r) => r.rowCount), 0);

    const payload = (i: number) => messages[i]!.value!;
    const registered = fromBinary(UserRegisteredSchema, payload(0)).user!;
    t.like(registered, { id, status: UserStatus.ACTIVE, hasPassword: true, rowVersion: 1n, createdBy: admin.userId });
    t.like(registered.attributes, { email, displayName: "Dana Driver" });
    t.deepEqual(registered.roles, ["customer"]);

    const update = fromBinary(UserUpdatedSchema, payload(1));
    t.deepEqual(update.changedFields, ["display_name", "phone_number"], "only what really changed, as paths into UserAttributes");
    t.like(update.user, { rowVersion: updated.rowVersion, attributes: { email, displayName: "Dana D.", phoneNumber: "+4915112345678" } });
    const selfUpdate = fromBinary(UserUpdatedSchema, payload(2));
    t.deepEqual(selfUpdate.changedFields, ["display_name"]);
    t.like(selfUpdate.user, { rowVersion: self.rowVersion, updatedBy: id });

    const granted = fromBinary(UserRolesChangedSchema, payload(3));
    t.like(granted, { userId: id, rowVersion: withDriver.rowVersion });
    t.deepEqual(granted.previousRoles, ["customer"]);
    t.deepEqual(granted.roles, ["customer", "driver"]);
    t.deepEqual(granted.changeTime && timestampDate(granted.changeTime), withDriver.updateTime && timestampDate(withDriver.updateTime));
    const revoked = fromBinary(UserRolesChangedSchema, payload(4));
    t.like(revoked, { userId: id, rowVersion: withoutCustomer.rowVersion });
    t.deepEqual(revoked.previousRoles, ["customer", "driver"]);
    t.deepEqual(revoked.roles, ["driver"]);

    const profileCreated = fromBinary(StaffProfileChangedSchema, payload(5));
    t.true(profileCreated.created);
    t.deepEqual(profileCreated.changedFields, []);
    t.like(profileCreated.staffProfile, { id: profile.id, userId: id, displayName: "Dana Self", rowVersion: 1n });
    t.like(profileCreated.staffProfile?.attributes, { staffType: StaffType.DRIVER, licenseNumber: "B-123" });
    const profileChanged = fromBinary(StaffProfileChangedSchema, payload(6));
    t.false(profileChanged.created);
    t.deepEqual(profileChanged.changedFields, ["daily_rate"], "the licence number was in the mask but did not change");
    t.like(profileChanged.staffProfile, { id: profile.id, rowVersion: changedProfile.rowVersion });
    t.like(profileChanged.staffProfile?.attributes?.dailyRate, { amountMinor: 15_000n, currencyCode: "EUR" });

    const disable = fromBinary(UserDisabledSchema, payload(7));
    t.like(disable, { userId: id, reason: "left the company", rowVersion: disabled.rowVersion });
    t.deepEqual(disable.disableTime && timestampDate(disable.disableTime), disabled.disableTime && timestampDate(disabled.disableTime));
    const enable = fromBinary(UserEnabledSchema, payload(8));
    t.like(enable, { userId: id, rowVersion: enabled.rowVersion });
    t.deepEqual(enable.enableTime && timestampDate(enable.enableTime), enabled.updateTime && timestampDate(enabled.updateTime));

    const adminEvents = (await published()).filter((m) => m.key === admin.userId);
    t.deepEqual(adminEvents.map((m) => m.header("event-type")), [`${USER}UserRegistered`], "the bootstrapped administrator too");
  });
});

test("a rejected change, or one that changes nothing, publishes nothing", async (t) => {
  await withPublishingIdentity(t, async (h, published) => {
    const admin = await h.admin();
    const email = uniqueEmail("erin");
    const other = await h.user(["customer"]);
    const user = (await h.client.createUser({ attributes: { email, displayName: "Erin" }, initialPassword: PASSWORD, roles: ["driver"] }, admin.opts)).user!;
    await h.client.createStaffProfile({ userId: user.id, attributes: { staffType: StaffType.DRIVER } }, admin.opts);
    const disabled = (await h.client.disableUser({ userId: user.id, expectedRowVersion: 0n, reason: "on leave" }, admin.opts)).user!;
    const before = await outboxCount(h);

    await rejectsWith(t, h.client.createUser({ attributes: { email: email.toUpperCase(), displayName: "Twin" }, roles: [] }, admin.opts),
      GrpcStatus.ALREADY_EXISTS, "EMAIL_TAKEN");
    await rejectsWith(t, h.client.createUser({ attributes: { email: "not-an-email", displayName: "" }, roles: [] }, admin.opts),
      GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    await rejectsWith(t, h.client.createUser({ attributes: { email: uniqueEmail(), displayName: "Weak" }, initialPassword: "short", roles: [] }, admin.opts),
      GrpcStatus.INVALID_ARGUMENT, "WEAK_PASSWORD");
    await rejectsWith(t, h.client.createUser({ attributes: { email: uniqueEmail(), displayName: "Nobody" }, roles: ["no_such_role"] }, admin.opts),
      GrpcStatus.NOT_FOUND, "ROLE_NOT_FOUND");
    await rejectsWith(t, h.client.updateUser({
      userId: user.id, expectedRowVersion: 1n, attributes: { displayName: "Stale" }, updateMask: { paths: ["display_name"] },
    }, admin.opts), GrpcStatus.ABORTED, "ROW_VERSION_MISMATCH");
    await rejectsWith(t, h.client.updateUser({
      userId: user.id, expectedRowVersion: disabled.rowVersion, attributes: { email: other.email }, updateMask: { paths: ["email"] },
    }, admin.opts), GrpcStatus.ALREADY_EXISTS, "EMAIL_TAKEN");
    await rejectsWith(t, h.client.createStaffProfile({ userId: user.id, attributes: { staffType: StaffType.MECHANIC } }, admin.opts),
      GrpcStatus.ALREADY_EXISTS, "STAFF_PROFILE_EXISTS");
    await rejectsWith(t, h.client.disableUser({ userId: admin.userId, expectedRowVersion: 0n, reason: "oops" }, admin.opts),
      GrpcStatus.FAILED_PRECONDITION, "SELF_LOCKOUT");
    // Already so: the idempotent use cases return the user unchanged.
    t.is((await h.client.disableUser({ userId: user.id, expectedRowVersion: 0n, reason: "again" }, admin.opts)).user?.rowVersion, disabled.rowVersion);
    t.is((await h.client.enableUser({ userId: other.id, expectedRowVersion: 0n }, admin.opts)).user?.rowVersion, 1n);
    t.is((await h.client.assignRole({ userId: other.id, expectedRowVersion: 0n, role: "customer" }, admin.opts)).user?.rowVersion, 1n);
    t.is((await h.client.revokeRole({ userId: other.id, expectedRowVersion: 0n, role: "driver" }, admin.opts)).user?.rowVersion, 1n);

    t.is(await outboxCount(h), before, "no event for a change that did not happen");
    const messages = await published();
    t.is(messages.length, before, "the topic holds exactly the committed changes");
    t.deepEqual(messages.filter((m) => m.key === user.id).map((m) => m.header("event-type")),
      ["UserRegistered", "StaffProfileChanged", "UserDisabled"].map((n) => `${USER}${n}`));
  });
});

test("a replayed idempotent request publishes its event once", async (t) => {
  await withPublishingIdentity(t, async (h, published) => {
    const admin = await h.admin();
    const keyed = (key: string) => ({ headers: { ...admin.opts.headers, "idempotency-key": key } });
    const createKey = `create-${randomUUID()}`;
    const request = { attributes: { email: uniqueEmail("ida"), displayName: "Ida" }, roles: ["customer"] };
    const first = (await h.client.createUser(request, keyed(createKey))).user!;
    const again = (await h.client.createUser(request, keyed(createKey))).user!;
    t.is(again.id, first.id, "the stored response");
    const updateKey = `update-${randomUUID()}`;
    const update = { userId: first.id, expectedRowVersion: 1n, attributes: { displayName: "Ida Idem" }, updateMask: { paths: ["display_name"] } };
    await h.client.updateUser(update, keyed(updateKey));
    // Without its key the same request would now fail on the row version: the replay runs nothing.
    t.is((await h.client.updateUser(update, keyed(updateKey))).user?.rowVersion, 2n);

    t.deepEqual((await outboxRows(h, first.id)).map((r) => r.event_type), [`${USER}UserRegistered`, `${USER}UserUpdated`]);
    const messages = (await published()).filter((m) => m.key === first.id);
    t.deepEqual(messages.map((m) => m.header("event-type")), [`${USER}UserRegistered`, `${USER}UserUpdated`]);
  });
});

test("no password, hash, token or secret appears in any event; a password change publishes nothing", async (t) => {
  await withPublishingIdentity(t, async (h, published) => {
    const admin = await h.admin();
    const initial = "initial-Secret-pass-41";
    const reset = "reset-Secret-pass-42";
    const changed = "changed-Secret-pass-43";
    const email = uniqueEmail("sam");
    const user = (await h.client.createUser({ attributes: { email, displayName: "Sam" }, initialPassword: initial, roles: ["customer"] }, admin.opts)).user!;
    const firstLogin = await h.client.login({ email, password: initial });
    await h.client.updateCurrentUser({
      expectedRowVersion: user.rowVersion, attributes: { displayName: "Sam S." }, updateMask: { paths: ["display_name"] },
    }, h.bearer(firstLogin.tokens!.accessToken));
    const eventsBefore = (await outboxRows(h, user.id)).length;
    await h.client.resetUserPassword({ userId: user.id, newPassword: reset }, admin.opts);
    const secondLogin = await h.client.login({ email, password: reset });
    const rotated = await h.client.changeOwnPassword({ currentPassword: reset, newPassword: changed }, h.bearer(secondLogin.tokens!.accessToken));
    t.is((await outboxRows(h, user.id)).length, eventsBefore, "password changes are not announced");
    await h.client.disableUser({ userId: user.id, expectedRowVersion: 0n, reason: "audit" }, admin.opts);
    const client = await h.client.createServiceClient({ name: "Partner", roles: ["partner"] }, admin.opts);

    const hashes = (await h.db.admin.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE password_hash IS NOT NULL")).rows.map((r) => r.password_hash);
    t.true(hashes.length >= 2);
    const secrets = [
      initial, reset, changed, PASSWORD, ...hashes, "scrypt$",
      firstLogin.tokens!.accessToken, firstLogin.tokens!.refreshToken, secondLogin.tokens!.refreshToken,
      rotated.tokens!.accessToken, rotated.tokens!.refreshToken, client.clientSecret,
    ];
    const rows = await outboxRows(h);
    const messages = await published();
    t.deepEqual(rows.map((r) => r.event_type), ["UserRegistered", "UserRegistered", "UserUpdated", "UserDisabled"].map((n) => `${USER}${n}`),
      "the administrator's and the user's events; none for the passwords or the service client");
    t.is(messages.length, rows.length);
    const texts = [
      ...rows.flatMap((r) => [JSON.stringify(r.payload), r.payload_bin.toString("latin1")]),
      ...messages.map((m) => `${m.value!.toString("latin1")} ${JSON.stringify(Object.fromEntries(Object.keys(m.headers).map((k) => [k, m.header(k)])))}`),
    ];
    for (const secret of secrets) {
      t.false(texts.some((text) => text.includes(secret)), `a secret (${secret.slice(0, 8)}...) leaked into an event`);
    }
    t.false(texts.some((text) => /password_?hash|passwordHash/i.test(text)));
  });
});

test("a change that rolls back after appending its event leaves no event behind", async (t) => {
  const h = await startIdentity();
  try {
    const db = h.service.db;
    const real = createEventOutbox(db);
    const users = createUserUseCases({
      users: createUserRepository(db),
      roles: createRoleRepository(db),
      staff: createStaffProfileRepository(db),
      tokens: createRefreshTokenRepository(db),
      uow: createUnitOfWork(db),
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
      hasher: createScryptPasswordHasher({ cost: 1024, blockSize: 8, parallelization: 1 }),
      // The event is written, then the transaction fails after it.
      outbox: { append: async (event) => { await real.append(event); throw new Error("failure after the append"); } },
    });
    const before = await outboxCount(h);
    const email = uniqueEmail("ghost");
    await t.throwsAsync(users.bootstrapAdmin({ email, displayName: "Ghost", password: PASSWORD }), { message: "failure after the append" });
    t.is(await outboxCount(h), before, "the event rolled back with the change");
    t.is((await h.db.admin.query("SELECT 1 FROM users WHERE email = $1", [email])).rowCount, 0);
  } finally {
    await h.stop();
  }
});

test("bootstrap-admin and delegated login write their events too; with Kafka disabled they wait in the outbox", async (t) => {
  const sso = await startExternalIssuer();
  const h = await startIdentity({
    externalIssuers: [{
      name: "sso", issuer: sso.issuer, audience: sso.audience, jwksUrl: sso.jwksUrl, clockToleranceSec: 5,
      roleMapping: { drivers: "driver", customers: "customer" }, autoProvision: true,
    }],
  });
  try {
    t.is(h.service.events.relay, undefined, "no kafka section: no relay");
    const existing = await h.user(["customer"]);
    const promoted = await h.service.useCases.users.bootstrapAdmin({ email: existing.email, displayName: "ignored", password: PASSWORD });
    t.true(promoted.roleGranted);
    await h.service.useCases.users.bootstrapAdmin({ email: existing.email, displayName: "ignored", password: PASSWORD });
    const promotedRows = await outboxRows(h, existing.id);
    t.deepEqual(promotedRows.map((r) => r.event_type), [`${USER}UserRegistered`, `${USER}UserRolesChanged`], "granted once");
    const promotion = fromBinary(UserRolesChangedSchema, promotedRows[1]!.payload_bin);
    t.deepEqual([promotion.previousRoles, promotion.roles], [["customer"], ["admin", "customer"]]);
    t.is(promotion.rowVersion, promoted.user.rowVersion);

    const email = uniqueEmail("sso");
    const subject = randomUUID();
    const first = await h.client.exchangeExternalToken({ subjectToken: sso.idToken({ sub: subject, email, groups: ["customers"] }), subjectTokenType: ID_TOKEN_TYPE });
    const id = first.user!.id;
    await h.client.exchangeExternalToken({ subjectToken: sso.idToken({ sub: subject, email, groups: ["customers"] }), subjectTokenType: ID_TOKEN_TYPE });
    const synced = await h.client.exchangeExternalToken({ subjectToken: sso.idToken({ sub: subject, email, groups: ["customers", "drivers"] }), subjectTokenType: ID_TOKEN_TYPE });
    const rows = await outboxRows(h, id);
    t.deepEqual(rows.map((r) => r.event_type), [`${USER}UserRegistered`, `${USER}UserRolesChanged`], "a login that changes nothing writes nothing");
    const provisioned = fromBinary(UserRegisteredSchema, rows[0]!.payload_bin).user!;
    t.like(provisioned, { id, hasPassword: false, status: UserStatus.ACTIVE });
    t.deepEqual(provisioned.roles, ["customer"]);
    const sync = fromBinary(UserRolesChangedSchema, rows[1]!.payload_bin);
    t.deepEqual([sync.previousRoles, sync.roles], [["customer"], ["customer", "driver"]]);
    t.is(sync.rowVersion, synced.user!.rowVersion);

    t.true((await outboxRows(h)).every((r) => r.published_at === null), "nothing publishes them until a relay runs");
  } finally {
    await h.stop();
    await sso.close();
  }
});
