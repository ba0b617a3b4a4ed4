import test from "ava";
import { ANONYMOUS } from "../../platform/src/auth.js";
import { DomainError } from "../../platform/src/errors.js";
import { allPermissions } from "../../../scripts/lib/catalog.js";
import {
  assertKeepsRoleAdministration,
  assertMayAssignRoles,
  assertMayGrantRoles,
  assertMayManageUser,
  assertNotDisablingSelf,
  canReadUser,
  requireReadableStaffProfile,
  requireReadableUser,
} from "../src/domain/access.js";
import { passwordViolations } from "../src/domain/password-policy.js";
import { assessRefreshToken, type RefreshTokenRecord } from "../src/domain/refresh-token.js";
import { catalogPermissionsOf, isOwnScoped, PERMISSIONS, ROLE_CATALOG, roleDefinition } from "../src/domain/role-catalog.js";
import { applyUserPatch, normalizeEmail, validateUserAttributes } from "../src/domain/user.js";
import { testCaller as caller } from "../../platform/src/testing/fakes.js";


const ME = "00000000-0000-4000-8000-000000000001";
const OTHER = "00000000-0000-4000-8000-000000000002";
const perms = (role: string): readonly string[] => roleDefinition(role)!.permissions;

// ---- role catalog ----

test("the catalog lists exactly the permissions declared in proto/, and admin holds all of them", async (t) => {
  const declared = await allPermissions();
  t.deepEqual([...PERMISSIONS].sort(), declared, "role-catalog.ts PERMISSIONS must match proto/");
  t.deepEqual([...perms("admin")].sort(), declared);
  for (const role of ROLE_CATALOG) {
    for (const p of role.permissions) t.true(declared.includes(p), `${role.name}: ${p} is not declared in proto/`);
    t.is(new Set(role.permissions).size, role.permissions.length, `${role.name} lists a permission twice`);
  }
});

test("the seeded roles are the ones a rental company needs", (t) => {
  t.deepEqual(ROLE_CATALOG.map((r) => r.name), [
    "admin", "fleet_manager", "rental_agent", "mechanic", "accountant", "driver", "conductor", "customer", "partner",
    "mesh_service", "maintenance_service",
  ]);
  t.is(roleDefinition("partner")?.kind, "service");
  t.is(roleDefinition("maintenance_service")?.kind, "service");
  t.is(roleDefinition("mesh_service")?.kind, "service");
  t.is(roleDefinition("customer")?.kind, "customer");
});

test("the mesh's own service role only reads", (t) => {
  const permissions = roleDefinition("mesh_service")!.permissions;
  t.true(permissions.length > 0);
  for (const p of permissions) t.regex(p, /\.read$/, `mesh_service holds ${p}`);
});

test("least privilege: spot checks of what roles must NOT hold", (t) => {
  const lacks = (role: string, forbidden: readonly string[]): void => {
    for (const p of forbidden) t.false(perms(role).includes(p), `${role} must not hold ${p}`);
  };
  const admin = ["users.manage", "roles.assign", "staff.manage", "service_clients.manage", "service_clients.read", "roles.read"];
  // The books: only accountants (and admins) touch them.
  const ledger = PERMISSIONS.filter((p) => /^(ledger|invoices|payments)\./.test(p) && !isOwnScoped(p));
  lacks("customer", [...admin, "vehicles.register", "vehicles.read", "rentals.read", "rentals.reserve", "users.read", "staff.read", "reports.read", ...ledger]);
  lacks("mechanic", [...admin, ...ledger, "rentals.read", "rentals.reserve", "vehicles.register", "vehicles.decommission", "maintenance.schedule"]);
  lacks("driver", [...admin, ...ledger, "rentals.read", "maintenance.read", "vehicles.update"]);
  lacks("accountant", [...admin, "vehicles.register", "vehicles.update", "rentals.reserve", "maintenance.schedule"]);
  lacks("fleet_manager", [...admin, ...ledger, "reports.generate", "rentals.reserve"]);
  lacks("rental_agent", ["staff.manage", "service_clients.manage", "roles.read", ...ledger, "vehicles.register", "vehicles.decommission"]);
  lacks("partner", [...admin, ...ledger, "rentals.read", "users.read", "profile.read_own", "sessions.revoke_own", "vehicles.read"]);
  // Every human role can see and edit their own profile and end their sessions; machines cannot.
  for (const role of ROLE_CATALOG.filter((r) => r.kind !== "service")) {
    for (const p of ["profile.read_own", "profile.update_own", "sessions.revoke_own"] as const) t.true(role.permissions.includes(p), `${role.name} ${p}`);
  }
  for (const role of ROLE_CATALOG.filter((r) => r.kind === "staff")) t.true(role.permissions.includes("staff.read_own"), role.name);
  // Own-data permissions go to the roles that own such data.
  t.true(perms("customer").includes("rentals.read_own"));
  t.true(perms("customer").includes("invoices.read_own"));
  t.true(perms("driver").includes("rentals.read_own"));
  t.true(perms("mechanic").includes("maintenance.read_own"));
});

