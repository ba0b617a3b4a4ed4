import { DomainError } from "../../../platform/src/errors.js";
import {
  externalUserNotProvisioned,
  readExternalIdentity,
  rolesToAdd,
  type ExternalIdentity,
} from "../domain/external-identity.js";
import { newUser, staleRowVersion, userDisabled, userNotFound, type User } from "../domain/user.js";
import type { IdentityDependencies, IdentitySettings } from "./dependencies.js";
import type { Role } from "./ports.js";
import { createRateLimits } from "./rate-limits.js";
import { createSessions, type TokenSet } from "./sessions.js";
import { registerUser } from "./user-registration.js";

export interface ExternalLoginResult {
  readonly tokens: TokenSet;
  readonly user: User;
  /** The configured name of the issuer that vouched for the user. */
  readonly issuer: string;
  /** True when the user was provisioned by this login. */
  readonly created: boolean;
  /** Roles the mapping granted by this login (all of a new user's roles). */
  readonly rolesGranted: readonly string[];
}

/**
 * Delegated login (RFC 8693 token exchange): a token of a trusted external
 * issuer becomes a Fleet mesh token set, so services trust only identity's
 * keys. The user is matched by email; the issuer's role mapping only ever
 * adds roles (roles granted in Fleet mesh are kept, none are removed).
 */
export function createExternalLoginUseCases(deps: IdentityDependencies, settings: IdentitySettings) {
  const { users, roles, uow, clock, ids, outbox } = deps;
  const limits = createRateLimits(deps.limiter, settings.rateLimits, deps.alerts);
  const sessions = createSessions(deps, settings);

  /** The user of that email, created with the mapped roles when the issuer provisions users. */
  async function findOrProvision(identity: ExternalIdentity, autoProvision: boolean, issuer: string, granted: readonly Role[], now: Date) {
    const existing = await users.findByEmail(identity.email);
    if (existing) return { user: existing, created: false };
    // Provisioning a user with no role would only create an account that can do nothing.
    if (!autoProvision || granted.length === 0) throw externalUserNotProvisioned(issuer);
    const user = newUser({
      id: ids.newId(),
      attributes: { email: identity.email, displayName: identity.displayName, phoneNumber: null },
      roles: granted.map((r) => r.name).sort(),
      hasPassword: false,
      at: now,
      by: null,
    });
    await registerUser(deps, user, null, granted);
    return { user, created: true };
  }

  async function exchange(identity: ExternalIdentity, policy: { name: string; autoProvision: boolean }, retry: boolean): Promise<ExternalLoginResult> {
    const granted = await roles.findByNames(identity.roles);
    const now = clock.now();
    try {
      return await uow.run(async () => {
        const { user: found, created } = await findOrProvision(identity, policy.autoProvision, policy.name, granted, now);
        const user = await users.findByIdForUpdate(found.id);
        if (!user) throw userNotFound(found.id);
        if (user.status === "disabled") throw userDisabled();
        const missing = rolesToAdd(user.roles, granted.map((r) => r.name));
        let synced = user;
        if (missing.length > 0) {
          for (const role of granted.filter((r) => missing.includes(r.name))) await users.addRole(user.id, role.id, now, null);
          synced = { ...user, roles: [...user.roles, ...missing].sort(), rowVersion: user.rowVersion + 1n, updatedAt: now, updatedBy: null };
          if (!(await users.update(synced, user.rowVersion))) throw staleRowVersion("user", user.id, user.rowVersion, -1n);
          await outbox.append({ type: "UserRolesChanged", user: synced, previousRoles: user.roles });
        }
        await users.recordLogin(user.id, now);
        const tokens = await sessions.issue(synced, now);
        return { tokens, user: { ...synced, lastLoginTime: now }, issuer: policy.name, created, rolesGranted: created ? user.roles : missing };
      });
    } catch (err) {
      // Two first logins at once: the other one provisioned the user; sync roles on it.
      if (retry && err instanceof DomainError && err.reason === "EMAIL_TAKEN") return exchange(identity, policy, false);
      throw err;
    }
  }

  return {
    /**
     * Verifies the subject token against the issuer its `iss` names (an
     * untrusted issuer is INVALID_CREDENTIALS, with no network call), maps its
     * claims, rate-limits per external subject, then finds or provisions the
     * user, adds the mapped roles, records the login and issues a token set in
     * a new refresh token family, exactly as Login does. The subject token is
     * never logged or stored.
     */
    async exchangeExternalToken(input: { subjectToken: string }): Promise<ExternalLoginResult> {
      const { policy, claims } = await deps.external.verify(input.subjectToken);
      const identity = readExternalIdentity(policy, claims);
      await limits.consumeExternalExchange(`${policy.name}|${identity.subject}`);
      return exchange(identity, policy, true);
    },
  };
}

export type ExternalLoginUseCases = ReturnType<typeof createExternalLoginUseCases>;
