import anyTest, { type TestFn } from "ava";
import { createDatabase, preparedStatement, type Database } from "../src/db.js";
import { domainErrorOfDatabaseError } from "../src/db-errors.js";
import { DomainError } from "../src/errors.js";
import { createTestDatabase, type TestDatabase } from "../src/testing/harness.js";
import { constraintViolationOf, runInTransaction, type ConstraintErrors } from "../src/transactions.js";

// The kit's unit of work against a real PostgreSQL: serialization failures
// and deadlocks are run again from the start, a bounded number of times with
// jittered backoff; integrity violations map to named domain errors.

const test = anyTest as TestFn<{ testDb: TestDatabase; db: Database }>;

test.before(async (t) => {
  const testDb = await createTestDatabase("txn", "migrations/fleet");
  await testDb.admin.query(`
    CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL, owner text NOT NULL CONSTRAINT accounts_owner_key UNIQUE);
    CREATE TABLE bookings (id serial PRIMARY KEY, slot int NOT NULL);
    GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, bookings TO ${testDb.config.user};
    GRANT USAGE ON SEQUENCE bookings_id_seq TO ${testDb.config.user};
    INSERT INTO accounts VALUES (1, 100, 'a'), (2, 100, 'b');`);
  t.context = { testDb, db: createDatabase({ ...testDb.config, poolMax: 4 }, "txn-test") };
});
test.after.always(async (t) => {
  await t.context.db?.close();
  await t.context.testDb?.drop();
});

/** Resolves once `n` parties have arrived: makes two transactions interleave the way the test needs. */
const barrier = (n: number) => {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return () => {
    arrived += 1;
    if (arrived === n) open();
    return opened;
  };
};

test.serial("a serialization failure (40001) is retried and then succeeds", async (t) => {
  const { db } = t.context;
  // Write skew: each books slot 7 only if nobody has. Under SERIALIZABLE one of
  // two interleaved attempts must fail with 40001; its retry then sees the other's row.
  const bothRead = barrier(2);
  const retries: string[] = [];
  const book = (who: string) =>
    runInTransaction(db, async (trx) => {
      const taken = await trx("bookings").where({ slot: 7 }).first();
      if (retries.length === 0) await bothRead();
      if (taken) return `${who}: already taken`;
      await trx("bookings").insert({ slot: 7 });
      return `${who}: booked`;
    }, { isolation: "serializable", onRetry: (_n, sqlstate) => retries.push(sqlstate) });
  const results = (await Promise.all([book("first"), book("second")])).sort();
  t.deepEqual(retries, ["40001"]);
  t.is(results.filter((r) => r.endsWith("booked")).length, 1, results.join("; "));
  t.is(results.filter((r) => r.endsWith("already taken")).length, 1);
  t.is((await t.context.testDb.admin.query("SELECT 1 FROM bookings WHERE slot = 7")).rowCount, 1);
});

test.serial("a deadlock (40P01) is retried and both transfers land", async (t) => {
  const { db } = t.context;
  const bothLocked = barrier(2);
  let firstRound = true;
  const retries: string[] = [];
  const transfer = (from: number, to: number) =>
    runInTransaction(db, async (trx) => {
      await trx("accounts").where({ id: from }).decrement("balance", 10);
      if (firstRound) await bothLocked();
      await trx("accounts").where({ id: to }).increment("balance", 10);
    }, { onRetry: (_n, sqlstate) => { firstRound = false; retries.push(sqlstate); } });
  await Promise.all([transfer(1, 2), transfer(2, 1)]);
  t.deepEqual(retries, ["40P01"]);
  const balances = (await t.context.testDb.admin.query<{ balance: number }>("SELECT balance FROM accounts ORDER BY id")).rows.map((r) => r.balance);
  t.deepEqual(balances, [100, 100], "each transfer applied exactly once");
});

