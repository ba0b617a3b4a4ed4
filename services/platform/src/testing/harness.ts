// Test support: real PostgreSQL databases per test file and test signing keys.
// Used only by tests; production code never imports it.
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import jwt from "jsonwebtoken";
import knexFactory from "knex";
import pg from "pg";
import type { AuthConfig, DatabaseConfig } from "../config.js";
import { KIT_MIGRATIONS_DIR, migrate, provisionDatabase, repoRoot, type ConnectionSettings } from "../db.js";
import { schedulerSchemaFingerprint } from "../scheduler.js";

export const superuser: ConnectionSettings = {
  host: process.env["FLEET_PG_HOST"] ?? "127.0.0.1",
  port: Number(process.env["FLEET_PG_PORT"] ?? 55432),
  database: "postgres",
  user: process.env["FLEET_PG_SUPERUSER"] ?? "postgres",
  password: process.env["FLEET_PG_SUPERUSER_PASSWORD"] ?? "postgres",
};

const sharedSuperuser = superuser;

export interface TestDatabase {
  readonly config: DatabaseConfig;
  /** Superuser connection to the test database, for assertions on raw rows. */
  readonly admin: pg.Client;
  drop(): Promise<void>;
}

const TEST_PASSWORD = "test-only-password";

/**
 * A migrated database that test databases are copied from: provisioned and
 * migrated once per service, migration files and scheduler schema (the
 * scheduler's DDL alone takes about a second), so that each test database is
 * a cheap file copy. Named by a hash of what it holds, so a changed migration
 * gets a new template; it refuses connections, which would block the copies.
 */
async function migratedTemplate(service: string, migrationsDir: string, owner: Role, app: Role, superuser: ConnectionSettings): Promise<string> {
  const dir = resolve(repoRoot, migrationsDir);
  const hash = createHash("sha256").update(schedulerSchemaFingerprint());
  // The kit's migration set and the service's, and its privileges.yaml: what migrate() applies.
  for (const setDir of [resolve(repoRoot, KIT_MIGRATIONS_DIR), dir]) {
    for (const file of readdirSync(setDir).filter((f) => f.endsWith(".sql") || f === "privileges.yaml").sort()) {
      hash.update(file).update(readFileSync(join(setDir, file)));
    }
  }
  const template = `${service}_test_template_${hash.digest("hex").slice(0, 16)}`;
  const root = new pg.Client(superuser);
  await root.connect();
  try {
    await root.query("SELECT pg_advisory_lock(hashtext('fleetmesh.test-template'))");
    const ready = await root.query("SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate", [template]);
    if (ready.rowCount) return template;
    await root.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`); // a half-made one
    await provisionDatabase({ superuser, database: template, owner, app });
    const knex = knexFactory({ client: "pg", connection: { ...superuser, database: template, user: owner.role, password: owner.password } });
    try {
      await migrate(knex, migrationsDir);
    } finally {
      await knex.destroy();
    }
    await root.query(`ALTER DATABASE "${template}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    return template;
  } finally {
    await root.end();
  }
}

interface Role { readonly role: string; readonly password: string }

/**
 * A fresh database for one test file, provisioned and migrated exactly like
 * production (owner role runs migrations, the app role only has DML): a copy
 * of the service's migrated template, with the database-level grants that
 * provisioning gives (they belong to the database, not to its contents).
 */
export async function createTestDatabase(
  service: string,
  migrationsDir: string,
  superuser: ConnectionSettings = sharedSuperuser,
): Promise<TestDatabase> {
  // Another test process provisioning the same test roles at the same moment
  // can fail ALTER ROLE with "tuple concurrently updated": try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await createTestDatabaseOnce(service, migrationsDir, superuser);
    } catch (err) {
      const concurrent = (err as { code?: unknown }).code === "XX000" && /concurrently/.test((err as Error).message);
      if (!concurrent || attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
  }
}

