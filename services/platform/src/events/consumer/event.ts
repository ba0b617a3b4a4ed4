import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { KafkaMessage } from "kafkajs";
import type { ConsumedEnvelope } from "../envelope.js";

/** What a handler knows about the event it handles, besides the payload. */
export interface ConsumedEvent {
  /** The deduplication key: the envelope's event id, or `<topic>-<partition>-<offset>` without one. */
  readonly messageId: string;
  readonly eventType: string;
  readonly aggregateId: string | undefined;
  readonly occurredAt: Date | undefined;
  readonly requestId: string | undefined;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface EventHandler<Desc extends DescMessage = DescMessage> {
  readonly schema: Desc;
  /**
   * Applies the event. Runs inside the database transaction that also
   * records the event in `inbox_processed_messages` (db.transaction joins
   * it), so the effect happens once. Throw PermanentEventError or a
   * DomainError (invalid_argument, failed_precondition, not_found, ...) for
   * events that can never apply: they are dead-lettered without retries.
   * Throw DeferredEventError for an event that cannot apply *yet* (another
   * event it depends on has not arrived): it is parked and retried in the
   * background, within the park window.
   */
  handle(message: MessageShape<Desc>, event: ConsumedEvent, prepared?: unknown): Promise<void>;
  /**
   * Remote work first (peer calls as the service): runs before the inbox
   * transaction opens, so no connection or lock is held while a peer
   * answers; its result reaches handle(). It may run again (a retry, a
   * redelivery), so it makes reads or idempotent calls only. Its failures
   * follow the same retry policy as handle()'s.
   */
  prepare?(message: MessageShape<Desc>, event: ConsumedEvent): Promise<unknown>;
}

export const handleEvent = <Desc extends DescMessage>(
  schema: Desc,
  handle: (message: MessageShape<Desc>, event: ConsumedEvent) => Promise<void>,
): EventHandler => ({ schema, handle }) as unknown as EventHandler;

/** A handler that calls peers: `prepare` outside the inbox transaction, `handle` inside it (see EventHandler.prepare). */
export const handleEventRemoteFirst = <Desc extends DescMessage, P>(
  schema: Desc,
  prepare: (message: MessageShape<Desc>, event: ConsumedEvent) => Promise<P>,
  handle: (message: MessageShape<Desc>, event: ConsumedEvent, prepared: P) => Promise<void>,
): EventHandler => ({ schema, prepare, handle }) as unknown as EventHandler;

/** How the consumer disposed of one message; the `outcome` label of events_consumed_total. */
export type Outcome = "applied" | "duplicate" | "ignored" | "unknown_type" | "dead_lettered" | "parked";

export function consumedEventOf(topic: string, partition: number, message: KafkaMessage, envelope: ConsumedEnvelope): ConsumedEvent {
  return {
    messageId: envelope.eventId ?? `${topic}-${partition}-${message.offset}`,
    eventType: envelope.eventType ?? "",
    aggregateId: envelope.aggregateId ?? message.key?.toString("utf8"),
    occurredAt: envelope.occurredAt,
    requestId: envelope.requestId,
    topic,
    partition,
    offset: message.offset,
  };
}