test.serial("retries are bounded and jittered; then ABORTED with a stable reason", async (t) => {
  const delays: number[] = [];
  let runs = 0;
  const err = await t.throwsAsync(runInTransaction(t.context.db, async () => {
    runs += 1;
    throw Object.assign(new Error("could not serialize access"), { code: "40001" });
  }, { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 25, random: () => 0.999, sleep: async (ms) => { delays.push(ms); } }), { instanceOf: DomainError });
  t.is(runs, 4);
  t.deepEqual(delays, [9, 19, 24], "full jitter under min(maxDelay, base * 2^(n-1))");
  t.like(err, { kind: "aborted", reason: "TRANSACTION_CONFLICT" });
  t.deepEqual(err?.metadata, { sqlstate: "40001", attempts: "4" });
});

test.serial("inside an outer transaction nothing is retried: only the outermost can run again", async (t) => {
  let runs = 0;
  await t.throwsAsync(t.context.db.transaction(() =>
    runInTransaction(t.context.db, async () => {
      runs += 1;
      throw Object.assign(new Error("deadlock detected"), { code: "40P01" });
    })));
  t.is(runs, 1);
});

test.serial("the isolation level is applied", async (t) => {
  const level = await runInTransaction(t.context.db, async (trx) =>
    (await trx.raw<{ rows: Array<{ transaction_isolation: string }> }>("SHOW transaction_isolation")).rows[0]!.transaction_isolation,
  { isolation: "repeatable read" });
  t.is(level, "repeatable read");
  const readOnly = await t.throwsAsync(runInTransaction(t.context.db, (trx) => trx("bookings").insert({ slot: 1 }), { readOnly: true }));
  t.is((readOnly as { code?: string }).code, "25006");
});

test.serial("integrity violations map to the domain errors a service names; others stay raw", async (t) => {
  const constraints: ConstraintErrors = {
    accounts_owner_key: (v) => new DomainError("already_exists", "OWNER_TAKEN", "that owner already has an account", { metadata: { constraint: v.constraint } }),
  };
  const taken = await t.throwsAsync(runInTransaction(t.context.db, (trx) => trx("accounts").insert({ id: 3, balance: 0, owner: "a" }), { constraints }));
  t.like(taken, { kind: "already_exists", reason: "OWNER_TAKEN" });
  const unnamed = await t.throwsAsync(runInTransaction(t.context.db, (trx) => trx("accounts").insert({ id: 1, balance: 0, owner: "z" }), { constraints }));
  t.like(constraintViolationOf(unnamed), { kind: "unique", constraint: "accounts_pkey", table: "accounts" });
  t.false(unnamed instanceof DomainError);
});

test("without the helper, a conflict still reaches clients as ABORTED, never INTERNAL", (t) => {
  t.like(domainErrorOfDatabaseError(Object.assign(new Error("x"), { code: "40001" })), { kind: "aborted", reason: "TRANSACTION_CONFLICT" });
  t.like(domainErrorOfDatabaseError(Object.assign(new Error("x"), { code: "40P01" })), { kind: "aborted", reason: "TRANSACTION_CONFLICT" });
});

test.serial("db.query joins the open transaction (its write rolls back with it) and, outside one, borrows and returns a pooled connection", async (t) => {
  const { db, testDb } = t.context;
  await t.throwsAsync(db.transaction(async () => {
    const { rowCount } = await db.query("INSERT INTO bookings (slot) VALUES (?), (?)", [901, 902]);
    t.is(rowCount, 2);
    // The same transaction sees its own uncommitted rows through knex and through db.query.
    t.is((await db.executor()("bookings").whereIn("slot", [901, 902])).length, 2);
    t.is((await db.query<{ n: bigint }>("SELECT count(*) AS n FROM bookings WHERE slot IN (?, ?)", [901, 902])).rows[0]!.n, 2n);
    throw new Error("roll back");
  }), { message: "roll back" });
  t.is((await testDb.admin.query("SELECT 1 FROM bookings WHERE slot IN (901, 902)")).rowCount, 0, "rolled back with the transaction");

  const { rows } = await db.query<{ slot: number; owner: string }>("SELECT ?::int AS slot, ? AS owner", [7, "a?b"]);
  t.deepEqual(rows, [{ slot: 7, owner: "a?b" }], "a ? inside a bound value is a value, not a placeholder");
  t.is(db.poolStats().total - db.poolStats().idle, 0, "the pooled connection went back");
  const err = await t.throwsAsync(db.query("INSERT INTO accounts VALUES (?, ?, ?)", [3, 0, "a"]));
  t.is(constraintViolationOf(err)?.constraint, "accounts_owner_key", "the driver's error keeps its SQLSTATE and constraint");
  t.is(db.poolStats().total - db.poolStats().idle, 0, "returned after an error too");
});

