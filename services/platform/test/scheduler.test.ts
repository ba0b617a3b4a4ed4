import test from "ava";
import { pino } from "pino";
import { createDatabase } from "../src/db.js";
import { idempotencyPurgeJob } from "../src/idempotency.js";
import { createMetrics, type Metrics } from "../src/metrics.js";
import { createScheduler, jobIdOfKey, SCHEDULER_SCHEMA, type JobDefinition, type Scheduler } from "../src/scheduler.js";
import { createTestDatabase, type TestDatabase } from "../src/testing/harness.js";

// Real PostgreSQL: a fresh fleet database per file, migrated by the project's
// runner (which installs the scheduler schema as the owner); the schedulers
// connect as the app role, like a service.

let testDb: TestDatabase;
test.before(async () => {
  testDb = await createTestDatabase("fleet", "migrations/fleet");
});
test.after.always(async () => {
  await testDb?.drop();
});

const log = pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" });

const instances: Scheduler[] = [];
test.afterEach.always(async () => {
  await Promise.all(instances.splice(0).map((s) => s.stop()));
});

function newScheduler(metrics: Metrics = createMetrics("test", { runtime: false })): Scheduler {
  const scheduler = createScheduler({
    database: testDb.config,
    applicationName: "scheduler-test",
    log,
    metrics,
    pollingIntervalSeconds: 0.5,
    stopGraceMs: 2_000,
  });
  instances.push(scheduler);
  return scheduler;
}

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const jobRows = async (name: string) =>
  (await testDb.admin.query<{ id: string; state: string; retry_count: number; singleton_key: string | null }>(
    `SELECT id, state, retry_count, singleton_key FROM ${SCHEDULER_SCHEMA}.job WHERE name = $1 ORDER BY created_on`, [name],
  )).rows;

