import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import jwt from "jsonwebtoken";
import { IdentityService } from "../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { createServiceClient, type ServiceClient } from "../../platform/src/grpc/client.js";
import { createLogger } from "../../platform/src/logger.js";
import { testTempDir, createTestDatabase, TEST_AUDIENCE, TEST_ISSUER, type TestDatabase } from "../../platform/src/testing/harness.js";
import type { RateLimiter } from "../src/app/ports.js";
import { keyRingFromPem } from "../src/adapters/crypto/key-ring.js";
import { build, identityConfigSchema, type IdentityConfig, type RunningIdentity } from "../src/main.js";
import { testRedisUrl } from "../../platform/src/testing/infra.js";
import { testServiceConfigInput } from "../../platform/src/testing/service-config.js";

export const ADMIN_EMAIL = "admin@example.test";
/** Meets the policy; used for every test user unless a test says otherwise. */
export const PASSWORD = "correct-horse-battery-7";

export interface IdentityHarness {
  readonly db: TestDatabase;
  readonly service: RunningIdentity;
  readonly client: ServiceClient<typeof IdentityService>;
  readonly config: IdentityConfig;
  /** Every log line the service wrote (pino JSON), for redaction checks. */
  readonly logs: string[];
  /** The current signing key and its kid (what the service signs with). */
  readonly signingKey: { readonly kid: string; readonly privateKey: KeyObject };
  /** Call options with a token signed by the service's key carrying exactly these claims. */
  as(permissions: readonly string[], claims?: Record<string, unknown>): { headers: Record<string, string> };
  /** Call options carrying `accessToken`. */
  bearer(accessToken: string, headers?: Record<string, string>): { headers: Record<string, string> };
  /** A real administrator (bootstrap) and its login. */
  admin(): Promise<{ userId: string; accessToken: string; opts: { headers: Record<string, string> } }>;
  /** Creates a user with roles (as the administrator) and logs in. */
  user(roles: readonly string[], options?: { email?: string; password?: string }): Promise<TestUser>;
  stop(): Promise<void>;
}

export interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly opts: { headers: Record<string, string> };
}

export type ConfigOverrides = {
  rateLimits?: Partial<IdentityConfig["rateLimits"]>;
  redisUrl?: string;
  accessTokenTtlSec?: number;
  refreshTokenTtlSec?: number;
  scryptCost?: number;
  /** Trusted external issuers (delegated login), as in the YAML configuration. */
  externalIssuers?: readonly unknown[];
  /**
   * The `kafka` configuration section (see kafkaConfigSchema); without it
   * identity runs with Kafka disabled, as every test that does not need
   * events: its events then wait in the outbox.
   */
  kafka?: Record<string, unknown>;
};

function rsaPem(): string {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return privateKey.export({ format: "pem", type: "pkcs8" }) as string;
}

/** A port nothing listens on (for "Redis is down"). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let counter = 0;
export const uniqueEmail = (tag = "user"): string => `${tag}-${process.pid}-${Date.now() % 1_000_000}-${++counter}@example.test`;

const testDatabase = (): Promise<TestDatabase> => createTestDatabase("identity", "migrations/identity");

/** A migrated test database several harnesses can share (drop it yourself). */
export const sharedTestDatabase = (): Promise<TestDatabase> => testDatabase();

