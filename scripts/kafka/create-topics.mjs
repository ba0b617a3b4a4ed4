// Idempotently creates the Kafka topics listed in scripts/kafka/topics.yaml.
//
//   node scripts/kafka/create-topics.mjs [--file topics.yaml] [--brokers host:port]
//                                       [--dry-run] [--quiet]
//
// Missing topics are created (with their <name>.dlq dead-letter topic when the
// entry has `dlq`); existing ones are reported and left alone. Partition-count
// and config drift on existing topics is printed as a warning (exit code stays 0).
// Exit code 1 on an invalid catalog or a Kafka error.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ConfigResourceTypes, brokersFrom, fail, makeKafka, parseArgs } from './client.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = parseArgs(process.argv.slice(2), {
  booleans: ['dry-run', 'quiet'],
  strings: ['file', 'brokers'],
});
const file = args.file ?? join(here, 'topics.yaml');

// ------------------------------------------------------------------ catalog --
const TOPIC_KEYS = new Set(['name', 'description', 'partitions', 'replicationFactor', 'retention.ms', 'cleanup.policy', 'config', 'dlq']);
const DLQ_KEYS = new Set(['description', 'partitions', 'replicationFactor', 'retention.ms', 'cleanup.policy', 'config']);
const CLEANUP = new Set(['delete', 'compact', 'compact,delete', 'delete,compact']);

function loadCatalog(path) {
  let doc;
  try {
    doc = parse(readFileSync(path, 'utf8'), { merge: true });
  } catch (e) {
    fail(`cannot read topic catalog ${path}: ${e.message}`);
  }
  const errors = [];
  const envRf = process.env.FLEET_KAFKA_REPLICATION_FACTOR;
  const defaultRf = Number(envRf ?? doc?.replicationFactor ?? 1);
  if (!Number.isInteger(defaultRf) || defaultRf < 1) errors.push(`replicationFactor must be a positive integer, got ${envRf ?? doc?.replicationFactor}`);
  if (!Array.isArray(doc?.topics) || doc.topics.length === 0) fail(`${path}: 'topics' must be a non-empty list`);

  const topics = [];
  const spec = (entry, name, allowed, where) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      errors.push(`${where}: must be a mapping`);
      return;
    }
    for (const k of Object.keys(entry)) if (!allowed.has(k)) errors.push(`${where}: unknown key '${k}' (allowed: ${[...allowed].join(', ')})`);
    if (typeof name !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(name)) errors.push(`${where}: invalid topic name '${name}'`);
    const partitions = entry.partitions;
    if (!Number.isInteger(partitions) || partitions < 1) errors.push(`${where}: partitions must be a positive integer`);
    const rf = entry.replicationFactor ?? defaultRf;
    if (!Number.isInteger(rf) || rf < 1) errors.push(`${where}: replicationFactor must be a positive integer`);
    const retention = entry['retention.ms'];
    if (!Number.isInteger(retention) || (retention < 1 && retention !== -1)) errors.push(`${where}: retention.ms must be a positive integer or -1`);
    const cleanup = entry['cleanup.policy'];
    if (!CLEANUP.has(cleanup)) errors.push(`${where}: cleanup.policy must be one of ${[...CLEANUP].join(' | ')}`);
    const extra = entry.config ?? {};
    if (typeof extra !== 'object' || Array.isArray(extra)) errors.push(`${where}: config must be a mapping`);
    const config = { 'retention.ms': String(retention), 'cleanup.policy': String(cleanup) };
    for (const [k, v] of Object.entries(extra ?? {})) config[k] = String(v);
    topics.push({ name, partitions, replicationFactor: rf, config });
  };

  doc.topics.forEach((t, i) => {
    const where = `${path}: topics[${i}]${t?.name ? ` (${t.name})` : ''}`;
    spec(t, t?.name, TOPIC_KEYS, where);
    if (t?.dlq !== undefined && t.dlq !== false) {
      spec(t.dlq === true ? {} : t.dlq, `${t.name}.dlq`, DLQ_KEYS, `${where}.dlq`);
    }
  });
  const seen = new Set();
  for (const t of topics) {
    if (seen.has(t.name)) errors.push(`${path}: duplicate topic '${t.name}'`);
    seen.add(t.name);
  }
  if (errors.length) fail(`invalid topic catalog:\n  ${errors.join('\n  ')}`);
  return topics;
}

const topics = loadCatalog(file);
const describe = (t) =>
  `${t.partitions} partitions, rf ${t.replicationFactor}, ` +
  Object.entries(t.config)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

if (args['dry-run']) {
  for (const t of topics) console.log(`[kafka] would ensure ${t.name} (${describe(t)})`);
  process.exit(0);
}

// -------------------------------------------------------------------- apply --
const brokers = brokersFrom(args);
const admin = makeKafka('fleet-create-topics', brokers).admin();
try {
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.name));
  const present = topics.filter((t) => existing.has(t.name));

  if (missing.length) {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        timeout: 30000,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (e) {
      // Another process may have created some of them concurrently; that is fine.
      const errs = e?.errors?.filter?.((x) => x?.type !== 'TOPIC_ALREADY_EXISTS') ?? [e];
      if (errs.length) throw e;
    }
    for (const t of missing) console.log(`[kafka] created ${t.name} (${describe(t)})`);
  }

  // Report existing topics and any drift from the catalog.
  let drift = 0;
  if (present.length) {
    const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
    const partitionsByName = new Map(meta.topics.map((m) => [m.name, m.partitions.length]));
    const cfg = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.name, configNames: Object.keys(t.config) })),
    });
    const cfgByName = new Map(cfg.resources.map((r) => [r.resourceName, new Map(r.configEntries.map((c) => [c.configName, c.configValue]))]));
    for (const t of present) {
      const problems = [];
      const p = partitionsByName.get(t.name);
      if (p !== t.partitions) problems.push(`partitions ${p} (catalog: ${t.partitions})`);
      const actual = cfgByName.get(t.name) ?? new Map();
      for (const [k, v] of Object.entries(t.config)) {
        if (actual.get(k) !== v) problems.push(`${k}=${actual.get(k)} (catalog: ${v})`);
      }
      if (problems.length) {
        drift++;
        console.warn(`[kafka] warning: ${t.name} exists but differs from the catalog: ${problems.join('; ')}`);
      } else if (!args.quiet) {
        console.log(`[kafka] exists  ${t.name} (${describe(t)})`);
      }
    }
  }
  console.log(
    `[kafka] topics: ${missing.length} created, ${present.length} already existed` +
      (drift ? `, ${drift} differ from the catalog (not changed)` : '') +
      ` (${topics.length} in ${file.replace(process.cwd() + '/', '')})`,
  );
} catch (e) {
  fail(`creating topics on ${brokers.join(',')} failed: ${e?.message ?? e}`);
} finally {
  await admin.disconnect().catch(() => {});
}
