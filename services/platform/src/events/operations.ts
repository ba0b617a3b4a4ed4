// Operator procedures on the events backbone, used by scripts/events-*.ts:
// replaying dead-lettered events and resetting a consumer group's offsets.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { Partitioners, type Admin, type IHeaders, type Kafka, type Message } from "kafkajs";
import { eventSchemaOf, eventRegistry } from "./catalog.js";
import { DLQ_HEADER, HEADER, headerString } from "./envelope.js";
import { deadLetterTopic } from "./kafka.js";

export interface DeadLetter {
  readonly partition: number;
  readonly offset: string;
  /** When it was dead-lettered (the DLQ record's timestamp). */
  readonly deadLetteredAt: Date;
  readonly eventId: string | undefined;
  readonly eventType: string | undefined;
  readonly reason: string | undefined;
  readonly error: string | undefined;
  readonly attempts: string | undefined;
  readonly originalTopic: string;
  readonly originalPartition: string | undefined;
  readonly originalOffset: string | undefined;
  /** The payload as proto3 JSON, when the event type is in the catalog. */
  readonly payloadJson: unknown;
  readonly message: Message;
}

export interface DeadLetterFilter {
  /** The original topic; its dead letters are in `<topic>.dlq`. */
  readonly topic: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly eventType?: string;
  readonly eventId?: string;
  readonly reason?: string;
  /** At most this many (the oldest first within each partition). */
  readonly limit?: number;
}

const renderPayload = (eventType: string | undefined, value: Buffer | null): unknown => {
  const schema = eventType ? eventSchemaOf(eventType) : undefined;
  if (!schema || !value) return undefined;
  try {
    return toJson(schema, fromBinary(schema, value), { registry: eventRegistry });
  } catch {
    return undefined;
  }
};

/**
 * Reads `<topic>.dlq` from its beginning up to its end at the time of the
 * call and returns the dead letters that match, with a throwaway consumer
 * group (deleted afterwards), so nothing is committed anywhere.
 */
