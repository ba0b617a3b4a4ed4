import { readFileSync } from "node:fs";
import { Kafka, logLevel, type KafkaConfig as KafkaClientConfig, type LogEntry, type logCreator, type SASLOptions } from "kafkajs";
import { kafkaConfigSchema, type KafkaConfig } from "../config.js";
import type { Logger } from "../logger.js";

/** Physical topic name: the catalog's logical name behind the configured prefix. */
export const physicalTopic = (prefix: string, logicalTopic: string): string => `${prefix}${logicalTopic}`;

/** Dead-letter topic of a topic (created with it from scripts/kafka/topics.yaml). */
export const deadLetterTopic = (topic: string): string => `${topic}.dlq`;

let warningFilterInstalled = false;

/**
 * kafkajs 2.2.4 schedules setTimeout() with a negative delay in its request
 * queue; Node >= 23 reports that as a TimeoutNegativeWarning on every
 * process that talks to Kafka. Node clamps the delay to 1 ms as it always
 * did, so the warning is noise: drop it and pass every other warning on to
 * the listeners that were there (Node's own printer included).
 */
export function filterKafkajsTimeoutWarning(): void {
  if (warningFilterInstalled) return;
  warningFilterInstalled = true;
  const previous = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name === "TimeoutNegativeWarning") return;
    for (const listener of previous) listener(warning);
  });
}

// kafkajs logs broker errors it retries itself (coordinator loading, leader
// moves, a broker restarting) at ERROR. The events kit logs the failures that
// need an operator (a publish or dead-letter that did not happen, a consumer
// crash) at error itself, so kafkajs' own lines are demoted one level.
const LEVEL_NAMES: Readonly<Record<number, "warn" | "info" | "debug">> = {
  [logLevel.ERROR]: "warn",
  [logLevel.WARN]: "info",
  [logLevel.INFO]: "debug",
  [logLevel.DEBUG]: "debug",
};

// Logged once per idempotent producer with bounded retries. The relay bounds
// retries on purpose and replaces the producer after any failed send, so no
// sequence-number gap can follow; consumers deduplicate anyway.
const SUPPRESSED = ["Limiting retries for the idempotent producer"];

const pinoLogCreator = (log: Logger): logCreator => () => ({ namespace, level, log: entry }: LogEntry) => {
  const { message, ...rest } = entry;
  if (SUPPRESSED.some((s) => message.startsWith(s))) return;
  const { timestamp: _timestamp, logger: _logger, ...fields } = rest as Record<string, unknown>;
  log[LEVEL_NAMES[level] ?? "debug"]({ kafkajs: namespace, ...fields }, message);
};

/** kafkajs' `ssl` option from the `kafka.tls` section; the CA file is read once, here, so a bad path stops the start. */
export function tlsOptionsOf(config: KafkaConfig): KafkaClientConfig["ssl"] {
  const tls = config.tls;
  if (!tls.enabled) return undefined;
  let ca: string[] | undefined;
  if (tls.caFile !== undefined) {
    try {
      ca = [readFileSync(tls.caFile, "utf8")];
    } catch (err) {
      throw new Error(`kafka.tls.caFile: cannot read ${tls.caFile}: ${(err as Error).message}`);
    }
    if (!ca[0]!.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`kafka.tls.caFile: ${tls.caFile} holds no PEM certificate`);
  }
  return { rejectUnauthorized: tls.rejectUnauthorized, ...(ca ? { ca } : {}) };
}

/** kafkajs' `sasl` option from the `kafka.sasl` section. */
export function saslOptionsOf(config: KafkaConfig): SASLOptions | undefined {
  const sasl = config.sasl;
  if (!sasl) return undefined;
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case "scram-sha-512": return { mechanism: "scram-sha-512", username, password };
    case "scram-sha-256": return { mechanism: "scram-sha-256", username, password };
    case "plain": return { mechanism: "plain", username, password };
  }
}

/**
 * The `kafka` section for operator tools (scripts/events-*.ts), from the
 * variables the local infrastructure and the Helm topic Job use:
 * FLEET_KAFKA_BROKERS, FLEET_KAFKA_TLS, FLEET_KAFKA_TLS_CA_FILE,
 * FLEET_KAFKA_TLS_REJECT_UNAUTHORIZED, FLEET_KAFKA_SASL_MECHANISM,
 * FLEET_KAFKA_SASL_USERNAME, FLEET_KAFKA_SASL_PASSWORD.
 */
export function toolKafkaConfig(env: NodeJS.ProcessEnv, brokers?: string): KafkaConfig {
  const mechanism = env["FLEET_KAFKA_SASL_MECHANISM"];
  const caFile = env["FLEET_KAFKA_TLS_CA_FILE"];
  const rejectUnauthorized = env["FLEET_KAFKA_TLS_REJECT_UNAUTHORIZED"];
  return kafkaConfigSchema.parse({
    brokers: brokers ?? env["FLEET_KAFKA_BROKERS"] ?? "127.0.0.1:59092",
    tls: {
      // A CA file means TLS: nobody sets one for a plaintext broker.
      enabled: env["FLEET_KAFKA_TLS"] ?? (caFile ? "true" : "false"),
      ...(caFile ? { caFile } : {}),
      ...(rejectUnauthorized ? { rejectUnauthorized } : {}),
    },
    ...(mechanism ? { sasl: { mechanism, username: env["FLEET_KAFKA_SASL_USERNAME"], password: env["FLEET_KAFKA_SASL_PASSWORD"] } } : {}),
  });
}

/** A kafkajs client configured from the service's `kafka` section. */
export function createKafka(config: KafkaConfig, clientId: string, log: Logger): Kafka {
  filterKafkajsTimeoutWarning();
  const ssl = tlsOptionsOf(config);
  const sasl = saslOptionsOf(config);
  return new Kafka({
    clientId: config.clientId ?? clientId,
    brokers: [...config.brokers],
    ...(ssl !== undefined ? { ssl } : {}),
    ...(sasl !== undefined ? { sasl } : {}),
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(log.child({ component: "kafkajs" })),
    // Client-level retries for metadata and connections; the relay and the
    // consumer add their own loops around them, so keep these short.
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5 },
  });
}
