// Which PostgreSQL, Kafka and Redis the tests run against. By default the
// local processes of scripts/infra/infra.sh; with FLEET_TEST_INFRA=containers
// and a reachable Docker engine, containers that testcontainers starts from
// pinned official images, configured like the local processes. Either way
// the tests read the same environment variables (FLEET_PG_*, FLEET_KAFKA_*,
// FLEET_REDIS_*), so no test knows which it got.

export type TestInfraMode = "local" | "containers";

/** FLEET_TEST_INFRA: unset or "local" (default) | "containers". Anything else is refused, not guessed. */
export function testInfraMode(env: NodeJS.ProcessEnv = process.env): TestInfraMode {
  const value = (env["FLEET_TEST_INFRA"] ?? "local").trim().toLowerCase();
  if (value === "" || value === "local") return "local";
  if (value === "containers") return "containers";
  throw new Error(`FLEET_TEST_INFRA=${env["FLEET_TEST_INFRA"]}: expected "local" (the processes of scripts/infra/infra.sh) or "containers" (testcontainers, needs a Docker engine)`);
}

/**
 * Images, pinned to the versions the local infrastructure runs: PostgreSQL
 * 15 as Debian packages it, Kafka as scripts/infra/infra.sh resolves it from
 * Maven Central (FLEET_KAFKA_VERSION), Redis 7.
 */
export const PINNED_IMAGES = {
  postgres: "postgres:15.13-bookworm",
  kafka: "apache/kafka:4.4.0",
  redis: "redis:7.4.5-bookworm",
} as const;

/** Everything testcontainers needs to start one container, as plain data (unit-tested without Docker). */
export interface ContainerDefinition {
  readonly name: "postgres" | "kafka" | "redis";
  readonly image: string;
  /** Container port → host port on 127.0.0.1. Fixed host ports: Kafka must advertise the one clients use. */
  readonly ports: ReadonlyArray<{ readonly container: number; readonly host: number }>;
  readonly environment: Readonly<Record<string, string>>;
  readonly command: readonly string[];
  /** Data directories in memory: test data is throwaway, like FLEET_PG_FAST=1 locally. */
  readonly tmpfs: Readonly<Record<string, string>>;
  /** A log line that says the service accepts clients, and how often it must appear. */
  readonly readyLog: { readonly pattern: RegExp; readonly times: number };
}

export function postgresContainer(hostPort: number, superuserPassword: string): ContainerDefinition {
  return {
    name: "postgres",
    image: PINNED_IMAGES.postgres,
    ports: [{ container: 5432, host: hostPort }],
    environment: {
      POSTGRES_USER: "postgres",
      POSTGRES_PASSWORD: superuserPassword,
      // The same initdb choices as infra.sh: UTF-8, C collation, SCRAM.
      POSTGRES_INITDB_ARGS: "--encoding=UTF8 --lc-collate=C --lc-ctype=C.UTF-8 --auth-host=scram-sha-256 --auth-local=scram-sha-256",
      POSTGRES_HOST_AUTH_METHOD: "scram-sha-256",
      TZ: "UTC",
    },
    // infra.sh's fleet-local.conf with FLEET_PG_FAST=1, as CI runs it.
    command: [
      "postgres",
      "-c", "max_connections=300",
      "-c", "shared_buffers=128MB",
      "-c", "password_encryption=scram-sha-256",
      "-c", "timezone=UTC",
      "-c", "log_timezone=UTC",
      "-c", "fsync=off",
      "-c", "synchronous_commit=off",
      "-c", "full_page_writes=off",
    ],
    tmpfs: { "/var/lib/postgresql/data": "rw" },
    // The entrypoint starts a temporary server for initdb first, then the real one.
    readyLog: { pattern: /database system is ready to accept connections/, times: 2 },
  };
}

