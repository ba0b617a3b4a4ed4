import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import knexFactory, { type Knex } from "knex";
import pg from "pg";
import { parse as parseYaml } from "yaml";
import type { DatabaseConfig } from "./config.js";
import { installSchedulerSchema, SCHEDULER_SCHEMA } from "./scheduler.js";

export type { Knex };

// int8 columns (money, row versions, counts) become bigint, never a lossy number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => BigInt(v));
// date columns (accounting dates) stay "YYYY-MM-DD": a JS Date would put them at local midnight.
pg.types.setTypeParser(pg.types.builtins.DATE, (v: string) => v);

/** Repository root: migrations and config paths are relative to it. */
export const repoRoot = resolve(import.meta.dirname, "../../..").replace(/\/dist$/, "");

export interface Database {
  readonly knex: Knex;
  /**
   * The current transaction if one is open in this async context (a use case
   * or the idempotency layer opened it), otherwise the pool.
   */
  executor(): Knex | Knex.Transaction;
  /**
   * Runs `work` in a transaction. Nested calls join the outer transaction
   * through a savepoint, so use cases compose with the idempotency layer.
   */
  transaction<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /**
   * One statement straight to node-postgres, `?` placeholders as in
   * knex.raw, on the open transaction's connection if there is one (like
   * executor()), otherwise on a pooled one. For the statements of hot paths:
   * knex's query pipeline costs about 60 µs of CPU per statement on top of
   * the driver's (docs/rentals.md "Benchmark").
   *
   * Each statement text is prepared once per connection (a named statement):
   * PostgreSQL then plans it once, not on every call, which is most of a
   * short statement's cost on the server. So `sql` must not vary with the
   * values (they go in `bindings`); a few variants (a number of rows) are fine.
   */
  query<R extends object = Record<string, unknown>>(sql: string, bindings?: readonly unknown[]): Promise<QueryRows<R>>;
  poolStats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export interface QueryRows<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

/** The connection a knex client hands out: node-postgres's Client. */
type Connection = pg.ClientBase;

/** A statement as node-postgres prepares it: PostgreSQL's text and the name it is prepared under. */
export interface PreparedStatement {
  readonly text: string;
  /** Unset past the first 1,000 distinct statements: those are sent unnamed (planned every time). */
  readonly name: string | undefined;
}

const preparedCache = new Map<string, PreparedStatement>();

/**
 * knex.raw's `?` placeholders as PostgreSQL's `$1`, `$2`, ... (a `?` inside a
 * string literal or a `??` identifier binding is not supported: hot-path
 * statements use neither) and a name derived from the text, memoized per
 * statement text. At most 1,000 texts are named, so a caller that wrongly
 * varies its text cannot grow every connection's prepared statements forever.
 */
export function preparedStatement(sql: string): PreparedStatement {
  let statement = preparedCache.get(sql);
  if (statement === undefined) {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    const named = preparedCache.size < 1_000;
    statement = { text, name: named ? `fm_${createHash("sha256").update(text).digest("hex").slice(0, 32)}` : undefined };
    if (named) preparedCache.set(sql, statement);
  }
  return statement;
}

/**
 * PostgreSQL's refusal to run a prepared statement whose result columns a
 * migration changed (ALTER COLUMN ... TYPE, or a `*` over a table that gained
 * a column). The statement stays prepared on that connection and fails the
 * same way on every later call, so the kit replaces the connection.
 */
export const isStalePreparedStatement = (err: unknown): boolean => {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return code === "0A000" && typeof message === "string" && message.includes("cached plan must not change result type");
};

/** knex's pool destroys a connection it finds marked so instead of handing it out again. */
const retireConnection = (connection: Connection, why: string): void => {
  (connection as Connection & { __knex__disposed?: string }).__knex__disposed = why;
};

/** Set while any Database's transaction runs in this async context: peer calls refuse to start inside one. */
const transactionScope = new AsyncLocalStorage<string>();

/** The application name of the database whose transaction is open here, if any. */
export const openTransactionHere = (): string | undefined => transactionScope.getStore();

export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}

