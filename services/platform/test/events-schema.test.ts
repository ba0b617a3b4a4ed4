// The events kit (outbox.ts, outbox-relay.ts, consumer.ts) and the
// idempotency layer read and write `outbox_events`, `inbox_processed_messages`
// and `idempotency_keys` in every service database. The kit owns them
// (migrations/platform, applied before a service's own migrations): no
// service writes its own copy, and every service database ends up with the
// same tables, whether it was created before the kit owned them or after.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { KIT_MIGRATIONS_DIR, repoRoot } from "../src/db.js";
import { createTestDatabase } from "../src/testing/harness.js";

const KIT_TABLES = ["outbox_events", "inbox_processed_messages", "idempotency_keys"] as const;

/** Every service's migration set (each directory of migrations/ but the kit's). */
const serviceMigrationDirs = (): string[] =>
  readdirSync(join(repoRoot, "migrations"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && `migrations/${d.name}` !== KIT_MIGRATIONS_DIR)
    .map((d) => d.name)
    .sort();

test("no service migration creates a table the kit owns", (t) => {
  for (const service of serviceMigrationDirs()) {
    for (const file of readdirSync(join(repoRoot, "migrations", service)).filter((f) => f.endsWith(".sql"))) {
      const sql = readFileSync(join(repoRoot, "migrations", service, file), "utf8");
      for (const table of KIT_TABLES) t.notRegex(sql, new RegExp(`CREATE TABLE (IF NOT EXISTS )?${table}\\b`), `${service}/${file} creates ${table}`);
    }
  }
});

interface TableShape {
  readonly columns: ReadonlyArray<{ name: string; type: string; nullable: boolean; default: string | null; identity: string | null }>;
  readonly indexes: readonly string[];
  readonly checks: readonly string[];
}

test("every service database has the kit's tables, the same in each", async (t) => {
  const services = serviceMigrationDirs();
  t.true(services.includes("fleet") && services.includes("identity"), `found: ${services.join(", ")}`);
  const shapes = new Map<string, Record<string, TableShape>>();
  for (const service of services) {
    const db = await createTestDatabase(service, `migrations/${service}`);
    try {
      const tables: Record<string, TableShape> = {};
      for (const table of KIT_TABLES) {
        const columns = (await db.admin.query<{ name: string; type: string; nullable: boolean; default: string | null; identity: string | null }>(
          `SELECT column_name AS name, format_type(a.atttypid, a.atttypmod) AS type, is_nullable = 'YES' AS nullable,
                  column_default AS default, identity_generation AS identity
             FROM information_schema.columns c
             JOIN pg_attribute a ON a.attrelid = $1::text::regclass AND a.attname = c.column_name
            WHERE c.table_schema = 'public' AND c.table_name = $1::text
            ORDER BY c.ordinal_position`, [table])).rows;
        // Index definitions name the table and the index, never the database.
        const indexes = (await db.admin.query<{ def: string }>(
          "SELECT indexdef AS def FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY indexname", [table])).rows.map((r) => r.def);
        const checks = (await db.admin.query<{ def: string }>(
          "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::text::regclass AND contype = 'c' ORDER BY conname", [table])).rows.map((r) => r.def);
        t.true(columns.length > 0, `${service} has ${table}`);
        tables[table] = { columns, indexes, checks };
      }
      shapes.set(service, tables);
    } finally {
      await db.drop();
    }
  }
  const [reference, ...others] = services;
  for (const service of others) t.deepEqual(shapes.get(service), shapes.get(reference!), `${service} against ${reference}`);
});
