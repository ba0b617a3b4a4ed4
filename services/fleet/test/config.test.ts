import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { loadFleetConfig } from "../src/main.js";

const withFiles = (run: (files: { own: string; shared: string }) => void): void => {
  const dir = mkdtempSync(join(tmpdir(), "fleet-config-"));
  try {
    const own = join(dir, "fleet.yaml");
    const shared = join(dir, "shared.yaml");
    writeFileSync(own, "log:\n  level: debug\n");
    writeFileSync(shared, "log:\n  level: warn\ngrpc:\n  port: 50999\n");
    run({ own, shared });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

test("fleet's own config file wins over the shared one, and FLEETMESH__ variables over both", (t) => {
  withFiles(({ own, shared }) => {
    const base = { FLEETMESH__DATABASE__PASSWORD: "secret" };
    t.is(loadFleetConfig({ ...base }).log.level, "info", "the defaults alone");
    const fromShared = loadFleetConfig({ ...base, FLEETMESH_CONFIG_FILE: shared });
    t.is(fromShared.log.level, "warn");
    t.is(fromShared.grpc.port, 50999);
    const fromOwn = loadFleetConfig({ ...base, FLEETMESH_CONFIG_FILE: shared, FLEETMESH_FLEET_CONFIG_FILE: own });
    t.is(fromOwn.log.level, "debug");
    t.is(fromOwn.grpc.port, 50061, "the shared file is not read when fleet has its own");
    t.is(loadFleetConfig({ ...base, FLEETMESH_FLEET_CONFIG_FILE: own, FLEETMESH__LOG__LEVEL: "error" }).log.level, "error");
  });
});

test("a bad fleet configuration lists every bad key", (t) => {
  const error = t.throws(() => loadFleetConfig({ FLEETMESH__GRPC__PORT: "-1", FLEETMESH__LOG__LEVEL: "loud" }));
  t.regex(error.message, /grpc\.port/);
  t.regex(error.message, /log\.level/);
  t.regex(error.message, /database\.password/);
});

test("the Kafka SASL password, like the database's, comes only from the environment", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fleet-config-"));
  try {
    const file = join(dir, "fleet.yaml");
    writeFileSync(file, "kafka:\n  tls:\n    enabled: true\n  sasl:\n    mechanism: scram-sha-512\n    username: fleet\n    password: in-a-file\n");
    const error = t.throws(() => loadFleetConfig({ FLEETMESH__DATABASE__PASSWORD: "x", FLEETMESH_FLEET_CONFIG_FILE: file }));
    t.regex(error.message, /kafka\.sasl\.password: secrets must come from the environment \(FLEETMESH__KAFKA__SASL__PASSWORD\)/);
    writeFileSync(file, "kafka:\n  tls:\n    enabled: true\n  sasl:\n    mechanism: scram-sha-512\n    username: fleet\n");
    const config = loadFleetConfig({ FLEETMESH__DATABASE__PASSWORD: "x", FLEETMESH_FLEET_CONFIG_FILE: file, FLEETMESH__KAFKA__SASL__PASSWORD: "from-env" });
    t.like(config.kafka?.sasl, { mechanism: "scram-sha-512", username: "fleet", password: "from-env" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
