import { createHash } from "node:crypto";
import { getConstructionPlans, PgBoss, type JobWithMetadata } from "pg-boss";
import type { Knex } from "knex";
import type { DatabaseConfig } from "./config.js";
import { counter, histogram } from "./events/metrics.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

// A durable job scheduler on the service's own PostgreSQL database, behind a
// small port so services never import the library (pg-boss, see
// docs/architecture.md#scheduling for why it and not graphile-worker).

/** The library's schema in each service database; created by the migration runner, never by the service. */
export const SCHEDULER_SCHEMA = "pgboss";

export interface JobContext {
  readonly id: string;
  readonly name: string;
  /** 0 on the first attempt. */
  readonly attempt: number;
  /** When the job was due; lag is the time from it to the start of this attempt. */
  readonly dueAt: Date;
  /** Logger with the job's name, id and attempt. */
  readonly log: Logger;
  /** Aborted when the scheduler stops or the job overruns its timeout. */
  readonly signal: AbortSignal;
}

export interface JobDefinition<T extends object = Record<string, never>> {
  /** Queue name: letters, digits, '-', '_', '.', e.g. "idempotency.purge". */
  readonly name: string;
  readonly handler: (data: T, ctx: JobContext) => Promise<void>;
  /** A recurring schedule (5-field cron, UTC). Every replica declares it; one run per occurrence. */
  readonly cron?: string;
  /** Retries after the first attempt before the job is recorded as failed (default 3). */
  readonly retryLimit?: number;
  /** First retry delay in seconds, doubled (with jitter) on each retry (default 5). */
  readonly retryDelaySeconds?: number;
  /** An attempt running longer is failed (and retried) (default 15 min). */
  readonly timeoutSeconds?: number;
}

export interface ScheduleOptions {
  /**
   * The job instance's identity, e.g. "reservation/<id>/expiry". A job runs
   * at most once per key: scheduling a key again while the first job is
   * retained (pending, running, or finished within `retentionDays`) is a
   * no-op.
   */
  readonly key?: string;
  /** When to run; default now. */
  readonly runAt?: Date;
}

/** The port services use; the pg-boss adapter below is the only implementation. */
export interface Scheduler {
  /** Declares a job and its handler; before start(). */
  define<T extends object>(definition: JobDefinition<T>): void;
  /** Persists a job; false when its key was already scheduled (nothing new). */
  schedule<T extends object>(name: string, data: T, options?: ScheduleOptions): Promise<boolean>;
  /** Creates the queues and cron schedules of the defined jobs and starts working them. */
  start(): Promise<void>;
  /** Stops fetching, waits for running jobs (up to the grace period), closes the pool. */
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  readonly database: DatabaseConfig;
  /** Names the scheduler's connections in pg_stat_activity. */
  readonly applicationName: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** How often each replica polls for due jobs (default 2 s, at least 0.5). */
  readonly pollingIntervalSeconds?: number;
  /** How long finished jobs (and so their keys) are kept (default 7 days). */
  readonly retentionDays?: number;
  /** Connections of the scheduler's own pool (default 3). */
  readonly poolMax?: number;
  /** How long stop() waits for running jobs (default 10 s). */
  readonly stopGraceMs?: number;
}

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;

/** Seconds, from 10 ms to 1 h: job lag and duration. */
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

function schedulerMetrics(metrics: Metrics) {
  const registry = metrics.registry;
  return {
    runs: counter(registry, "scheduler_job_runs_total", "Job attempts by job and outcome (succeeded, failed)", ["job", "outcome"]),
    failures: counter(registry, "scheduler_job_failures_total", "Jobs failed for good after their last retry, by job", ["job"]),
    duration: histogram(registry, "scheduler_job_duration_seconds", "Job attempt duration by job and outcome", ["job", "outcome"], JOB_BUCKETS),
    lag: histogram(registry, "scheduler_job_lag_seconds", "Time from a job's due time to the start of its attempt, by job", ["job"], JOB_BUCKETS),
  };
}

/**
 * The job id for a key: a UUID derived from the job name and key, so the
 * library's primary key refuses a second job with the same key.
 */
