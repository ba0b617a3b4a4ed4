import { randomUUID } from "node:crypto";
import { status as GrpcStatus } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import { ServiceClientStatus } from "../../../gen/fleetmesh/identity/v1/service_client_pb.js";
import { StaffType } from "../../../gen/fleetmesh/identity/v1/staff_profile_pb.js";
import { UserStatus } from "../../../gen/fleetmesh/identity/v1/user_pb.js";
import { ROLE_CATALOG, roleDefinition } from "../src/domain/role-catalog.js";
import { ADMIN_EMAIL, claimsOf, PASSWORD, rejectsWith, startIdentity, uniqueEmail, violatedFields, type IdentityHarness } from "./support.js";

const test = anyTest as TestFn<IdentityHarness>;

test.before(async (t) => {
  t.context = await startIdentity();
});
test.after.always(async (t) => {
  await t.context.stop();
});

const count = async (h: IdentityHarness, sql: string, params: unknown[] = []): Promise<number> =>
  Number((await h.db.admin.query<{ n: string }>(sql, params)).rows[0]!.n);

test("own profile: GetCurrentUser, and UpdateCurrentUser changes display name and phone only", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const me = await h.client.getCurrentUser({}, user.opts);
  t.is(me.user?.id, user.id);
  t.deepEqual(me.permissions, [...roleDefinition("customer")!.permissions].sort());
  t.is(me.staffProfile, undefined);
  t.true(me.user!.hasPassword);
  const updated = (await h.client.updateCurrentUser({
    expectedRowVersion: me.user!.rowVersion,
    attributes: { displayName: "  New Name ", phoneNumber: "+4915112345678", email: "ignored@example.test" },
    updateMask: { paths: ["display_name", "phoneNumber"] },
  }, user.opts)).user!;
  t.is(updated.attributes?.displayName, "New Name");
  t.is(updated.attributes?.phoneNumber, "+4915112345678");
  t.is(updated.attributes?.email, user.email, "email is not in the mask");
  t.is(updated.rowVersion, me.user!.rowVersion + 1n);
  t.is(updated.updatedBy, user.id);
  for (const path of ["email", "roles", "status", "attributes.email", "has_password"]) {
    const err = await rejectsWith(t, h.client.updateCurrentUser({
      expectedRowVersion: updated.rowVersion, attributes: { email: "evil@example.test" }, updateMask: { paths: [path] },
    }, user.opts), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
    t.deepEqual(violatedFields(err), ["update_mask"], path);
  }
  await rejectsWith(t, h.client.updateCurrentUser({
    expectedRowVersion: me.user!.rowVersion, attributes: { displayName: "Stale" }, updateMask: { paths: ["display_name"] },
  }, user.opts), GrpcStatus.ABORTED, "ROW_VERSION_MISMATCH");
  const bad = await rejectsWith(t, h.client.updateCurrentUser({
    expectedRowVersion: updated.rowVersion, attributes: { displayName: "", phoneNumber: "12345" }, updateMask: { paths: ["display_name", "phone_number"] },
  }, user.opts), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(bad), ["attributes.display_name", "attributes.phone_number"]);
  const after = (await h.client.getCurrentUser({}, user.opts)).user!;
  t.deepEqual(after.roles, ["customer"]);
  t.is(after.status, UserStatus.ACTIVE);
  t.is(after.attributes?.email, user.email);
});

