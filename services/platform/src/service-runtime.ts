import { createTokenVerifier, type TokenVerifier } from "./auth.js";
import type { ServiceConfig } from "./config.js";
import { createDatabase, pendingMigrations, type Database } from "./db.js";
import { correlationInterceptor } from "./events/correlation.js";
import { createGrpcServer, type Interceptor, type ServiceBinding } from "./grpc/server.js";
import { idempotencyInterceptor, idempotencyPurgeJob } from "./idempotency.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics, registerPoolGauges, type Metrics } from "./metrics.js";
import { createOpsServer, type OpsRoute, type ReadinessCheck } from "./ops-server.js";
import { createScheduler, type Scheduler } from "./scheduler.js";

export interface ServiceDependencies {
  readonly config: ServiceConfig;
  readonly db: Database;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Durable jobs: define() them while building the service; the runtime starts and stops it. */
  readonly scheduler: Scheduler;
}

/**
 * A background loop of a service (the outbox relay, an event consumer).
 * Started once the server listens; stopped after the server has drained and
 * before the database pool closes. start() must not wait for external
 * systems (Kafka may be down): the worker keeps retrying on its own.
 */
export interface BackgroundWorker {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

export interface StartServiceOptions {
  readonly config: ServiceConfig;
  /** Defaults to a pino logger at the configured level. */
  readonly log?: Logger;
  readonly bindings: (deps: ServiceDependencies) => readonly ServiceBinding[];
  readonly interceptors?: readonly Interceptor[];
  readonly readinessChecks?: readonly ReadinessCheck[];
  /** Extra GET routes on the ops port. */
  readonly opsRoutes?: (deps: ServiceDependencies) => readonly OpsRoute[];
  /** Closes what the service opened besides the pool (clients, consumers), after draining. */
  readonly onStop?: () => Promise<void>;
  /** Overrides the verifier built from config (tests with their own keys). */
  readonly verifier?: TokenVerifier;
  /** Background workers built from the service's dependencies (see BackgroundWorker). */
  readonly workers?: (deps: ServiceDependencies) => readonly BackgroundWorker[];
}

export interface RunningService extends ServiceDependencies {
  readonly grpcPort: number;
  readonly opsPort: number;
  readonly workers: readonly BackgroundWorker[];
  stop(): Promise<void>;
}

/**
 * Starts a domain service: database pool, gRPC server (health, reflection,
 * auth, idempotency keys) and the ops port. Health turns SERVING only once
 * everything listens; stop() reverses it and drains within the grace period.
 */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const { config } = options;
  const log = options.log ?? createLogger({ service: config.service.name, level: config.log.level });
  const metrics = createMetrics(config.service.name);
  const db = createDatabase(config.database, config.service.name);
  registerPoolGauges(metrics, config.database.database, () => db.poolStats());
  const scheduler = createScheduler({ database: config.database, applicationName: `${config.service.name}-scheduler`, log, metrics });
  scheduler.define(idempotencyPurgeJob(db));
  const deps: ServiceDependencies = { config, db, log, metrics, scheduler };

  const verifier = options.verifier ?? (config.auth.enabled ? createTokenVerifier(config.auth) : undefined);
  const server = createGrpcServer({
    bindings: options.bindings(deps),
    log,
    metrics,
    verifier,
    // Correlation first: everything the call does, events it writes to the
    // outbox included, knows its request id.
    interceptors: [correlationInterceptor(), idempotencyInterceptor(db, config.idempotency.ttlHours), ...(options.interceptors ?? [])],
  });

  let migrationsApplied = false;
  const ops = createOpsServer(metrics.registry, [
    {
      name: "database",
      check: async () => {
        await db.knex.raw("SELECT 1");
        return undefined;
      },
    },
    {
      name: "migrations",
      check: async () => {
        if (migrationsApplied) return undefined;
        const pending = await pendingMigrations(db.knex, config.database.migrationsDir);
        migrationsApplied = pending.length === 0;
        return migrationsApplied ? undefined : `pending: ${pending.join(", ")}`;
      },
    },
    ...(options.readinessChecks ?? []),
  ], options.opsRoutes?.(deps) ?? []);

  // Before listening: a schema the migration runner has not installed fails start-up.
  await scheduler.start();
  const grpcPort = await server.listen(config.grpc.host, config.grpc.port);
  const opsPort = await ops.listen(config.ops.host, config.ops.port);
  const workers = options.workers?.(deps) ?? [];
  for (const worker of workers) worker.start();
  server.setServing("SERVING");
  log.info({ grpcPort, opsPort, workers: workers.map((w) => w.name) }, "service started");

  return {
    ...deps,
    grpcPort,
    opsPort,
    workers,
    async stop() {
      server.setServing("NOT_SERVING");
      ops.setDraining();
      await server.shutdown(config.shutdown.graceMs);
      // Consumers first (their events may append to the outbox), then the relay.
      for (const worker of [...workers].reverse()) {
        await worker.stop().catch((err: unknown) => log.error({ err, worker: worker.name }, "worker did not stop cleanly"));
      }
      await scheduler.stop();
      await options.onStop?.();
      await db.close();
      await ops.close();
    },
  };
}
