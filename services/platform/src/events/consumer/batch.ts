import type { Batch, EachBatchPayload, KafkaMessage } from "kafkajs";
import type { Logger } from "../../logger.js";
import type { StopSignal } from "../stop-signal.js";
import type { Outcome } from "./event.js";
import { PartitionOffsets, type TopicPartitionOffset } from "./offsets.js";
import type { Heartbeat } from "./pause.js";

/** The parts of a kafkajs batch payload that the batch loop uses. */
export type BatchPayload = Pick<EachBatchPayload, "resolveOffset" | "heartbeat" | "isRunning" | "isStale"> & {
  readonly batch: Pick<Batch, "topic" | "partition" | "messages">;
};

export interface BatchLoopOptions {
  readonly stop: StopSignal;
  readonly log: Logger;
  /** Handles one message, retries and dead-lettering included; undefined when the consumer stops first. */
  handleMessage(topic: string, partition: number, message: KafkaMessage, heartbeat: Heartbeat): Promise<Outcome | undefined>;
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Clock of the commit interval (tests). */
  readonly now?: () => number;
}

/**
 * kafkajs's eachBatch: a partition's messages one after another. The group's
 * offset moves only past handled messages: after the batch, or every
 * COMMIT_EVERY messages or COMMIT_AFTER_MS within a long one (see
 * PartitionOffsets). Stopping, or losing the partition to a rebalance, ends
 * the batch with the rest unhandled and uncommitted.
 */
export function createBatchLoop(options: BatchLoopOptions): (payload: BatchPayload) => Promise<void> {
  const { stop, log } = options;
  return async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
    const { topic, partition } = batch;
    const offsets = new PartitionOffsets(topic, partition, options.now);
    const commit = async (): Promise<void> => {
      const pending = offsets.pending;
      if (pending === undefined) return;
      await options.commitOffsets([pending]);
      offsets.committed();
    };
    for (const message of batch.messages) {
      if (stop.stopping || !isRunning() || isStale()) break;
      const outcome = await options.handleMessage(topic, partition, message, heartbeat);
      if (outcome === undefined) break;
      resolveOffset(message.offset);
      offsets.handled(message.offset);
      if (offsets.commitDue) await commit();
      await heartbeat();
    }
    // A partition lost to a rebalance is another member's now: it starts from
    // the last committed offset, and the inbox absorbs the repeats.
    if (isStale()) return;
    await commit().catch((err: unknown) => {
      // Leaving the group anyway: the next owner re-reads these, harmlessly.
      if (!stop.stopping) throw err;
      log.debug({ err, topic, partition }, "offset commit while stopping failed");
    });
  };
}
