import type { RefreshTokenRecord } from "../domain/refresh-token.js";
import type { User } from "../domain/user.js";
import type { IdentityDependencies, IdentitySettings } from "./dependencies.js";
import type { AccessClaims } from "./ports.js";

/** What Login, RefreshToken and ChangeOwnPassword return. Both tokens are secrets. */
export interface TokenSet {
  readonly accessToken: string;
  readonly accessTokenExpiresAt: Date;
  readonly refreshToken: string;
  readonly refreshTokenExpiresAt: Date;
}

/** The role that makes a user a customer: their tokens carry customer_id = their user id. */
export const CUSTOMER_ROLE = "customer";

/**
 * Issues access tokens and refresh tokens of users. Claims are read from the
 * database at issue time, so role and staff changes reach the next token.
 */
export function createSessions(deps: IdentityDependencies, settings: IdentitySettings) {
  const { roles, staff, tokens, ids, secrets, signer } = deps;

  async function claimsOf(user: User): Promise<AccessClaims> {
    const [permissions, profile] = await Promise.all([roles.permissionsOf(user.roles), staff.findByUserId(user.id)]);
    return {
      sub: user.id,
      roles: user.roles,
      permissions,
      ...(profile ? { staff_id: profile.id } : {}),
      ...(user.roles.includes(CUSTOMER_ROLE) ? { customer_id: user.id } : {}),
    };
  }

  return {
    claimsOf,

    /**
     * Signs an access token and stores a new refresh token, in `familyId` (a
     * rotation) or in a new family (a new session). Runs in the caller's
     * transaction.
     */
    async issue(user: User, now: Date, familyId: string | null = null, tokenId: string = ids.newId()): Promise<TokenSet> {
      const access = signer.sign(await claimsOf(user), settings.accessTokenTtlSec, now);
      const refreshToken = secrets.newRefreshToken();
      const record: RefreshTokenRecord = {
        id: tokenId,
        familyId: familyId ?? ids.newId(),
        userId: user.id,
        issuedAt: now,
        expiresAt: new Date(now.getTime() + settings.refreshTokenTtlSec * 1000),
        usedAt: null,
        revokedAt: null,
        replacedBy: null,
      };
      await tokens.insert(record, secrets.digest(refreshToken));
      return {
        accessToken: access.token,
        accessTokenExpiresAt: access.expiresAt,
        refreshToken,
        refreshTokenExpiresAt: record.expiresAt,
      };
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