/** Where knex's own messages go (e.g. a refused connection while the database is down). */
export interface DatabaseLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export function createDatabase(config: DatabaseConfig, applicationName: string, log?: DatabaseLog): Database {
  const knex = knexFactory({
    // Without a logger knex writes to the console; the service's log gets them instead.
    ...(log ? {
      log: {
        warn: (message: unknown) => log.warn({ detail: String(message) }, "database driver warning"),
        error: (message: unknown) => log.error({ detail: String(message) }, "database driver error"),
        deprecate: (message: unknown) => log.warn({ detail: String(message) }, "database driver deprecation"),
        debug: (message: unknown) => log.debug({ detail: String(message) }, "database driver debug"),
      },
    } : {}),
    client: "pg",
    connection: {
      host: config.host,
      port: config.port,
      database: config.database,
      user: config.user,
      password: config.password,
      application_name: applicationName,
      statement_timeout: config.statementTimeoutMs,
    },
    pool: { min: config.poolMin, max: config.poolMax },
    acquireConnectionTimeout: 5_000,
  });
  const current = new AsyncLocalStorage<Knex.Transaction>();
  return {
    knex,
    executor: () => current.getStore() ?? knex,
    transaction: (work) => {
      const outer = current.getStore();
      const run = (trx: Knex.Transaction) => current.run(trx, () => transactionScope.run(applicationName, () => work(trx)));
      return outer ? outer.transaction(run) : knex.transaction(run);
    },
    async query<R extends object>(sql: string, bindings: readonly unknown[] = []): Promise<QueryRows<R>> {
      const send = async (connection: Connection): Promise<QueryRows<R>> => {
        const { text, name } = preparedStatement(sql);
        try {
          const result = await connection.query<R>(name === undefined ? { text, values: bindings as unknown[] } : { name, text, values: bindings as unknown[] });
          return { rows: result.rows, rowCount: result.rowCount ?? 0 };
        } catch (err) {
          if (isStalePreparedStatement(err)) retireConnection(connection, `prepared statement ${name} outlived a schema change`);
          throw err;
        }
      };
      const onPooledConnection = async (): Promise<QueryRows<R>> => {
        const connection = (await knex.client.acquireConnection()) as Connection;
        try {
          return await send(connection);
        } finally {
          await knex.client.releaseConnection(connection);
        }
      };
      const trx = current.getStore();
      // In a transaction the error voids it: runInTransaction runs it again
      // on another connection (transactions.ts). Outside one, again here:
      // each pooled connection may hold the stale statement, and each
      // failure retires one, so at most the pool's size of extra tries.
      if (trx) return send((await trx.client.acquireConnection()) as Connection);
      for (let tries = 1; ; tries++) {
        try {
          return await onPooledConnection();
        } catch (err) {
          if (!isStalePreparedStatement(err) || tries > config.poolMax) throw err;
        }
      }
    },
    poolStats() {
      const pool = knex.client.pool as {
        numUsed(): number; numFree(): number; numPendingAcquires(): number;
      } | undefined;
      if (!pool) return { total: 0, idle: 0, waiting: 0 };
      return { total: pool.numUsed() + pool.numFree(), idle: pool.numFree(), waiting: pool.numPendingAcquires() };
    },
    close: () => knex.destroy(),
  };
}

/** Reads `<dir>/*.sql` in name order; each file is one migration in one transaction. */
class SqlMigrationSource implements Knex.MigrationSource<string> {
  constructor(private readonly dir: string) {}
  getMigrations(): Promise<string[]> {
    return Promise.resolve(readdirSync(this.dir).filter((f) => f.endsWith(".sql")).sort());
  }
  getMigrationName(migration: string): string {
    return migration;
  }
  getMigration(migration: string): Promise<Knex.Migration> {
    const sql = readFileSync(join(this.dir, migration), "utf8");
    return Promise.resolve({
      up: async (knex: Knex) => {
        await knex.raw(sql);
      },
      down: () => Promise.reject(new Error("migrations are forward-only; write a new migration instead")),
    });
  }
}

