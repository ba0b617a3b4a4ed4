// Test support for the events backbone: topics on the real local broker,
// reading a topic back, a private broker that a test may stop and start.
// Used only by tests and benchmarks; production code never imports it.
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Kafka, logLevel, type Admin, type IHeaders } from "kafkajs";
import { privateInfra } from "./private-infra.js";
import { headerString } from "../events/envelope.js";
import { filterKafkajsTimeoutWarning } from "../events/kafka.js";

export const TEST_BROKERS = (process.env["FLEET_KAFKA_BROKERS"] ?? `127.0.0.1:${process.env["FLEET_KAFKA_PORT"] ?? "59092"}`)
  .split(",").map((b) => b.trim()).filter((b) => b !== "");

export function testKafka(brokers: readonly string[] = TEST_BROKERS, clientId = "fleetmesh-test"): Kafka {
  filterKafkajsTimeoutWarning();
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 10 },
  });
}

/** A topic prefix no other test uses: `t<random>.` */
export const uniqueTopicPrefix = (): string => `t${randomUUID().replace(/-/g, "").slice(0, 10)}.`;

/** Creates each topic and its `.dlq` (auto-create is off on the broker). */
/** A test file's view of the local broker: its own topic prefix, and an admin client. */
export interface KafkaTestContext {
  readonly kafka: Kafka;
  readonly admin: Admin;
  /** Put in front of every topic the file uses, so files never read each other's messages. */
  readonly prefix: string;
  /** Deletes the prefix's topics and disconnects (a test.after.always hook). */
  close(): Promise<void>;
}

/** Connects, picks a fresh topic prefix and creates `topics` (and their dead-letter topics) under it. */
export async function openKafkaTestContext(topics: readonly string[] = [], brokers: readonly string[] = TEST_BROKERS): Promise<KafkaTestContext> {
  const kafka = testKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  const prefix = uniqueTopicPrefix();
  if (topics.length > 0) await createTopics(admin, topics.map((topic) => `${prefix}${topic}`));
  return {
    kafka,
    admin,
    prefix,
    async close() {
      await deleteTopicsWithPrefix(admin, prefix);
      await admin.disconnect();
    },
  };
}

/** Each topic and its `.dlq`, ready to use (see createExactTopics). */
export async function createTopics(admin: Admin, topics: readonly string[], partitions = 3): Promise<void> {
  await createExactTopics(admin, topics.flatMap((t) => [t, `${t}.dlq`]), partitions);
}

/** Exactly these topics (a test of a missing `.dlq` needs one without it), once every partition has a leader. */
export async function createExactTopics(admin: Admin, all: readonly string[], partitions = 3): Promise<void> {
  // kafkajs's own waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION,
  // which the broker answers while a new topic's metadata is still
  // propagating (common when several test files create topics at once);
  // wait for every partition to have a leader instead.
  await admin.createTopics({ waitForLeaders: false, topics: all.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
  await waitFor("the new topics' partition leaders", async () => {
    const { topics: found } = await admin.fetchTopicMetadata({ topics: [...all] });
    return found.length === all.length && found.every((t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0));
  }, 30_000, 50);
}

export async function deleteTopicsWithPrefix(admin: Admin, prefix: string): Promise<void> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => undefined);
}

export interface ReadMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | undefined;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
  header(name: string): string | undefined;
}

/**
 * Every message in the topic now (up to the end offsets at the time of the
 * call), read with a throwaway consumer group.
 */