test.serial("db.query prepares each statement text once per connection, and a failed statement does not poison it", async (t) => {
  const { db } = t.context;
  const sql = "SELECT count(*) AS n FROM bookings WHERE slot > ?";
  const { name } = preparedStatement(sql);
  t.truthy(name);
  await db.transaction(async () => {
    for (const slot of [1, 2, 3]) await db.query(sql, [slot]);
    const prepared = await db.query<{ name: string; calls: bigint }>(
      "SELECT name, generic_plans + custom_plans AS calls FROM pg_prepared_statements WHERE name = ?", [name]);
    t.deepEqual(prepared.rows, [{ name: name!, calls: 3n }], "one prepared statement, run three times on this connection");
  });
  // A statement PostgreSQL refuses is not recorded as prepared: the next call parses it again.
  const broken = "SELECT no_such_column FROM bookings WHERE slot = ?";
  await db.transaction(async () => {
    await t.throwsAsync(db.query(broken, [1]), { message: /no_such_column/ });
  }).catch(() => undefined);
  await t.throwsAsync(db.query(broken, [1]), { message: /no_such_column/ });
});

test.serial("a prepared statement that outlived a column's type change: its connection is replaced, the call and the transaction go on", async (t) => {
  const { db, testDb } = t.context;
  await testDb.admin.query(`CREATE TABLE gauges (id int PRIMARY KEY, reading int NOT NULL);
    GRANT SELECT, INSERT, UPDATE ON gauges TO ${testDb.config.user}; INSERT INTO gauges VALUES (1, 7)`);
  const read = "SELECT reading FROM gauges WHERE id = ?";
  const connections = async () => Number((await testDb.admin.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'txn-test'", [testDb.config.database])).rows[0]!.n);
  // Prepared on every pooled connection: 4 callers at once hold all 4.
  await db.transaction(() => db.query("SELECT 1"));
  await Promise.all([1, 2, 3, 4].map(() => db.transaction(async () => {
    await db.query(read, [1]);
    await new Promise((r) => setTimeout(r, 50));
  })));
  t.is(await connections(), 4);
  // A migration changes the column's type: the plan's result type changes.
  await testDb.admin.query("ALTER TABLE gauges ALTER COLUMN reading TYPE bigint");
  let attempts = 0;
  const reading = await runInTransaction(db, async () => {
    attempts += 1;
    return (await db.query<{ reading: unknown }>(read, [1])).rows[0]!.reading;
  }, { sleep: async () => undefined });
  t.is(String(reading), "7", "the transaction answers, run again while its connection had the old plan");
  t.true(attempts >= 2 && attempts <= 5, `attempts: ${attempts} (the first connection had the old plan)`);
  for (let i = 0; i < 6; i++) {
    const { rows } = await db.query<{ reading: unknown }>(read, [1]);
    t.is(String(rows[0]!.reading), "7", `call ${i + 1} outside a transaction answers`);
  }
});

test("preparedStatement turns knex's ? into $n, once per statement text", (t) => {
  t.is(preparedStatement("SELECT ? , tstzrange(?, ?, '[)') WHERE id = ?").text, "SELECT $1 , tstzrange($2, $3, '[)') WHERE id = $4");
  t.is(preparedStatement("SELECT 1").text, "SELECT 1");
});
