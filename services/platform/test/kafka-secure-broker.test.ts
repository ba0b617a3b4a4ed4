// A private broker in the sasl_ssl mode of scripts/infra/infra.sh (TLS with a
// CA of its own + SASL/SCRAM-SHA-512, like Amazon MSK) accepts exactly the
// clients that bring the CA and the right credentials. Checked with kafkajs
// directly, so the services' own client configuration is not involved.
//
// Runs alone (ava.isolated.config.mjs): it starts a second broker JVM.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";
import { parse } from "yaml";
import { repoRoot } from "../src/db.js";
import { filterKafkajsTimeoutWarning } from "../src/events/kafka.js";
import { createPrivateBroker } from "../src/testing/kafka.js";

/** Every topic scripts/kafka/topics.yaml declares, with the `.dlq` ones. */
function catalogTopics(): string[] {
  const doc = parse(readFileSync(join(repoRoot, "scripts/kafka/topics.yaml"), "utf8"), { merge: true }) as {
    topics: { name: string; dlq?: unknown }[];
  };
  return doc.topics.flatMap((t) => (t.dlq !== undefined && t.dlq !== false ? [t.name, `${t.name}.dlq`] : [t.name]));
}

/** Lists topics with a fresh admin client; always disconnects. */
async function listTopicsWith(config: Omit<KafkaConfig, "clientId" | "logLevel">): Promise<string[]> {
  const admin = new Kafka({
    clientId: "fleetmesh-secure-broker-test",
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    // A refused client must fail now, not after kafkajs' default retries.
    retry: { retries: 0 },
    ...config,
  }).admin();
  try {
    await admin.connect();
    return await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

test("a sasl_ssl private broker serves clients with its CA and the SCRAM user, and refuses others", async (t) => {
  t.timeout(180_000);
  filterKafkajsTimeoutWarning();
  const broker = await createPrivateBroker({ security: "sasl_ssl" });
  try {
    const started = Date.now();
    await broker.start();
    t.log(`sasl_ssl broker up in ${Date.now() - started} ms`);

    const security = broker.security;
    if (!security) return t.fail("a sasl_ssl broker describes its security");
    t.is(security.sasl.mechanism, "scram-sha-512");
    const ca = readFileSync(security.tls.caFile, "utf8");
    t.regex(ca, /-----BEGIN CERTIFICATE-----/);
    const brokers = [...broker.brokers];
    const ssl = { ca: [ca], rejectUnauthorized: true };
    // A fresh object per client: kafkajs stores the SCRAM provider, bound to
    // the credentials, on the sasl object it is given, so a spread copy of a
    // used one would authenticate with the old credentials.
    const saslWith = (over: { username?: string; password?: string } = {}) => ({
      mechanism: "scram-sha-512" as const,
      username: over.username ?? security.sasl.username,
      password: over.password ?? security.sasl.password,
    });

    const topics = await listTopicsWith({ brokers, ssl, sasl: saslWith() });
    const expected = catalogTopics();
    t.true(expected.length > 0);
    t.deepEqual(expected.filter((name) => !topics.includes(name)), [], "create-topics ran through TLS + SCRAM at start");

    const wrongPassword = await t.throwsAsync(listTopicsWith({ brokers, ssl, sasl: saslWith({ password: `${security.sasl.password}-wrong` }) }));
    t.is(wrongPassword?.name, "KafkaJSSASLAuthenticationError");
    t.regex(wrongPassword?.message ?? "", /SASL SCRAM SHA512 authentication failed/);

    const unknownUser = await t.throwsAsync(listTopicsWith({ brokers, ssl, sasl: saslWith({ username: "nobody" }) }));
    t.is(unknownUser?.name, "KafkaJSSASLAuthenticationError");

    // The broker's certificate chains to its own CA only, not to Node's store.
    const untrusted = await t.throwsAsync(listTopicsWith({ brokers, ssl: true, sasl: saslWith() }));
    t.regex(untrusted?.message ?? "", /self[- ]signed certificate/);

    // A plaintext client's first request is not a TLS handshake: the broker drops the connection.
    await t.throwsAsync(listTopicsWith({ brokers, sasl: saslWith() }), { message: /Closed connection/ });
    await t.throwsAsync(listTopicsWith({ brokers }), { message: /Closed connection/ });
    // TLS alone does not do: the listener wants SASL before anything but ApiVersions.
    await t.throwsAsync(listTopicsWith({ brokers, ssl }), { message: /Closed connection/ });
  } finally {
    await broker.destroy();
  }
});
