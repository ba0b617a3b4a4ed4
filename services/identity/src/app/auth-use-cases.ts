import type { Caller } from "../../../platform/src/auth.js";
import { DomainError } from "../../../platform/src/errors.js";
import { assertPasswordPolicy, normalizePassword, weakPassword } from "../domain/password-policy.js";
import { assessRefreshToken, refreshTokenReused } from "../domain/refresh-token.js";
import { invalidCredentials, normalizeEmail, userDisabled, userNotFound, type User } from "../domain/user.js";
import { selfId, type IdentityDependencies, type IdentitySettings } from "./dependencies.js";
import { createRateLimits } from "./rate-limits.js";
import { createSessions, type TokenSet } from "./sessions.js";

export interface ClientToken {
  readonly accessToken: string;
  readonly expiresAt: Date;
}

/** Login, token refresh with rotation, client credentials, logout and password change. */
export function createAuthUseCases(deps: IdentityDependencies, settings: IdentitySettings) {
  const { users, roles, clients, tokens, uow, clock, hasher, secrets, signer } = deps;
  const limits = createRateLimits(deps.limiter, settings.rateLimits, deps.alerts);
  const sessions = createSessions(deps, settings);

  /** The caller's own user; service clients and deleted users have none. */
  const currentUser = async (caller: Caller): Promise<User> => {
    const user = await users.findById(selfId(caller));
    if (!user) throw userNotFound(caller.subject);
    return user;
  };

  return {
    /**
     * Wrong email and wrong password fail alike, after the same amount of
     * hashing work. A disabled account is reported only after a correct
     * password, so the status of an account does not leak either.
     */
    async login(input: { email: string; password: string }): Promise<{ tokens: TokenSet; user: User }> {
      const email = normalizeEmail(input.email);
      const password = normalizePassword(input.password);
      await limits.assertLoginAllowed(email);
      const credentials = await users.findCredentialsByEmail(email);
      const hash = credentials?.passwordHash ?? null;
      if (!(await hasher.verify(password, hash)) || !credentials || hash === null) {
        await limits.recordLoginFailure(email);
        throw invalidCredentials();
      }
      const { user } = credentials;
      if (user.status === "disabled") throw userDisabled();
      const rehashed = hasher.needsRehash(hash) ? await hasher.hash(password) : null;
      const now = clock.now();
      const result = await uow.run(async () => {
        await users.recordLogin(user.id, now);
        if (rehashed !== null) await users.setPasswordHash(user.id, rehashed);
        return { tokens: await sessions.issue(user, now), user: { ...user, lastLoginTime: now } };
      });
      await limits.clearLoginFailures(email);
      return result;
    },

    /**
     * Rotation: the presented token is marked used and replaced by a new one
     * in the same family. Presenting a used token again revokes the family,
     * committed even though the call fails.
     */
    async refresh(input: { refreshToken: string }): Promise<TokenSet> {
      const now = clock.now();
      const presented = await tokens.findByDigest(secrets.digest(input.refreshToken));
      const user = presented ? await users.findById(presented.userId) : null;
      const verdict = assessRefreshToken(presented, user?.status ?? null, now);
      if (!verdict.ok) {
        if (verdict.revokeFamily && presented) await tokens.revokeFamilyNow(presented.familyId, now);
        throw verdict.error;
      }
      const token = presented!;
      const owner = user!;
      await limits.consumeRefresh(owner.id);
      const rotated = await uow.run(async () => {
        const successorId = deps.ids.newId();
        // Compare-and-set: of two concurrent refreshes with the same token, one wins.
        if (!(await tokens.markUsed(token.id, successorId, now))) return null;
        return sessions.issue(owner, now, token.familyId, successorId);
      });
      if (rotated === null) {
        await tokens.revokeFamilyNow(token.familyId, now);
        throw refreshTokenReused();
      }
      return rotated;
    },

    /** OAuth 2.0 client_credentials (RFC 6749 4.4): an access token only, no refresh token. */
    async issueClientCredentialsToken(input: { clientId: string; clientSecret: string }): Promise<ClientToken> {
      await limits.consumeClientCredentials(input.clientId);
      const found = await clients.findCredentials(input.clientId);
      // Compare even when the client is unknown, so both paths cost the same.
      const matches = secrets.matches(input.clientSecret, found?.secretDigest ?? Buffer.alloc(32));
      if (!found || !matches || found.client.status !== "active") throw invalidCredentials();
      const { client } = found;
      const now = clock.now();
      const signed = signer.sign(
        { sub: client.id, client_id: client.clientId, roles: client.roles, permissions: await roles.permissionsOf(client.roles) },
        settings.accessTokenTtlSec,
        now,
      );
      await clients.recordUse(client.id, now);
      return { accessToken: signed.token, expiresAt: signed.expiresAt };
    },

    /**
     * Ends the session of the presented refresh token (its whole family), or
     * every session of the caller. A token that is unknown or someone else's
     * is ignored: logout is idempotent and reveals nothing.
     */
    async logout(caller: Caller, input: { refreshToken: string; allSessions: boolean }): Promise<void> {
      const now = clock.now();
      if (input.allSessions) {
        await uow.run(() => tokens.revokeAllOfUser(selfId(caller), now));
        return;
      }
      const token = await tokens.findByDigest(secrets.digest(input.refreshToken));
      if (token && token.userId === caller.subject) await tokens.revokeFamilyNow(token.familyId, now);
    },

    /**
     * Needs the current password (INVALID_ARGUMENT, INVALID_CREDENTIALS when
     * wrong, counted like a failed login); revokes every session and starts
     * a new one. Publishes no event, as resetUserPassword.
     */
    async changeOwnPassword(caller: Caller, input: { currentPassword: string; newPassword: string }): Promise<TokenSet> {
      const user = await currentUser(caller);
      if (user.status === "disabled") throw userDisabled();
      const current = normalizePassword(input.currentPassword);
      const next = normalizePassword(input.newPassword);
      assertPasswordPolicy(next, { email: user.attributes.email }, "new_password");
      await limits.assertLoginAllowed(user.attributes.email);
      const hash = await users.findPasswordHash(user.id);
      if (!(await hasher.verify(current, hash)) || hash === null) {
        await limits.recordLoginFailure(user.attributes.email);
        throw new DomainError("invalid_argument", "INVALID_CREDENTIALS", "current password is wrong", {
          fieldViolations: [{ field: "current_password", description: "is wrong", reason: "INVALID_CREDENTIALS" }],
        });
      }
      if (current === next) {
        throw weakPassword([{ field: "new_password", description: "must differ from the current password", reason: "WEAK_PASSWORD" }]);
      }
      const newHash = await hasher.hash(next);
      const now = clock.now();
      return uow.run(async () => {
        const locked = await users.findByIdForUpdate(user.id);
        if (!locked) throw userNotFound(user.id);
        if (locked.status === "disabled") throw userDisabled();
        await users.setPasswordHash(user.id, newHash);
        await users.update({ ...locked, hasPassword: true, rowVersion: locked.rowVersion + 1n, updatedAt: now, updatedBy: user.id }, locked.rowVersion);
        await tokens.revokeAllOfUser(user.id, now);
        return sessions.issue(locked, now);
      });
    },
  };
}

export type AuthUseCases = ReturnType<typeof createAuthUseCases>;
