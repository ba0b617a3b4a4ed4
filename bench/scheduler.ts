// Chooses the kit's Postgres job library by measurement: pg-boss against
// graphile-worker, in the same run, on the same PostgreSQL, each in a fresh
// database, each with TWO replicas (two instances in this process, like two
// pods) working one queue:
//   install   time to create the library's schema with its own migrations
//   now       schedule -> handler start of a job due now, one job at a time
//   due       due time -> handler start of a job scheduled 1 s ahead
//   idle      both replicas idle: SQL statements per second they send (counted
//             on pg's Client.query), this process's CPU ms per second, and
//             connections they hold open
// Medians and p90 over BENCH_JOBS jobs; the machine is shared and noisy.
//   node dist/bench/scheduler.js        (BENCH_JOBS=20, BENCH_IDLE_SECONDS=15)
import { randomUUID } from "node:crypto";
import { Logger as GraphileLogger, makeWorkerUtils, run as runGraphile, runMigrations } from "graphile-worker";
import pg from "pg";
import { PgBoss } from "pg-boss";

const JOBS = Number(process.env["BENCH_JOBS"] ?? 20);
const IDLE_SECONDS = Number(process.env["BENCH_IDLE_SECONDS"] ?? 15);
const server = {
  host: process.env["FLEET_PG_HOST"] ?? "127.0.0.1",
  port: Number(process.env["FLEET_PG_PORT"] ?? 55432),
  user: process.env["FLEET_PG_SUPERUSER"] ?? "postgres",
  password: process.env["FLEET_PG_SUPERUSER_PASSWORD"] ?? "postgres",
};

// Every statement either library sends goes through pg.Client#query (both use the one pg).
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  statements += 1;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

/** One replica set under test: two workers on one queue, plus a way to add jobs. */
interface Subject {
  /** Starts both replicas; `onRun` is called when a handler starts, with the job's payload. */
  start(onRun: (payload: { seq: number }) => void): Promise<void>;
  add(seq: number, runAt?: Date): Promise<void>;
  stop(): Promise<void>;
}

interface Variant {
  readonly name: string;
  install(connectionString: string): Promise<void>;
  subject(connectionString: string): Subject;
}

const QUEUE = "bench-job";

const pgBoss = (label: string, tuning: { pollingIntervalSeconds: number; notify: boolean }): Variant => ({
  name: label,
  async install(connectionString) {
    const boss = new PgBoss({ connectionString, supervise: false, schedule: false, max: 1 });
    await boss.start();
    await boss.stop({ graceful: false });
  },
  subject(connectionString) {
    const replicas = [0, 1].map(() => new PgBoss({ connectionString, migrate: false, max: 3, useListenNotify: tuning.notify }));
    return {
      async start(onRun) {
        for (const boss of replicas) {
          boss.on("error", () => undefined);
          await boss.start();
          await boss.createQueue(QUEUE, tuning.notify ? { notify: true } as object : {});
          // With notify, polling is only the backstop for jobs due later (a NOTIFY is sent for
          // jobs due now): its default of 30 s would make a job due in 1 s start ~30 s late.
          const polling = { pollingIntervalSeconds: tuning.pollingIntervalSeconds, notifyPollingIntervalSeconds: tuning.pollingIntervalSeconds };
          await boss.work<{ seq: number }>(QUEUE, polling, async ([job]) => {
            if (job) onRun(job.data);
          });
        }
      },
      async add(seq, runAt) {
        await replicas[0]!.send(QUEUE, { seq }, runAt ? { startAfter: runAt } : {});
      },
      async stop() {
        for (const boss of replicas) await boss.stop({ graceful: false });
      },
    };
  },
});

const silent = new GraphileLogger(() => () => undefined);

const graphileWorker = (label: string, tuning: { pollInterval: number }): Variant => ({
  name: label,
  async install(connectionString) {
    await runMigrations({ connectionString, logger: silent });
  },
  subject(connectionString) {
    let runners: Array<Awaited<ReturnType<typeof runGraphile>>> = [];
    let utils: Awaited<ReturnType<typeof makeWorkerUtils>> | undefined;
    return {
      async start(onRun) {
        const taskList = { [QUEUE]: async (payload: unknown) => onRun(payload as { seq: number }) };
        runners = await Promise.all([0, 1].map(() =>
          runGraphile({ connectionString, concurrency: 1, maxPoolSize: 3, pollInterval: tuning.pollInterval, noHandleSignals: true, logger: silent, taskList })));
        utils = await makeWorkerUtils({ connectionString, logger: silent });
      },
      async add(seq, runAt) {
        await utils!.addJob(QUEUE, { seq }, runAt ? { runAt } : {});
      },
      async stop() {
        await utils?.release();
        for (const runner of runners) await runner.stop();
      },
    };
  },
});