/** A counter's value, or a histogram's `<name>_count`, summed over the series matching `labels`. */
const metricValue = async (metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> => {
  const family = name.replace(/_count$/, "");
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === family);
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
  return values
    .filter((v) => (v.metricName ?? family) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
};

test.serial("the app role has DML, not DDL, on the scheduler schema the migration runner installed", async (t) => {
  const owner = await testDb.admin.query<{ owner: string }>(`SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = $1`, [SCHEDULER_SCHEMA]);
  t.regex(owner.rows[0]?.owner ?? "", /_owner$/);
  const rights = await testDb.admin.query<{ can_dml: boolean; can_create: boolean }>(
    `SELECT has_table_privilege($1, '${SCHEDULER_SCHEMA}.job', 'SELECT,INSERT,UPDATE,DELETE') AS can_dml,
            has_schema_privilege($1, '${SCHEDULER_SCHEMA}', 'CREATE') AS can_create`, [testDb.config.user],
  );
  t.deepEqual(rights.rows[0], { can_dml: true, can_create: false });
});

test.serial("a scheduled job runs exactly once with two instances and a restart between scheduling and running", async (t) => {
  const runs: Array<{ instance: string; key: string }> = [];
  const define = (scheduler: Scheduler, instance: string) =>
    scheduler.define<{ plan: string }>({
      name: "test.once",
      handler: async (data) => {
        runs.push({ instance, key: data.plan });
      },
    });
  const a = newScheduler();
  const b = newScheduler();
  define(a, "a");
  define(b, "b");
  await a.start();
  await b.start();
  const dueAt = new Date(Date.now() + 3_000);
  t.true(await a.schedule("test.once", { plan: "p-1" }, { key: "plan/p-1/due/1", runAt: dueAt }));
  // Restart before the job is due: instance a stops, a new instance c takes its place.
  await a.stop();
  const c = newScheduler();
  define(c, "c");
  await c.start();
  await waitFor("the job to complete", async () => (await jobRows("test.once"))[0]?.state === "completed");
  await new Promise((r) => setTimeout(r, 1_500)); // polls of both live instances after completion
  t.is(runs.length, 1);
  t.true(["b", "c"].includes(runs[0]?.instance ?? ""), "run by a live instance");
  t.deepEqual((await jobRows("test.once")).map((r) => r.id), [jobIdOfKey("test.once", "plan/p-1/due/1")]);
});

test.serial("a second schedule of the same key is a no-op, before and after the first ran", async (t) => {
  let runs = 0;
  const scheduler = newScheduler();
  scheduler.define({ name: "test.unique", handler: async () => { runs += 1; } });
  await scheduler.start();
  const later = new Date(Date.now() + 60_000);
  t.true(await scheduler.schedule("test.unique", {}, { key: "k-1", runAt: later }));
  t.false(await scheduler.schedule("test.unique", {}, { key: "k-1", runAt: later }));
  t.false(await scheduler.schedule("test.unique", {}, { key: "k-1" }), "a different due time does not make it new");
  t.is((await jobRows("test.unique")).length, 1);

  t.true(await scheduler.schedule("test.unique", {}, { key: "k-2" }));
  await waitFor("k-2 to complete", async () => (await jobRows("test.unique")).some((r) => r.singleton_key === "k-2" && r.state === "completed"));
  t.false(await scheduler.schedule("test.unique", {}, { key: "k-2" }), "a finished key is still known");
  await new Promise((r) => setTimeout(r, 1_500));
  t.is(runs, 1);
  t.is((await jobRows("test.unique")).length, 2);
});

test.serial("a failing job is retried with backoff, then recorded as failed and counted", async (t) => {
  const attempts: number[] = [];
  const metrics = createMetrics("test", { runtime: false });
  const scheduler = newScheduler(metrics);
  scheduler.define({
    name: "test.failing",
    retryLimit: 2,
    retryDelaySeconds: 1,
    handler: async () => {
      attempts.push(Date.now());
      throw new Error("boom");
    },
  });
  await scheduler.start();
  t.true(await scheduler.schedule("test.failing", {}, { key: "f-1" }));
  await waitFor("the job to fail for good", async () => (await jobRows("test.failing"))[0]?.state === "failed", 30_000);
  t.is(attempts.length, 3, "the first attempt and two retries");
  const [first, second, third] = attempts as [number, number, number];
  // Backoff 1 s doubled per retry, with up to 100 % jitter: 1-2 s, then 2-4 s (plus up to one poll).
  t.log(`retry delays: ${second - first} ms, ${third - second} ms`);
  t.true(second - first >= 900, `first retry after >= 1 s (${second - first} ms)`);
  t.true(third - second >= 1_900, `second retry after >= 2 s (${third - second} ms)`);
  t.is((await jobRows("test.failing"))[0]?.retry_count, 2);
  t.is(await metricValue(metrics, "scheduler_job_runs_total", { job: "test.failing", outcome: "failed" }), 3);
  t.is(await metricValue(metrics, "scheduler_job_failures_total", { job: "test.failing" }), 1);
  t.is(await metricValue(metrics, "scheduler_job_duration_seconds_count", { job: "test.failing", outcome: "failed" }), 3);
  t.is(await metricValue(metrics, "scheduler_job_lag_seconds_count", { job: "test.failing" }), 3);
});

test.serial("the idempotency purge job deletes expired keys only, and is a recurring schedule", async (t) => {
  const db = createDatabase(testDb.config, "scheduler-test");
  t.teardown(() => db.close());
  await testDb.admin.query(
    `INSERT INTO idempotency_keys (scope, key, request_hash, created_at, expires_at) VALUES
       ('s|/m', 'expired-1', '\\x00', now() - interval '2 days', now() - interval '1 day'),
       ('s|/m', 'expired-2', '\\x00', now() - interval '2 days', now() - interval '1 second'),
       ('s|/m', 'live-0001', '\\x00', now(), now() + interval '1 day')`,
  );
  const metrics = createMetrics("test", { runtime: false });
  const scheduler = newScheduler(metrics);
  const job: JobDefinition = idempotencyPurgeJob(db);
  scheduler.define(job);
  await scheduler.start();
  const schedules = await testDb.admin.query<{ name: string; cron: string }>(`SELECT name, cron FROM ${SCHEDULER_SCHEMA}.schedule`);
  t.deepEqual(schedules.rows, [{ name: "idempotency.purge", cron: "*/10 * * * *" }]);

  t.true(await scheduler.schedule(job.name, {}));
  await waitFor("the purge to run", async () => (await metricValue(metrics, "scheduler_job_runs_total", { job: job.name, outcome: "succeeded" })) === 1);
  const left = await testDb.admin.query<{ key: string }>("SELECT key FROM idempotency_keys ORDER BY key");
  t.deepEqual(left.rows.map((r) => r.key), ["live-0001"]);
});
