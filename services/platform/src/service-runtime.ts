import { createTokenVerifier, type TokenVerifier } from "./auth.js";
import type { ServiceConfig } from "./config.js";
import { createDatabase, pendingMigrations, type Database } from "./db.js";
import { databaseErrorInterceptor } from "./db-errors.js";
import { correlationInterceptor } from "./events/correlation.js";
import type { TextLimits } from "./grpc/request-text.js";
import { createGrpcServer, type Interceptor, type ServiceBinding } from "./grpc/server.js";
import { idempotencyInterceptor, idempotencyPurgeJob } from "./idempotency.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics, registerPoolGauges, type Metrics } from "./metrics.js";
import type { ConsumedEvent, EventHandler } from "./events/consumer.js";
import { createEventWorkers, type EventWorkers } from "./events/workers.js";
import { createPeers, type Peers } from "./peers/peers.js";
import { createOpsServer, type OpsRoute, type OpsServer, type Readiness, type ReadinessCheck } from "./ops-server.js";
import { createScheduler, type Scheduler } from "./scheduler.js";

export interface ServiceDependencies {
  readonly config: ServiceConfig;
  readonly db: Database;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Clients of the services in `config.peers`, and the service's own credential. */
  readonly peers: Peers;
  /** Durable jobs: define() them while building the service; the runtime starts and stops it. */
  readonly scheduler: Scheduler;
}

/**
 * What a service adds to the kit's runtime: its gRPC services, the event
 * handlers of its consumer group, its own readiness checks, ops routes and
 * stop hooks. Built once by the service's compose(deps).
 */
export interface ServiceComposition<Exposed extends object = object> {
  readonly bindings: readonly ServiceBinding[];
  /** Handles the running service exposes besides the kit's (tests and tools reach use cases this way). */
  readonly expose?: Exposed;
  /** Handlers of the service's consumer group (kafka.consumer); none means no consumer. */
  readonly eventHandlers?: readonly EventHandler[];
  readonly readinessChecks?: readonly ReadinessCheck[];
  /** Extra GET routes on the ops port. */
  readonly opsRoutes?: readonly OpsRoute[];
  readonly interceptors?: readonly Interceptor[];
  /** Request fields allowed more than MAX_TEXT_FIELD_LENGTH characters, by full proto name. */
  readonly textLimits?: TextLimits;
  /** Run after the server drained and the workers stopped, before the pool closes (clients, timers). */
  readonly onStop?: () => Promise<void> | void;
}

/** A service's composition root: adapters wired to use cases, from the kit's dependencies. */
export type Compose<Exposed extends object = object> = (deps: ServiceDependencies) => ServiceComposition<Exposed> | Promise<ServiceComposition<Exposed>>;

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

export interface StartServiceOptions<Exposed extends object = object> {
  readonly config: ServiceConfig;
  /** Defaults to a pino logger at the configured level. */
  readonly log?: Logger | undefined;
  readonly compose: Compose<Exposed>;
  /** Overrides the verifier built from config (tests with their own keys). */
  readonly verifier?: TokenVerifier | undefined;
  /** How often the readiness checks run to keep gRPC health current (default 2 s). */
  readonly readinessIntervalMs?: number | undefined;
  /** Tests only: see EventConsumerOptions.afterEffectCommitted. */
  readonly afterEventEffectCommitted?: ((event: ConsumedEvent) => void | Promise<void>) | undefined;
}

export interface RunningService extends ServiceDependencies {
  readonly grpcPort: number;
  readonly opsPort: number;
  readonly workers: readonly BackgroundWorker[];
  /** The outbox relay and the event consumer the kit made from `kafka` (none when Kafka is disabled). */
  readonly events: EventWorkers;
  stop(): Promise<void>;
}

/**
 * Starts a domain service: database pool, gRPC server (health, reflection,
 * auth, idempotency keys) and the ops port. Health turns SERVING only once
 * everything listens; stop() reverses it and drains within the grace period.
 */