const VARIANTS: readonly Variant[] = [
  pgBoss("pg-boss 12, poll 2 s (default)", { pollingIntervalSeconds: 2, notify: false }),
  pgBoss("pg-boss 12, poll 0.5 s", { pollingIntervalSeconds: 0.5, notify: false }),
  pgBoss("pg-boss 12, LISTEN/NOTIFY + poll 2 s", { pollingIntervalSeconds: 2, notify: true }),
  graphileWorker("graphile-worker 0.18 (LISTEN/NOTIFY, poll 2 s)", { pollInterval: 2_000 }),
];

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;

async function withDatabase<T>(work: (connectionString: string, admin: pg.Client) => Promise<T>): Promise<T> {
  const database = `bench_scheduler_${randomUUID().replace(/-/g, "").slice(0, 10)}`;
  const root = new pg.Client({ ...server, database: "postgres" });
  await root.connect();
  await root.query(`CREATE DATABASE ${database}`);
  const admin = new pg.Client({ ...server, database });
  await admin.connect();
  try {
    return await work(`postgres://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${database}`, admin);
  } finally {
    await admin.end();
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await root.end();
  }
}

interface Row { variant: string; installMs: number; nowP50: number; nowP90: number; dueP50: number; dueP90: number; idleStatements: number; idleCpu: number; connections: number }

async function measure(variant: Variant): Promise<Row> {
  return withDatabase(async (connectionString, admin) => {
    const t0 = performance.now();
    await variant.install(connectionString);
    const installMs = performance.now() - t0;
    const subject = variant.subject(connectionString);
    const waiting = new Map<number, (at: number) => void>();
    await subject.start(({ seq }) => waiting.get(seq)?.(performance.now()));
    const ran = (seq: number) => new Promise<number>((resolve) => waiting.set(seq, resolve));
    try {
      await new Promise((r) => setTimeout(r, 1_000)); // both replicas settled
      const now: number[] = [];
      const due: number[] = [];
      for (let seq = 0; seq < JOBS; seq++) {
        const started = ran(seq);
        const at = performance.now();
        await subject.add(seq);
        now.push((await started) - at);
      }
      for (let seq = JOBS; seq < 2 * JOBS; seq++) {
        const started = ran(seq);
        const dueAt = Date.now() + 1_000;
        const duePerf = performance.now() + 1_000;
        await subject.add(seq, new Date(dueAt));
        due.push((await started) - duePerf);
      }
      // Idle: nothing to do, both replicas polling or listening.
      await new Promise((r) => setTimeout(r, 2_000));
      const s0 = statements;
      const c0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1_000));
      const cpu = process.cpuUsage(c0);
      const idleStatements = (statements - s0) / IDLE_SECONDS;
      const connections = Number((await admin.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")).rows[0]?.n);
      return {
        variant: variant.name, installMs,
        nowP50: quantile(now, 0.5), nowP90: quantile(now, 0.9),
        dueP50: quantile(due, 0.5), dueP90: quantile(due, 0.9),
        idleStatements, idleCpu: (cpu.user + cpu.system) / 1_000 / IDLE_SECONDS, connections,
      };
    } finally {
      await subject.stop();
    }
  });
}

const rows: Row[] = [];
for (const variant of VARIANTS) {
  process.stderr.write(`measuring ${variant.name}...\n`);
  rows.push(await measure(variant));
}
const base = rows[0]!;
const ms = (x: number) => x.toFixed(0);
console.log(`\nScheduler libraries, 2 replicas each, ${JOBS} jobs per latency figure, ${IDLE_SECONDS} s idle; node ${process.version}\n`);
console.log("| library | install ms | due now: start p50 / p90 ms | due in 1 s: lag p50 / p90 ms | idle statements/s | vs pg-boss default | idle CPU ms/s | connections |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(`| ${r.variant} | ${ms(r.installMs)} | ${ms(r.nowP50)} / ${ms(r.nowP90)} | ${ms(r.dueP50)} / ${ms(r.dueP90)} | ${r.idleStatements.toFixed(1)} | ${(r.idleStatements / base.idleStatements).toFixed(2)}x | ${r.idleCpu.toFixed(1)} | ${r.connections} |`);
}