export function jobIdOfKey(name: string, key: string): string {
  const hex = createHash("sha256").update(`${name}\u0000${key}`).digest("hex");
  const variant = ((Number.parseInt(hex[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { database, log } = options;
  const metrics = schedulerMetrics(options.metrics);
  const definitions = new Map<string, JobDefinition<object>>();
  const boss = new PgBoss({
    host: database.host,
    port: database.port,
    database: database.database,
    user: database.user,
    password: database.password,
    application_name: options.applicationName,
    max: options.poolMax ?? 3,
    schema: SCHEDULER_SCHEMA,
    // The app role has DML only: the migration runner installs and upgrades
    // the schema (installSchedulerSchema), and index rebuilds need the owner.
    migrate: false,
    createSchema: false,
    reindex: false,
    supervise: true,
    schedule: true,
  });
  boss.on("error", (err: unknown) => log.error({ err }, "scheduler error"));
  let started = false;

  const run = async (definition: JobDefinition<object>, job: JobWithMetadata<object>): Promise<void> => {
    const jobName = definition.name;
    const startedAt = Date.now();
    metrics.lag.observe({ job: jobName }, Math.max(0, startedAt - job.startAfter.getTime()) / 1000);
    const jobLog = log.child({ job: jobName, jobId: job.id, attempt: job.retryCount });
    try {
      await definition.handler(job.data, { id: job.id, name: jobName, attempt: job.retryCount, dueAt: job.startAfter, log: jobLog, signal: job.signal });
      const seconds = (Date.now() - startedAt) / 1000;
      metrics.runs.inc({ job: jobName, outcome: "succeeded" });
      metrics.duration.observe({ job: jobName, outcome: "succeeded" }, seconds);
      jobLog.info({ seconds }, "job succeeded");
    } catch (err) {
      const seconds = (Date.now() - startedAt) / 1000;
      const final = job.retryCount >= job.retryLimit;
      metrics.runs.inc({ job: jobName, outcome: "failed" });
      metrics.duration.observe({ job: jobName, outcome: "failed" }, seconds);
      if (final) metrics.failures.inc({ job: jobName });
      jobLog.warn({ err, seconds, final }, final ? "job failed for good" : "job failed; will retry");
      throw err;
    }
  };

  return {
    define(definition) {
      if (started) throw new Error("define() jobs before start()");
      if (!NAME_PATTERN.test(definition.name)) throw new Error(`invalid job name ${definition.name}`);
      if (definitions.has(definition.name)) throw new Error(`job ${definition.name} is defined twice`);
      definitions.set(definition.name, definition as unknown as JobDefinition<object>);
    },

    async schedule(name, data, scheduleOptions = {}) {
      if (!definitions.has(name)) throw new Error(`job ${name} is not defined`);
      const id = await boss.send(name, data, {
        ...(scheduleOptions.key === undefined ? {} : { id: jobIdOfKey(name, scheduleOptions.key), singletonKey: scheduleOptions.key }),
        ...(scheduleOptions.runAt === undefined ? {} : { startAfter: scheduleOptions.runAt }),
      });
      return id !== null;
    },

    async start() {
      started = true;
      try {
        await startWorking();
      } catch (err) {
        await boss.stop({ graceful: false, close: true }).catch(() => undefined);
        throw new Error(`scheduler did not start (is the ${SCHEDULER_SCHEMA} schema migrated?)`, { cause: err });
      }
      log.info({ jobs: [...definitions.keys()] }, "scheduler started");
    },

    async stop() {
      if (!started) return;
      started = false;
      await boss.stop({ graceful: true, timeout: options.stopGraceMs ?? 10_000, close: true });
    },
  };

  async function startWorking(): Promise<void> {
    await boss.start();
    for (const definition of definitions.values()) {
      const queue = {
        retryLimit: definition.retryLimit ?? 3,
        retryDelay: definition.retryDelaySeconds ?? 5,
        retryBackoff: true,
        expireInSeconds: definition.timeoutSeconds ?? 900,
        deleteAfterSeconds: Math.round((options.retentionDays ?? 7) * 86_400),
      };
      // createQueue keeps an existing queue's settings: updateQueue brings them up to the code's.
      await boss.createQueue(definition.name, queue);
      await boss.updateQueue(definition.name, queue);
      if (definition.cron !== undefined) await boss.schedule(definition.name, definition.cron, {}, { tz: "UTC" });
      await boss.work<object>(
        definition.name,
        { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 2 },
        async (jobs) => {
          // includeMetadata: the jobs carry startAfter, retryCount and retryLimit.
          const job = jobs[0] as JobWithMetadata<object> | undefined;
          if (job !== undefined) await run(definition, job);
        },
      );
    }
  }
}

/**
 * Installs or upgrades the scheduler's schema with the library's own
 * migrations. Runs as the database owner from the project's migration runner
 * (db.ts migrate()); provisionDatabase created the schema and gave the app
 * role DML on what the owner creates in it.
 */
export async function installSchedulerSchema(knex: Knex): Promise<void> {
  // The migration runner's own connection settings: the owner role.
  const connection = knex.client.config.connection as string | {
    host: string; port: number; database: string; user: string; password: string;
  };
  const boss = new PgBoss({
    ...(typeof connection === "string"
      ? { connectionString: connection }
      : { host: connection.host, port: connection.port, database: connection.database, user: connection.user, password: connection.password }),
    application_name: "scheduler-migration",
    max: 1,
    schema: SCHEDULER_SCHEMA,
    migrate: true,
    supervise: false,
    schedule: false,
  });
  boss.on("error", () => undefined);
  await boss.start();
  await boss.stop({ graceful: false, close: true });
}

/** Changes when the library's schema does (tests key their migrated template database on it). */
export const schedulerSchemaFingerprint = (): string => getConstructionPlans(SCHEDULER_SCHEMA);
