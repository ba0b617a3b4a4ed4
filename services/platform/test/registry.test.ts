import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { parse as parseYaml } from "yaml";
import { SERVICE_DATABASES } from "../../../scripts/migrate.js";
import { repoRoot } from "../src/db.js";
import { SERVICE_FILES, serviceDescriptor } from "../src/grpc/catalog.js";
import { databaseOf, loadServiceRegistry, registrySchema } from "../src/registry.js";

// services/registry.yaml is the one list of services: what reads it follows
// it, and what cannot read it (YAML defaults) is checked against it here, so
// a service added to the registry cannot be forgotten elsewhere.

const registry = loadServiceRegistry();
const yamlOf = (path: string): Record<string, any> => parseYaml(readFileSync(join(repoRoot, path), "utf8")) as Record<string, any>;

test("every registered service has its contract, migrations, config defaults and entry point source", (t) => {
  t.true(registry.services.length >= 2);
  for (const s of registry.services) {
    for (const name of s.grpc) t.truthy(serviceDescriptor(name), `${s.name}: ${name} is in proto/`);
    t.true(existsSync(join(repoRoot, "migrations", s.name)), `migrations/${s.name}`);
    const defaults = yamlOf(`services/${s.name}/config/default.yaml`);
    t.is(defaults["grpc"]?.["port"], s.ports.grpc, `${s.name} gRPC port`);
    t.is(defaults["ops"]?.["port"], s.ports.ops, `${s.name} ops port`);
    t.is(defaults["database"]?.["database"], s.database, `${s.name} database`);
    t.true(existsSync(join(repoRoot, s.main.replace(/^dist\//, "").replace(/\.js$/, ".ts"))), `${s.name}: ${s.main} has a source`);
  }
});

test("the gateway's defaults route every registered service at its local port, and nothing else", (t) => {
  const upstreams = yamlOf("gateway/config/default.yaml")["upstreams"] as Record<string, { address: string }>;
  t.deepEqual(Object.keys(upstreams).sort(), registry.services.map((s) => s.name).sort());
  for (const s of registry.services) t.is(upstreams[s.name]?.address, `127.0.0.1:${s.ports.grpc}`, s.name);
});

test("migrations and provisioning cover exactly the registered services", (t) => {
  t.deepEqual(SERVICE_DATABASES, registry.services.map(databaseOf));
});

test("every gRPC service file of proto/ is in the kit's service catalog", (t) => {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${dir}/${e.name}`);
      else if (readFileSync(join(repoRoot, dir, e.name), "utf8").match(/^service \w+ \{/m)) files.push(`${dir}/${e.name}`.replace(/^proto\//, ""));
    }
  };
  walk("proto/fleetmesh");
  t.deepEqual(SERVICE_FILES.map((f) => `${f.name}.proto`).sort(), files.sort());
});

test("the registry refuses duplicates, shared ports and unknown peers, listing each", (t) => {
  const service = { name: "fleet", grpc: ["fleetmesh.fleet.v1.FleetService"], ports: { grpc: 1, ops: 2 }, database: "fleet", peers: ["billing"], main: "x" };
  const result = registrySchema.safeParse({ services: [service, { ...service, peers: [] }] });
  t.false(result.success);
  const messages = result.error?.issues.map((i) => i.message) ?? [];
  t.true(messages.some((m) => /fleet is listed twice/.test(m)));
  t.true(messages.some((m) => /port 1 is used twice/.test(m)));
  t.true(messages.some((m) => /billing is not a registered service/.test(m)));
});
