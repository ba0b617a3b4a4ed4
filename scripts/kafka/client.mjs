// Shared helpers for the local Kafka scripts (ready / create-topics / smoke).
// Plain ESM, run with the repo's node: node_modules/.bin/node scripts/kafka/<script>.mjs
import kafkajs from 'kafkajs';

export const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

// kafkajs 2.2.4 schedules setTimeout() with a negative delay in its request queue
// (throttledUntil starts at -1, src/network/requestQueue). Node >= 23 warns about it
// (TimeoutNegativeWarning); Node clamps the delay to 1 ms exactly as older Node
// versions did silently, so it is harmless noise. Drop only that warning.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'TimeoutNegativeWarning') console.error(`(node) ${w.name}: ${w.message}`);
});

/** Brokers from --brokers, FLEET_KAFKA_BROKERS, or 127.0.0.1:${FLEET_KAFKA_PORT:-59092}. */
export function brokersFrom(args) {
  const raw =
    args.brokers ??
    process.env.FLEET_KAFKA_BROKERS ??
    `127.0.0.1:${process.env.FLEET_KAFKA_PORT ?? '59092'}`;
  const brokers = String(raw)
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) fail(`no Kafka brokers given (FLEET_KAFKA_BROKERS='${raw}')`);
  return brokers;
}

/** Minimal --flag / --key value parser. */
export function parseArgs(argv, { booleans = [], strings = [] } = {}) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) fail(`unexpected argument '${a}'`);
    const [k, inline] = a.slice(2).split('=', 2);
    if (booleans.includes(k)) out[k] = true;
    else if (strings.includes(k)) {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`--${k} needs a value`);
      out[k] = v;
    } else fail(`unknown option --${k}`);
  }
  return out;
}

export function makeKafka(clientId, brokers, extra = {}) {
  return new Kafka({
    clientId,
    brokers,
    logLevel: process.env.KAFKAJS_LOG_LEVEL ? Number(process.env.KAFKAJS_LOG_LEVEL) : logLevel.WARN,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    ...extra,
  });
}

export function fail(msg) {
  console.error(`[kafka] error: ${msg}`);
  process.exit(1);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