export function kafkaContainer(hostPort: number): ContainerDefinition {
  return {
    name: "kafka",
    image: PINNED_IMAGES.kafka,
    ports: [{ container: 9092, host: hostPort }],
    environment: {
      // A single KRaft node, as infra.sh formats it.
      KAFKA_NODE_ID: "1",
      KAFKA_PROCESS_ROLES: "broker,controller",
      KAFKA_LISTENERS: "PLAINTEXT://0.0.0.0:9092,CONTROLLER://localhost:9093",
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${hostPort}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
      KAFKA_INTER_BROKER_LISTENER_NAME: "PLAINTEXT",
      KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
      // Topics come from scripts/kafka/topics.yaml, never auto-created.
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
      KAFKA_NUM_PARTITIONS: "1",
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: "10",
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
      KAFKA_HEAP_OPTS: "-Xms256m -Xmx512m",
    },
    command: [],
    tmpfs: { "/tmp/kraft-combined-logs": "rw" },
    readyLog: { pattern: /Kafka Server started/, times: 1 },
  };
}

export function redisContainer(hostPort: number): ContainerDefinition {
  return {
    name: "redis",
    image: PINNED_IMAGES.redis,
    ports: [{ container: 6379, host: hostPort }],
    environment: {},
    // Cache and locks only: no persistence, as the local redis-server runs.
    command: ["redis-server", "--save", "", "--appendonly", "no"],
    tmpfs: { "/data": "rw" },
    readyLog: { pattern: /Ready to accept connections/, times: 1 },
  };
}

/** The environment the tests read, for infrastructure on these ports. */
export function testInfraEnvironment(ports: { postgres: number; kafka: number; redis: number }, superuserPassword: string): Record<string, string> {
  return {
    FLEET_PG_HOST: "127.0.0.1",
    FLEET_PG_PORT: String(ports.postgres),
    FLEET_PG_SUPERUSER_PASSWORD: superuserPassword,
    FLEET_KAFKA_PORT: String(ports.kafka),
    FLEET_KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
    FLEET_REDIS_PORT: String(ports.redis),
    FLEET_REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
  };
}

/** The Redis the tests use: FLEET_REDIS_URL, else the local one on FLEET_REDIS_PORT (56379). */
export const testRedisUrl = (env: NodeJS.ProcessEnv = process.env): string =>
  env["FLEET_REDIS_URL"] ?? `redis://127.0.0.1:${env["FLEET_REDIS_PORT"] ?? "56379"}`;

export interface RunningContainers {
  readonly environment: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the three containers with testcontainers (imported only here, so the
 * local mode never loads it). Fails with a clear message when no Docker
 * engine is reachable instead of falling back silently.
 */
export async function startTestContainers(options: { superuserPassword?: string; freePort: () => Promise<number> }): Promise<RunningContainers> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import("testcontainers");
  try {
    await getContainerRuntimeClient();
  } catch (err) {
    throw new Error(`FLEET_TEST_INFRA=containers but no Docker engine is reachable (${(err as Error).message}); unset it to use the local processes of scripts/infra/infra.sh`);
  }
  const password = options.superuserPassword ?? "postgres";
  const ports = { postgres: await options.freePort(), kafka: await options.freePort(), redis: await options.freePort() };
  const definitions = [postgresContainer(ports.postgres, password), kafkaContainer(ports.kafka), redisContainer(ports.redis)];
  const started = await Promise.all(definitions.map((d) => {
    let container = new GenericContainer(d.image)
      .withExposedPorts(...d.ports.map((p) => ({ container: p.container, host: p.host })))
      .withEnvironment({ ...d.environment })
      .withTmpFs({ ...d.tmpfs })
      .withWaitStrategy(Wait.forLogMessage(d.readyLog.pattern, d.readyLog.times))
      .withStartupTimeout(120_000);
    if (d.command.length > 0) container = container.withCommand([...d.command]);
    return container.start();
  }));
  return {
    environment: testInfraEnvironment(ports, password),
    async stop() {
      await Promise.all(started.map((c) => c.stop()));
    },
  };
}
