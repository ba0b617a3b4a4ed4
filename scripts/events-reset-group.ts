// Resets a consumer group's offsets (docs/events.md, "Replay").
//
//   node dist/scripts/events-reset-group.js --group fleet --topic rental.rental.v1 [--topic ...]
//       (--to 2025-01-01T00:00:00Z | --to-earliest | --to-latest) [--dry-run] [--brokers 127.0.0.1:59092]
//
// The group must be stopped (no members): Kafka refuses to move the offsets
// of a running group, and this command checks first. With --to, each
// partition restarts at its first record whose timestamp (the time the event
// occurred) is at or after the given time; later records than any there is
// leave the partition at its end. Consumers deduplicate, so re-reading any
// amount of history changes no database.
// Environment: FLEET_KAFKA_BROKERS (default 127.0.0.1:59092).
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createKafka, toolKafkaConfig } from "../services/platform/src/events/kafka.js";
import { resetGroupOffsets, type ResetTarget } from "../services/platform/src/events/operations.js";

const USAGE = "usage: events-reset-group --group <id> --topic <topic> [--topic ...] (--to ISO | --to-earliest | --to-latest) [--dry-run] [--brokers host:port,...]";

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      group: { type: "string" },
      topic: { type: "string", multiple: true },
      to: { type: "string" },
      "to-earliest": { type: "boolean", default: false },
      "to-latest": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      brokers: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.group) throw new Error(`--group is required\n${USAGE}`);
  if (!values.topic?.length) throw new Error(`--topic is required\n${USAGE}`);
  const targets = [values.to !== undefined, values["to-earliest"], values["to-latest"]].filter(Boolean).length;
  if (targets !== 1) throw new Error(`give exactly one of --to, --to-earliest, --to-latest\n${USAGE}`);
  let target: ResetTarget;
  if (values.to !== undefined) {
    const at = new Date(values.to);
    if (Number.isNaN(at.getTime())) throw new Error(`--to: not a date/time: ${values.to}`);
    target = { kind: "time", at };
  } else {
    target = { kind: values["to-earliest"] ? "earliest" : "latest" };
  }
  const config = toolKafkaConfig(process.env, values.brokers);
  const kafka = createKafka(config, "events-reset-group", pino({ level: "error" }, pino.destination(2)));
  const resets = await resetGroupOffsets(kafka, values.group, values.topic, target, { dryRun: values["dry-run"] });
  process.stdout.write(`${values["dry-run"] ? "would reset" : "reset"} group ${values.group}:\n  topic  partition  from -> to\n`);
  for (const r of resets) process.stdout.write(`  ${r.topic}  ${r.partition}  ${r.from} -> ${r.to}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`events-reset-group: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