/** The kit's own tables (outbox, inbox, idempotency keys), applied before every service's migrations. */
export const KIT_MIGRATIONS_DIR = "migrations/platform";

const migratorConfig = (migrationsDir: string, tableName = "schema_migrations"): Knex.MigratorConfig => ({
  migrationSource: new SqlMigrationSource(resolve(repoRoot, migrationsDir)),
  tableName,
});

/** The two migration sets of a service database, in the order they apply. */
const migrationSets = (migrationsDir: string): Array<{ dir: string; table: string }> => [
  { dir: KIT_MIGRATIONS_DIR, table: "kit_schema_migrations" },
  { dir: migrationsDir, table: "schema_migrations" },
];

/**
 * What a service declares about its tables' privileges, in
 * `<migrationsDir>/privileges.yaml`:
 *   appendOnly: [journal_entries, journal_lines]
 * The runtime role keeps SELECT and INSERT on those and loses UPDATE and
 * DELETE (the database then refuses corrections other than new rows).
 */
export interface TablePrivileges {
  readonly appendOnly: readonly string[];
}

export function tablePrivilegesOf(migrationsDir: string): TablePrivileges {
  const file = resolve(repoRoot, migrationsDir, "privileges.yaml");
  if (!existsSync(file)) return { appendOnly: [] };
  const doc = parseYaml(readFileSync(file, "utf8")) as { appendOnly?: unknown } | null;
  const unknownKeys = Object.keys(doc ?? {}).filter((k) => k !== "appendOnly");
  const appendOnly = doc?.appendOnly ?? [];
  if (unknownKeys.length > 0 || !Array.isArray(appendOnly) || !appendOnly.every((t) => typeof t === "string" && /^[a-z_][a-z0-9_]*$/.test(t))) {
    throw new Error(`${file}: expected only "appendOnly: [table, ...]" with lower-case table names`);
  }
  return { appendOnly };
}

/**
 * Applies pending migrations (the kit's set, then the service's) and the
 * service's table privileges; returns the names applied now.
 */
export async function migrate(knex: Knex, migrationsDir: string): Promise<string[]> {
  const applied: string[] = [];
  for (const set of migrationSets(migrationsDir)) {
    const [, names] = (await knex.migrate.latest(migratorConfig(set.dir, set.table))) as [number, string[]];
    applied.push(...names);
  }
  await applyTablePrivileges(knex, tablePrivilegesOf(migrationsDir));
  // The scheduler's schema is the library's own migrations (pg-boss), run as the owner too.
  await installSchedulerSchema(knex);
  return applied;
}

/**
 * Revokes UPDATE and DELETE on append-only tables from every role but the
 * owner running the migrations, whatever granted them (the schema's default
 * privileges grant the runtime role full DML on each new table).
 */
async function applyTablePrivileges(knex: Knex, privileges: TablePrivileges): Promise<void> {
  for (const table of privileges.appendOnly) {
    const grants = await knex.raw<{ rows: Array<{ grantee: string }> }>(
      `SELECT DISTINCT grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name = ? AND privilege_type IN ('UPDATE', 'DELETE')
          AND grantee <> current_user`,
      [table],
    );
    const exists = await knex.raw<{ rows: unknown[] }>("SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?", [table]);
    if (exists.rows.length === 0) throw new Error(`privileges.yaml names table ${table}, which the migrations did not create`);
    for (const { grantee } of grants.rows) {
      await knex.raw(`REVOKE UPDATE, DELETE, TRUNCATE ON TABLE ${ident(table)} FROM ${grantee === "PUBLIC" ? "PUBLIC" : ident(grantee)}`);
    }
  }
}

