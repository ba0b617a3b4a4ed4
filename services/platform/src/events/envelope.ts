import { getOption, hasOption, type DescMessage } from "@bufbuild/protobuf";
import type { IHeaders } from "kafkajs";
import { event as eventOption } from "../../../../gen/fleetmesh/common/v1/options_pb.js";

/**
 * Kafka header names of the event envelope (fleetmesh.events.v1.EventEnvelope):
 * the message value is the binary protobuf payload, the key is the aggregate id.
 */
export const HEADER = {
  eventId: "event-id",
  eventType: "event-type",
  aggregateType: "aggregate-type",
  aggregateId: "aggregate-id",
  schemaVersion: "schema-version",
  occurredAt: "occurred-at",
  traceparent: "traceparent",
  requestId: "request-id",
  contentType: "content-type",
} as const;

/** Headers a dead-lettered copy carries on top of the original ones. */
export const DLQ_HEADER = {
  errorReason: "dlq-error-reason",
  errorKind: "dlq-error-kind",
  errorMessage: "dlq-error-message",
  originalTopic: "dlq-original-topic",
  originalPartition: "dlq-original-partition",
  originalOffset: "dlq-original-offset",
  attempts: "dlq-attempts",
  consumerGroup: "dlq-consumer-group",
  failedAt: "dlq-failed-at",
  /** On PARK_WINDOW_EXPIRED dead letters: the reason the event was last deferred with. */
  deferredReason: "dlq-deferred-reason",
  /** Set by scripts/events-replay-dlq.ts on the copy it sends back: `<dlq topic>/<partition>/<offset>`. */
  replayOf: "dlq-replay-of",
} as const;

export const PROTOBUF_CONTENT_TYPE = "application/x-protobuf";

export interface EventRouting {
  readonly topic: string;
  readonly aggregateType: string;
  readonly schemaVersion: number;
}

const routingCache = new WeakMap<DescMessage, EventRouting>();

/**
 * Topic, aggregate type and schema version of an event message, from its
 * `(fleetmesh.common.v1.event)` option: the contract is the only source.
 */
export function routingOf(schema: DescMessage): EventRouting {
  const cached = routingCache.get(schema);
  if (cached) return cached;
  if (!hasOption(schema, eventOption)) throw new Error(`${schema.typeName} is not an event: it has no (fleetmesh.common.v1.event) option`);
  const { topic, aggregateType, schemaVersion } = getOption(schema, eventOption);
  if (topic === "" || aggregateType === "" || schemaVersion < 1) throw new Error(`${schema.typeName}: incomplete event routing option`);
  const routing = { topic, aggregateType, schemaVersion };
  routingCache.set(schema, routing);
  return routing;
}

/** First value of a Kafka header as a string; kafkajs hands out Buffers. */
export function headerString(headers: IHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return undefined;
  const s = typeof first === "string" ? first : first.toString("utf8");
  return s === "" ? undefined : s;
}

/** The envelope as read from a consumed message's headers. */
export interface ConsumedEnvelope {
  readonly eventId: string | undefined;
  readonly eventType: string | undefined;
  readonly aggregateType: string | undefined;
  readonly aggregateId: string | undefined;
  readonly schemaVersion: number | undefined;
  readonly occurredAt: Date | undefined;
  readonly traceparent: string | undefined;
  readonly requestId: string | undefined;
  /** Present on a copy sent back by the dead-letter replay command. */
  readonly replayOf: string | undefined;
}

export function readEnvelope(headers: IHeaders | undefined): ConsumedEnvelope {
  const version = headerString(headers, HEADER.schemaVersion);
  const occurred = headerString(headers, HEADER.occurredAt);
  const parsedVersion = version === undefined ? undefined : Number(version);
  const occurredAt = occurred === undefined ? undefined : new Date(occurred);
  return {
    eventId: headerString(headers, HEADER.eventId),
    eventType: headerString(headers, HEADER.eventType),
    aggregateType: headerString(headers, HEADER.aggregateType),
    aggregateId: headerString(headers, HEADER.aggregateId),
    schemaVersion: parsedVersion !== undefined && Number.isInteger(parsedVersion) ? parsedVersion : undefined,
    occurredAt: occurredAt !== undefined && !Number.isNaN(occurredAt.getTime()) ? occurredAt : undefined,
    traceparent: headerString(headers, HEADER.traceparent),
    requestId: headerString(headers, HEADER.requestId),
    replayOf: headerString(headers, DLQ_HEADER.replayOf),
  };
}
