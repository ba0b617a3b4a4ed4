// The `kafka.tls` and `kafka.sasl` settings (Amazon MSK with TLS and
// SASL/SCRAM) and how they become kafkajs options. The connection itself is
// tested against a broker that requires both (kafka-secure-broker.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { kafkaConfigSchema } from "../src/config.js";
import { saslOptionsOf, tlsOptionsOf, toolKafkaConfig } from "../src/events/kafka.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

test("without tls or sasl settings the client is plaintext and anonymous, as before", (t) => {
  const config = kafkaConfigSchema.parse({});
  t.deepEqual(config.tls, { enabled: false, rejectUnauthorized: true });
  t.is(config.sasl, undefined);
  t.is(tlsOptionsOf(config), undefined);
  t.is(saslOptionsOf(config), undefined);
});

test("tls with the default CA store, or a CA file read once; sasl scram", (t) => {
  t.deepEqual(tlsOptionsOf(kafkaConfigSchema.parse({ tls: { enabled: "true" } })), { rejectUnauthorized: true });
  const dir = mkdtempSync(join(tmpdir(), "kafka-ca-"));
  try {
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, PEM);
    const config = kafkaConfigSchema.parse({
      tls: { enabled: true, caFile },
      sasl: { mechanism: "scram-sha-512", username: "fleet", password: "s3cret" },
    });
    t.deepEqual(tlsOptionsOf(config), { rejectUnauthorized: true, ca: [PEM] });
    t.deepEqual(saslOptionsOf(config), { mechanism: "scram-sha-512", username: "fleet", password: "s3cret" });

    writeFileSync(caFile, "not a certificate");
    t.throws(() => tlsOptionsOf(config), { message: /kafka\.tls\.caFile: .* holds no PEM certificate/ });
    t.throws(() => tlsOptionsOf(kafkaConfigSchema.parse({ tls: { enabled: true, caFile: join(dir, "missing.pem") } })),
      { message: /kafka\.tls\.caFile: cannot read .*missing\.pem/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("settings that would leak a password or be ignored are refused, each with its key", (t) => {
  const plain = kafkaConfigSchema.safeParse({ sasl: { mechanism: "plain", username: "u", password: "p" } });
  t.false(plain.success);
  t.deepEqual(plain.error?.issues.map((i) => i.path.join(".")), ["sasl.mechanism"]);
  t.true(kafkaConfigSchema.safeParse({ tls: { enabled: true }, sasl: { mechanism: "plain", username: "u", password: "p" } }).success);

  const orphanCa = kafkaConfigSchema.safeParse({ tls: { caFile: "/etc/ca.pem" } });
  t.deepEqual(orphanCa.error?.issues.map((i) => i.path.join(".")), ["tls.caFile"]);

  const incomplete = kafkaConfigSchema.safeParse({ sasl: { mechanism: "scram-sha-256", username: "u" } });
  t.deepEqual(incomplete.error?.issues.map((i) => i.path.join(".")), ["sasl.password"]);
  const unknown = kafkaConfigSchema.safeParse({ sasl: { mechanism: "aws_msk_iam", username: "u", password: "p" } });
  t.deepEqual(unknown.error?.issues.map((i) => i.path.join(".")), ["sasl.mechanism"]);
});

test("operator tools take the same settings from FLEET_KAFKA_* variables", (t) => {
  const plain = toolKafkaConfig({});
  t.deepEqual(plain.brokers, ["127.0.0.1:59092"]);
  t.false(plain.tls.enabled);
  const secure = toolKafkaConfig({
    FLEET_KAFKA_BROKERS: "b-1:9096,b-2:9096",
    FLEET_KAFKA_TLS_CA_FILE: "/etc/ca.pem",
    FLEET_KAFKA_SASL_MECHANISM: "scram-sha-512",
    FLEET_KAFKA_SASL_USERNAME: "fleet",
    FLEET_KAFKA_SASL_PASSWORD: "s3cret",
  });
  t.deepEqual(secure.brokers, ["b-1:9096", "b-2:9096"]);
  t.deepEqual(secure.tls, { enabled: true, caFile: "/etc/ca.pem", rejectUnauthorized: true });
  t.deepEqual(secure.sasl, { mechanism: "scram-sha-512", username: "fleet", password: "s3cret" });
  t.deepEqual(toolKafkaConfig({ FLEET_KAFKA_BROKERS: "x:1" }, "y:2").brokers, ["y:2"], "--brokers wins");
  t.throws(() => toolKafkaConfig({ FLEET_KAFKA_SASL_MECHANISM: "scram-sha-512" }), { message: /username/ });
});
