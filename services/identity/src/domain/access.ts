// Object-level authorization of the identity service: which users, profiles
// and roles a caller may see or change, on top of the RPC's permission
// (checked by the server pipeline from proto/). Pure; one line per rule at
// the call site. Generic helpers live in the platform kit (ownership.ts).
import type { Caller } from "../../../platform/src/auth.js";
import { DomainError, failedPrecondition } from "../../../platform/src/errors.js";
import { hasPermission, isSelf, requireOwnOrPermission } from "../../../platform/src/ownership.js";
import { isOwnScoped } from "./role-catalog.js";
import { userNotFound } from "./user.js";
import { staffProfileNotFound } from "./staff-profile.js";

/** The caller's own user, or anyone's with users.read. */
export const canReadUser = (caller: Caller, userId: string): boolean => isSelf(caller, userId) || hasPermission(caller, "users.read");

/** Someone else's user without users.read is reported like an unknown one (NOT_FOUND). */
export const requireReadableUser = (caller: Caller, userId: string): void =>
  requireOwnOrPermission(caller, { userId }, "users.read", () => userNotFound(userId));

/** A staff member reads their own profile; others' need staff.read (NOT_FOUND otherwise). */
export const requireReadableStaffProfile = (caller: Caller, profile: { readonly id: string; readonly userId: string }): void =>
  requireOwnOrPermission(caller, { userId: profile.userId }, "staff.read", () => staffProfileNotFound(profile.id));

const denied = (message: string, metadata: Record<string, string>): DomainError =>
  new DomainError("permission_denied", "PERMISSION_DENIED", message, { metadata });

/**
 * Permissions a grant would give that the caller does not hold. Own-scoped
 * permissions (profile.read_own, rentals.read_own...) never count: they only
 * reach the grantee's own records.
 */
export const beyondCaller = (caller: Caller, permissions: Iterable<string>): string[] =>
  [...new Set(permissions)].filter((p) => !isOwnScoped(p) && !caller.permissions.has(p)).sort();

/**
 * Delegation: nobody grants more than they hold. Granting a role (AssignRole,
 * CreateUser, CreateServiceClient) whose permissions go beyond the caller's
 * is PERMISSION_DENIED, so a rental agent can register customers but not
 * make anyone an administrator.
 */
export function assertMayGrantRoles(caller: Caller, roles: ReadonlyArray<{ readonly name: string; readonly permissions: readonly string[] }>): void {
  for (const role of roles) {
    const missing = beyondCaller(caller, role.permissions);
    if (missing.length > 0) {
      throw denied(`granting role ${role.name} needs permissions you do not hold: ${missing.join(", ")}`, { role: role.name });
    }
  }
}

/** CreateUser with roles needs roles.assign besides users.manage (the contract). */
export function assertMayAssignRoles(caller: Caller, roles: readonly string[]): void {
  if (roles.length > 0 && !hasPermission(caller, "roles.assign")) {
    throw denied("permission roles.assign required to grant roles", { permission: "roles.assign" });
  }
}

/**
 * Administration of a user (update, disable, enable, reset password, roles)
 * reaches only users no more powerful than the caller: a rental agent can
 * reset a customer's password, not an administrator's.
 */
export function assertMayManageUser(caller: Caller, target: { readonly id: string; readonly permissions: readonly string[] }): void {
  if (isSelf(caller, target.id)) return;
  const missing = beyondCaller(caller, target.permissions);
  if (missing.length > 0) {
    throw denied("user holds permissions you do not hold", { user_id: target.id });
  }
}

const selfLockout = (userId: string, message: string): DomainError =>
  failedPrecondition("SELF_LOCKOUT", message, { subject: `users/${userId}`, user_id: userId });

/** Nobody disables themselves. */
export function assertNotDisablingSelf(caller: Caller, userId: string): void {
  if (isSelf(caller, userId)) throw selfLockout(userId, "you cannot disable yourself");
}

/** Revoking one of your own roles may not take away your ability to assign roles. */
export function assertKeepsRoleAdministration(caller: Caller, userId: string, remainingPermissions: readonly string[]): void {
  if (isSelf(caller, userId) && hasPermission(caller, "roles.assign") && !remainingPermissions.includes("roles.assign")) {
    throw selfLockout(userId, "revoking this role would remove your own roles.assign permission");
  }
}
