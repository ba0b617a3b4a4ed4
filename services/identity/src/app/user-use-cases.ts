import type { Caller } from "../../../platform/src/auth.js";
import { DomainError, invalidArgument } from "../../../platform/src/errors.js";
import { decodePageToken, pageSize, toPage } from "../../../platform/src/paging.js";
import {
  assertKeepsRoleAdministration,
  assertMayAssignRoles,
  assertMayGrantRoles,
  assertMayManageUser,
  assertNotDisablingSelf,
  requireReadableUser,
} from "../domain/access.js";
import { assertPasswordPolicy, normalizePassword } from "../domain/password-policy.js";
import { PERMISSIONS, ROLE_CATALOG } from "../domain/role-catalog.js";
import type { StaffProfile } from "../domain/staff-profile.js";
import {
  applyUserPatch,
  changedUserFields,
  newUser,
  normalizeEmail,
  roleNotFound,
  staleRowVersion,
  userDisabled,
  userNotFound,
  validateDisableReason,
  validateUserAttributes,
  type UpdatableUserField,
  type User,
  type UserAttributes,
  type UserStatus,
} from "../domain/user.js";
import { actorIdOf, selfId, type IdentityDependencies, type Page, type PageInput } from "./dependencies.js";
import type { Role } from "./ports.js";
import { registerUser } from "./user-registration.js";

export interface UserPatch {
  readonly id: string;
  readonly expectedRowVersion: bigint;
  readonly patch: UserAttributes;
  readonly fields: readonly UpdatableUserField[];
}

const normalizeAttributes = (a: UserAttributes): UserAttributes => ({
  email: normalizeEmail(a.email),
  displayName: a.displayName.trim(),
  phoneNumber: a.phoneNumber === null || a.phoneNumber.trim() === "" ? null : a.phoneNumber.trim(),
});

const uniqueSorted = (names: readonly string[]): string[] => [...new Set(names)].sort();

export interface BootstrapResult {
  readonly user: User;
  readonly created: boolean;
  readonly roleGranted: boolean;
}

export type UserDependencies = Pick<IdentityDependencies, "users" | "roles" | "staff" | "tokens" | "uow" | "clock" | "ids" | "hasher" | "outbox">;

