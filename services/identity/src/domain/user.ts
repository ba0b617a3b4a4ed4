import { DomainError, type FieldViolation } from "../../../platform/src/errors.js";

export const USER_STATUSES = ["active", "disabled"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export interface UserAttributes {
  /** Lower case, trimmed. */
  readonly email: string;
  readonly displayName: string;
  /** E.164, e.g. "+4915112345678". */
  readonly phoneNumber: string | null;
}

/** A user as the service shows it. The password hash is never part of it. */
export interface User {
  readonly id: string;
  readonly attributes: UserAttributes;
  readonly status: UserStatus;
  /** Role names, sorted. */
  readonly roles: readonly string[];
  readonly hasPassword: boolean;
  readonly lastLoginTime: Date | null;
  readonly disableTime: Date | null;
  readonly disableReason: string | null;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string | null;
  readonly updatedBy: string | null;
}

/** A user as first saved: active, at row version 1, never logged in. */
export function newUser(input: {
  readonly id: string;
  readonly attributes: UserAttributes;
  /** Role names, sorted. */
  readonly roles: readonly string[];
  readonly hasPassword: boolean;
  readonly at: Date;
  readonly by: string | null;
}): User {
  return {
    id: input.id,
    attributes: input.attributes,
    status: "active",
    roles: input.roles,
    hasPassword: input.hasPassword,
    lastLoginTime: null,
    disableTime: null,
    disableReason: null,
    rowVersion: 1n,
    createdAt: input.at,
    updatedAt: input.at,
    createdBy: input.by,
    updatedBy: input.by,
  };
}

export const MAX_EMAIL = 254;
export const MAX_DISPLAY_NAME = 200;
export const MAX_DISABLE_REASON = 500;
// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability
// is proven by using the address, not by a regular expression.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164_PATTERN = /^\+[1-9][0-9]{6,14}$/;

export const normalizeEmail = (raw: string): string => raw.trim().toLowerCase();

export function validateEmail(email: string, field: string): FieldViolation[] {
  if (email === "") return [{ field, description: "is required", reason: "REQUIRED" }];
  if (email.length > MAX_EMAIL) return [{ field, description: `must be at most ${MAX_EMAIL} characters`, reason: "TOO_LONG" }];
  if (!EMAIL_PATTERN.test(email)) return [{ field, description: "must be an email address", reason: "INVALID_FORMAT" }];
  return [];
}

/** Field violations of user attributes, with proto field paths under `prefix`. */
export function validateUserAttributes(a: UserAttributes, prefix = "attributes"): FieldViolation[] {
  const out = validateEmail(a.email, `${prefix}.email`);
  if (a.displayName === "") out.push({ field: `${prefix}.display_name`, description: "is required", reason: "REQUIRED" });
  else if (a.displayName.length > MAX_DISPLAY_NAME) {
    out.push({ field: `${prefix}.display_name`, description: `must be at most ${MAX_DISPLAY_NAME} characters`, reason: "TOO_LONG" });
  }
  if (a.phoneNumber !== null && !E164_PATTERN.test(a.phoneNumber)) {
    out.push({ field: `${prefix}.phone_number`, description: "must be an E.164 number such as +4915112345678", reason: "INVALID_FORMAT" });
  }
  return out;
}

/** Attribute paths an administrator may change (UpdateUser). */
export const UPDATABLE_USER_FIELDS = ["email", "display_name", "phone_number"] as const;
export type UpdatableUserField = (typeof UPDATABLE_USER_FIELDS)[number];

/**
 * Attribute paths a user may change on themselves (UpdateCurrentUser). Email
 * (the login name), roles and status are not among them.
 */
export const SELF_UPDATABLE_FIELDS: readonly UpdatableUserField[] = ["display_name", "phone_number"];

export function applyUserPatch(current: UserAttributes, patch: UserAttributes, fields: readonly UpdatableUserField[]): UserAttributes {
  const next = { ...current } as { -readonly [K in keyof UserAttributes]: UserAttributes[K] };
  for (const field of fields) {
    switch (field) {
      case "email": next.email = patch.email; break;
      case "display_name": next.displayName = patch.displayName; break;
      case "phone_number": next.phoneNumber = patch.phoneNumber; break;
    }
  }
  return next;
}

/** The attributes whose value differs between `before` and `after`, as proto paths into UserAttributes. */
export function changedUserFields(before: UserAttributes, after: UserAttributes): UpdatableUserField[] {
  const changed: UpdatableUserField[] = [];
  if (before.email !== after.email) changed.push("email");
  if (before.displayName !== after.displayName) changed.push("display_name");
  if (before.phoneNumber !== after.phoneNumber) changed.push("phone_number");
  return changed;
}

export const userNotFound = (id: string): DomainError =>
  new DomainError("not_found", "USER_NOT_FOUND", `user ${id} not found`, { metadata: { user_id: id } });

export const emailTaken = (): DomainError =>
  new DomainError("already_exists", "EMAIL_TAKEN", "email address is already registered", {
    fieldViolations: [{ field: "attributes.email", description: "is already registered", reason: "TAKEN" }],
  });

export const roleNotFound = (name: string): DomainError =>
  new DomainError("not_found", "ROLE_NOT_FOUND", `role ${name} not found`, { metadata: { role: name } });

/** Wrong email, wrong password, no password, unknown client or secret: all alike. */
export const invalidCredentials = (): DomainError =>
  new DomainError("unauthenticated", "INVALID_CREDENTIALS", "invalid credentials");

export const userDisabled = (): DomainError => new DomainError("permission_denied", "USER_DISABLED", "user is disabled");

export const staleRowVersion = (entity: string, id: string, expected: bigint, actual: bigint): DomainError =>
  new DomainError("aborted", "ROW_VERSION_MISMATCH", `${entity} ${id} changed since row version ${expected} (now ${actual})`, {
    metadata: { [`${entity}_id`]: id, expected_row_version: String(expected), current_row_version: String(actual) },
  });

export function validateDisableReason(reason: string, field = "reason"): FieldViolation[] {
  if (reason.trim() === "") return [{ field, description: "is required", reason: "REQUIRED" }];
  if (reason.length > MAX_DISABLE_REASON) return [{ field, description: `must be at most ${MAX_DISABLE_REASON} characters`, reason: "TOO_LONG" }];
  return [];
}
