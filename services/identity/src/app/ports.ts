import type { PagePosition } from "../../../platform/src/paging.js";
import type { IdentityEvent } from "../domain/events.js";
import type { ExternalIssuerPolicy } from "../domain/external-identity.js";
import type { RefreshTokenRecord } from "../domain/refresh-token.js";
import type { RoleDefinition } from "../domain/role-catalog.js";
import type { ServiceClient } from "../domain/service-client.js";
import type { StaffProfile, StaffType } from "../domain/staff-profile.js";
import type { User, UserStatus } from "../domain/user.js";

export interface UserRepository {
  /** Fails with EMAIL_TAKEN when the email is registered already. */
  insert(user: User, passwordHash: string | null): Promise<void>;
  findById(id: string): Promise<User | null>;
  /** Reads and locks the row until the surrounding transaction ends. */
  findByIdForUpdate(id: string): Promise<User | null>;
  /** By normalised email (citext: case-insensitive), without the password hash. */
  findByEmail(email: string): Promise<User | null>;
  /** The user and their password hash, by normalised email; only login and password checks read the hash. */
  findCredentialsByEmail(email: string): Promise<{ user: User; passwordHash: string | null } | null>;
  findPasswordHash(id: string): Promise<string | null>;
  /** Compare-and-set on row_version of attributes, status and audit columns; false when the row moved on. EMAIL_TAKEN on conflict. */
  update(user: User, expectedRowVersion: bigint): Promise<boolean>;
  /** Replaces the hash; does not touch row_version (callers that change the user save it too). */
  setPasswordHash(id: string, passwordHash: string): Promise<void>;
  recordLogin(id: string, at: Date): Promise<void>;
  /** Ordered by (email, id). */
  list(filter: UserFilter, limit: number, after: PagePosition | null): Promise<User[]>;
  /** Grants a role; false when it was held already. */
  addRole(userId: string, roleId: string, at: Date, by: string | null): Promise<boolean>;
  /** False when it was not held. */
  removeRole(userId: string, roleId: string): Promise<boolean>;
}

export interface UserFilter {
  readonly status: UserStatus | null;
  readonly role: string | null;
  /** Case-insensitive substring of email or display name. */
  readonly query: string | null;
}

export interface Role {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** Sorted. */
  readonly permissions: readonly string[];
}

export interface RoleRepository {
  /**
   * Makes roles, permissions and role_permissions match the catalog for the
   * catalog's roles (idempotent); roles outside the catalog are left alone.
   */
  syncCatalog(catalog: readonly RoleDefinition[], permissions: readonly string[]): Promise<void>;
  /** The roles among `names` that exist, with their permissions. */
  findByNames(names: readonly string[]): Promise<Role[]>;
  /** Union of the permissions of the named roles, sorted. */
  permissionsOf(roleNames: readonly string[]): Promise<string[]>;
  /** Ordered by (name, id). */
  list(limit: number, after: PagePosition | null): Promise<Role[]>;
}

export interface StaffProfileRepository {
  /** Fails with STAFF_PROFILE_EXISTS when the user has one already. */
  insert(profile: StaffProfile): Promise<void>;
  findById(id: string): Promise<StaffProfile | null>;
  findByIdForUpdate(id: string): Promise<StaffProfile | null>;
  findByUserId(userId: string): Promise<StaffProfile | null>;
  update(profile: StaffProfile, expectedRowVersion: bigint): Promise<boolean>;
  /** Ordered by the user's (display_name, profile id). */
  list(filter: { readonly staffType: StaffType | null }, limit: number, after: PagePosition | null): Promise<StaffProfile[]>;
}

export interface ServiceClientRepository {
  insert(client: ServiceClient, secretDigest: Buffer, roleIds: readonly string[]): Promise<void>;
  findById(id: string): Promise<ServiceClient | null>;
  findByIdForUpdate(id: string): Promise<ServiceClient | null>;
  /** The client and the digest of its secret, by public client id. */
  findCredentials(clientId: string): Promise<{ client: ServiceClient; secretDigest: Buffer } | null>;
  revoke(id: string, at: Date, reason: string | null): Promise<void>;
  recordUse(id: string, at: Date): Promise<void>;
  /** Ordered by (name, id). */
  list(filter: { readonly includeRevoked: boolean }, limit: number, after: PagePosition | null): Promise<ServiceClient[]>;
}

