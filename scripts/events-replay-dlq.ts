// Replays dead-lettered events to their original topic (docs/events.md, "Replay").
//
//   node dist/scripts/events-replay-dlq.js --topic rental.rental.v1 [--topic ...]
//       [--since 2025-01-01T00:00:00Z] [--until ...] [--limit 100]
//       [--event-type fleetmesh.rental.v1.RentalActivated] [--event-id <uuid>] [--reason VEHICLE_IN_USE]
//       [--dry-run] [--json] [--brokers 127.0.0.1:59092]
//
// --topic names the original topic (with any topic prefix); its dead letters
// are read from <topic>.dlq. Times filter on when a message was dead-lettered.
// --dry-run lists what would be replayed and sends nothing. Replaying is safe
// to repeat: consumers apply each event at most once.
// Environment: FLEET_KAFKA_BROKERS (default 127.0.0.1:59092).
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createKafka, toolKafkaConfig } from "../services/platform/src/events/kafka.js";
import { listDeadLetters, replayDeadLetters, type DeadLetter } from "../services/platform/src/events/operations.js";

const USAGE = "usage: events-replay-dlq --topic <topic> [--topic ...] [--since ISO] [--until ISO] [--limit N] " +
  "[--event-type T] [--event-id ID] [--reason R] [--dry-run] [--json] [--brokers host:port,...]";

const time = (name: string, value: string | undefined): Date | undefined => {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`--${name}: not a date/time: ${value}`);
  return d;
};

const row = (l: DeadLetter): string =>
  [l.deadLetteredAt.toISOString(), `${l.partition}/${l.offset}`, l.eventId ?? "-", l.eventType ?? "-", l.reason ?? "-", l.attempts ?? "-",
    (l.error ?? "").slice(0, 80)].join("  ");

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      topic: { type: "string", multiple: true },
      since: { type: "string" },
      until: { type: "string" },
      limit: { type: "string" },
      "event-type": { type: "string" },
      "event-id": { type: "string" },
      reason: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      brokers: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.topic?.length) throw new Error(`--topic is required\n${USAGE}`);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new Error("--limit must be a non-negative integer");
  const config = toolKafkaConfig(process.env, values.brokers);
  const kafka = createKafka(config, "events-replay-dlq", pino({ level: "error" }, pino.destination(2)));
  const since = time("since", values.since);
  const until = time("until", values.until);
  let remaining = limit;
  let total = 0;
  for (const topic of values.topic) {
    if (remaining === 0) break;
    const letters = await listDeadLetters(kafka, {
      topic,
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(values["event-type"] ? { eventType: values["event-type"] } : {}),
      ...(values["event-id"] ? { eventId: values["event-id"] } : {}),
      ...(values.reason ? { reason: values.reason } : {}),
      ...(remaining === undefined ? {} : { limit: remaining }),
    });
    if (values.json) {
      for (const l of letters) {
        process.stdout.write(`${JSON.stringify({
          deadLetteredAt: l.deadLetteredAt, dlqPartition: l.partition, dlqOffset: l.offset, eventId: l.eventId, eventType: l.eventType,
          reason: l.reason, error: l.error, attempts: l.attempts, originalTopic: l.originalTopic,
          originalPartition: l.originalPartition, originalOffset: l.originalOffset, payload: l.payloadJson,
        })}\n`);
      }
    } else {
      process.stdout.write(`${topic}.dlq: ${letters.length} matching dead letter(s)\n`);
      if (letters.length > 0) process.stdout.write(`  dead-lettered at  dlq partition/offset  event id  event type  reason  attempts  error\n`);
      for (const l of letters) process.stdout.write(`  ${row(l)}\n`);
    }
    if (!values["dry-run"]) {
      const sent = await replayDeadLetters(kafka, letters);
      if (!values.json) process.stdout.write(`${topic}: replayed ${sent}\n`);
    }
    total += letters.length;
    if (remaining !== undefined) remaining -= letters.length;
  }
  if (!values.json) process.stdout.write(`${values["dry-run"] ? "would replay" : "replayed"} ${total} event(s)\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`events-replay-dlq: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
