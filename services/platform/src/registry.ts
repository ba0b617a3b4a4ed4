// The service registry (services/registry.yaml), validated once: the one
// list of services that scripts, the gateway and the tests read.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "./config.js";
import { repoRoot } from "./db.js";

const name = z.string().regex(/^[a-z][a-z0-9]*$/, "lower-case letters and digits");
const port = z.number().int().min(1).max(65_535);

export const registeredServiceSchema = z.strictObject({
  name,
  grpc: z.array(z.string().regex(/^[a-z][a-z0-9_.]*\.[A-Z][A-Za-z0-9]*$/, "a fully-qualified gRPC service name")).min(1),
  ports: z.strictObject({ grpc: port, ops: port }),
  database: name,
  peers: z.array(name).default([]),
  main: z.string().min(1),
  /**
   * Environment `npm run up` gives the process besides the common one
   * (database port and password, Kafka, JWKS). Placeholders: {dev} (the dev
   * keys' folder), {redisPort}, {kafka} (host:port), {pgPort}.
   */
  localEnv: z.record(z.string().regex(/^FLEETMESH__[A-Z0-9_]+$/), z.string()).default({}),
});

export const registrySchema = z.strictObject({ services: z.array(registeredServiceSchema).min(1) }).superRefine((registry, ctx) => {
  const names = registry.services.map((s) => s.name);
  const ports = registry.services.flatMap((s) => [s.ports.grpc, s.ports.ops]);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) ctx.addIssue({ code: "custom", path: ["services", i, "name"], message: `${n} is listed twice` });
  });
  ports.forEach((p, i) => {
    if (ports.indexOf(p) !== i) ctx.addIssue({ code: "custom", path: ["services"], message: `port ${p} is used twice` });
  });
  registry.services.forEach((s, i) => s.peers.forEach((peer, j) => {
    if (!names.includes(peer)) ctx.addIssue({ code: "custom", path: ["services", i, "peers", j], message: `${peer} is not a registered service` });
  }));
});

export type RegisteredService = z.output<typeof registeredServiceSchema>;
export type ServiceRegistry = z.output<typeof registrySchema>;

export const REGISTRY_FILE = resolve(repoRoot, "services/registry.yaml");

/** The registry, validated; every problem listed in one error. */
export function loadServiceRegistry(file = REGISTRY_FILE): ServiceRegistry {
  const parsed = registrySchema.safeParse(parseYaml(readFileSync(file, "utf8")));
  if (!parsed.success) {
    throw new Error(`${file}:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  }
  return parsed.data;
}

/** Migrations, roles and the local default of a registered service's database. */
export const databaseOf = (service: RegisteredService) => ({
  service: service.name,
  database: service.database,
  ownerRole: `${service.database}_owner`,
  appRole: `${service.database}_app`,
  migrationsDir: `migrations/${service.name}`,
});

/** localEnv with its placeholders filled in. */
export function localEnvOf(service: RegisteredService, values: Readonly<Record<"dev" | "redisPort" | "kafka" | "pgPort", string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(service.localEnv).map(([k, v]) =>
    [k, v.replace(/\{(dev|redisPort|kafka|pgPort)\}/g, (_, key: keyof typeof values) => values[key])]));
}
