import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { KafkaMessage } from "kafkajs";
import type { Logger } from "../../logger.js";
import { extractContext, tracer } from "../../telemetry.js";
import { withCorrelation } from "../correlation.js";
import { readEnvelope, type ConsumedEnvelope } from "../envelope.js";
import { classifyFailure, PermanentEventError, type DeferredEventError } from "../failures.js";
import type { StopSignal } from "../stop-signal.js";
import type { DeadLetters } from "./dead-letter.js";
import { dispatch } from "./dispatch.js";
import { consumedEventOf, type ConsumedEvent, type EventHandler, type Outcome } from "./event.js";
import { processedBefore, type Inbox } from "./inbox.js";
import type { ConsumerMetrics } from "../consumer.js";
import { recordOutcome } from "./metrics.js";
import { ConsumerStopping, type Heartbeat } from "./pause.js";
import type { Parking } from "./parking.js";
import { nextStepAfter } from "./retry-policy.js";

export interface MessageHandlerOptions {
  readonly handlers: ReadonlyMap<string, EventHandler>;
  readonly inbox: Inbox;
  readonly deadLetters: DeadLetters;
  readonly metrics: ConsumerMetrics;
  readonly log: Logger;
  readonly stop: StopSignal;
  readonly maxAttempts: number;
  /** The pause after the `failures`-th failure in a row; throws ConsumerStopping when the consumer stops. */
  waitAfterFailure(failures: number, heartbeat: Heartbeat): Promise<void>;
  readonly afterEffectCommitted?: ((event: ConsumedEvent) => void | Promise<void>) | undefined;
  /** Where deferred events go; undefined (park window 0) dead-letters them at once. */
  readonly parking?: Parking | undefined;
}

/**
 * One handler attempt, with its trace span and correlation: decoded payload
 * in, "applied" or "duplicate" out, the handler's error thrown. Shared by
 * the live path and the re-drive of parked events.
 */
export async function attemptOnce(
  inbox: Inbox, handler: EventHandler, payload: MessageShape<DescMessage>, event: ConsumedEvent, envelope: ConsumedEnvelope,
): Promise<"applied" | "duplicate"> {
  const replay = envelope.replayOf !== undefined;
  const parent = extractContext((key) => (key === "traceparent" ? envelope.traceparent : undefined));
  const span = tracer().startSpan(`${event.topic} process`, {
    kind: SpanKind.CONSUMER,
    attributes: { "messaging.system": "kafka", "messaging.destination.name": event.topic, "messaging.message.id": event.messageId },
  }, parent);
  try {
    const outcome = await otelContext.with(trace.setSpan(parent, span), () =>
      withCorrelation({ requestId: envelope.requestId ?? event.messageId }, async () => {
        if (!handler.prepare) return inbox.apply(handler, payload, event, replay);
        // Remote work before the inbox transaction; none for an event already applied.
        if (processedBefore(await inbox.outcomeOf(event.messageId), replay)) return "duplicate" as const;
        const prepared = await handler.prepare(payload, event);
        return inbox.apply(handler, payload, event, replay, prepared);
      }));
    span.end();
    return outcome;
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    throw err;
  }
}

/** The payload of a message for its handler, or the PermanentEventError that dead-letters it. */
export function decodePayload(handler: EventHandler, message: KafkaMessage, event: ConsumedEvent): MessageShape<DescMessage> | PermanentEventError {
  try {
    return fromBinary(handler.schema, message.value ?? new Uint8Array());
  } catch (err) {
    return new PermanentEventError("PAYLOAD_UNDECODABLE", `payload is not a valid ${event.eventType}: ${(err as Error).message}`);
  }
}

export type MessageHandler = (topic: string, partition: number, message: KafkaMessage, heartbeat: Heartbeat) => Promise<Outcome | undefined>;

/**
 * Handles one message, retries and dead-lettering included, and counts the
 * outcome; undefined when the consumer stops first (nothing to commit).
 */