/** The caller's own user, administration of users, and roles. */
export function createUserUseCases(deps: UserDependencies) {
  const { users, roles, staff, tokens, uow, clock, ids, hasher, outbox } = deps;

  const loadForUpdate = async (id: string): Promise<User> => {
    const user = await users.findByIdForUpdate(id);
    if (!user) throw userNotFound(id);
    return user;
  };

  /** 0 skips the check where the contract allows it (`optional`); elsewhere 0 never matches. */
  const checkVersion = (user: User, expected: bigint, optional: boolean): void => {
    if ((expected !== 0n || !optional) && expected !== user.rowVersion) throw staleRowVersion("user", user.id, expected, user.rowVersion);
  };

  const save = async (next: User, previous: User): Promise<User> => {
    if (!(await users.update(next, previous.rowVersion))) {
      const current = await users.findById(previous.id);
      throw staleRowVersion("user", previous.id, previous.rowVersion, current?.rowVersion ?? -1n);
    }
    return next;
  };

  /** Saves an attribute change and announces it, with the paths whose value really changed. */
  const saveAttributes = async (user: User, caller: Caller, attributes: UserAttributes): Promise<User> => {
    const saved = await save(touched(user, caller, { attributes }), user);
    await outbox.append({ type: "UserUpdated", user: saved, changedFields: changedUserFields(user.attributes, attributes) });
    return saved;
  };

  /** Saves a change of the user's role names and announces it. */
  const saveRoles = async (user: User, next: User): Promise<User> => {
    const saved = await save(next, user);
    await outbox.append({ type: "UserRolesChanged", user: saved, previousRoles: user.roles });
    return saved;
  };

  const touched = (user: User, caller: Caller, changes: Partial<User>): User => ({
    ...user,
    ...changes,
    rowVersion: user.rowVersion + 1n,
    updatedAt: clock.now(),
    updatedBy: actorIdOf(caller),
  });

  /** Every named role, or ROLE_NOT_FOUND naming the first unknown one. */
  const resolveRoles = async (names: readonly string[]): Promise<Role[]> => {
    const found = await roles.findByNames(names);
    for (const name of names) if (!found.some((r) => r.name === name)) throw roleNotFound(name);
    return found;
  };

  /** Manage checks need the target's effective permissions. */
  const assertManageable = async (caller: Caller, user: User): Promise<void> =>
    assertMayManageUser(caller, { id: user.id, permissions: await roles.permissionsOf(user.roles) });

  const withStaff = async (user: User): Promise<{ user: User; staffProfile: StaffProfile | null }> => ({
    user,
    staffProfile: await staff.findByUserId(user.id),
  });

  const api = {
    /** Upserts the role catalog (roles, permissions, role_permissions) in one transaction. */
    async seedRoleCatalog(): Promise<void> {
      await uow.run(() => roles.syncCatalog(ROLE_CATALOG, PERMISSIONS));
    },

    async getCurrentUser(caller: Caller): Promise<{ user: User; permissions: string[]; staffProfile: StaffProfile | null }> {
      const user = await users.findById(selfId(caller));
      if (!user) throw userNotFound(caller.subject);
      const [permissions, staffProfile] = await Promise.all([roles.permissionsOf(user.roles), staff.findByUserId(user.id)]);
      return { user, permissions, staffProfile };
    },

    /** Only display name and phone number, only on the caller (the adapter rejects other mask paths). */
    async updateCurrentUser(caller: Caller, input: Omit<UserPatch, "id">): Promise<User> {
      return uow.run(async () => {
        const user = await loadForUpdate(selfId(caller));
        if (user.status === "disabled") throw userDisabled();
        checkVersion(user, input.expectedRowVersion, false);
        const attributes = applyUserPatch(user.attributes, normalizeAttributes(input.patch), input.fields);
        const violations = validateUserAttributes(attributes);
        if (violations.length > 0) throw invalidArgument(violations);
        return saveAttributes(user, caller, attributes);
      });
    },

    async createUser(caller: Caller, input: { attributes: UserAttributes; initialPassword: string | null; roles: readonly string[] }): Promise<User> {
      const attributes = normalizeAttributes(input.attributes);
      const violations = validateUserAttributes(attributes);
      if (violations.length > 0) throw invalidArgument(violations);
      const password = input.initialPassword === null ? null : normalizePassword(input.initialPassword);
      if (password !== null) assertPasswordPolicy(password, { email: attributes.email }, "initial_password");
      const roleNames = uniqueSorted(input.roles);
      assertMayAssignRoles(caller, roleNames);
      const granted = await resolveRoles(roleNames);
      assertMayGrantRoles(caller, granted);
      const passwordHash = password === null ? null : await hasher.hash(password);
      const user = newUser({
        id: ids.newId(), attributes, roles: roleNames, hasPassword: passwordHash !== null, at: clock.now(), by: actorIdOf(caller),
      });
      await uow.run(() => registerUser(deps, user, passwordHash, granted));
      return user;
    },

    async updateUser(caller: Caller, input: UserPatch): Promise<User> {
      return uow.run(async () => {
        const user = await loadForUpdate(input.id);
        await assertManageable(caller, user);
        checkVersion(user, input.expectedRowVersion, false);
        const attributes = applyUserPatch(user.attributes, normalizeAttributes(input.patch), input.fields);
        const violations = validateUserAttributes(attributes);
        if (violations.length > 0) throw invalidArgument(violations);
        return saveAttributes(user, caller, attributes);
      });
    },

    /** Idempotent; revokes every refresh token of the user in the same transaction. */
    async disableUser(caller: Caller, input: { id: string; expectedRowVersion: bigint; reason: string }): Promise<User> {
      const reason = input.reason.trim();
      const violations = validateDisableReason(reason);
      if (violations.length > 0) throw invalidArgument(violations);
      assertNotDisablingSelf(caller, input.id);
      return uow.run(async () => {
        const user = await loadForUpdate(input.id);
        await assertManageable(caller, user);
        checkVersion(user, input.expectedRowVersion, true);
        if (user.status === "disabled") return user;
        const now = clock.now();
        const disabled = await save(touched(user, caller, { status: "disabled", disableTime: now, disableReason: reason }), user);
        await tokens.revokeAllOfUser(user.id, now);
        await outbox.append({ type: "UserDisabled", user: disabled });
        return disabled;
      });
    },

    /** Idempotent. */
    async enableUser(caller: Caller, input: { id: string; expectedRowVersion: bigint }): Promise<User> {
      return uow.run(async () => {
        const user = await loadForUpdate(input.id);
        await assertManageable(caller, user);
        checkVersion(user, input.expectedRowVersion, true);
        if (user.status === "active") return user;
        const enabled = await save(touched(user, caller, { status: "active", disableTime: null, disableReason: null }), user);
        await outbox.append({ type: "UserEnabled", user: enabled });
        return enabled;
      });
    },

    /**
     * Sets a password chosen by an administrator and ends every session of
     * the user. Publishes nothing: UserUpdated announces attribute changes,
     * and a credential change is no business of other services.
     */
    async resetUserPassword(caller: Caller, input: { id: string; newPassword: string }): Promise<User> {
      const target = await users.findById(input.id);
      if (!target) throw userNotFound(input.id);
      await assertManageable(caller, target);
      const password = normalizePassword(input.newPassword);
      assertPasswordPolicy(password, { email: target.attributes.email }, "new_password");
      const passwordHash = await hasher.hash(password);
      return uow.run(async () => {
        const user = await loadForUpdate(input.id);
        await users.setPasswordHash(user.id, passwordHash);
        const saved = await save(touched(user, caller, { hasPassword: true }), user);
        await tokens.revokeAllOfUser(user.id, clock.now());
        return saved;
      });
    },

    /** Someone else's user without users.read is NOT_FOUND, exactly like an unknown id. */
    async getUser(caller: Caller, id: string): Promise<{ user: User; staffProfile: StaffProfile | null }> {
      requireReadableUser(caller, id);
      const user = await users.findById(id);
      if (!user) throw userNotFound(id);
      return withStaff(user);
    },

    async listUsers(input: { status: UserStatus | null; role: string | null; query: string | null } & PageInput): Promise<Page<User>> {
      const query = JSON.stringify(["users", input.status, input.role, input.query]);
      const after = decodePageToken(input.pageToken, query, 2);
      const limit = pageSize(input.pageSize);
      const rows = await users.list({ status: input.status, role: input.role, query: input.query }, limit + 1, after);
      return toPage(rows, limit, query, (u) => [u.attributes.email, u.id]);
    },

    /** Granting a held role is a no-op; new tokens carry the change. */
    async assignRole(caller: Caller, input: { userId: string; expectedRowVersion: bigint; role: string }): Promise<User> {
      const [role] = await resolveRoles([input.role]);
      assertMayGrantRoles(caller, [role!]);
      return uow.run(async () => {
        const user = await loadForUpdate(input.userId);
        await assertManageable(caller, user);
        checkVersion(user, input.expectedRowVersion, true);
        if (user.roles.includes(role!.name)) return user;
        await users.addRole(user.id, role!.id, clock.now(), actorIdOf(caller));
        return saveRoles(user, touched(user, caller, { roles: uniqueSorted([...user.roles, role!.name]) }));
      });
    },

    /** Removing an unheld role is a no-op; removing your own last source of roles.assign is SELF_LOCKOUT. */
    async revokeRole(caller: Caller, input: { userId: string; expectedRowVersion: bigint; role: string }): Promise<User> {
      const [role] = await resolveRoles([input.role]);
      return uow.run(async () => {
        const user = await loadForUpdate(input.userId);
        await assertManageable(caller, user);
        checkVersion(user, input.expectedRowVersion, true);
        if (!user.roles.includes(role!.name)) return user;
        const remaining = user.roles.filter((r) => r !== role!.name);
        assertKeepsRoleAdministration(caller, user.id, await roles.permissionsOf(remaining));
        await users.removeRole(user.id, role!.id);
        return saveRoles(user, touched(user, caller, { roles: remaining }));
      });
    },

    async listRoles(input: PageInput): Promise<Page<Role>> {
      const query = "roles";
      const after = decodePageToken(input.pageToken, query, 2);
      const limit = pageSize(input.pageSize);
      return toPage(await roles.list(limit + 1, after), limit, query, (r) => [r.name, r.id]);
    },

    /**
     * The first administrator (bootstrap-admin): seeds the catalog, then
     * creates the user with the admin role, or makes sure an existing user of
     * that email holds it. Never changes an existing user's password.
     */
    bootstrapAdmin(input: { email: string; displayName: string; password: string }): Promise<BootstrapResult> {
      return bootstrapAdmin(input, true);
    },
  };

  return api;

  async function bootstrapAdmin(input: { email: string; displayName: string; password: string }, retry: boolean): Promise<BootstrapResult> {
    await uow.run(() => roles.syncCatalog(ROLE_CATALOG, PERMISSIONS));
    const attributes = normalizeAttributes({ email: input.email, displayName: input.displayName, phoneNumber: null });
    const violations = validateUserAttributes(attributes);
    if (violations.length > 0) throw invalidArgument(violations);
    const password = normalizePassword(input.password);
    assertPasswordPolicy(password, { email: attributes.email }, "password");
    const [admin] = await resolveRoles(["admin"]);
    const existing = await users.findCredentialsByEmail(attributes.email);
    if (existing) {
      if (existing.user.roles.includes("admin")) return { user: existing.user, created: false, roleGranted: false };
      return uow.run(async () => {
        const locked = await loadForUpdate(existing.user.id);
        // A concurrent bootstrap granted it since the read above: nothing changes, nothing to announce.
        if (locked.roles.includes("admin")) return { user: locked, created: false, roleGranted: false };
        await users.addRole(locked.id, admin!.id, clock.now(), null);
        const next = { ...locked, roles: uniqueSorted([...locked.roles, "admin"]), rowVersion: locked.rowVersion + 1n, updatedAt: clock.now(), updatedBy: null };
        return { user: await saveRoles(locked, next), created: false, roleGranted: true };
      });
    }
    const passwordHash = await hasher.hash(password);
    const user = newUser({ id: ids.newId(), attributes, roles: ["admin"], hasPassword: true, at: clock.now(), by: null });
    try {
      await uow.run(() => registerUser(deps, user, passwordHash, [admin!]));
    } catch (err) {
      // Two bootstraps at once: the other one created the user; make sure of the role.
      if (retry && err instanceof DomainError && err.reason === "EMAIL_TAKEN") return bootstrapAdmin(input, false);
      throw err;
    }
    return { user, created: true, roleGranted: true };
  }
}

export type UserUseCases = ReturnType<typeof createUserUseCases>;
