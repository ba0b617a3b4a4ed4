// Tests on infrastructure of their own (a private Kafka broker, started and
// stopped mid-test, or one that requires TLS + SASL; a private PostgreSQL
// stopped mid-test): a second broker JVM (or database server) next
// to the whole suite on two cores makes their deadlines flaky, so
// scripts/test.sh runs them after the main suite, two at a time: side by
// side they took 44-69 s against 91 s one by one (2026-12-03).
export default {
  files: [
    "dist/services/fleet/test/events-broker-outage.test.js",
    "dist/services/platform/test/kafka-secure-broker.test.js",
    "dist/services/fleet/test/events-secure-broker.test.js",
    "dist/services/fleet/test/db-outage.test.js",
  ],
  timeout: "2m",
  concurrency: 2,
  workerThreads: false,
  require: ["./dist/services/platform/src/testing/exit-watchdog.js"],
  nodeArguments: ["--enable-source-maps"],
};