export async function listDeadLetters(kafka: Kafka, filter: DeadLetterFilter, timeoutMs = 60_000): Promise<DeadLetter[]> {
  const dlqTopic = deadLetterTopic(filter.topic);
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `dlq-replay-${randomUUID()}`;
  const found: DeadLetter[] = [];
  try {
    const ends = new Map((await admin.fetchTopicOffsets(dlqTopic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
    const pending = new Set([...ends].filter(([, o]) => o.high > o.low).map(([p]) => p));
    if (pending.size === 0) return found;
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 200 });
    await consumer.connect();
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    try {
      await consumer.subscribe({ topics: [dlqTopic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          const end = ends.get(partition)?.high ?? 0n;
          const offset = BigInt(message.offset);
          if (offset < end) {
            const headers: IHeaders = message.headers ?? {};
            const get = (name: string) => headerString(headers, name);
            const at = new Date(Number(message.timestamp));
            const entry: DeadLetter = {
              partition,
              offset: message.offset,
              deadLetteredAt: at,
              eventId: get(HEADER.eventId),
              eventType: get(HEADER.eventType),
              reason: get(DLQ_HEADER.errorReason),
              error: get(DLQ_HEADER.errorMessage),
              attempts: get(DLQ_HEADER.attempts),
              originalTopic: get(DLQ_HEADER.originalTopic) ?? filter.topic,
              originalPartition: get(DLQ_HEADER.originalPartition),
              originalOffset: get(DLQ_HEADER.originalOffset),
              payloadJson: renderPayload(get(HEADER.eventType), message.value),
              message: { key: message.key, value: message.value, headers },
            };
            const matches = (!filter.since || at >= filter.since) && (!filter.until || at <= filter.until)
              && (!filter.eventType || entry.eventType === filter.eventType)
              && (!filter.eventId || entry.eventId === filter.eventId)
              && (!filter.reason || entry.reason === filter.reason);
            if (matches) found.push(entry);
          }
          if (offset >= end - 1n) {
            pending.delete(partition);
            if (pending.size === 0) done();
          }
        },
      });
      const timer = new AbortController();
      const timedOut = await Promise.race([finished.then(() => false), sleep(timeoutMs, true, { signal: timer.signal })]);
      timer.abort();
      if (timedOut) throw new Error(`reading ${dlqTopic} timed out`);
    } finally {
      await consumer.disconnect();
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
  found.sort((a, b) => a.deadLetteredAt.getTime() - b.deadLetteredAt.getTime() || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  return filter.limit === undefined ? found : found.slice(0, filter.limit);
}

/**
 * Sends dead letters back to their original topic with their key, payload
 * and envelope, minus the dead-letter headers, plus `dlq-replay-of`: the
 * consumer then runs them through its handler again even though its inbox
 * recorded them as dead-lettered. A replayed event that applied is recorded
 * as applied, so replaying it twice has no second effect.
 */
export async function replayDeadLetters(kafka: Kafka, letters: readonly DeadLetter[]): Promise<number> {
  if (letters.length === 0) return 0;
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    // In dead-letter order: one key's letters keep their relative order.
    for (const letter of letters) {
      const headers: IHeaders = {};
      for (const [name, value] of Object.entries(letter.message.headers ?? {})) {
        if (!name.startsWith("dlq-") && value !== undefined) headers[name] = value;
      }
      headers[DLQ_HEADER.replayOf] = `${deadLetterTopic(letter.originalTopic)}/${letter.partition}/${letter.offset}`;
      await producer.send({ topic: letter.originalTopic, acks: -1, messages: [{ key: letter.message.key ?? null, value: letter.message.value ?? null, headers }] });
    }
  } finally {
    await producer.disconnect();
  }
  return letters.length;
}

export type ResetTarget = { readonly kind: "earliest" } | { readonly kind: "latest" } | { readonly kind: "time"; readonly at: Date };

export interface PartitionReset {
  readonly topic: string;
  readonly partition: number;
  /** Committed offset before the reset; "-1" when the group had none. */
  readonly from: string;
  readonly to: string;
}

/**
 * Moves a consumer group's committed offsets on `topics` to the earliest or
 * latest offset, or to the first record at or after a time. The group must
 * have no running members (Kafka refuses otherwise): stop the service first.
 */
export async function resetGroupOffsets(
  kafka: Kafka,
  groupId: string,
  topics: readonly string[],
  target: ResetTarget,
  options: { readonly dryRun?: boolean } = {},
): Promise<PartitionReset[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const state = groups[0]?.state ?? "Dead";
    const members = groups[0]?.members.length ?? 0;
    if (members > 0 || !["Empty", "Dead"].includes(state)) {
      throw new Error(`consumer group ${groupId} is ${state} with ${members} member(s): stop its consumers before resetting offsets`);
    }
    const resets: PartitionReset[] = [];
    for (const topic of topics) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const current = new Map((committed?.partitions ?? []).map((p) => [p.partition, p.offset]));
      let offsets: Array<{ partition: number; offset: string }>;
      if (target.kind === "time") {
        offsets = await admin.fetchTopicOffsetsByTimestamp(topic, target.at.getTime());
      } else {
        offsets = (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: target.kind === "earliest" ? p.low : p.high }));
      }
      offsets.sort((a, b) => a.partition - b.partition);
      for (const o of offsets) resets.push({ topic, partition: o.partition, from: current.get(o.partition) ?? "-1", to: o.offset });
    }
    if (options.dryRun) return resets;
    await commitAsGroup(kafka, groupId, resets, async () => (await mismatches(admin, groupId, resets)).length === 0);
    const wrong = await mismatches(admin, groupId, resets);
    if (wrong.length > 0) throw new Error(`offsets not reset: ${wrong.join("; ")}`);
    return resets;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Commits offsets for a group that has no members. kafkajs' admin.setOffsets
 * does the same one topic at a time, each with a default consumer that
 * waits out a 5 s fetch; this joins once for every topic and fetches briefly.
 * The member joins with every partition paused and only applies seeks,
 * which kafkajs commits for the group.
 */
async function commitAsGroup(kafka: Kafka, groupId: string, resets: readonly PartitionReset[], done: () => Promise<boolean>): Promise<void> {
  const topics = [...new Set(resets.map((r) => r.topic))];
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    let fetches = 0;
    consumer.on(consumer.events.FETCH, () => void (fetches += 1));
    await consumer.run({ autoCommit: true, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    consumer.pause(topics.map((topic) => ({ topic })));
    for (const r of resets) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.to });
    // Seeks are applied (and committed) by the next fetch round.
    const deadline = Date.now() + 20_000;
    const seen = fetches;
    while (Date.now() < deadline) {
      await sleep(50);
      if (fetches > seen && (await done())) return;
    }
  } finally {
    await consumer.disconnect();
  }
}

async function mismatches(admin: Admin, groupId: string, resets: readonly PartitionReset[]): Promise<string[]> {
  const wrong: string[] = [];
  for (const topic of new Set(resets.map((r) => r.topic))) {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const r of resets.filter((x) => x.topic === topic)) {
      const now = committed?.partitions.find((p) => p.partition === r.partition)?.offset;
      if (now !== r.to) wrong.push(`${topic}/${r.partition} is at ${now ?? "unset"}, not ${r.to}`);
    }
  }
  return wrong;
}
