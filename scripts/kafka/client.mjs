// Shared helpers for the local Kafka scripts (ready / create-topics / smoke).
// Plain ESM, run with the repo's node: node_modules/.bin/node scripts/kafka/<script>.mjs
//
// Connection security comes from the environment, the same variables
// `scripts/infra/infra.sh env` prints for FLEET_KAFKA_SECURITY=sasl_ssl, the Helm
// topic Job sets for Amazon MSK, and the scripts/events-*.ts tools read:
//   FLEET_KAFKA_TLS                     true | false (default false; true when a CA file is given)
//   FLEET_KAFKA_TLS_CA_FILE             PEM file of the CA(s) to trust (unset: Node's CA store)
//   FLEET_KAFKA_TLS_REJECT_UNAUTHORIZED false only to skip certificate checks (never in production)
//   FLEET_KAFKA_SASL_MECHANISM          scram-sha-512 | scram-sha-256 | plain (unset: no SASL)
//   FLEET_KAFKA_SASL_USERNAME / FLEET_KAFKA_SASL_PASSWORD
import { readFileSync } from 'node:fs';
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

// Same spellings as the services' configuration (services/platform/src/config.ts).
function envBool(name, env) {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  fail(`${name} must be true, false, 1 or 0, got '${raw}'`);
}

const SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain'];
let warnedUnverified = false;

/**
 * kafkajs `ssl` and `sasl` options from the FLEET_KAFKA_TLS* / FLEET_KAFKA_SASL_*
 * variables (see the top of this file); {} for a plaintext broker.
 */
export function securityFromEnv(env = process.env) {
  const caFile = env.FLEET_KAFKA_TLS_CA_FILE || undefined;
  const tlsFlag = envBool('FLEET_KAFKA_TLS', env);
  const rejectUnauthorized = envBool('FLEET_KAFKA_TLS_REJECT_UNAUTHORIZED', env) ?? true;
  if (caFile !== undefined && tlsFlag === false) fail('FLEET_KAFKA_TLS_CA_FILE is set but FLEET_KAFKA_TLS is false');
  const tls = tlsFlag ?? caFile !== undefined;

  const out = {};
  if (tls) {
    let ca;
    if (caFile !== undefined) {
      try {
        ca = readFileSync(caFile, 'utf8');
      } catch (e) {
        fail(`FLEET_KAFKA_TLS_CA_FILE: cannot read ${caFile}: ${e.message}`);
      }
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) fail(`FLEET_KAFKA_TLS_CA_FILE: ${caFile} holds no PEM certificate`);
    }
    if (!rejectUnauthorized && !warnedUnverified) {
      warnedUnverified = true;
      console.error('[kafka] warning: FLEET_KAFKA_TLS_REJECT_UNAUTHORIZED=false: the broker certificate is not verified');
    }
    // `ssl: true` keeps kafkajs' default: Node's CA store, certificates verified.
    out.ssl = ca === undefined && rejectUnauthorized ? true : { ...(ca !== undefined ? { ca: [ca] } : {}), rejectUnauthorized };
  }

  const rawMechanism = env.FLEET_KAFKA_SASL_MECHANISM;
  if (rawMechanism) {
    const mechanism = rawMechanism.toLowerCase();
    if (!SASL_MECHANISMS.includes(mechanism)) {
      fail(`FLEET_KAFKA_SASL_MECHANISM '${rawMechanism}' is not supported (use one of: ${SASL_MECHANISMS.join(', ')})`);
    }
    const username = env.FLEET_KAFKA_SASL_USERNAME;
    const password = env.FLEET_KAFKA_SASL_PASSWORD;
    const missing = [!username && 'FLEET_KAFKA_SASL_USERNAME', !password && 'FLEET_KAFKA_SASL_PASSWORD'].filter(Boolean);
    if (missing.length) fail(`FLEET_KAFKA_SASL_MECHANISM=${mechanism} needs ${missing.join(' and ')}`);
    if (mechanism === 'plain' && !tls) fail('FLEET_KAFKA_SASL_MECHANISM=plain sends the password in clear text: set FLEET_KAFKA_TLS=true, or use scram-sha-512');
    out.sasl = { mechanism, username, password };
  }
  return out;
}

/** "SASL_SSL scram-sha-512 as fleetmesh", "SSL", "SASL_PLAINTEXT ..." or "PLAINTEXT", for log lines. */
export function describeSecurity({ ssl, sasl } = securityFromEnv()) {
  const protocol = `${sasl ? 'SASL_' : ''}${ssl ? 'SSL' : 'PLAINTEXT'}`;
  return sasl ? `${protocol} ${sasl.mechanism} as ${sasl.username}` : protocol;
}

export function makeKafka(clientId, brokers, extra = {}) {
  return new Kafka({
    clientId,
    brokers,
    logLevel: process.env.KAFKAJS_LOG_LEVEL ? Number(process.env.KAFKAJS_LOG_LEVEL) : logLevel.WARN,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    ...securityFromEnv(),
    ...extra,
  });
}

export function fail(msg) {
  console.error(`[kafka] error: ${msg}`);
  process.exit(1);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
