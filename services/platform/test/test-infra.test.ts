import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import test from "ava";
import { repoRoot } from "../src/db.js";
import {
  kafkaContainer,
  PINNED_IMAGES,
  postgresContainer,
  redisContainer,
  startTestContainers,
  testInfraEnvironment,
  testInfraMode,
  testRedisUrl,
} from "../src/testing/infra.js";

// The test infrastructure selection and the container definitions. There is
// no Docker engine on the machines this project is developed and tested on,
// so the containers themselves are only described and checked here; see the
// README's "Test infrastructure" for what was verified where.

const infraScript = readFileSync(resolve(repoRoot, "scripts/infra/infra.sh"), "utf8");

test("FLEET_TEST_INFRA selects local processes by default and containers on request, and refuses anything else", (t) => {
  t.is(testInfraMode({}), "local");
  t.is(testInfraMode({ FLEET_TEST_INFRA: "" }), "local");
  t.is(testInfraMode({ FLEET_TEST_INFRA: "local" }), "local");
  t.is(testInfraMode({ FLEET_TEST_INFRA: " Containers " }), "containers");
  t.throws(() => testInfraMode({ FLEET_TEST_INFRA: "docker" }), { message: /FLEET_TEST_INFRA=docker: expected "local" .* or "containers"/ });
});

test("images are pinned to the versions the local infrastructure runs", (t) => {
  for (const image of Object.values(PINNED_IMAGES)) t.regex(image, /^[a-z/]+:\d+\.\d+(\.\d+)?(-[a-z]+)?$/, `${image} is pinned to a full version`);
  const localKafka = /FLEET_KAFKA_VERSION="\$\{FLEET_KAFKA_VERSION:-([\d.]+)\}"/.exec(infraScript)?.[1];
  t.is(PINNED_IMAGES.kafka as string, `apache/kafka:${localKafka}`);
  t.regex(infraScript, /postgresql\/15\/bin/);
  t.true(PINNED_IMAGES.postgres.startsWith("postgres:15."));
});

test("PostgreSQL is configured like infra.sh's fleet-local.conf with FLEET_PG_FAST=1", (t) => {
  const pg = postgresContainer(55999, "pw");
  const settings = new Map<string, string>();
  for (let i = 0; i < pg.command.length; i += 1) {
    if (pg.command[i] === "-c") {
      const [k, v] = pg.command[i + 1]!.split("=");
      settings.set(k!, v!);
    }
  }
  // The local settings, read from the script itself.
  const conf = /cat >"\$tmp" <<EOF\n([\s\S]*?)\nEOF/.exec(infraScript)?.[1] ?? "";
  const fast = /fast_conf=\$'(fsync = off[^']*)'/.exec(infraScript)?.[1]?.split("\\n") ?? [];
  const local = [...conf.split("\n"), ...fast]
    .map((line) => /^(\w+) = '?([^'#\s]+)'?/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null && !["listen_addresses", "port", "unix_socket_directories"].includes(m[1]!));
  t.true(local.length >= 8, `read ${local.length} settings from infra.sh`);
  for (const [, key, value] of local) t.is(settings.get(key!), value, key);
  t.deepEqual(pg.ports, [{ container: 5432, host: 55999 }]);
  t.like(pg.environment, { POSTGRES_USER: "postgres", POSTGRES_PASSWORD: "pw", POSTGRES_HOST_AUTH_METHOD: "scram-sha-256" });
  t.regex(pg.environment["POSTGRES_INITDB_ARGS"]!, /--encoding=UTF8 --lc-collate=C --lc-ctype=C\.UTF-8/);
});

test("Kafka is a single KRaft node advertising the host port, with the local broker's topic settings", (t) => {
  const kafka = kafkaContainer(59555);
  t.deepEqual(kafka.ports, [{ container: 9092, host: 59555 }]);
  t.is(kafka.environment["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://127.0.0.1:59555");
  t.is(kafka.environment["KAFKA_PROCESS_ROLES"], "broker,controller");
  const local = (key: string): string | undefined => new RegExp(`^${key.replace(/\./g, "\\.")}=(.+)$`, "m").exec(infraScript)?.[1];
  for (const key of ["auto.create.topics.enable", "num.partitions", "offsets.topic.replication.factor", "offsets.topic.num.partitions",
    "transaction.state.log.replication.factor", "transaction.state.log.min.isr", "group.initial.rebalance.delay.ms"]) {
    const envName = `KAFKA_${key.toUpperCase().replace(/\./g, "_")}`;
    t.is(kafka.environment[envName], local(key), key);
  }
});

test("Redis keeps nothing on disk, like the local one", (t) => {
  const redis = redisContainer(56999);
  t.deepEqual(redis.ports, [{ container: 6379, host: 56999 }]);
  t.deepEqual(redis.command, ["redis-server", "--save", "", "--appendonly", "no"]);
});

test("the tests read the containers' addresses from the same variables as the local processes'", (t) => {
  const env = testInfraEnvironment({ postgres: 1, kafka: 2, redis: 3 }, "pw");
  t.like(env, { FLEET_PG_PORT: "1", FLEET_KAFKA_BROKERS: "127.0.0.1:2", FLEET_REDIS_URL: "redis://127.0.0.1:3", FLEET_PG_SUPERUSER_PASSWORD: "pw" });
  t.is(testRedisUrl(env), "redis://127.0.0.1:3");
  t.is(testRedisUrl({}), "redis://127.0.0.1:56379");
  t.is(testRedisUrl({ FLEET_REDIS_PORT: "7000" }), "redis://127.0.0.1:7000");
});

test("without a Docker engine, the containers mode fails and says what to do", async (t) => {
  const env = { ...process.env };
  try {
    // No engine here: point testcontainers at a socket that does not exist, so the answer is quick and certain.
    process.env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock";
    process.env["TESTCONTAINERS_RYUK_DISABLED"] = "true";
    const err = await t.throwsAsync(startTestContainers({ freePort: async () => 1 }));
    t.regex(err?.message ?? "", /no Docker engine is reachable .* unset it to use the local processes/);
  } finally {
    process.env = env;
  }
});