export function createMessageHandler(options: MessageHandlerOptions): MessageHandler {
  const { inbox, deadLetters, log, stop, waitAfterFailure } = options;

  /** Dead-letters an event no handler could run, unless it was dead-lettered before. */
  const reject = async (
    message: KafkaMessage, event: ConsumedEvent, envelope: ConsumedEnvelope, err: PermanentEventError, heartbeat: Heartbeat,
  ): Promise<Outcome> => {
    if (await processedBeforeRetrying(event, envelope.replayOf !== undefined, heartbeat)) return "duplicate";
    await deadLetters.send(message, event, err, 1, heartbeat);
    return "dead_lettered";
  };

  const processedBeforeRetrying = async (event: ConsumedEvent, replay: boolean, heartbeat: Heartbeat): Promise<boolean> => {
    for (let failures = 0; ; failures++) {
      try {
        return processedBefore(await inbox.outcomeOf(event.messageId), replay);
      } catch (err) {
        log.warn({ err, messageId: event.messageId }, "could not read the inbox; retrying");
        await waitAfterFailure(failures + 1, heartbeat);
      }
    }
  };

  const handleWithRetries = async (
    handler: EventHandler, message: KafkaMessage, event: ConsumedEvent, envelope: ConsumedEnvelope, heartbeat: Heartbeat,
  ): Promise<Outcome> => {
    const payload = decodePayload(handler, message, event);
    if (payload instanceof PermanentEventError) return reject(message, event, envelope, payload, heartbeat);
    let infrastructureFailures = 0;
    for (let attempt = 1; ; ) {
      try {
        const outcome = await attemptOnce(inbox, handler, payload, event, envelope);
        if (outcome === "applied") await options.afterEffectCommitted?.(event);
        return outcome;
      } catch (err) {
        if (stop.stopping) throw new ConsumerStopping("consumer is stopping");
        switch (nextStepAfter(classifyFailure(err), attempt, options.maxAttempts, options.parking !== undefined)) {
          case "wait_for_database":
            infrastructureFailures += 1;
            log.warn({ err, messageId: event.messageId, failures: infrastructureFailures }, "a dependency (the database or a peer service) is unavailable; the event waits");
            await waitAfterFailure(infrastructureFailures, heartbeat);
            continue;
          case "park":
            // Off the partition: the offset moves on, the re-drive worker tries it again.
            return options.parking!.park(message, event, err as DeferredEventError, heartbeat);
          case "dead_letter":
            await deadLetters.send(message, event, err, attempt, heartbeat);
            return "dead_lettered";
          case "retry":
            options.metrics.retries.inc({ topic: event.topic, event_type: event.eventType });
            log.info({ err, messageId: event.messageId, attempt }, "event handler failed; retrying");
            await waitAfterFailure(attempt, heartbeat);
            attempt += 1;
        }
      }
    }
  };

  return async (topic, partition, message, heartbeat) => {
    const started = performance.now();
    const envelope = readEnvelope(message.headers);
    const event = consumedEventOf(topic, partition, message, envelope);
    const route = dispatch(event.eventType, envelope.schemaVersion, options.handlers);
    let outcome: Outcome;
    try {
      switch (route.kind) {
        case "reject":
          outcome = await reject(message, event, envelope, route.error, heartbeat);
          break;
        case "skip":
          outcome = route.outcome;
          if (outcome === "unknown_type") log.warn({ eventType: event.eventType, topic, messageId: event.messageId }, "skipping an unknown event type");
          break;
        case "handle":
          outcome = await handleWithRetries(route.handler, message, event, envelope, heartbeat);
      }
    } catch (err) {
      if (err instanceof ConsumerStopping) return undefined;
      throw err;
    }
    recordOutcome(options.metrics, event, outcome, (performance.now() - started) / 1000);
    return outcome;
  };
}