export async function readTopic(kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    // A broker that has just started can answer NOT_LEADER_FOR_PARTITION for
    // a moment after its metadata already names it leader; kafkajs' admin
    // does not retry that here.
    const offsets = await waitFor(`the end offsets of ${topic}`, () => admin.fetchTopicOffsets(topic), 15_000, 200);
    for (const p of offsets) ends.set(p.partition, BigInt(p.high));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  const out: ReadMessage[] = [];
  if (pending.size === 0) return out;
  const groupId = `read-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const high = ends.get(partition) ?? 0n;
        if (BigInt(message.offset) < high) {
          const headers = message.headers ?? {};
          out.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key?.toString("utf8"),
            value: message.value,
            headers,
            header: (name) => headerString(headers, name),
          });
        }
        if (BigInt(message.offset) >= high - 1n) {
          pending.delete(partition);
          if (pending.size === 0) done();
        }
      },
    });
    const timer = new AbortController();
    const timedOut = await Promise.race([finished.then(() => false), sleep(timeoutMs, true, { signal: timer.signal })]);
    timer.abort();
    if (timedOut) throw new Error(`reading ${topic} timed out; partitions left: ${[...pending].join(",")}`);
  } finally {
    await consumer.disconnect();
    const admin2 = kafka.admin();
    await admin2.connect().then(() => admin2.deleteGroups([groupId])).catch(() => undefined).finally(() => admin2.disconnect());
  }
  return out;
}

/** Messages the group has not committed yet, over every partition of `topic`. */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<bigint> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  let lag = 0n;
  for (const end of ends) {
    const c = committed?.partitions.find((p) => p.partition === end.partition);
    const at = c && BigInt(c.offset) >= 0n ? BigInt(c.offset) : BigInt(end.low);
    lag += BigInt(end.high) - at;
  }
  return lag;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await sleep(everyMs);
  }
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });

/** How clients reach a private broker started with `security: "sasl_ssl"`. */
export interface PrivateBrokerSecurity {
  /** PEM of the broker's own CA, made by infra.sh in the broker's directory. */
  readonly tls: { readonly caFile: string };
  readonly sasl: { readonly mechanism: "scram-sha-512"; readonly username: string; readonly password: string };
}

export interface PrivateBroker {
  readonly brokers: readonly string[];
  /** undefined for a plaintext broker. */
  readonly security: PrivateBrokerSecurity | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops the broker and deletes its data. Safe to call twice. */
  destroy(): Promise<void>;
}

export interface PrivateBrokerOptions {
  /**
   * "sasl_ssl": like Amazon MSK with SASL/SCRAM, the client port requires TLS
   * (a CA of the broker's own) and SCRAM-SHA-512 (FLEET_KAFKA_SECURITY in
   * scripts/infra/infra.sh). Default "plaintext".
   */
  readonly security?: "plaintext" | "sasl_ssl";
}

/** `count` distinct free ports. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * A Kafka broker of its own for a test that stops and restarts one, or that
 * needs one set up differently from the shared broker other tests (and
 * developers) use, which keeps running. Started and stopped by
 * scripts/infra/infra.sh with its own data directory and ports.
 */
export async function createPrivateBroker(options: PrivateBrokerOptions = {}): Promise<PrivateBroker> {
  const mode = options.security ?? "plaintext";
  const dir = mkdtempSync(join(tmpdir(), "fleetmesh-kafka-"));
  const [port, controllerPort, internalPort] = (await freePorts(3)) as [number, number, number];
  const security: PrivateBrokerSecurity | undefined = mode === "sasl_ssl"
    ? {
      tls: { caFile: join(dir, "kafka", "tls", "ca.pem") },
      sasl: { mechanism: "scram-sha-512", username: "fleetmesh-test", password: `pw-${randomUUID()}` },
    }
    : undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLEET_LOCAL_DIR: dir,
    FLEET_INFRA_COMPONENTS: "kafka",
    // Explicit either way: a developer's shell may hold the sasl_ssl exports of `infra.sh env`.
    FLEET_KAFKA_SECURITY: mode,
    FLEET_KAFKA_PORT: String(port),
    FLEET_KAFKA_CONTROLLER_PORT: String(controllerPort),
    FLEET_KAFKA_BROKERS: `127.0.0.1:${port}`,
    FLEET_KAFKA_HEAP_OPTS: "-Xms128m -Xmx384m",
  };
  if (security) {
    env["FLEET_KAFKA_INTERNAL_PORT"] = String(internalPort);
    env["FLEET_KAFKA_SASL_USERNAME"] = security.sasl.username;
    env["FLEET_KAFKA_SASL_PASSWORD"] = security.sasl.password;
  }
  return {
    brokers: [`127.0.0.1:${port}`],
    security,
    ...privateInfra(dir, env),
  };
}
