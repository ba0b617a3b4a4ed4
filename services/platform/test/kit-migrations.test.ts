import { writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import knexFactory from "knex";
import pg from "pg";
import { migrate, pendingMigrations } from "../src/db.js";
import { testTempDir, createTestDatabase } from "../src/testing/harness.js";

// The kit's own tables come from migrations/platform, applied before a
// service's migrations, so a new service writes none of them; and a service
// can make tables append-only for its runtime role (the ledger's journal).

const serviceDir = (files: Record<string, string>): string => {
  const dir = testTempDir("fm-migrations-");
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
};

const tablesOf = async (admin: pg.Client): Promise<string[]> =>
  (await admin.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).rows.map((r) => r.tablename);

test("a new service gets the kit's tables without writing them, and an append-only journal", async (t) => {
  const dir = serviceDir({
    "0001_journal.sql": "CREATE TABLE journal_lines (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text NOT NULL);",
    "privileges.yaml": "# the journal is corrected by new rows only\nappendOnly: [journal_lines]\n",
  });
  const db = await createTestDatabase("kitmig", dir);
  const app = new pg.Client({ ...db.config, user: db.config.user, password: db.config.password });
  await app.connect();
  try {
    t.deepEqual(await tablesOf(db.admin), [
      "idempotency_keys", "inbox_processed_messages", "journal_lines", "kit_schema_migrations", "kit_schema_migrations_lock",
      "outbox_events", "parked_events", "schema_migrations", "schema_migrations_lock",
    ]);
    await app.query("INSERT INTO journal_lines (note) VALUES ('first')");
    t.is((await app.query("SELECT note FROM journal_lines")).rowCount, 1);
    for (const statement of ["UPDATE journal_lines SET note = 'changed'", "DELETE FROM journal_lines", "TRUNCATE journal_lines"]) {
      const err = await t.throwsAsync(app.query(statement));
      t.is((err as { code?: string }).code, "42501", statement);
    }
    // The kit's tables keep full DML for the runtime role.
    await app.query("INSERT INTO idempotency_keys VALUES ('s', 'k', '\\x00', NULL, now(), now())");
    await app.query("DELETE FROM idempotency_keys");
    // parked_events too, its identity sequence included.
    await app.query(`INSERT INTO parked_events (message_id, consumer_group, park_key, topic, "partition", "offset", event_type, headers,
      reason, error_message, expires_at, next_attempt_at) VALUES ('m', 'g', 'k', 't', 0, 0, 'x.Y', '{}', 'R', 'r', now(), now())`);
    await app.query("UPDATE parked_events SET attempts = 2");
    await app.query("DELETE FROM parked_events");
    const owner = knexFactory({ client: "pg", connection: { ...db.config, user: "kitmig_test_owner", password: "test-only-password" } });
    try {
      t.deepEqual(await pendingMigrations(owner, dir), []);
      t.deepEqual(await migrate(owner, dir), [], "running again applies nothing");
    } finally {
      await owner.destroy();
    }
  } finally {
    await app.end();
    await db.drop();
  }
});

test("a database that made the kit's tables itself (fleet and identity before the kit owned them) migrates cleanly", async (t) => {
  const legacy = serviceDir({ "0001_service.sql": "CREATE TABLE things (id int);" });
  // Back then only the service's own set ran and made these tables itself:
  // keep the tables, forget the kit's record of having run.
  const db = await createTestDatabase("kitlegacy", legacy);
  try {
    await db.admin.query("DROP TABLE kit_schema_migrations, kit_schema_migrations_lock");
    await db.admin.query("INSERT INTO idempotency_keys VALUES ('s', 'k', '\\x00', NULL, now(), now())");
    const owner = knexFactory({ client: "pg", connection: { ...db.config, user: "kitlegacy_test_owner", password: "test-only-password" } });
    try {
      t.deepEqual(await migrate(owner, legacy), ["0001_kit_tables.sql", "0002_parked_events.sql"]);
      t.deepEqual(await pendingMigrations(owner, legacy), []);
      t.is((await db.admin.query("SELECT 1 FROM idempotency_keys")).rowCount, 1, "existing rows untouched");
    } finally {
      await owner.destroy();
    }
  } finally {
    await db.drop();
  }
});

test("privileges.yaml naming an unknown table or key is refused", async (t) => {
  const dir = serviceDir({ "0001_x.sql": "CREATE TABLE x (id int);", "privileges.yaml": "appendOnly: [y]\n" });
  await t.throwsAsync(createTestDatabase("kitbad", dir), { message: /names table y, which the migrations did not create/ });
  const bad = serviceDir({ "0001_x.sql": "CREATE TABLE x (id int);", "privileges.yaml": "readOnly: [x]\n" });
  await t.throwsAsync(createTestDatabase("kitbad2", bad), { message: /expected only "appendOnly/ });
});
