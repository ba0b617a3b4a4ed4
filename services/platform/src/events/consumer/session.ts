import { setTimeout as sleep } from "node:timers/promises";
import type { EachBatchPayload, Kafka } from "kafkajs";
import type { Logger } from "../../logger.js";
import type { StopSignal } from "../stop-signal.js";
import type { ConsumerMetrics } from "../consumer.js";
import type { TopicPartitionOffset } from "./offsets.js";

const HOUSEKEEPING_EVERY_MS = 60_000;

export interface ConsumerSessionOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly partitionsConcurrently: number;
  readonly eachBatch: (payload: EachBatchPayload) => Promise<void>;
  /** Runs every minute while the session is up (the inbox purge). */
  readonly housekeeping: () => Promise<void>;
  readonly stop: StopSignal;
  readonly metrics: ConsumerMetrics;
  readonly log: Logger;
}

/** One kafkajs consumer, from connect to a crash kafkajs will not restart from (see supervisor.ts). */
export interface ConsumerSession {
  /**
   * Connects, subscribes and runs; returns once stop is requested, and
   * throws the error of a crash kafkajs does not restart from (or of a
   * failed connect or subscribe).
   */
  run(): Promise<void>;
  /** Leaves the group: waits for the batches in hand, which give up at their next pause once stopping. */
  close(): Promise<void>;
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
}

export function openConsumerSession(options: ConsumerSessionOptions): ConsumerSession {
  const { stop, metrics, log } = options;
  const c = options.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: Math.max(1_000, Math.floor(options.sessionTimeoutMs / 10)),
    allowAutoTopicCreation: false,
    // Short broker long-polls keep stop() quick; data still arrives at once.
    maxWaitTimeInMs: 1_000,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 3_000 },
  });
  const crashed = new Promise<Error>((resolve) => {
    c.on(c.events.CRASH, ({ payload }) => {
      if (!payload.restart) resolve(payload.error);
      else log.warn({ err: payload.error }, "event consumer failed; kafkajs restarts it");
    });
  });
  c.on(c.events.GROUP_JOIN, ({ payload }) => {
    metrics.rebalances.inc();
    const partitions = Object.values(payload.memberAssignment).reduce((n, list) => n + list.length, 0);
    metrics.assigned.set(partitions);
    log.info({ groupId: payload.groupId, memberId: payload.memberId, leader: payload.isLeader, durationMs: payload.duration,
      assignment: payload.memberAssignment }, "event consumer joined its group");
  });
  c.on(c.events.STOP, () => metrics.assigned.set(0));

  return {
    async run() {
      await c.connect();
      // stop() may have landed while connecting: it waits for this run to
      // return and then disconnects this consumer, which must not join first.
      if (stop.stopping) return;
      await c.subscribe({ topics: [...options.topics], fromBeginning: options.fromBeginning });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConcurrently,
        eachBatch: options.eachBatch,
      });
      log.info({ groupId: options.groupId, topics: options.topics }, "event consumer running");
      for (;;) {
        const tick = new AbortController();
        const crash = await Promise.race([crashed, stop.requested, sleep(HOUSEKEEPING_EVERY_MS, "tick" as const, { signal: tick.signal })]);
        tick.abort();
        if (crash === undefined || stop.stopping) return;
        if (crash !== "tick") throw crash;
        await options.housekeeping();
      }
    },
    close: () => c.disconnect(),
    commitOffsets: (offsets) => c.commitOffsets(offsets),
  };
}