/** Names of migrations on disk (the kit's and the service's) that the database has not applied. */
export async function pendingMigrations(knex: Knex, migrationsDir: string): Promise<string[]> {
  const pending: string[] = [];
  for (const set of migrationSets(migrationsDir)) {
    const [, names] = (await knex.migrate.list(migratorConfig(set.dir, set.table))) as [unknown[], Array<{ file: string } | string>];
    pending.push(...names.map((p) => (typeof p === "string" ? p : p.file)));
  }
  return pending;
}

export interface ProvisionOptions {
  readonly superuser: ConnectionSettings;
  readonly database: string;
  /** Owns the schema; migrations run as this role. */
  readonly owner: { readonly role: string; readonly password: string };
  /** The service's runtime role: data manipulation only, no DDL. */
  readonly app: { readonly role: string; readonly password: string };
}

const ident = (s: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(s)) throw new Error(`unsafe identifier ${s}`);
  return `"${s}"`;
};
const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * Creates (idempotently) a service database, its owner role and its
 * least-privileged runtime role. Needs a superuser connection.
 */
export async function provisionDatabase(options: ProvisionOptions): Promise<void> {
  const admin = new pg.Client({ ...options.superuser, database: "postgres" });
  await admin.connect();
  try {
    // Roles are cluster-wide: concurrent provisioning (parallel test files,
    // two migration jobs) would race on them ("tuple concurrently updated").
    await admin.query("SELECT pg_advisory_lock(hashtext('fleetmesh.provision'))");
    for (const { role, password } of [options.owner, options.app]) {
      const exists = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
      const verb = exists.rowCount ? "ALTER" : "CREATE";
      await admin.query(`${verb} ROLE ${ident(role)} LOGIN PASSWORD ${literal(password)}`);
    }
    const db = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [options.database]);
    if (!db.rowCount) await admin.query(`CREATE DATABASE ${ident(options.database)} OWNER ${ident(options.owner.role)}`);
    await admin.query(`REVOKE ALL ON DATABASE ${ident(options.database)} FROM PUBLIC`);
    await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${ident(options.database)} TO ${ident(options.app.role)}`);
  } finally {
    await admin.end();
  }
  const inDb = new pg.Client({ ...options.superuser, database: options.database });
  await inDb.connect();
  try {
    const owner = ident(options.owner.role);
    const app = ident(options.app.role);
    await inDb.query(`
      CREATE EXTENSION IF NOT EXISTS citext;
      CREATE EXTENSION IF NOT EXISTS btree_gist;
      CREATE EXTENSION IF NOT EXISTS pgcrypto;
      ALTER SCHEMA public OWNER TO ${owner};
      REVOKE CREATE ON SCHEMA public FROM PUBLIC;
      GRANT USAGE ON SCHEMA public TO ${app};
      ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${app};
      ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${app};
      -- The scheduler's library tables (scheduler.ts): same rights, own schema.
      CREATE SCHEMA IF NOT EXISTS ${SCHEDULER_SCHEMA} AUTHORIZATION ${owner};
      GRANT USAGE ON SCHEMA ${SCHEDULER_SCHEMA} TO ${app};
      ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${SCHEDULER_SCHEMA} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${app};
      ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${SCHEDULER_SCHEMA} GRANT USAGE, SELECT ON SEQUENCES TO ${app};
    `);
  } finally {
    await inDb.end();
  }
}

/** Tells whether an error is a PostgreSQL error with the given SQLSTATE. */
export const isPgError = (err: unknown, sqlstate: string, constraint?: string): boolean => {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e !== null && typeof e === "object" && e.code === sqlstate && (constraint === undefined || e.constraint === constraint);
};

export const PG_UNIQUE_VIOLATION = "23505";
export const PG_EXCLUSION_VIOLATION = "23P01";
export const PG_CHECK_VIOLATION = "23514";
export const PG_RAISE_EXCEPTION = "P0001";
