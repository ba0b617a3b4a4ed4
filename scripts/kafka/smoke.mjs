// KafkaJS <-> broker compatibility smoke test:
//   1. admin: create a temporary topic (3 partitions)
//   2. producer: send keyed messages with headers, acks=-1 (all); then the same
//      through an idempotent producer (InitProducerId + sequence numbers)
//   3. consumer GROUP (groupId, autoCommit off): read everything back, commit
//      offsets explicitly with commitOffsets(), verify them via admin.fetchOffsets()
//   4. admin: delete the consumer group and the topic
//
//   node scripts/kafka/smoke.mjs [--brokers host:port] [--messages 30] [--timeout 60]
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { brokersFrom, describeSecurity, fail, makeKafka, parseArgs } from './client.mjs';

const { Partitioners } = kafkajs;
const kafkajsVersion = createRequire(import.meta.url)('kafkajs/package.json').version;
const args = parseArgs(process.argv.slice(2), { strings: ['brokers', 'messages', 'timeout'] });
const brokers = brokersFrom(args);
const perProducer = Number(args.messages ?? 30);
const timeoutMs = Number(args.timeout ?? 60) * 1000;
const id = randomUUID().slice(0, 8);
const topic = `fleet.smoke.${id}`;
const groupId = `fleet-smoke-${id}`;
const started = Date.now();
const step = (msg) => console.log(`[smoke] ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${msg}`);

const watchdog = setTimeout(() => fail(`smoke test timed out after ${timeoutMs / 1000} s`), timeoutMs);
const kafka = makeKafka(`fleet-smoke-${id}`, brokers);
const admin = kafka.admin();
const clients = [admin];
let topicCreated = false;

try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  step(`connected: cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), controller ${cluster.controller}`);

  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '600000' }] }],
  });
  if (!created) throw new Error(`topic ${topic} already existed`);
  topicCreated = true;
  step(`admin.createTopics: ${topic} (3 partitions)`);

  const sent = new Map();
  const produce = async (label, producerConfig) => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...producerConfig });
    clients.push(producer);
    await producer.connect();
    const messages = Array.from({ length: perProducer }, (_, i) => {
      const key = `vehicle-${i % 7}`;
      const value = JSON.stringify({ label, i, id: randomUUID() });
      sent.set(value, key);
      return { key, value, headers: { 'x-smoke': label, 'content-type': 'application/json' } };
    });
    const res = await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();
    const errs = res.filter((r) => r.errorCode !== 0);
    if (errs.length) throw new Error(`${label} producer got error codes ${JSON.stringify(errs)}`);
    step(`producer (${label}) sent ${perProducer} messages with acks=-1 to partitions ${[...new Set(res.map((r) => r.partition))].join(',')}`);
  };
  await produce('acks-all', {});
  await produce('idempotent', { idempotent: true, maxInFlightRequests: 1 });

  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
  clients.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = new Map();
  const committed = new Map(); // partition -> next offset
  let resolveDone;
  const done = new Promise((r) => (resolveDone = r));
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic: t, partition, message }) => {
      const value = message.value.toString();
      const key = message.key?.toString();
      if (sent.get(value) !== key) throw new Error(`unexpected message key=${key} value=${value}`);
      if (message.headers['x-smoke']?.toString() === undefined) throw new Error('missing header x-smoke');
      received.set(value, key);
      const next = (BigInt(message.offset) + 1n).toString();
      await consumer.commitOffsets([{ topic: t, partition, offset: next }]);
      committed.set(partition, next);
      if (received.size === sent.size) resolveDone();
    },
  });
  await done;
  step(`consumer group ${groupId} received ${received.size}/${sent.size} messages, committed offsets explicitly`);
  await consumer.disconnect();

  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const got = new Map(offsets[0].partitions.map((p) => [p.partition, p.offset]));
  for (const [partition, next] of committed) {
    if (got.get(partition) !== next) throw new Error(`committed offset for partition ${partition} is ${got.get(partition)}, expected ${next}`);
  }
  step(`admin.fetchOffsets: committed offsets match (${[...got].map(([p, o]) => `p${p}=${o}`).join(' ')})`);

  await admin.deleteGroups([groupId]);
  step(`admin.deleteGroups: ${groupId}`);
  await admin.deleteTopics({ topics: [topic], timeout: 15000 });
  topicCreated = false;
  step(`admin.deleteTopics: ${topic}`);
  console.log(`[smoke] OK: kafkajs ${kafkajsVersion} works with the broker at ${brokers.join(',')}, ${describeSecurity()} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
} catch (e) {
  console.error(`[smoke] FAILED: ${e?.stack ?? e}`);
  if (topicCreated) await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  process.exitCode = 1;
} finally {
  for (const c of clients.reverse()) await c.disconnect().catch(() => {});
  clearTimeout(watchdog);
}