async function createTestDatabaseOnce(service: string, migrationsDir: string, superuser: ConnectionSettings): Promise<TestDatabase> {
  const database = `${service}_test_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  const owner = { role: `${service}_test_owner`, password: TEST_PASSWORD };
  const app = { role: `${service}_test_app`, password: TEST_PASSWORD };
  const template = await migratedTemplate(service, migrationsDir, owner, app, superuser);
  const root = new pg.Client(superuser);
  await root.connect();
  try {
    await root.query(`CREATE DATABASE "${database}" TEMPLATE "${template}" OWNER "${owner.role}"`);
    await root.query(`REVOKE ALL ON DATABASE "${database}" FROM PUBLIC`);
    await root.query(`GRANT CONNECT, TEMPORARY ON DATABASE "${database}" TO "${app.role}"`);
  } finally {
    await root.end();
  }
  const admin = new pg.Client({ ...superuser, database });
  await admin.connect();
  return {
    config: {
      host: superuser.host,
      port: superuser.port,
      database,
      user: app.role,
      password: app.password,
      poolMin: 0,
      poolMax: 10,
      statementTimeoutMs: 5_000,
      migrationsDir,
    },
    admin,
    async drop() {
      await admin.end();
      const client = new pg.Client(superuser);
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface TestKeys {
  readonly auth: AuthConfig & { readonly jwksFile: string };
  readonly privateKey: KeyObject;
  readonly kid: string;
  /** Signs an access token; claims override the defaults. */
  token(claims?: Record<string, unknown>, options?: jwt.SignOptions): string;
}

const tempDirs = new Set<string>();

/**
 * A fresh directory under the OS's temporary directory, removed when this
 * test process exits: test keys, key sets and config files must not pile up
 * in /tmp run after run.
 */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.size === 0) {
    process.once("exit", () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  tempDirs.add(dir);
  return dir;
}

export const TEST_ISSUER = "https://identity.test";
export const TEST_AUDIENCE = "fleetmesh-test";

// A 2048-bit RSA key pair costs 50-300 ms of CPU to generate, and a test
// process starts many meshes: they share one pair, each under its own kid
// and JWKS file. A kid names the key, so a token of one mesh is still
// refused by another (unknown kid); a test that needs key material unlike
// any other, e.g. a rotation, asks for a fresh pair.
let sharedKeyPair: { readonly privateKey: KeyObject; readonly publicKey: KeyObject } | undefined;
const rsaKeyPair = () => generateKeyPairSync("rsa", { modulusLength: 2048 });

export function createTestKeys(options: { readonly freshKeyPair?: boolean } = {}): TestKeys {
  const { privateKey, publicKey } = options.freshKeyPair ? rsaKeyPair() : (sharedKeyPair ??= rsaKeyPair());
  const kid = randomUUID();
  const dir = testTempDir("fleetmesh-keys-");
  const jwksFile = join(dir, "jwks.json");
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] }));
  const auth: AuthConfig & { jwksFile: string } = {
    enabled: true,
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
    jwksFile,
    algorithms: ["RS256"],
    clockToleranceSec: 5,
    jwksCacheSec: 300,
    jwksMinRefreshSec: 30,
  };
  return {
    auth,
    privateKey,
    kid,
    token: (claims = {}, options = {}) =>
      jwt.sign({ sub: "00000000-0000-4000-8000-0000000000aa", roles: ["admin"], permissions: [], ...claims }, privateKey, {
        algorithm: "RS256",
        keyid: kid,
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        expiresIn: 300,
        jwtid: randomUUID(),
        ...options,
      }),
  };
}

/**
 * The real grpcurl binary (scripts/infra/tools.sh installs it in
 * .local/bin). While scripts/test.sh is still building it, the other test
 * files run: FLEET_GRPCURL_PENDING names the file that build creates when it
 * ends, built or failed, and this waits for it. A first build competes with
 * the whole suite for the cores and took more than 3 minutes in one CI run,
 * so the wait is bounded by the build, with 10 minutes as a backstop; `t`,
 * the calling test or hook, gets a timeout that long meanwhile, which also
 * holds off ava's run-wide inactivity timeout.
 */
export async function grpcurlBinary(t?: { timeout(ms: number, message?: string): void }, timeoutMs = 600_000): Promise<string> {
  const path = process.env["FLEET_GRPCURL"] ?? resolve(process.env["FLEET_LOCAL_DIR"] ?? resolve(repoRoot, ".local"), "bin/grpcurl");
  const pending = process.env["FLEET_GRPCURL_PENDING"];
  if (pending && !existsSync(pending)) {
    t?.timeout(timeoutMs + 30_000, "waiting for grpcurl's build (scripts/infra/tools.sh)");
    for (const deadline = Date.now() + timeoutMs; !existsSync(pending) && Date.now() < deadline;) await sleep(200);
    t?.timeout(120_000);
  }
  if (!existsSync(path)) throw new Error(`grpcurl not found at ${path}; run scripts/infra/tools.sh`);
  return path;
}
