import { randomUUID } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { TokenVerifier } from "../../platform/src/auth.js";
import { repoRoot } from "../../platform/src/db.js";
import { exitOnStartupFailure, stopOnSignals } from "../../platform/src/lifecycle.js";
import { createLogger, type Logger } from "../../platform/src/logger.js";
import { createEventWorkers, type EventWorkers } from "../../platform/src/events/workers.js";
import { startService, type RunningService } from "../../platform/src/service-runtime.js";
import { startTelemetry } from "../../platform/src/telemetry.js";
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
import { createExternalTokenVerifier } from "./adapters/oidc/external-token-verifier.js";
import { identityServiceBinding } from "./adapters/grpc/identity-handlers.js";
import { awaitFirstConnection, createRedisClient, createRedisRateLimiter } from "./adapters/redis/rate-limiter.js";
import { loadIdentityConfig, type IdentityConfig } from "./config.js";

export { identityConfigSchema, loadIdentityConfig, type IdentityConfig } from "./config.js";

export const JWKS_PATH = "/.well-known/jwks.json";
const JWKS_CACHE_SECONDS = 300;

/** A path from configuration: absolute as given, otherwise relative to the repository root. */
export const configPath = (p: string): string => (isAbsolute(p) ? p : resolve(repoRoot, p));

export interface IdentityOverrides {
  readonly log?: Logger;
  readonly verifier?: TokenVerifier;
  readonly clock?: Clock;
  /** Replaces the Redis rate limiter (tests). */
  readonly rateLimiter?: RateLimiter;
}

export interface RunningIdentity extends RunningService {
  readonly keyRing: KeyRing;
  readonly useCases: IdentityUseCases;
  /** The outbox relay (none when Kafka is disabled); identity consumes no events. */
  readonly events: EventWorkers;
}

/**
 * The composition root: loads the signing key ring, connects Redis, wires
 * adapters to use cases, starts serving (gRPC, and the JWKS on the ops port)
 * and seeds the role catalog. Tests call it with port 0.
 */
export async function build(config: IdentityConfig, overrides: IdentityOverrides = {}): Promise<RunningIdentity> {
  const log = overrides.log ?? createLogger({ service: config.service.name, level: config.log.level });
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
  const redis = overrides.rateLimiter ? undefined : createRedisClient(config.redis, log);
  if (redis) await awaitFirstConnection(redis, config.redis.connectTimeoutMs);
  const limiter = overrides.rateLimiter ?? createRedisRateLimiter(redis!, config.redis.keyPrefix);

  let useCases: IdentityUseCases | undefined;
  let stopPurge: (() => void) | undefined;
  let catalogSeeded = false;
  const seedCatalog = async (): Promise<string | undefined> => {
    if (catalogSeeded) return undefined;
    try {
      await useCases!.users.seedRoleCatalog();
      catalogSeeded = true;
      log.info("role catalog seeded");
      return undefined;
    } catch (err) {
      // Typically migrations not applied yet: /readyz retries.
      log.warn({ err: { message: (err as Error).message } }, "role catalog not seeded yet");
      return "not seeded yet";
    }
  };

  let events: EventWorkers = { relay: undefined, consumer: undefined, all: [] };
  let service: RunningService;
  try {
    service = await startService({
      config,
      log,
      ...(overrides.verifier ? { verifier: overrides.verifier } : {}),
      bindings: ({ db }) => {
        const tokens = createRefreshTokenRepository(db);
        stopPurge = scheduleRefreshTokenPurge(tokens);
        useCases = createIdentityUseCases(
          {
            users: createUserRepository(db),
            roles: createRoleRepository(db),
            staff: createStaffProfileRepository(db),
            clients: createServiceClientRepository(db),
            tokens,
            uow: createUnitOfWork(db),
            outbox: createEventOutbox(db),
            clock: overrides.clock ?? { now: () => new Date() },
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
        return [identityServiceBinding(useCases)];
      },
      // No event handlers: the relay alone, since identity consumes no events.
      workers: (deps) => {
        events = createEventWorkers(config.kafka, deps);
        return events.all;
      },
      opsRoutes: () => [{
        path: JWKS_PATH,
        handle: () => Promise.resolve({ status: 200, body: JSON.stringify(keyRing.jwks), cacheSeconds: JWKS_CACHE_SECONDS }),
      }],
      readinessChecks: [{ name: "role_catalog", check: seedCatalog }],
      onStop: async () => {
        stopPurge?.();
        if (redis?.status === "ready") await redis.quit().catch(() => undefined);
        redis?.disconnect(); // also cancels a pending reconnect

      },
    });
  } catch (err) {
    stopPurge?.();
    redis?.disconnect();
    throw err;
  }
  await seedCatalog();
  return { ...service, keyRing, useCases: useCases!, events };
}

async function main(): Promise<void> {
  const config = loadIdentityConfig();
  // Telemetry first, so everything after it runs with tracing in place.
  const telemetry = startTelemetry({
    serviceName: "identity",
    exporter: config.telemetry.exporter,
    otlpEndpoint: config.telemetry.otlpEndpoint,
  });
  const service = await build(config);
  stopOnSignals({ stop: async () => { await service.stop(); await telemetry.shutdown(); } }, service.log, config.shutdown.graceMs);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main().catch(exitOnStartupFailure);