test("catalogPermissionsOf is the sorted union", (t) => {
  const union = catalogPermissionsOf(["driver", "customer", "nope"]);
  t.deepEqual(union, [...new Set([...perms("driver"), ...perms("customer")])].sort());
});

// ---- password policy ----

test("password policy: 12-128 characters, not the email, not common or trivial", (t) => {
  const email = "ada.lovelace@example.com";
  const reasons = (p: string) => passwordViolations(p, { email }, "new_password").map((v) => v.reason);
  t.deepEqual(reasons("correct-horse-battery-7"), []);
  t.deepEqual(reasons("short-pw-1"), ["WEAK_PASSWORD"]);
  t.deepEqual(reasons("x".repeat(129)), ["WEAK_PASSWORD"]);
  const long = "Tr0ub4dor&3-é".repeat(10);
  t.deepEqual(reasons(long.slice(0, 128)), [], "128 characters");
  t.deepEqual(reasons(long.slice(0, 129)), ["WEAK_PASSWORD"], "129 characters");
  t.deepEqual(reasons("🚗🚙🚕🚓🚑🚒🚐🛻🚚🚛🚜🏎"), [], "12 emoji are 12 characters");
  t.deepEqual(reasons(email), ["WEAK_PASSWORD"]);
  t.deepEqual(reasons(email.toUpperCase()), ["WEAK_PASSWORD"]);
  t.deepEqual(reasons("ada.lovelace"), ["WEAK_PASSWORD"], "the local part is 12 characters");
  t.deepEqual(reasons("password1234"), ["WEAK_PASSWORD"]);
  t.deepEqual(reasons("aaaaaaaaaaaaaaa"), ["WEAK_PASSWORD"]);
  t.deepEqual(reasons("abcdefghijklmnop"), ["WEAK_PASSWORD"]);
  t.deepEqual(reasons("1234567890123"), ["WEAK_PASSWORD"]);
  const [v] = passwordViolations("short", { email }, "initial_password");
  t.is(v?.field, "initial_password");
});

// ---- users ----

test("user attributes: normalised email, E.164 phone, proto field paths", (t) => {
  t.is(normalizeEmail("  Ada@Example.COM "), "ada@example.com");
  const violations = validateUserAttributes({ email: "not-an-email", displayName: "", phoneNumber: "0151 1234" });
  t.deepEqual(violations.map((v) => v.field).sort(), ["attributes.display_name", "attributes.email", "attributes.phone_number"]);
  t.deepEqual(validateUserAttributes({ email: "a@b.co", displayName: "A", phoneNumber: "+4915112345678" }), []);
  const patched = applyUserPatch(
    { email: "a@b.co", displayName: "A", phoneNumber: "+4915112345678" },
    { email: "evil@b.co", displayName: "B", phoneNumber: null },
    ["display_name", "phone_number"],
  );
  t.deepEqual(patched, { email: "a@b.co", displayName: "B", phoneNumber: null }, "only the named fields change");
});

// ---- object-level rules ----

