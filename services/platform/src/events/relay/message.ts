import type { Message } from "kafkajs";
import { HEADER, PROTOBUF_CONTENT_TYPE } from "../envelope.js";
import { physicalTopic } from "../kafka.js";

/** An unpublished outbox row, as the relay reads it. */
export interface PendingRow {
  readonly id: string;
  readonly topic: string;
  readonly aggregate_type: string;
  readonly aggregate_id: string;
  readonly event_type: string;
  readonly schema_version: number;
  readonly payload_bin: Buffer;
  readonly traceparent: string | null;
  readonly request_id: string | null;
  readonly occurred_at: Date;
}

/**
 * The Kafka record of an outbox row: key = aggregate id, value = protobuf
 * payload, the envelope in headers, timestamp = when the event occurred (so
 * a group reset "to time T" starts at the events that occurred from T on).
 */
export const toKafkaMessage = (row: PendingRow): Message => ({
  key: row.aggregate_id,
  value: row.payload_bin,
  timestamp: String(row.occurred_at.getTime()),
  headers: {
    [HEADER.eventId]: row.id,
    [HEADER.eventType]: row.event_type,
    [HEADER.aggregateType]: row.aggregate_type,
    [HEADER.aggregateId]: row.aggregate_id,
    [HEADER.schemaVersion]: String(row.schema_version),
    [HEADER.occurredAt]: row.occurred_at.toISOString(),
    [HEADER.contentType]: PROTOBUF_CONTENT_TYPE,
    ...(row.traceparent ? { [HEADER.traceparent]: row.traceparent } : {}),
    ...(row.request_id ? { [HEADER.requestId]: row.request_id } : {}),
  },
});

export interface TopicMessages {
  readonly topic: string;
  readonly messages: Message[];
}

/** Rows grouped by physical topic for one sendBatch, each topic's messages in row (sequence) order. */
export function topicMessagesOf(rows: readonly PendingRow[], topicPrefix: string): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const row of rows) {
    const topic = physicalTopic(topicPrefix, row.topic);
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(toKafkaMessage(row));
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
