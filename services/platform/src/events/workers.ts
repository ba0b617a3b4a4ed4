import type { KafkaConfig } from "../config.js";
import type { BackgroundWorker, ServiceDependencies } from "../service-runtime.js";
import { createEventConsumer, type ConsumedEvent, type EventConsumer, type EventHandler } from "./consumer.js";
import { createKafka } from "./kafka.js";
import { signalRelaysOnCommit } from "./outbox.js";
import { createOutboxRelay, type OutboxRelay } from "./outbox-relay.js";

export interface EventWorkers {
  readonly relay: OutboxRelay | undefined;
  readonly consumer: EventConsumer | undefined;
  /**
   * In start order: the relay (or, with the relay disabled here, the signal
   * that wakes the relay of another replica on each commit), then the
   * consumer; the runtime stops them in reverse.
   */
  readonly all: readonly BackgroundWorker[];
}

export interface EventWorkerOptions {
  /** Event handlers of the service's consumer group; none means no consumer. */
  readonly handlers?: readonly EventHandler[];
  /** Tests only: see EventConsumerOptions.afterEffectCommitted. */
  readonly afterEffectCommitted?: (event: ConsumedEvent) => void | Promise<void>;
}

/**
 * The outbox relay and the event consumer of a service, from its `kafka`
 * configuration. Nothing when Kafka is disabled or not configured: the
 * outbox then fills up and drains once a relay runs.
 */
export function createEventWorkers(kafkaConfig: KafkaConfig | undefined, deps: ServiceDependencies, options: EventWorkerOptions = {}): EventWorkers {
  if (!kafkaConfig?.enabled) return { relay: undefined, consumer: undefined, all: [] };
  const { config, db, log, metrics } = deps;
  const kafka = createKafka(kafkaConfig, config.service.name, log);
  const relay = kafkaConfig.relay.enabled
    ? createOutboxRelay({
      db,
      connection: config.database,
      kafka,
      topicPrefix: kafkaConfig.topicPrefix,
      log: log.child({ component: "outbox-relay" }),
      registry: metrics.registry,
      batchSize: kafkaConfig.relay.batchSize,
      minRoundIntervalMs: kafkaConfig.relay.minRoundIntervalMs,
      pollIntervalMs: kafkaConfig.relay.pollIntervalMs,
      leaderCheckMs: kafkaConfig.relay.leaderCheckMs,
      retainPublishedHours: kafkaConfig.relay.retainPublishedHours,
      applicationName: `${config.service.name}-outbox-relay`,
      stopTimeoutMs: Math.max(1_000, Math.floor(config.shutdown.graceMs / 2)),
    })
    : undefined;
  const consumerConfig = kafkaConfig.consumer;
  const handlers = options.handlers ?? [];
  const consumer = consumerConfig?.enabled && handlers.length > 0
    ? createEventConsumer({
      kafka,
      db,
      log: log.child({ component: "event-consumer" }),
      registry: metrics.registry,
      groupId: consumerConfig.groupId,
      topicPrefix: kafkaConfig.topicPrefix,
      handlers,
      maxAttempts: consumerConfig.maxAttempts,
      retryInitialMs: consumerConfig.retryInitialMs,
      retryMaxMs: consumerConfig.retryMaxMs,
      partitionsConcurrently: consumerConfig.partitionsConcurrently,
      sessionTimeoutMs: consumerConfig.sessionTimeoutMs,
      fromBeginning: consumerConfig.fromBeginning,
      inboxRetentionDays: consumerConfig.inboxRetentionDays,
      parkWindowMs: consumerConfig.parkWindowMs,
      parkRetryInitialMs: consumerConfig.parkRetryInitialMs,
      parkRetryMaxMs: consumerConfig.parkRetryMaxMs,
      ...(options.afterEffectCommitted ? { afterEffectCommitted: options.afterEffectCommitted } : {}),
    })
    : undefined;
  const publishing: BackgroundWorker = relay ?? signalRelaysOnCommit(db.knex);
  return { relay, consumer, all: [publishing, ...(consumer ? [consumer] : [])] };
}
