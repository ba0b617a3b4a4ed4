import { Partitioners, type IHeaders, type Kafka, type KafkaMessage, type Producer } from "kafkajs";
import type { Logger } from "../../logger.js";
import { DLQ_HEADER } from "../envelope.js";
import { describeFailure } from "../failures.js";
import { deadLetterTopic } from "../kafka.js";
import type { ConsumedEvent } from "./event.js";
import type { Inbox } from "./inbox.js";
import type { ConsumerMetrics } from "../consumer.js";
import type { Heartbeat } from "./pause.js";

/**
 * The headers of a dead-lettered copy: the original's, plus the error and
 * where the message came from. A copy sent back by the replay command loses
 * its replay mark: dead-lettered again, it is a new dead letter.
 */
export function deadLetterHeaders(
  original: IHeaders | undefined,
  event: ConsumedEvent,
  failure: ReturnType<typeof describeFailure>,
  attempts: number,
  groupId: string,
  failedAt: Date,
): IHeaders {
  const headers: IHeaders = {
    ...(original ?? {}),
    [DLQ_HEADER.errorReason]: failure.reason,
    [DLQ_HEADER.errorKind]: failure.kind,
    [DLQ_HEADER.errorMessage]: failure.message.slice(0, 2_000),
    [DLQ_HEADER.originalTopic]: event.topic,
    [DLQ_HEADER.originalPartition]: String(event.partition),
    [DLQ_HEADER.originalOffset]: event.offset,
    [DLQ_HEADER.attempts]: String(attempts),
    [DLQ_HEADER.consumerGroup]: groupId,
    [DLQ_HEADER.failedAt]: failedAt.toISOString(),
    ...(failure.deferredReason === undefined ? {} : { [DLQ_HEADER.deferredReason]: failure.deferredReason }),
  };
  delete headers[DLQ_HEADER.replayOf];
  return headers;
}

export interface DeadLetters {
  /**
   * Publishes the message to `<topic>.dlq` (retrying until it works: the
   * offset must not move before), then records the event as dead-lettered so
   * that replaying the topic does not dead-letter it again; only the replay
   * command sends it through the handler again.
   */
  send(message: KafkaMessage, event: ConsumedEvent, err: unknown, attempts: number, heartbeat: Heartbeat): Promise<void>;
  close(): Promise<void>;
}

export interface DeadLetterOptions {
  readonly kafka: Kafka;
  readonly inbox: Inbox;
  readonly log: Logger;
  readonly metrics: ConsumerMetrics;
  readonly groupId: string;
  /** The pause after the `failures`-th failure in a row; throws when the consumer stops. */
  waitAfterFailure(failures: number, heartbeat: Heartbeat): Promise<void>;
}

export function createDeadLetters(options: DeadLetterOptions): DeadLetters {
  const { kafka, inbox, log, metrics } = options;
  let producer: Producer | undefined;

  const ensureProducer = async (): Promise<Producer> => {
    if (producer) return producer;
    const p = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    await p.connect();
    producer = p;
    return p;
  };

  const publish = async (message: KafkaMessage, event: ConsumedEvent, headers: IHeaders, heartbeat: Heartbeat): Promise<void> => {
    const dlqTopic = deadLetterTopic(event.topic);
    for (let failures = 0; ; failures++) {
      try {
        const p = await ensureProducer();
        await p.send({ topic: dlqTopic, acks: -1, messages: [{ key: message.key, value: message.value, headers }] });
        return;
      } catch (publishErr) {
        metrics.deadLetterFailures.inc({ topic: event.topic });
        log.error({ err: publishErr, topic: dlqTopic, messageId: event.messageId, failures: failures + 1 },
          "dead-letter publish failed; the offset stays uncommitted and the partition waits");
        const p = producer;
        producer = undefined;
        await p?.disconnect().catch(() => undefined);
        await options.waitAfterFailure(failures + 1, heartbeat);
      }
    }
  };

  const record = async (event: ConsumedEvent, reason: string, heartbeat: Heartbeat): Promise<void> => {
    for (let failures = 0; ; failures++) {
      try {
        await inbox.recordDeadLettered(event, reason);
        return;
      } catch (dbErr) {
        log.warn({ err: dbErr, messageId: event.messageId }, "could not record a dead-lettered event; retrying");
        await options.waitAfterFailure(failures + 1, heartbeat);
      }
    }
  };

  return {
    async send(message, event, err, attempts, heartbeat) {
      const failure = describeFailure(err);
      await publish(message, event, deadLetterHeaders(message.headers, event, failure, attempts, options.groupId, new Date()), heartbeat);
      await record(event, failure.reason, heartbeat);
      metrics.deadLettered.inc({ topic: event.topic, reason: failure.reason });
      log.warn({ messageId: event.messageId, eventType: event.eventType, topic: event.topic, partition: event.partition,
        offset: event.offset, reason: failure.reason, error: failure.message, attempts }, "event dead-lettered");
    },
    async close() {
      await producer?.disconnect().catch(() => undefined);
    },
  };
}
