import { DomainError } from "../../../platform/src/errors.js";
import { invalidCredentials, userDisabled, type UserStatus } from "./user.js";

/**
 * One refresh token of a family (a login session). Tokens are single use:
 * refreshing marks the presented one used and issues its successor in the
 * same family.
 */
export interface RefreshTokenRecord {
  readonly id: string;
  readonly familyId: string;
  readonly userId: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly revokedAt: Date | null;
  readonly replacedBy: string | null;
}

export const refreshTokenReused = (): DomainError =>
  new DomainError("unauthenticated", "REFRESH_TOKEN_REUSED", "refresh token was already used; the session is revoked");

export const refreshTokenExpired = (): DomainError => new DomainError("unauthenticated", "TOKEN_EXPIRED", "refresh token expired");

export type RefreshVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: DomainError; readonly revokeFamily: boolean };

/**
 * Decides what presenting `token` means, in this order:
 * - unknown: INVALID_CREDENTIALS;
 * - already used: someone holds a copy (theft, or a replayed request). The
 *   whole family is revoked and the call fails with REFRESH_TOKEN_REUSED;
 * - the user is disabled: USER_DISABLED, at once (the family is revoked too);
 * - revoked (logout, password change, an earlier reuse): INVALID_CREDENTIALS;
 * - expired: TOKEN_EXPIRED.
 */
export function assessRefreshToken(token: RefreshTokenRecord | null, userStatus: UserStatus | null, now: Date): RefreshVerdict {
  if (token === null || userStatus === null) return { ok: false, error: invalidCredentials(), revokeFamily: false };
  if (token.usedAt !== null) return { ok: false, error: refreshTokenReused(), revokeFamily: true };
  if (userStatus === "disabled") return { ok: false, error: userDisabled(), revokeFamily: true };
  if (token.revokedAt !== null) return { ok: false, error: invalidCredentials(), revokeFamily: false };
  if (token.expiresAt.getTime() <= now.getTime()) return { ok: false, error: refreshTokenExpired(), revokeFamily: false };
  return { ok: true };
}