test("guessing another user's id reveals nothing", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const customer = await h.user(["customer"]);
  const other = await h.user(["customer"]);
  const existing = await rejectsWith(t, h.client.getUser({ userId: other.id }, customer.opts), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  const unknown = await rejectsWith(t, h.client.getUser({ userId: randomUUID() }, customer.opts), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  t.is(existing.message, unknown.message, "an existing and an unknown id look the same");
  await rejectsWith(t, h.client.getUser({ userId: randomUUID() }, admin.opts), GrpcStatus.NOT_FOUND, "USER_NOT_FOUND");
  await rejectsWith(t, h.client.getOwnStaffProfile({}, customer.opts), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  // A staff member without staff.read sees their own staff profile only.
  const driver = await h.user(["driver"]);
  await rejectsWith(t, h.client.getOwnStaffProfile({}, driver.opts), GrpcStatus.NOT_FOUND, "STAFF_PROFILE_NOT_FOUND");
  const { staffProfile } = await h.client.createStaffProfile({ userId: driver.id, attributes: { staffType: StaffType.DRIVER, licenseNumber: "B-123" } }, admin.opts);
  const own = await h.client.getOwnStaffProfile({}, driver.opts);
  t.is(own.staffProfile?.id, staffProfile?.id);
  t.is(own.staffProfile?.attributes?.licenseNumber, "B-123");
  // "Own" is the token's subject: another staff member without a profile gets NOT_FOUND, not the driver's.
  const mechanic = await h.user(["mechanic"]);
  await rejectsWith(t, h.client.getOwnStaffProfile({}, mechanic.opts), GrpcStatus.NOT_FOUND, "STAFF_PROFILE_NOT_FOUND");
});

test("CreateUser with roles needs roles.assign; nobody grants more than they hold", async (t) => {
  const h = t.context;
  const managerOnly = h.as(["users.manage"]);
  await rejectsWith(t, h.client.createUser({ attributes: { email: uniqueEmail(), displayName: "X" }, roles: ["customer"] }, managerOnly),
    GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  const plain = await h.client.createUser({ attributes: { email: uniqueEmail(), displayName: "No Roles" } }, managerOnly);
  t.deepEqual(plain.user?.roles, []);
  t.false(plain.user!.hasPassword);

  const agent = await h.user(["rental_agent"]);
  const customer = (await h.client.createUser({
    attributes: { email: uniqueEmail("walkin"), displayName: "Walk-in Customer" }, roles: ["customer"], initialPassword: PASSWORD,
  }, agent.opts)).user!;
  t.deepEqual(customer.roles, ["customer"]);
  t.is(customer.createdBy, agent.id);
  const emailOfAdmin = uniqueEmail("wannabe");
  await rejectsWith(t, h.client.createUser({ attributes: { email: emailOfAdmin, displayName: "X" }, roles: ["admin"] }, agent.opts),
    GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  t.is(await count(h, "SELECT count(*) AS n FROM users WHERE email = $1", [emailOfAdmin]), 0, "nothing written");
  await rejectsWith(t, h.client.assignRole({ userId: customer.id, role: "fleet_manager" }, agent.opts), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  await rejectsWith(t, h.client.createServiceClient({ name: "sneaky", roles: ["admin"] }, h.as(["service_clients.manage", "roles.assign"])),
    GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
});

test("nobody manages someone more powerful: an agent resets a customer's password, not an admin's", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const agent = await h.user(["rental_agent"]);
  const customer = await h.user(["customer"]);
  await h.client.resetUserPassword({ userId: customer.id, newPassword: "reset-by-agent-42" }, agent.opts);
  t.truthy((await h.client.login({ email: customer.email, password: "reset-by-agent-42" })).tokens);
  await rejectsWith(t, h.client.resetUserPassword({ userId: admin.userId, newPassword: "taken-over-admin-1" }, agent.opts),
    GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  await rejectsWith(t, h.client.disableUser({ userId: admin.userId, reason: "coup" }, agent.opts), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  await rejectsWith(t, h.client.updateUser({
    userId: admin.userId, expectedRowVersion: 1n, attributes: { email: "agent@evil.test" }, updateMask: { paths: ["email"] },
  }, agent.opts), GrpcStatus.PERMISSION_DENIED, "PERMISSION_DENIED");
  t.truthy((await h.client.login({ email: ADMIN_EMAIL, password: PASSWORD })).tokens, "the admin's password is unchanged");
});

test("user administration: create, get, update, disable, enable, reset password", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const email = uniqueEmail("Mixed.Case");
  const created = (await h.client.createUser({
    attributes: { email: `  ${email.toUpperCase()} `, displayName: "Grace Hopper", phoneNumber: "+4930123456" }, roles: ["accountant", "driver"],
  }, admin.opts)).user!;
  t.is(created.attributes?.email, email.toLowerCase());
  t.deepEqual(created.roles, ["accountant", "driver"]);
  t.is(created.status, UserStatus.ACTIVE);
  t.is(created.rowVersion, 1n);
  t.is(created.createdBy, admin.userId);
  await rejectsWith(t, h.client.createUser({ attributes: { email: email.toUpperCase(), displayName: "Dup" } }, admin.opts),
    GrpcStatus.ALREADY_EXISTS, "EMAIL_TAKEN");
  await rejectsWith(t, h.client.createUser({ attributes: { email: uniqueEmail(), displayName: "X" }, roles: ["astronaut"] }, admin.opts),
    GrpcStatus.NOT_FOUND, "ROLE_NOT_FOUND");
  await rejectsWith(t, h.client.createUser({ attributes: { email: uniqueEmail(), displayName: "X" }, initialPassword: "weak" }, admin.opts),
    GrpcStatus.INVALID_ARGUMENT, "WEAK_PASSWORD");

  const got = await h.client.getUser({ userId: created.id }, admin.opts);
  t.is(got.user?.attributes?.displayName, "Grace Hopper");
  t.is(got.staffProfile, undefined);

  const renamed = (await h.client.updateUser({
    userId: created.id, expectedRowVersion: 1n, attributes: { email: uniqueEmail("renamed"), displayName: "ignored" }, updateMask: { paths: ["email"] },
  }, admin.opts)).user!;
  t.is(renamed.attributes?.displayName, "Grace Hopper");
  t.is(renamed.rowVersion, 2n);
  await rejectsWith(t, h.client.updateUser({
    userId: created.id, expectedRowVersion: 2n, attributes: { email: ADMIN_EMAIL.toUpperCase() }, updateMask: { paths: ["email"] },
  }, admin.opts), GrpcStatus.ALREADY_EXISTS, "EMAIL_TAKEN");
  await rejectsWith(t, h.client.updateUser({
    userId: created.id, expectedRowVersion: 1n, attributes: { displayName: "Stale" }, updateMask: { paths: ["display_name"] },
  }, admin.opts), GrpcStatus.ABORTED, "ROW_VERSION_MISMATCH");
  for (const path of ["roles", "status", "password"]) {
    await rejectsWith(t, h.client.updateUser({ userId: created.id, expectedRowVersion: 2n, updateMask: { paths: [path] } }, admin.opts),
      GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  }

  await rejectsWith(t, h.client.disableUser({ userId: created.id, expectedRowVersion: 1n, reason: "left" }, admin.opts),
    GrpcStatus.ABORTED, "ROW_VERSION_MISMATCH");
  const disabled = (await h.client.disableUser({ userId: created.id, reason: "left the company" }, admin.opts)).user!;
  t.is(disabled.status, UserStatus.DISABLED);
  const again = (await h.client.disableUser({ userId: created.id, reason: "again" }, admin.opts)).user!;
  t.is(again.rowVersion, disabled.rowVersion, "disabling is idempotent");
  t.is(again.disableReason, "left the company");
  await rejectsWith(t, h.client.disableUser({ userId: admin.userId, reason: "oops" }, admin.opts), GrpcStatus.FAILED_PRECONDITION, "SELF_LOCKOUT");
  const enabled = (await h.client.enableUser({ userId: created.id }, admin.opts)).user!;
  t.is(enabled.status, UserStatus.ACTIVE);
  t.is(enabled.disableTime, undefined);
  t.is(enabled.disableReason, "");
  t.is((await h.client.enableUser({ userId: created.id }, admin.opts)).user?.rowVersion, enabled.rowVersion);

  const reset = (await h.client.resetUserPassword({ userId: created.id, newPassword: "brand-new-secret-9" }, admin.opts)).user!;
  t.true(reset.hasPassword);
  t.is(reset.rowVersion, enabled.rowVersion + 1n);
  t.truthy((await h.client.login({ email: renamed.attributes!.email, password: "brand-new-secret-9" })).tokens);
  await rejectsWith(t, h.client.resetUserPassword({ userId: created.id, newPassword: renamed.attributes!.email }, admin.opts),
    GrpcStatus.INVALID_ARGUMENT, "WEAK_PASSWORD");
  await rejectsWith(t, h.client.resetUserPassword({ userId: randomUUID(), newPassword: "brand-new-secret-9" }, admin.opts),
    GrpcStatus.NOT_FOUND, "USER_NOT_FOUND");
});

test("list users: filters and keyset pagination visit every match once; tokens are bound to their filters", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const tag = `pg${Date.now() % 100000}`;
  const ids = new Set<string>();
  for (let i = 0; i < 7; i++) {
    const { user } = await h.client.createUser({ attributes: { email: uniqueEmail(`${tag}-${i}`), displayName: `Pager ${i}` }, roles: ["mechanic"] }, admin.opts);
    ids.add(user!.id);
  }
  await h.client.createUser({ attributes: { email: uniqueEmail(`${tag}-x`), displayName: "Other role" }, roles: ["driver"] }, admin.opts);
  const seen: string[] = [];
  let pageToken = "";
  const emails: string[] = [];
  do {
    const res = await h.client.listUsers({ role: "mechanic", query: tag, page: { pageSize: 3, pageToken } }, admin.opts);
    t.true(res.users.length <= 3);
    for (const u of res.users) {
      seen.push(u.id);
      emails.push(u.attributes!.email);
      t.true(u.roles.includes("mechanic"));
    }
    pageToken = res.page?.nextPageToken ?? "";
  } while (pageToken !== "");
  t.deepEqual(new Set(seen), ids);
  t.is(seen.length, ids.size, "no duplicates");
  t.deepEqual(emails, [...emails].sort(), "ordered by email");
  const first = await h.client.listUsers({ role: "mechanic", query: tag, page: { pageSize: 1 } }, admin.opts);
  await rejectsWith(t, h.client.listUsers({ role: "driver", query: tag, page: { pageToken: first.page!.nextPageToken } }, admin.opts),
    GrpcStatus.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN");
  const disabled = await h.client.listUsers({ status: UserStatus.DISABLED, query: tag }, admin.opts);
  t.is(disabled.users.length, 0);
  const percent = await h.client.listUsers({ query: "%" }, admin.opts);
  t.is(percent.users.length, 0, "LIKE wildcards are literal");
});

test("roles: assign and revoke (no-ops, unknown role, self-lockout), ListRoles is the catalog", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const user = await h.user(["customer"]);
  const assigned = (await h.client.assignRole({ userId: user.id, role: "driver" }, admin.opts)).user!;
  t.deepEqual(assigned.roles, ["customer", "driver"]);
  const again = (await h.client.assignRole({ userId: user.id, role: "driver" }, admin.opts)).user!;
  t.is(again.rowVersion, assigned.rowVersion, "granting a held role is a no-op");
  await rejectsWith(t, h.client.assignRole({ userId: user.id, role: "astronaut" }, admin.opts), GrpcStatus.NOT_FOUND, "ROLE_NOT_FOUND");
  await rejectsWith(t, h.client.assignRole({ userId: user.id, role: "driver", expectedRowVersion: 1n }, admin.opts),
    GrpcStatus.ABORTED, "ROW_VERSION_MISMATCH");
  await rejectsWith(t, h.client.assignRole({ userId: randomUUID(), role: "driver" }, admin.opts), GrpcStatus.NOT_FOUND, "USER_NOT_FOUND");
  const revoked = (await h.client.revokeRole({ userId: user.id, role: "customer" }, admin.opts)).user!;
  t.deepEqual(revoked.roles, ["driver"]);
  t.is((await h.client.revokeRole({ userId: user.id, role: "customer" }, admin.opts)).user?.rowVersion, revoked.rowVersion);
  const refreshed = await h.client.refreshToken({ refreshToken: user.refreshToken });
  t.deepEqual(claimsOf(refreshed.tokens!.accessToken)["roles"], ["driver"]);
  t.false("customer_id" in claimsOf(refreshed.tokens!.accessToken), "no longer a customer");
  await rejectsWith(t, h.client.revokeRole({ userId: admin.userId, role: "admin" }, admin.opts), GrpcStatus.FAILED_PRECONDITION, "SELF_LOCKOUT");

  const all: string[] = [];
  let pageToken = "";
  do {
    const res = await h.client.listRoles({ page: { pageSize: 3, pageToken } }, admin.opts);
    for (const r of res.roles) {
      all.push(r.name);
      if (!roleDefinition(r.name)) continue; // another test adds an operator's role
      t.deepEqual(r.permissions, [...roleDefinition(r.name)!.permissions].sort(), r.name);
      t.is(r.description, roleDefinition(r.name)!.description);
    }
    pageToken = res.page?.nextPageToken ?? "";
  } while (pageToken !== "");
  t.deepEqual(all, [...all].sort(), "ordered by name");
  t.deepEqual(all.filter((n) => roleDefinition(n)), ROLE_CATALOG.map((r) => r.name).sort());
});

test.serial("the role catalog is upserted idempotently and wins over drift in the database", async (t) => {
  const h = t.context;
  const pairs = async () => (await h.db.admin.query<{ role: string; perm: string }>(
    `SELECT r.name AS role, p.name AS perm FROM role_permissions rp JOIN roles r ON r.id = rp.role_id
       JOIN permissions p ON p.id = rp.permission_id ORDER BY 1, 2`)).rows.map((r) => `${r.role}:${r.perm}`);
  const expected = ROLE_CATALOG.flatMap((r) => r.permissions.map((p) => `${r.name}:${p}`)).sort();
  t.deepEqual(await pairs(), expected);
  await h.db.admin.query(
    `INSERT INTO role_permissions SELECT r.id, p.id FROM roles r, permissions p WHERE r.name = 'customer' AND p.name = 'users.manage'`);
  await h.db.admin.query(
    `DELETE FROM role_permissions USING roles r, permissions p
      WHERE role_permissions.role_id = r.id AND role_permissions.permission_id = p.id AND r.name = 'mechanic' AND p.name = 'maintenance.start'`);
  await h.db.admin.query("UPDATE roles SET description = 'tampered' WHERE name = 'driver'");
  await h.db.admin.query("INSERT INTO roles (id, name, description) VALUES ($1, 'custom_auditor', 'added by an operator')", [randomUUID()]);
  await Promise.all([h.service.useCases.users.seedRoleCatalog(), h.service.useCases.users.seedRoleCatalog()]);
  t.deepEqual(await pairs(), expected);
  t.is(await count(h, "SELECT count(*) AS n FROM roles WHERE name = 'driver' AND description = 'tampered'"), 0);
  t.is(await count(h, "SELECT count(*) AS n FROM roles WHERE name = 'custom_auditor'"), 1, "roles outside the catalog are left alone");
});

test("staff profiles: create, update with a mask, get by id or user, list by type with paging", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const driver = await h.user(["driver"]);
  const created = (await h.client.createStaffProfile({
    userId: driver.id, attributes: { staffType: StaffType.DRIVER, dailyRate: { amountMinor: 15000n, currencyCode: "EUR" }, licenseNumber: " B072RRE2I55 " },
  }, admin.opts)).staffProfile!;
  t.is(created.userId, driver.id);
  t.is(created.displayName, "Test driver");
  t.is(created.attributes?.dailyRate?.amountMinor, 15000n);
  t.is(created.attributes?.licenseNumber, "B072RRE2I55");
  t.is(created.rowVersion, 1n);
  await rejectsWith(t, h.client.createStaffProfile({ userId: driver.id, attributes: { staffType: StaffType.DRIVER } }, admin.opts),
    GrpcStatus.ALREADY_EXISTS, "STAFF_PROFILE_EXISTS");
  await rejectsWith(t, h.client.createStaffProfile({ userId: randomUUID(), attributes: { staffType: StaffType.DRIVER } }, admin.opts),
    GrpcStatus.NOT_FOUND, "USER_NOT_FOUND");

  const updated = (await h.client.updateStaffProfile({
    staffProfileId: created.id, expectedRowVersion: 1n, attributes: { staffType: StaffType.CONDUCTOR }, updateMask: { paths: ["daily_rate", "staff_type"] },
  }, admin.opts)).staffProfile!;
  t.is(updated.attributes?.staffType, StaffType.CONDUCTOR);
  t.is(updated.attributes?.dailyRate, undefined, "a masked path with no value clears it");
  t.is(updated.attributes?.licenseNumber, "B072RRE2I55");
  t.is(updated.rowVersion, 2n);
  await rejectsWith(t, h.client.updateStaffProfile({
    staffProfileId: created.id, expectedRowVersion: 1n, attributes: { licenseNumber: "X" }, updateMask: { paths: ["license_number"] },
  }, admin.opts), GrpcStatus.ABORTED, "ROW_VERSION_MISMATCH");
  const noType = await rejectsWith(t, h.client.updateStaffProfile({
    staffProfileId: created.id, expectedRowVersion: 2n, attributes: {}, updateMask: { paths: ["staff_type"] },
  }, admin.opts), GrpcStatus.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(noType), ["attributes.staff_type"]);

  t.is((await h.client.getStaffProfile({ key: { case: "staffProfileId", value: created.id } }, admin.opts)).staffProfile?.userId, driver.id);
  t.is((await h.client.getStaffProfile({ key: { case: "userId", value: driver.id } }, admin.opts)).staffProfile?.id, created.id);
  await rejectsWith(t, h.client.getStaffProfile({ key: { case: "userId", value: randomUUID() } }, admin.opts),
    GrpcStatus.NOT_FOUND, "STAFF_PROFILE_NOT_FOUND");
  const withProfile = await h.client.getUser({ userId: driver.id }, admin.opts);
  t.is(withProfile.staffProfile?.id, created.id);

  for (let i = 0; i < 4; i++) {
    const mechanic = await h.user(["mechanic"]);
    await h.client.createStaffProfile({ userId: mechanic.id, attributes: { staffType: StaffType.MECHANIC } }, admin.opts);
  }
  const seen: string[] = [];
  let pageToken = "";
  do {
    const res = await h.client.listStaffProfiles({ staffType: StaffType.MECHANIC, page: { pageSize: 3, pageToken } }, h.as(["staff.read"]));
    for (const p of res.staffProfiles) {
      t.is(p.attributes?.staffType, StaffType.MECHANIC);
      seen.push(p.id);
    }
    pageToken = res.page?.nextPageToken ?? "";
  } while (pageToken !== "");
  t.true(seen.length >= 4);
  t.is(new Set(seen).size, seen.length);
  t.false(seen.includes(created.id));
});

test("service clients: the secret is shown once and stored as a digest; list, get, revoke", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const created = await h.client.createServiceClient({ name: "  Telematics  ", description: "odometer feed", roles: ["partner"] }, admin.opts);
  const client = created.serviceClient!;
  t.regex(created.clientSecret, /^fmcs_/);
  t.is(client.name, "Telematics");
  t.is(client.secretHint, created.clientSecret.slice(-4));
  t.is(client.status, ServiceClientStatus.ACTIVE);
  t.regex(client.clientId, /^svc_[0-9a-f]{32}$/);
  t.is(client.createdBy, admin.userId);
  const row = (await h.db.admin.query<{ secret_hash: Buffer }>("SELECT secret_hash FROM service_clients WHERE id = $1", [client.id])).rows[0]!;
  t.is(row.secret_hash.length, 32);
  t.false(row.secret_hash.toString("latin1").includes(created.clientSecret));
  const got = await h.client.getServiceClient({ serviceClientId: client.id }, admin.opts);
  t.false(JSON.stringify(got, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)).includes(created.clientSecret), "never again");
  await rejectsWith(t, h.client.getServiceClient({ serviceClientId: randomUUID() }, admin.opts), GrpcStatus.NOT_FOUND, "SERVICE_CLIENT_NOT_FOUND");
  await rejectsWith(t, h.client.createServiceClient({ name: "x", roles: ["astronaut"] }, admin.opts), GrpcStatus.NOT_FOUND, "ROLE_NOT_FOUND");

  const revoked = (await h.client.revokeServiceClient({ serviceClientId: client.id, reason: "rotated" }, admin.opts)).serviceClient!;
  t.is(revoked.status, ServiceClientStatus.REVOKED);
  t.truthy(revoked.revokeTime);
  t.deepEqual((await h.client.revokeServiceClient({ serviceClientId: client.id }, admin.opts)).serviceClient?.revokeTime, revoked.revokeTime);
  const active = await h.client.listServiceClients({}, admin.opts);
  t.false(active.serviceClients.some((c) => c.id === client.id));
  const all = await h.client.listServiceClients({ includeRevoked: true }, admin.opts);
  t.true(all.serviceClients.some((c) => c.id === client.id));
  const names = all.serviceClients.map((c) => c.name);
  t.deepEqual(names, [...names].sort());
});

test("bad input is INVALID_ARGUMENT with every field violation, and writes nothing", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const o = admin.opts;
  const email = uniqueEmail("invalid");
  const cases: Array<[string, () => Promise<unknown>, string[]]> = [
    ["create without attributes", () => h.client.createUser({}, o), ["attributes"]],
    ["create with bad fields", () => h.client.createUser({ attributes: { email: "nope", displayName: "x".repeat(201), phoneNumber: "12" } }, o),
      ["attributes.display_name", "attributes.email", "attributes.phone_number"]],
    ["create with a malformed role", () => h.client.createUser({ attributes: { email, displayName: "X" }, roles: ["Admin!"] }, o), ["roles[0]"]],
    ["update with a bad id, no version, no mask", () => h.client.updateUser({ userId: "nope" }, o), ["expected_row_version", "update_mask", "user_id"]],
    ["disable without a reason", () => h.client.disableUser({ userId: randomUUID() }, o), ["reason"]],
    ["disable with a negative version", () => h.client.disableUser({ userId: randomUUID(), reason: "x", expectedRowVersion: -1n }, o), ["expected_row_version"]],
    ["reset without a password", () => h.client.resetUserPassword({ userId: randomUUID() }, o), ["new_password"]],
    ["get a malformed id", () => h.client.getUser({ userId: "123" }, o), ["user_id"]],
    ["list with an unknown status", () => h.client.listUsers({ status: 9 as UserStatus }, o), ["status"]],
    ["list with a long query and a bad page", () => h.client.listUsers({ query: "q".repeat(101), page: { pageSize: -1, pageToken: "garbage" } }, o),
      ["page.page_size", "query"]],
    ["list with a garbage page token", () => h.client.listUsers({ page: { pageToken: "garbage" } }, o), ["page.page_token"]],
    ["assign without a role", () => h.client.assignRole({ userId: randomUUID() }, o), ["role"]],
    ["staff profile without type", () => h.client.createStaffProfile({ userId: randomUUID(), attributes: {} }, o), ["attributes.staff_type"]],
    ["staff profile with bad money", () => h.client.createStaffProfile({
      userId: randomUUID(), attributes: { staffType: StaffType.DRIVER, dailyRate: { amountMinor: -1n, currencyCode: "eur" }, licenseNumber: "x".repeat(51) },
    }, o), ["attributes.daily_rate.amount_minor", "attributes.daily_rate.currency_code", "attributes.license_number"]],
    ["staff profile by nothing", () => h.client.getStaffProfile({}, o), ["staff_profile_id"]],
    ["list staff with an unknown type", () => h.client.listStaffProfiles({ staffType: 42 as StaffType }, o), ["staff_type"]],
    ["service client without a name", () => h.client.createServiceClient({ description: "d".repeat(1001) }, o), ["description", "name"]],
    ["revoke with a long reason", () => h.client.revokeServiceClient({ serviceClientId: randomUUID(), reason: "r".repeat(501) }, o), ["reason"]],
    ["client credentials without anything", () => h.client.issueClientCredentialsToken({}), ["client_id", "client_secret"]],
    ["refresh without a token", () => h.client.refreshToken({}), ["refresh_token"]],
    ["change password without passwords", () => h.client.changeOwnPassword({}, o), ["current_password", "new_password"]],
  ];
  for (const [name, call, fields] of cases) {
    const err = await t.throwsAsync(call());
    const grpcErr = err as Parameters<typeof violatedFields>[0];
    t.is(GrpcStatus[grpcErr.code], "INVALID_ARGUMENT", name);
    t.deepEqual(violatedFields(grpcErr), fields.sort(), name);
  }
  t.is(await count(h, "SELECT count(*) AS n FROM users WHERE email = $1", [email]), 0);
});

test("idempotency keys work on identity's mutating RPCs: a retried CreateUser returns the first user", async (t) => {
  const h = t.context;
  const admin = await h.admin();
  const request = { attributes: { email: uniqueEmail("idem"), displayName: "Idem Potent" }, roles: ["customer"] };
  const opts = { ...admin.opts, idempotencyKey: `key-${randomUUID()}` };
  const first = await h.client.createUser(request, opts);
  const again = await h.client.createUser(request, opts);
  t.is(again.user?.id, first.user?.id);
});

test("ops port: readyz checks the role catalog; metrics per RPC", async (t) => {
  const h = t.context;
  await h.admin(); // logs in
  const base = `http://127.0.0.1:${h.service.opsPort}`;
  const ready = await fetch(`${base}/readyz`);
  t.is(ready.status, 200);
  t.deepEqual(((await ready.json()) as { checks: unknown }).checks, { database: "ok", migrations: "ok", role_catalog: "ok" });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.regex(metrics, /rpc_server_requests_total\{method="\/fleetmesh\.identity\.v1\.IdentityService\/Login",code="OK",service="identity"\} \d+/);
});
