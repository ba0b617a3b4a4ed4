import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/**
 * Environment variables that override configuration: `FLEETMESH__` followed by
 * the key path in upper snake case, segments joined by `__`.
 * `FLEETMESH__DATABASE__POOL_MAX=20` sets `database.poolMax`.
 */
export const ENV_PREFIX = "FLEETMESH__";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

type Tree = { [key: string]: unknown };

const snakeToCamel = (s: string): string => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function setPath(tree: Tree, path: readonly string[], value: string): void {
  let node = tree;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Tree;
  }
}

function getPath(tree: unknown, path: readonly string[]): unknown {
  let node: unknown = tree;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Tree)[key];
  }
  return node;
}

export interface LoadConfigOptions {
  /** YAML files with defaults, later ones override earlier ones. Missing files are an error. */
  readonly files?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Dotted key paths that may only come from the environment (passwords, keys). */
  readonly secretPaths?: readonly string[];
}

/**
 * A process's configuration files: its YAML defaults, then the extra file
 * named by FLEETMESH_<PROCESS>_CONFIG_FILE, else by FLEETMESH_CONFIG_FILE.
 * The per-process name wins because `npm run up` gives every process one
 * environment, where a key only one process knows would stop the others.
 */
export function configFilesOf(defaultsFile: string, processName: string, env: NodeJS.ProcessEnv): string[] {
  const extra = env[`FLEETMESH_${processName.toUpperCase()}_CONFIG_FILE`] ?? env["FLEETMESH_CONFIG_FILE"];
  return [defaultsFile, ...(extra ? [extra] : [])];
}

/**
 * Reads YAML defaults, applies environment overrides and validates the result
 * once. Throws a ConfigError listing every bad key, so a misconfigured process
 * stops with one message instead of failing later.
 */