export async function startIdentity(
  overrides: ConfigOverrides & { rateLimiter?: RateLimiter; db?: TestDatabase } = {},
): Promise<IdentityHarness> {
  const db = overrides.db ?? (await testDatabase());
  // A ring of two keys: the current one signs, the previous one is still published.
  const dir = testTempDir("fleetmesh-identity-");
  const pem = `${rsaPem()}${rsaPem()}`;
  const signingKeysFile = join(dir, "signing-keys.pem");
  writeFileSync(signingKeysFile, pem, { mode: 0o600 });
  const ring = keyRingFromPem(pem);
  const jwksFile = join(dir, "jwks.json");
  writeFileSync(jwksFile, JSON.stringify(ring.jwks));
  const config = identityConfigSchema.parse(testServiceConfigInput({
    name: "identity",
    db,
    auth: { enabled: true, issuer: TEST_ISSUER, audience: TEST_AUDIENCE, jwksFile, algorithms: ["RS256"], clockToleranceSec: 5, jwksCacheSec: 300, jwksMinRefreshSec: 30 },
    extra: {
    tokens: {
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      signingKeysFile,
      accessTokenTtlSec: overrides.accessTokenTtlSec ?? 900,
      refreshTokenTtlSec: overrides.refreshTokenTtlSec ?? 3600,
    },
    // Cheap parameters: tests hash hundreds of passwords.
    passwords: { scrypt: { cost: overrides.scryptCost ?? 1024, blockSize: 8, parallelization: 1 } },
    redis: { url: overrides.redisUrl ?? testRedisUrl(), keyPrefix: `fm:test:${randomUUID()}:` },
    rateLimits: {
      failOpen: false,
      loginFailures: { limit: 5, windowSec: 900 },
      clientCredentials: { limit: 1000, windowSec: 60 },
      refresh: { limit: 1000, windowSec: 60 },
      ...overrides.rateLimits,
    },
    ...(overrides.externalIssuers ? { externalIssuers: overrides.externalIssuers } : {}),
    ...(overrides.kafka ? { kafka: overrides.kafka } : {}),
    log: { level: "info" },
    },
  }));
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ service: "identity", level: "info", destination });
  const service = await build(config, { log, ...(overrides.rateLimiter ? { rateLimiter: overrides.rateLimiter } : {}) });
  const client = createServiceClient(IdentityService, { address: `127.0.0.1:${service.grpcPort}`, deadlineMs: 10_000 });
  const signingKey = ring.current;

  const bearer = (accessToken: string, headers: Record<string, string> = {}) => ({
    headers: { authorization: `Bearer ${accessToken}`, ...headers },
  });

  let adminSession: ReturnType<IdentityHarness["admin"]> | undefined;
  const harness: IdentityHarness = {
    db,
    service,
    client,
    config,
    logs,
    signingKey,
    bearer,
    as: (permissions, claims = {}) =>
      bearer(jwt.sign({ sub: randomUUID(), roles: [], permissions, ...claims }, signingKey.privateKey, {
        algorithm: "RS256",
        keyid: signingKey.kid,
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        expiresIn: 300,
        jwtid: randomUUID(),
      })),
    admin() {
      adminSession ??= (async () => {
        const { user } = await service.useCases.users.bootstrapAdmin({ email: ADMIN_EMAIL, displayName: "Ada Admin", password: PASSWORD });
        const res = await client.login({ email: ADMIN_EMAIL, password: PASSWORD });
        return { userId: user.id, accessToken: res.tokens!.accessToken, opts: bearer(res.tokens!.accessToken) };
      })();
      return adminSession;
    },
    async user(roles, options = {}) {
      const admin = await harness.admin();
      const email = options.email ?? uniqueEmail(roles[0] ?? "user");
      const password = options.password ?? PASSWORD;
      const { user } = await client.createUser(
        { attributes: { email, displayName: `Test ${roles.join(" ") || "user"}` }, initialPassword: password, roles: [...roles] },
        admin.opts,
      );
      const res = await client.login({ email, password });
      return {
        id: user!.id,
        email,
        password,
        accessToken: res.tokens!.accessToken,
        refreshToken: res.tokens!.refreshToken,
        opts: bearer(res.tokens!.accessToken),
      };
    },
    async stop() {
      client.close();
      await service.stop();
      if (!overrides.db) await db.drop();
    },
  };
  return harness;
}

export { errorMetadata, rejectsWith, violatedFields } from "../../platform/src/testing/assertions.js";

/** Decodes a JWT's payload without verifying it (assertions on claims). */
export const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;

export const headerOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8")) as Record<string, unknown>;
