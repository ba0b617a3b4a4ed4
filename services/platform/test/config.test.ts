import { writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { ConfigError, envNameOf, loadConfig, serviceConfigSchema } from "../src/config.js";
import { testTempDir } from "../src/testing/harness.js";

const yamlFile = (text: string): string => {
  const file = join(testTempDir("cfg-"), "config.yaml");
  writeFileSync(file, text);
  return file;
};

const base = yamlFile(`
service: { name: fleet }
grpc: { port: 50061 }
ops: { port: 9461 }
database: { database: fleet, user: fleet_app, migrationsDir: migrations/fleet }
auth: { issuer: https://issuer, audience: fleetmesh, jwksFile: /tmp/jwks.json }
`);

test("YAML defaults plus environment overrides, coerced and validated", (t) => {
  const config = loadConfig(serviceConfigSchema, {
    files: [base],
    env: { FLEETMESH__DATABASE__PASSWORD: "s3cret", FLEETMESH__GRPC__PORT: "6000", FLEETMESH__DATABASE__POOL_MAX: "25", FLEETMESH__AUTH__ENABLED: "false" },
    secretPaths: ["database.password"],
  });
  t.is(config.grpc.port, 6000);
  t.is(config.grpc.host, "127.0.0.1");
  t.is(config.database.poolMax, 25);
  t.is(config.database.password, "s3cret");
  t.false(config.auth.enabled);
  t.is(config.log.level, "info");
});

test("an invalid configuration names every bad key at once", (t) => {
  const err = t.throws(() => loadConfig(serviceConfigSchema, {
    files: [base],
    env: {
      FLEETMESH__GRPC__PORT: "70000",
      FLEETMESH__DATABASE__POOL_MAX: "lots",
      FLEETMESH__LOG__LEVEL: "chatty",
      FLEETMESH__GRPC__HOSTNAME: "x",
    },
  }), { instanceOf: ConfigError });
  for (const key of ["grpc.port", "database.poolMax", "log.level", "database.password"]) {
    t.true(err!.problems.some((p) => p.startsWith(key)), `${key} reported: ${err!.message}`);
  }
  t.true(err!.problems.some((p) => p.includes("hostname")), "unknown keys are reported too");
});

test("secrets in a file are refused", (t) => {
  const withSecret = yamlFile("database: { password: hunter2 }\n");
  const err = t.throws(() => loadConfig(serviceConfigSchema, {
    files: [base, withSecret],
    env: {},
    secretPaths: ["database.password"],
  }), { instanceOf: ConfigError });
  t.true(err!.problems.some((p) => p.includes(envNameOf("database.password"))));
  t.false(err!.message.includes("hunter2"), "the secret is not echoed");
});

test("env names follow the key path", (t) => {
  t.is(envNameOf("database.poolMax"), "FLEETMESH__DATABASE__POOL_MAX");
});

test("lists can come from the environment as comma-separated values", (t) => {
  const config = loadConfig(serviceConfigSchema, {
    files: [base],
    env: { FLEETMESH__DATABASE__PASSWORD: "x", FLEETMESH__AUTH__ALGORITHMS: "ES256, RS256" },
  });
  t.deepEqual(config.auth.algorithms, ["ES256", "RS256"]);
  t.throws(() => loadConfig(serviceConfigSchema, {
    files: [base],
    env: { FLEETMESH__DATABASE__PASSWORD: "x", FLEETMESH__AUTH__ALGORITHMS: "HS256" },
  }), { instanceOf: ConfigError });
});