export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions = {}): z.output<S> {
  const problems: string[] = [];
  const tree: Tree = {};
  for (const file of options.files ?? []) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, "utf8"));
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    if (parsed !== null && parsed !== undefined) mergeInto(tree, parsed as Tree);
  }
  for (const path of options.secretPaths ?? []) {
    if (getPath(tree, path.split(".")) !== undefined) {
      problems.push(`${path}: secrets must come from the environment (${envNameOf(path)}), not from a file`);
    }
  }
  for (const [name, value] of Object.entries(options.env ?? process.env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split("__").map(snakeToCamel);
    if (path.some((p) => p.length === 0)) {
      problems.push(`${name}: malformed variable name`);
      continue;
    }
    setPath(tree, path, value);
  }
  const result = schema.safeParse(tree);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join(".") || "(root)";
      problems.push(`${key}: ${issue.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return (result as { data: z.output<S> }).data;
}

export const envNameOf = (path: string): string =>
  ENV_PREFIX + path.split(".").map((p) => p.replace(/([A-Z])/g, "_$1").toUpperCase()).join("__");

function mergeInto(target: Tree, source: Tree): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (isTree(value) && isTree(existing)) mergeInto(existing, value);
    else target[key] = value;
  }
}

const isTree = (v: unknown): v is Tree => typeof v === "object" && v !== null && !Array.isArray(v);

// ---- building blocks shared by every process ----

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);

export const logConfigSchema = z.strictObject({
  level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** A list from YAML, or from an environment variable as comma-separated values. */
export const listOf = <T extends z.ZodType>(item: T, minLength = 0) =>
  z.preprocess(
    (v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s !== "") : v),
    z.array(item).min(minLength),
  );

export const listenConfigSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port,
});

export const databaseConfigSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: port.default(55432),
  database: z.string().regex(/^[a-z_][a-z0-9_]*$/),
  user: z.string().min(1),
  password: z.string().min(1),
  poolMin: z.coerce.number().int().min(0).default(0),
  poolMax: z.coerce.number().int().min(1).max(200).default(10),
  statementTimeoutMs: z.coerce.number().int().min(100).default(5_000),
  /** Migrations directory, relative to the repository root. */
  migrationsDir: z.string().min(1),
});

export const authConfigSchema = z
  .strictObject({
    /** When false, requests are served without a token (local benchmarks only). */
    enabled: bool.default(true),
    issuer: z.string().min(1),
    audience: z.string().min(1),
    /** JSON Web Key Set from a file (static keys), unless jwksUrl is set... */
    jwksFile: z.string().min(1).optional(),
    /** ...or from the identity service's JWKS endpoint, refreshed as keys rotate. */
    jwksUrl: z.string().url().optional(),
    /** How often the JWKS is re-read; an unknown kid re-reads it sooner, at most once per `jwksMinRefreshSec`. */
    jwksCacheSec: z.coerce.number().int().min(10).default(300),
    jwksMinRefreshSec: z.coerce.number().int().min(1).default(30),
    algorithms: listOf(z.enum(["RS256", "PS256", "ES256"]), 1).default(["RS256"]),
    clockToleranceSec: z.coerce.number().int().min(0).max(300).default(30),
  })
  // jwksUrl wins when both are set, so a deployment can switch a default
  // file to the identity service's endpoint by adding one variable.
  .refine((a) => a.jwksFile !== undefined || a.jwksUrl !== undefined, {
    message: "set jwksUrl or jwksFile",
    path: ["jwksUrl"],
  });

export const telemetryConfigSchema = z.strictObject({
  exporter: z.enum(["none", "console", "otlp"]).default("none"),
  otlpEndpoint: z.string().url().optional(),
});

export const shutdownConfigSchema = z.strictObject({
  graceMs: z.coerce.number().int().min(0).max(120_000).default(10_000),
});

export const peerConfigSchema = z.strictObject({
  /** False leaves the peer out (e.g. a gateway in front of fewer services). */
  enabled: bool.default(true),
  address: z.string().min(1),
  deadlineMs: z.coerce.number().int().min(1).default(2_000),
});

/**
 * Kafka and the events backbone (services/platform/src/events). Optional in
 * the service schema: a service without a `kafka` section (or with
 * `enabled: false`) neither relays its outbox nor consumes events; its writes
 * still land in the outbox and are published once the relay runs.
 */
export const kafkaConfigSchema = z.strictObject({
  enabled: bool.default(true),
  brokers: listOf(z.string().min(1), 1).default(["127.0.0.1:59092"]),
  /** Defaults to the service name. */
  clientId: z.string().min(1).optional(),
  /**
   * Prepended to every topic name the service produces to or consumes from
   * (tests and shared clusters); the event catalog keeps the logical names.
   */
  topicPrefix: z.string().regex(/^[A-Za-z0-9._-]*$/).default(""),
  connectionTimeoutMs: z.coerce.number().int().min(100).default(3_000),
  requestTimeoutMs: z.coerce.number().int().min(100).default(10_000),
  /** TLS to the brokers (Amazon MSK: port 9094, or 9096 with SASL/SCRAM). */
  tls: z.strictObject({
    enabled: bool.default(false),
    /** PEM bundle of the CAs to trust; unset trusts Node's CA store (enough for MSK). */
    caFile: z.string().min(1).optional(),
    /** Only for a broker whose certificate cannot be verified (never in production). */
    rejectUnauthorized: bool.default(true),
  }).prefault({}),
  /** SASL authentication; the password comes from the environment only (FLEETMESH__KAFKA__SASL__PASSWORD). */
  sasl: z.strictObject({
    mechanism: z.enum(["scram-sha-512", "scram-sha-256", "plain"]),
    username: z.string().min(1),
    password: z.string().min(1),
  }).optional(),
  relay: z.strictObject({
    enabled: bool.default(true),
    /** Outbox rows read and published per round trip. */
    batchSize: z.coerce.number().int().min(1).max(10_000).default(500),
    /**
     * Shortest time between two publish rounds. An event after a quiet spell
     * goes out at once; a stream of commits is sent in batches this far apart.
     */
    minRoundIntervalMs: z.coerce.number().int().min(0).max(1_000).default(50),
    /** Fallback poll when no NOTIFY arrives (the relay normally wakes on NOTIFY). */
    pollIntervalMs: z.coerce.number().int().min(50).default(5_000),
    /** How often a standby replica tries to become the active relay. */
    leaderCheckMs: z.coerce.number().int().min(50).default(2_000),
    /** Published rows are kept this long in outbox_events, then purged. */
    retainPublishedHours: z.coerce.number().int().min(1).default(168),
  }).prefault({}),
  consumer: z.strictObject({
    enabled: bool.default(true),
    groupId: z.string().min(1),
    /** Attempts for a transiently failing event before it is dead-lettered. */
    maxAttempts: z.coerce.number().int().min(1).max(100).default(5),
    retryInitialMs: z.coerce.number().int().min(1).default(200),
    retryMaxMs: z.coerce.number().int().min(1).default(10_000),
    /** Partitions processed in parallel (events of one partition stay sequential). */
    partitionsConcurrently: z.coerce.number().int().min(1).max(64).default(3),
    sessionTimeoutMs: z.coerce.number().int().min(6_000).default(30_000),
    /** Where a group with no committed offset starts. */
    fromBeginning: bool.default(true),
    /** inbox_processed_messages rows older than this are purged; keep it above every topic's retention. */
    inboxRetentionDays: z.coerce.number().int().min(1).default(30),
    /**
     * How long an event that cannot apply yet (its handler throws
     * DeferredEventError: it depends on an event of another aggregate that
     * has not arrived) stays parked and re-driven before it is
     * dead-lettered with reason PARK_WINDOW_EXPIRED; 0 dead-letters such
     * events at once.
     */
    parkWindowMs: z.coerce.number().int().min(0).max(7 * 24 * 3_600_000).default(600_000),
    /** Backoff between re-drives of one parked event: from this, doubling... */
    parkRetryInitialMs: z.coerce.number().int().min(10).default(1_000),
    /** ...up to this. */
    parkRetryMaxMs: z.coerce.number().int().min(10).default(30_000),
  }).optional(),
}).superRefine((kafka, ctx) => {
  if (kafka.sasl?.mechanism === "plain" && !kafka.tls.enabled) {
    ctx.addIssue({ code: "custom", path: ["sasl", "mechanism"], message: "plain sends the password in clear text: enable tls, or use scram-sha-512" });
  }
  if (kafka.tls.caFile !== undefined && !kafka.tls.enabled) {
    ctx.addIssue({ code: "custom", path: ["tls", "caFile"], message: "is set but tls.enabled is false" });
  }
});

/** Keys of the service schema that only the environment may set. */
export const SERVICE_SECRET_PATHS = ["database.password", "kafka.sasl.password", "serviceCredential.clientSecret"] as const;

/**
 * The service's own identity for calls it makes as itself (consumers,
 * scheduled jobs): a service client of identity holding the `mesh_service`
 * role. The secret comes from the environment only.
 */
export const serviceCredentialConfigSchema = z.strictObject({
  /** The peer (a key of `peers`) that issues tokens: identity. */
  issuer: z.string().min(1).default("identity"),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Renew the token this long before it expires. */
  refreshBeforeExpirySec: z.coerce.number().int().min(5).max(3_600).default(60),
});

/** Configuration every gRPC domain service has. */
export const serviceConfigSchema = z.strictObject({
  service: z.strictObject({ name: z.string().min(1) }),
  grpc: listenConfigSchema,
  ops: listenConfigSchema,
  database: databaseConfigSchema,
  auth: authConfigSchema,
  log: logConfigSchema.default({ level: "info" }),
  telemetry: telemetryConfigSchema.default({ exporter: "none" }),
  shutdown: shutdownConfigSchema.default({ graceMs: 10_000 }),
  idempotency: z.strictObject({ ttlHours: z.coerce.number().int().min(1).default(24) }).default({ ttlHours: 24 }),
  kafka: kafkaConfigSchema.optional(),
  /** Services this one calls, by name (fleet, identity, rental, ...). */
  peers: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), peerConfigSchema).default({}),
  serviceCredential: serviceCredentialConfigSchema.optional(),
}).superRefine((config, ctx) => {
  const issuer = config.serviceCredential?.issuer;
  if (issuer !== undefined && !config.peers[issuer]) {
    ctx.addIssue({ code: "custom", path: ["serviceCredential", "issuer"], message: `names peer "${issuer}", which is not in peers` });
  }
});

export type ServiceConfig = z.output<typeof serviceConfigSchema>;
export type DatabaseConfig = z.output<typeof databaseConfigSchema>;
export type AuthConfig = z.output<typeof authConfigSchema>;
export type PeerConfig = z.output<typeof peerConfigSchema>;
export type KafkaConfig = z.output<typeof kafkaConfigSchema>;
export { z };