test("canReadUser: your own user, or anyone's with users.read", (t) => {
  t.true(canReadUser(caller(ME), ME));
  t.false(canReadUser(caller(ME), OTHER));
  t.true(canReadUser(caller(ME, ["users.read"]), OTHER));
  t.false(canReadUser(ANONYMOUS, ""), "the anonymous caller is nobody");
  const err = t.throws(() => requireReadableUser(caller(ME), OTHER), { instanceOf: DomainError });
  t.is(err?.kind, "not_found", "someone else's user is reported like an unknown one");
  t.is(err?.reason, "USER_NOT_FOUND");
  const staffErr = t.throws(() => requireReadableStaffProfile(caller(ME), { id: "p1", userId: OTHER }), { instanceOf: DomainError });
  t.is(staffErr?.reason, "STAFF_PROFILE_NOT_FOUND");
  t.notThrows(() => requireReadableStaffProfile(caller(ME), { id: "p1", userId: ME }));
  t.notThrows(() => requireReadableStaffProfile(caller(ME, ["staff.read"]), { id: "p1", userId: OTHER }));
});

test("granting roles: roles.assign for CreateUser, and never more than the caller holds", (t) => {
  const agent = caller(ME, perms("rental_agent"));
  t.notThrows(() => assertMayGrantRoles(agent, [{ name: "customer", permissions: perms("customer") }]), "own-scoped permissions do not count");
  const err = t.throws(() => assertMayGrantRoles(agent, [{ name: "admin", permissions: perms("admin") }]), { instanceOf: DomainError });
  t.is(err?.kind, "permission_denied");
  t.throws(() => assertMayGrantRoles(agent, [{ name: "fleet_manager", permissions: perms("fleet_manager") }]));
  t.notThrows(() => assertMayGrantRoles(caller(ME, perms("admin")), ROLE_CATALOG));
  t.throws(() => assertMayAssignRoles(caller(ME, ["users.manage"]), ["customer"]), { instanceOf: DomainError });
  t.notThrows(() => assertMayAssignRoles(caller(ME, ["users.manage"]), []));
});

test("managing users: nobody manages someone more powerful; no self-lockout", (t) => {
  const agent = caller(ME, perms("rental_agent"));
  t.notThrows(() => assertMayManageUser(agent, { id: OTHER, permissions: perms("customer") }));
  t.throws(() => assertMayManageUser(agent, { id: OTHER, permissions: perms("admin") }), { instanceOf: DomainError });
  t.notThrows(() => assertMayManageUser(agent, { id: ME, permissions: perms("admin") }), "yourself is always manageable");
  const self = t.throws(() => assertNotDisablingSelf(caller(ME), ME), { instanceOf: DomainError });
  t.is(self?.reason, "SELF_LOCKOUT");
  t.notThrows(() => assertNotDisablingSelf(caller(ME), OTHER));
  const admin = caller(ME, perms("admin"));
  t.throws(() => assertKeepsRoleAdministration(admin, ME, perms("customer")), { message: /roles.assign/ });
  t.notThrows(() => assertKeepsRoleAdministration(admin, ME, perms("rental_agent")), "another role still grants roles.assign");
  t.notThrows(() => assertKeepsRoleAdministration(admin, OTHER, []));
});

// ---- refresh tokens ----

test("refresh token verdicts: reuse revokes the family, disabled fails at once", (t) => {
  const now = new Date("2026-01-01T12:00:00Z");
  const live: RefreshTokenRecord = {
    id: "t1", familyId: "f1", userId: ME, issuedAt: new Date("2026-01-01T11:00:00Z"), expiresAt: new Date("2026-01-02T00:00:00Z"),
    usedAt: null, revokedAt: null, replacedBy: null,
  };
  const verdict = (token: RefreshTokenRecord | null, status: "active" | "disabled" | null = "active") => {
    const v = assessRefreshToken(token, status, now);
    return v.ok ? "ok" : `${v.error.reason}${v.revokeFamily ? "+revoke" : ""}`;
  };
  t.is(verdict(live), "ok");
  t.is(verdict(null, null), "INVALID_CREDENTIALS");
  t.is(verdict({ ...live, usedAt: now, replacedBy: "t2" }), "REFRESH_TOKEN_REUSED+revoke");
  t.is(verdict({ ...live, usedAt: now, revokedAt: now }), "REFRESH_TOKEN_REUSED+revoke");
  t.is(verdict({ ...live, revokedAt: now }), "INVALID_CREDENTIALS");
  t.is(verdict(live, "disabled"), "USER_DISABLED+revoke");
  t.is(verdict({ ...live, expiresAt: now }), "TOKEN_EXPIRED");
});
