import { randomUUID } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { repoRoot } from "../../platform/src/db.js";
import type { ServiceComposition, ServiceDependencies } from "../../platform/src/service-runtime.js";
import { createIdentityUseCases, type IdentityUseCases } from "./app/identity-use-cases.js";
import type { Clock, RateLimiter } from "./app/ports.js";
import { createJwtSigner, loadKeyRing, type KeyRing } from "./adapters/crypto/key-ring.js";
import { createScryptPasswordHasher } from "./adapters/crypto/scrypt-password-hasher.js";
import { createSecrets } from "./adapters/crypto/secrets.js";
import { createEventOutbox } from "./adapters/db/event-outbox.js";
import { createRefreshTokenRepository, scheduleRefreshTokenPurge } from "./adapters/db/refresh-token-repository.js";
import { createRoleRepository } from "./adapters/db/role-repository.js";
import { createServiceClientRepository } from "./adapters/db/service-client-repository.js";
import { createStaffProfileRepository } from "./adapters/db/staff-profile-repository.js";
import { createUnitOfWork, createUserRepository } from "./adapters/db/user-repository.js";
import { identityServiceBinding } from "./adapters/grpc/identity-handlers.js";
import { createExternalTokenVerifier } from "./adapters/oidc/external-token-verifier.js";
import { awaitFirstConnection, createRedisClient, createRedisRateLimiter } from "./adapters/redis/rate-limiter.js";
import type { IdentityConfig } from "./config.js";

export const JWKS_PATH = "/.well-known/jwks.json";
const JWKS_CACHE_SECONDS = 300;

/** A path from configuration: absolute as given, otherwise relative to the repository root. */
export const configPath = (p: string): string => (isAbsolute(p) ? p : resolve(repoRoot, p));

/** Test seams of identity's composition. */
export interface IdentityComposeOptions {
  readonly clock?: Clock | undefined;
  /** Replaces the Redis rate limiter (tests). */
  readonly rateLimiter?: RateLimiter | undefined;
}

export interface IdentityExposed {
  readonly keyRing: KeyRing;
  readonly useCases: IdentityUseCases;
}

/**
 * Identity's adapters wired to its use cases: the signing key ring, trusted
 * external issuers and Redis (checked here, so a bad key file or an
 * unreachable Redis stops the start), the JWKS on the ops port, and the role
 * catalog seeded by a readiness check (retried until migrations are applied).
 */
export async function composeIdentity(
  config: IdentityConfig,
  options: IdentityComposeOptions,
  { db, log }: ServiceDependencies,
): Promise<ServiceComposition<IdentityExposed>> {
  const keyRing = loadKeyRing(configPath(config.tokens.signingKeysFile));
  log.info({ kid: keyRing.current.kid, keys: keyRing.jwks.keys.length }, "signing key ring loaded");
  if (config.tokens.issuer !== config.auth.issuer || config.tokens.audience !== config.auth.audience) {
    log.warn({ tokens: { issuer: config.tokens.issuer, audience: config.tokens.audience }, auth: { issuer: config.auth.issuer, audience: config.auth.audience } },
      "tokens.issuer/audience differ from auth.issuer/audience: the tokens this service issues will not verify here");
  }
  // Before Redis: a missing JWKS file stops the start here, with nothing to clean up.
  const external = createExternalTokenVerifier(config.externalIssuers.map((i) => ({
    ...i,
    jwksFile: i.jwksFile === undefined ? undefined : configPath(i.jwksFile),
  })));
  if (config.externalIssuers.length > 0) {
    log.info({ externalIssuers: config.externalIssuers.map((i) => ({ name: i.name, issuer: i.issuer, autoProvision: i.autoProvision })) },
      "trusted external issuers configured");
  }
  const redis = options.rateLimiter ? undefined : createRedisClient(config.redis, log);
  try {
    if (redis) await awaitFirstConnection(redis, config.redis.connectTimeoutMs);
  } catch (err) {
    redis?.disconnect();
    throw err;
  }
  const limiter = options.rateLimiter ?? createRedisRateLimiter(redis!, config.redis.keyPrefix);
  const tokens = createRefreshTokenRepository(db);
  const useCases = createIdentityUseCases(
    {
      users: createUserRepository(db),
      roles: createRoleRepository(db),
      staff: createStaffProfileRepository(db),
      clients: createServiceClientRepository(db),
      tokens,
      uow: createUnitOfWork(db),
      outbox: createEventOutbox(db),
      clock: options.clock ?? { now: () => new Date() },
      ids: { newId: randomUUID },
      hasher: createScryptPasswordHasher(config.passwords.scrypt),
      secrets: createSecrets(),
      signer: createJwtSigner(keyRing, config.tokens),
      limiter,
      alerts: { warn: (message, err) => log.warn({ err: { message: (err as Error)?.message } }, message) },
      external,
    },
    {
      accessTokenTtlSec: config.tokens.accessTokenTtlSec,
      refreshTokenTtlSec: config.tokens.refreshTokenTtlSec,
      rateLimits: config.rateLimits,
    },
  );
  const stopPurge = scheduleRefreshTokenPurge(tokens);

  let catalogSeeded = false;
  const seedCatalog = async (): Promise<string | undefined> => {
    if (catalogSeeded) return undefined;
    try {
      await useCases.users.seedRoleCatalog();
      catalogSeeded = true;
      log.info("role catalog seeded");
      return undefined;
    } catch (err) {
      // Typically migrations not applied yet: /readyz retries.
      log.warn({ err: { message: (err as Error).message } }, "role catalog not seeded yet");
      return "not seeded yet";
    }
  };

  return {
    bindings: [identityServiceBinding(useCases)],
    // No event handlers: identity consumes no events, the kit runs its relay alone.
    opsRoutes: [{
      path: JWKS_PATH,
      handle: () => Promise.resolve({ status: 200, body: JSON.stringify(keyRing.jwks), cacheSeconds: JWKS_CACHE_SECONDS }),
    }],
    readinessChecks: [{ name: "role_catalog", check: seedCatalog }],
    expose: { keyRing, useCases },
    async onStop() {
      stopPurge();
      if (redis?.status === "ready") await redis.quit().catch(() => undefined);
      redis?.disconnect(); // also cancels a pending reconnect
    },
  };
}
