// Waits until the Kafka broker answers through the admin API (not just its port):
// admin().connect() + describeCluster() must succeed and report a controller.
//
//   node scripts/kafka/ready.mjs [--brokers host:port,...] [--timeout 90] [--quiet]
//
// If FLEET_KAFKA_PID is set, gives up early when that process has exited.
import { brokersFrom, describeSecurity, fail, logLevel, makeKafka, parseArgs, sleep } from './client.mjs';

const args = parseArgs(process.argv.slice(2), { booleans: ['quiet'], strings: ['brokers', 'timeout'] });
const brokers = brokersFrom(args);
const timeoutS = Number(args.timeout ?? 90);
if (!Number.isFinite(timeoutS) || timeoutS <= 0) fail(`--timeout must be a positive number of seconds`);
const pid = process.env.FLEET_KAFKA_PID ? Number(process.env.FLEET_KAFKA_PID) : undefined;

function processAlive(p) {
  try {
    process.kill(p, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL/;

/** The message of a failure that retrying will not fix, else undefined. */
function permanentError(e) {
  for (let c = e, depth = 0; c && depth < 5; c = c.cause ?? c.originalError, depth++) {
    if (c.name === 'KafkaJSSASLAuthenticationError') return c.message;
    if (typeof c.code === 'string' && TLS_CODES.test(c.code)) return `${c.code}: ${c.message}`;
  }
  return undefined;
}

const start = Date.now();
const deadline = start + timeoutS * 1000;
let lastError = 'no attempt made';
let attempt = 0;

while (Date.now() < deadline) {
  attempt++;
  if (pid !== undefined && !processAlive(pid)) {
    fail(`broker process ${pid} exited before becoming ready (last error: ${lastError})`);
  }
  const kafka = makeKafka('fleet-infra-ready', brokers, {
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    requestTimeout: 5000,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (!cluster.brokers?.length) throw new Error('describeCluster returned no brokers');
    if (cluster.controller === null || cluster.controller === undefined || cluster.controller < 0) {
      throw new Error('no active controller yet');
    }
    await admin.listTopics();
    const took = ((Date.now() - start) / 1000).toFixed(1);
    if (!args.quiet) {
      console.log(
        `[kafka] admin API ready after ${took} s (${attempt} attempt(s)): cluster ${cluster.clusterId}, ` +
          `brokers ${cluster.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(',')}, controller ${cluster.controller} (${describeSecurity()})`,
      );
    }
    await admin.disconnect().catch(() => {});
    process.exit(0);
  } catch (e) {
    lastError = e?.message ?? String(e);
    await admin.disconnect().catch(() => {});
    // Waiting cannot fix wrong credentials or an untrusted certificate.
    const permanent = permanentError(e);
    if (permanent) fail(`Kafka at ${brokers.join(',')} refused the connection (${describeSecurity()}): ${permanent}`);
  }
  await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
}
fail(`Kafka at ${brokers.join(',')} not ready after ${timeoutS} s: ${lastError}`);
