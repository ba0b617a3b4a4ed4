/** Within a long batch, the group's offset moves at least every this many handled messages... */
export const COMMIT_EVERY = 100;
/** ...or this often: a crash replays at most that much, and the inbox skips it. */
export const COMMIT_AFTER_MS = 1_000;

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * The offset bookkeeping of one partition's batch. The committed offset only
 * ever moves to one past a handled (or dead-lettered) message; nothing is
 * committed when nothing was handled since the last commit.
 */
export class PartitionOffsets {
  readonly #topic: string;
  readonly #partition: number;
  readonly #now: () => number;
  readonly #every: number;
  readonly #afterMs: number;
  #handled: string | undefined;
  #sinceCommit = 0;
  #lastCommit: number;

  constructor(topic: string, partition: number, now: () => number = () => performance.now(), every = COMMIT_EVERY, afterMs = COMMIT_AFTER_MS) {
    this.#topic = topic;
    this.#partition = partition;
    this.#now = now;
    this.#every = every;
    this.#afterMs = afterMs;
    this.#lastCommit = now();
  }

  /** Records that the message at `offset` was handled. */
  handled(offset: string): void {
    this.#handled = offset;
    this.#sinceCommit += 1;
  }

  /** True when enough messages or time went by since the last commit. */
  get commitDue(): boolean {
    return this.#sinceCommit >= this.#every || this.#now() - this.#lastCommit >= this.#afterMs;
  }

  /** What to commit: one past the last handled message, or undefined when nothing is new. */
  get pending(): TopicPartitionOffset | undefined {
    if (this.#handled === undefined) return undefined;
    return { topic: this.#topic, partition: this.#partition, offset: (BigInt(this.#handled) + 1n).toString() };
  }

  /** Call once `pending` is committed. */
  committed(): void {
    this.#handled = undefined;
    this.#sinceCommit = 0;
    this.#lastCommit = this.#now();
  }
}
