// Object-level authorization helpers: pure, for domain code of every service.
//
// The RPC-level permission (from proto/) says what kind of thing a caller may
// do; these helpers say on WHICH objects. Rules read as one line at the call
// site, e.g. in a future rental service:
//
//   requireOwner(caller, { customerId: rental.customerId, userId: rental.driverId }, () => rentalNotFound(id));
//   requireOwnOrPermission(caller, { userId: user.id }, "users.read", () => userNotFound(id));
//
// They fail with the caller-supplied NOT_FOUND error rather than
// PERMISSION_DENIED, so guessing someone else's id tells nothing about
// whether it exists.
import type { Caller } from "./auth.js";
import { DomainError } from "./errors.js";

/** The ids an object names as its owners; any one of them matching the caller is enough. */
export interface OwnerRef {
  /** A user id (the token's `sub`), e.g. a rental's assigned driver, a profile's user. */
  readonly userId?: string | null | undefined;
  /** A customer id (the token's `customer_id`), e.g. a rental's or an invoice's customer. */
  readonly customerId?: string | null | undefined;
  /** A staff profile id (the token's `staff_id`). */
  readonly staffId?: string | null | undefined;
}

const same = (a: string | undefined, b: string | null | undefined): boolean =>
  a !== undefined && a !== "" && b !== undefined && b !== null && a === b;

/** True when the caller is the user `userId` (an authenticated subject, never the anonymous one). */
export const isSelf = (caller: Caller, userId: string | null | undefined): boolean =>
  !caller.anonymous && same(caller.subject, userId);

/** True when the caller holds `permission`. */
export const hasPermission = (caller: Caller, permission: string): boolean => caller.permissions.has(permission);

/** True when the caller is one of the owners the object names. */
export const owns = (caller: Caller, owner: OwnerRef): boolean =>
  !caller.anonymous &&
  (same(caller.subject, owner.userId) || same(caller.customerId, owner.customerId) || same(caller.staffId, owner.staffId));

/** Owner, or holder of the permission that reaches everyone's objects. */
export const ownsOrHas = (caller: Caller, owner: OwnerRef, permission: string): boolean =>
  owns(caller, owner) || hasPermission(caller, permission);

/** Throws `notFound()` unless the caller owns the object. */
export function requireOwner(caller: Caller, owner: OwnerRef, notFound: () => DomainError): void {
  if (!owns(caller, owner)) throw notFound();
}

/** Throws `notFound()` unless the caller owns the object or holds `permission`. */
export function requireOwnOrPermission(caller: Caller, owner: OwnerRef, permission: string, notFound: () => DomainError): void {
  if (!ownsOrHas(caller, owner, permission)) throw notFound();
}

/**
 * The owner ids to filter "own" lists by (`ListOwnRentals`: customer_id = ?
 * OR driver_id = ?). Fails UNAUTHENTICATED for an anonymous caller, so a
 * query can never run without an owner filter.
 */
export function ownerScope(caller: Caller): { readonly userId: string; readonly customerId: string | null; readonly staffId: string | null } {
  if (caller.anonymous || caller.subject === "") {
    throw new DomainError("unauthenticated", "UNAUTHENTICATED", "an authenticated caller is required");
  }
  return { userId: caller.subject, customerId: caller.customerId ?? null, staffId: caller.staffId ?? null };
}
