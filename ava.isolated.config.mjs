// Tests that stop shared infrastructure (the Kafka broker) and so must not
// overlap with any other test file: scripts/test.sh runs them alone, after
// the main suite.
export default {
  files: ["dist/services/fleet/test/events-broker-outage.test.js"],
  timeout: "2m",
  concurrency: 1,
  workerThreads: false,
  nodeArguments: ["--enable-source-maps"],
};