export interface RefreshTokenRepository {
  insert(token: RefreshTokenRecord, digest: Buffer): Promise<void>;
  findByDigest(digest: Buffer): Promise<RefreshTokenRecord | null>;
  /** Compare-and-set: marks an unused, unrevoked token used; false when someone else got there first. */
  markUsed(id: string, replacedBy: string, at: Date): Promise<boolean>;
  /**
   * Revokes every live token of the family and COMMITS AT ONCE, outside any
   * transaction the caller may be in: theft detection must stick even though
   * the request that detected it fails.
   */
  revokeFamilyNow(familyId: string, at: Date): Promise<void>;
  /** Revokes every live token of the user, in the current transaction; returns how many. */
  revokeAllOfUser(userId: string, at: Date): Promise<number>;
  /** Deletes tokens that expired before `before`; returns how many. */
  purgeExpired(before: Date): Promise<number>;
}

/** A transaction boundary: everything `work` does commits together or not at all. */
export interface UnitOfWork {
  run<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Identity's transactional outbox. append() must run inside `UnitOfWork.run`,
 * after the user's row is locked (or inserted): the event then commits with
 * the change it announces, or not at all, and one user's events are
 * published in commit order.
 */
export interface Outbox {
  append(event: IdentityEvent): Promise<void>;
}

/**
 * Password hashing with a memory-hard function whose parameters travel with
 * each hash. Implementations compare in constant time.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * True when `password` matches `hash`. With a null hash (unknown user, or no
   * password set) it spends the same time on a dummy hash and returns false,
   * so response time does not tell whether an account exists.
   */
  verify(password: string, hash: string | null): Promise<boolean>;
  /** True when the hash was made with weaker parameters than the current ones. */
  needsRehash(hash: string): boolean;
}

/** Random secrets and their digests (refresh tokens, client ids and secrets). */
export interface Secrets {
  /** An opaque refresh token: 32 random bytes, base64url. */
  newRefreshToken(): string;
  /** A public client id: "svc_" + 32 hex digits. */
  newClientId(): string;
  /** A client secret with 256 bits of entropy. */
  newClientSecret(): string;
  /** SHA-256 of a high-entropy secret: what is stored instead of it. */
  digest(secret: string): Buffer;
  /** Constant-time comparison of a presented secret with a stored digest. */
  matches(secret: string, digest: Buffer): boolean;
}

/** Claims of an access token besides iss, aud, iat, exp and jti (the signer adds those). */
export interface AccessClaims {
  readonly sub: string;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
  readonly staff_id?: string;
  readonly customer_id?: string;
  readonly client_id?: string;
}

export interface AccessTokenSigner {
  /** Signs with the current key of the ring. */
  sign(claims: AccessClaims, ttlSec: number, now: Date): { token: string; expiresAt: Date; tokenId: string };
}

export interface RateDecision {
  readonly allowed: boolean;
  /** Seconds until the window resets; 0 when allowed. */
  readonly retryAfterSec: number;
}

/**
 * Fixed-window counters. `subject` may be personal data (an email): the
 * adapter stores only a digest of it. Windows always expire.
 */
export interface RateLimiter {
  /** Counts one hit and tells whether the count is within `limit`. */
  consume(scope: string, subject: string, limit: number, windowSec: number): Promise<RateDecision>;
  /** Tells whether the count is below `limit`, without counting. */
  peek(scope: string, subject: string, limit: number, windowSec: number): Promise<RateDecision>;
  reset(scope: string, subject: string): Promise<void>;
}

/** A token of a trusted external issuer that passed verification, with the issuer's policy. */
export interface VerifiedExternalToken {
  readonly policy: ExternalIssuerPolicy;
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Verifies tokens of trusted external (OIDC) issuers for delegated login.
 * Picks the issuer whose configured `issuer` equals the token's `iss` and
 * verifies against that issuer's configured keys only: an unknown issuer
 * fails without any network call, and no key or URL named by the token is
 * ever used. Fails with UNAUTHENTICATED, reason INVALID_CREDENTIALS.
 */
export interface ExternalTokenVerifier {
  verify(token: string): Promise<VerifiedExternalToken>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  newId(): string;
}

/** Where use cases report degraded operation (e.g. rate limits failing open). */
export interface Alerts {
  warn(message: string, err: unknown): void;
}
