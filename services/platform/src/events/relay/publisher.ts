import { Partitioners, type Kafka, type Producer } from "kafkajs";
import { topicMessagesOf, type PendingRow } from "./message.js";
import type { RelayMetrics } from "../outbox-relay.js";

export interface Publisher {
  /** Sends the rows with acks=all, in one batch; throws when Kafka did not take all of them. */
  publish(rows: readonly PendingRow[]): Promise<void>;
  close(): Promise<void>;
}

/** The relay's idempotent producer, made on first use and again after a failed send. */
export function createPublisher(options: { kafka: Kafka; topicPrefix: string; metrics: RelayMetrics }): Publisher {
  const { metrics } = options;
  let producer: Producer | undefined;

  const ensureProducer = async (): Promise<Producer> => {
    if (producer) return producer;
    const p = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    await p.connect();
    producer = p;
    return p;
  };

  /** After a failed send the producer's sequence numbers are unknown: start a fresh producer id. */
  const dropProducer = async (): Promise<void> => {
    const p = producer;
    producer = undefined;
    await p?.disconnect().catch(() => undefined);
  };

  return {
    async publish(rows) {
      const topicMessages = topicMessagesOf(rows, options.topicPrefix);
      const p = await ensureProducer();
      try {
        await p.sendBatch({ acks: -1, topicMessages });
      } catch (err) {
        await dropProducer();
        throw err;
      }
      const now = Date.now();
      for (const { topic, messages } of topicMessages) metrics.published.inc({ topic }, messages.length);
      for (const row of rows) metrics.lag.observe((now - row.occurred_at.getTime()) / 1000);
    },
    close: dropProducer,
  };
}
