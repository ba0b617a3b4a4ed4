import { actorOf } from "../../../platform/src/actor.js";
import type { Caller } from "../../../platform/src/auth.js";
import type { RateLimitSettings } from "./rate-limits.js";
import type {
  AccessTokenSigner,
  Alerts,
  Clock,
  ExternalTokenVerifier,
  IdGenerator,
  Outbox,
  PasswordHasher,
  RateLimiter,
  RefreshTokenRepository,
  RoleRepository,
  Secrets,
  ServiceClientRepository,
  StaffProfileRepository,
  UnitOfWork,
  UserRepository,
} from "./ports.js";

export interface IdentityDependencies {
  readonly users: UserRepository;
  readonly roles: RoleRepository;
  readonly staff: StaffProfileRepository;
  readonly clients: ServiceClientRepository;
  readonly tokens: RefreshTokenRepository;
  readonly uow: UnitOfWork;
  readonly outbox: Outbox;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly hasher: PasswordHasher;
  readonly secrets: Secrets;
  readonly signer: AccessTokenSigner;
  readonly limiter: RateLimiter;
  readonly alerts: Alerts;
  /** Trusted external issuers (delegated login); none configured refuses every external token. */
  readonly external: ExternalTokenVerifier;
}

export interface IdentitySettings {
  readonly accessTokenTtlSec: number;
  readonly refreshTokenTtlSec: number;
  readonly rateLimits: RateLimitSettings;
}

/** Who performs a use case, for audit columns: the token subject when it is a UUID (users and service clients). */
/** The caller's user id for audit columns, by the kit's actor convention. */
export const actorIdOf = (caller: Caller): string | null => actorOf(caller).userId;

/**
 * The caller's own user id for "own" RPCs. A subject that is not a UUID
 * (a token of another issuer, a dev token) names no user here: the
 * placeholder never matches a row and never reaches a uuid column as text.
 */
export const selfId = (caller: Caller): string => actorIdOf(caller) ?? NO_USER;
const NO_USER = "00000000-0000-0000-0000-000000000000";

export type { Page } from "../../../platform/src/paging.js";

export interface PageInput {
  readonly pageSize: number;
  readonly pageToken: string;
}
