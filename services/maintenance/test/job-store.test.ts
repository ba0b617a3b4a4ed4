import { randomUUID } from "node:crypto";
import anyTest, { type TestFn } from "ava";
import { createDatabase, type Database } from "../../platform/src/db.js";
import { createTestDatabase, type TestDatabase } from "../../platform/src/testing/harness.js";
import { waitFor } from "../../platform/src/testing/kafka.js";
import { createJobRepository } from "../src/adapters/db/maintenance-store.js";
import { newJob } from "../src/domain/job.js";
import { dueJobId } from "../src/domain/plans.js";

// The job store against real PostgreSQL, where a race needs two transactions.

const test = anyTest as TestFn<{ testDb: TestDatabase; db: Database }>;

test.before(async (t) => {
  const testDb = await createTestDatabase("maintenance", "migrations/maintenance");
  t.context = { testDb, db: createDatabase(testDb.config, "job-store-test") };
});

test.after.always(async (t) => {
  await t.context.db?.close();
  await t.context.testDb?.drop();
});

const dueJob = (dueKey: string) => {
  const start = new Date(Date.UTC(2031, 0, 6, 9));
  return newJob({
    id: dueJobId(dueKey), vehicleId: randomUUID(), mechanicId: null, urgent: false, planId: null, dueKey, now: new Date(), by: null,
    attributes: { kind: "preventive", description: "5000 km service", scheduleTime: start, estimatedCompletionTime: new Date(start.getTime() + 7_200_000) },
  });
};

test("two instances inserting one due job at once: one inserts, the other does nothing (no unique violation)", async (t) => {
  const { db } = t.context;
  const jobs = createJobRepository(db);
  const job = dueJob(`plan|${randomUUID()}|5000`);
  let releaseFirst!: () => void;
  const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
  let firstInserted!: () => void;
  const firstIn = new Promise<void>((resolve) => (firstInserted = resolve));
  // The first transaction inserts and stays open, so the second's insert
  // finds the same key uncommitted and waits on it.
  const first = db.transaction(async () => {
    const inserted = await jobs.insert(job);
    firstInserted();
    await firstHolds;
    return inserted;
  });
  await firstIn;
  const second = db.transaction(() => jobs.insert(job));
  await waitUntilBlocked(t.context.testDb);
  releaseFirst();
  t.deepEqual(await Promise.all([first, second]), [true, false]);
  const { rows } = await t.context.testDb.admin.query<{ n: string }>("SELECT count(*) AS n FROM maintenance_jobs WHERE due_key = $1", [job.dueKey]);
  t.is(Number(rows[0]!.n), 1);
});

test("many pairs racing on fresh due keys: each pair inserts exactly one job and neither fails", async (t) => {
  // The narrow race: the second insert checks for a conflict before the
  // first has inserted, then meets the first's row on another unique index.
  const jobs = createJobRepository(t.context.db);
  const outcomes = await Promise.all(Array.from({ length: 200 }, async () => {
    const job = dueJob(`plan|${randomUUID()}|15000`);
    const pair = await Promise.all([t.context.db.transaction(() => jobs.insert(job)), t.context.db.transaction(() => jobs.insert(job))]);
    return pair.filter(Boolean).length;
  }));
  t.deepEqual(outcomes.filter((n) => n !== 1), []);
});

test("an inserted due job is found by its due key; the same key again inserts nothing", async (t) => {
  const jobs = createJobRepository(t.context.db);
  const job = dueJob(`plan|${randomUUID()}|10000`);
  t.true(await jobs.insert(job));
  t.false(await jobs.insert(job));
  t.is((await jobs.findByDueKey(job.dueKey!))?.id, job.id);
});

/** Until a backend of this database waits on a lock (the second insert on the first's key). */
const waitUntilBlocked = (testDb: TestDatabase): Promise<true> =>
  waitFor("the second insert to wait on the first", async () => Number((await testDb.admin.query<{ n: string }>(
    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", [testDb.config.database])).rows[0]!.n) > 0 || undefined,
  5_000, 10);
