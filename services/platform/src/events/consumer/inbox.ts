import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Database } from "../../db.js";
import type { Logger } from "../../logger.js";
import type { ConsumedEvent, EventHandler } from "./event.js";

const INBOX_PURGE_EVERY_MS = 60 * 60_000;

/** The consumer's side of `inbox_processed_messages`: what makes each effect happen once. */
export interface Inbox {
  /**
   * One attempt: claims the event's inbox row and applies the effect in one
   * transaction. "duplicate" when the row was there (the effect happened, or
   * the event was dead-lettered and this is not a replay of it).
   */
  apply(handler: EventHandler, payload: MessageShape<DescMessage>, event: ConsumedEvent, replay: boolean, prepared?: unknown): Promise<"applied" | "duplicate">;
  /** Records a dead-lettered event, so that replaying its topic does not dead-letter it again. */
  recordDeadLettered(event: ConsumedEvent, reason: string): Promise<void>;
  /** The recorded outcome of a message, if any. */
  outcomeOf(messageId: string): Promise<string | undefined>;
  /** Deletes rows past the retention, at most once an hour; a failure is only logged. */
  purgeIfDue(): Promise<void>;
}

/**
 * For the paths that dead-letter without running a handler: an event the
 * inbox already knows (dead-lettered before, and not sent back by the replay
 * command) is skipped, so replaying a topic does not dead-letter it twice.
 */
export const processedBefore = (outcome: string | undefined, replay: boolean): boolean =>
  outcome !== undefined && !(replay && outcome === "dead_lettered");

export function createInbox(db: Database, options: { groupId: string; retentionDays: number; log: Logger }): Inbox {
  const { groupId, log } = options;
  let lastPurge = 0;
  return {
    apply: (handler, payload, event, replay, prepared) =>
      db.transaction(async (trx) => {
        // A row already there means the effect happened (or the event was
        // dead-lettered): skip. A dead-lettered event runs again only when the
        // replay command sent it. A concurrent duplicate blocks on the key
        // until the first transaction ends.
        const claimed = await trx.raw<{ rows: unknown[] }>(
          `INSERT INTO inbox_processed_messages
             (message_id, processed_at, outcome, consumer_group, topic, "partition", "offset", event_type, error_reason)
           VALUES (?, now(), 'applied', ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (message_id) DO UPDATE
             SET outcome = 'applied', processed_at = now(), consumer_group = EXCLUDED.consumer_group,
                 topic = EXCLUDED.topic, "partition" = EXCLUDED."partition", "offset" = EXCLUDED."offset", error_reason = NULL
             WHERE inbox_processed_messages.outcome = 'dead_lettered' AND ?::boolean
           RETURNING message_id`,
          [event.messageId, groupId, event.topic, event.partition, event.offset, event.eventType, replay],
        );
        if (claimed.rows.length === 0) return "duplicate" as const;
        await handler.handle(payload, event, prepared);
        return "applied" as const;
      }),

    async recordDeadLettered(event, reason) {
      await db.knex.raw(
        `INSERT INTO inbox_processed_messages
           (message_id, processed_at, outcome, consumer_group, topic, "partition", "offset", event_type, error_reason)
         VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (message_id) DO UPDATE
           SET processed_at = now(), error_reason = EXCLUDED.error_reason
           WHERE inbox_processed_messages.outcome = 'dead_lettered'`,
        [event.messageId, "dead_lettered", groupId, event.topic, event.partition, event.offset, event.eventType || null, reason],
      );
    },

    async outcomeOf(messageId) {
      const { rows } = await db.knex.raw<{ rows: Array<{ outcome: string }> }>(
        "SELECT outcome FROM inbox_processed_messages WHERE message_id = ?", [messageId]);
      return rows[0]?.outcome;
    },

    async purgeIfDue() {
      if (Date.now() - lastPurge < INBOX_PURGE_EVERY_MS) return;
      lastPurge = Date.now();
      try {
        await db.knex.raw(
          `DELETE FROM inbox_processed_messages WHERE processed_at < now() - make_interval(days => ?)`,
          [options.retentionDays],
        );
      } catch (err) {
        log.warn({ err }, "inbox purge failed");
      }
    },
  };
}