export async function startService<Exposed extends object = object>(options: StartServiceOptions<Exposed>): Promise<RunningService & Exposed> {
  const { config } = options;
  const log = options.log ?? createLogger({ service: config.service.name, level: config.log.level });
  const metrics = createMetrics(config.service.name);
  const db = createDatabase(config.database, config.service.name, log);
  registerPoolGauges(metrics, config.database.database, () => db.poolStats());
  const peers = createPeers(config, log);
  const scheduler = createScheduler({ database: config.database, applicationName: `${config.service.name}-scheduler`, log, metrics });
  scheduler.define(idempotencyPurgeJob(db));
  const deps: ServiceDependencies = { config, db, log, metrics, peers, scheduler };
  let composition: ServiceComposition<Exposed>;
  try {
    composition = await options.compose(deps);
  } catch (err) {
    peers.close();
    await db.close();
    throw err;
  }
  const events = createEventWorkers(config.kafka, deps, {
    handlers: composition.eventHandlers ?? [],
    ...(options.afterEventEffectCommitted ? { afterEffectCommitted: options.afterEventEffectCommitted } : {}),
  });

  const verifier = options.verifier ?? (config.auth.enabled
    ? createTokenVerifier(config.auth, undefined, (err) => log.error({ err: err.message }, "token keys refused: the JWKS holds private key material"))
    : undefined);
  const server = createGrpcServer({
    bindings: composition.bindings,
    log,
    metrics,
    verifier,
    ...(composition.textLimits ? { textLimits: composition.textLimits } : {}),
    // The database error table outermost: it also sees the idempotency
    // layer's queries. Then correlation: everything the call does, events it
    // writes to the outbox included, knows its request id.
    interceptors: [
      databaseErrorInterceptor(() => monitor.checkSoon()),
      correlationInterceptor(),
      idempotencyInterceptor(db, config.idempotency.ttlHours),
      ...(composition.interceptors ?? []),
    ],
  });

  let migrationsApplied = false;
  let serving: "SERVING" | "NOT_SERVING" = "NOT_SERVING";
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
    ...(composition.readinessChecks ?? []),
  ], composition.opsRoutes ?? [], (readiness) => {
    const status = readiness.ready ? "SERVING" : "NOT_SERVING";
    if (status === serving) return;
    serving = status;
    server.setServing(status);
    if (readiness.ready) log.info({ checks: readiness.checks }, "ready: gRPC health SERVING");
    else log.warn({ checks: readiness.checks }, "not ready: gRPC health NOT_SERVING");
  });
  const monitor = readinessMonitor(ops, options.readinessIntervalMs ?? 2_000);

  // Before listening: a schema the migration runner has not installed fails start-up.
  await scheduler.start();
  const grpcPort = await server.listen(config.grpc.host, config.grpc.port);
  const opsPort = await ops.listen(config.ops.host, config.ops.port);
  const workers = events.all;
  for (const worker of workers) worker.start();
  // gRPC health follows /readyz's checks from here on: SERVING once they pass.
  await monitor.start();
  log.info({ grpcPort, opsPort, workers: workers.map((w) => w.name) }, "service started");

  return {
    ...(composition.expose as Exposed),
    ...deps,
    grpcPort,
    opsPort,
    workers,
    events,
    async stop() {
      monitor.stop();
      server.setServing("NOT_SERVING");
      ops.setDraining();
      await server.shutdown(config.shutdown.graceMs);
      // Consumers first (their events may append to the outbox), then the relay.
      for (const worker of [...workers].reverse()) {
        await worker.stop().catch((err: unknown) => log.error({ err, worker: worker.name }, "worker did not stop cleanly"));
      }
      await scheduler.stop();
      await composition.onStop?.();
      peers.close();
      await db.close();
      await ops.close();
    },
  };
}

/**
 * Runs the readiness checks on a timer, and at once (at most every 250 ms)
 * when a call finds the database unavailable, so gRPC health turns
 * NOT_SERVING within a tick of an outage and SERVING again after it.
 */
function readinessMonitor(ops: OpsServer, intervalMs: number) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<Readiness> | undefined;
  let lastRun = 0;
  let stopped = false;
  const run = (): Promise<Readiness> => {
    lastRun = Date.now();
    running ??= ops.readiness().finally(() => (running = undefined));
    return running;
  };
  return {
    async start() {
      await run();
      if (stopped) return;
      timer = setInterval(() => void run(), intervalMs);
      timer.unref();
    },
    checkSoon() {
      if (!stopped && Date.now() - lastRun >= 250) void run();
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
