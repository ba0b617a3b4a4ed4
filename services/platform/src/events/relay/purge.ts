import type { Database } from "../../db.js";
import type { Logger } from "../../logger.js";
import type { StopSignal } from "../stop-signal.js";

const PURGE_EVERY_MS = 10 * 60_000;
const PURGE_CHUNK = 5_000;

/**
 * Deletes published rows older than `retainPublishedHours`, at most every
 * ten minutes, in chunks (at most 20 a time) so that no long delete holds
 * the relay's round.
 */
export function createPublishedPurge(options: { db: Database; retainPublishedHours: number; log: Logger; stop: StopSignal }): () => Promise<void> {
  const { db, log, stop } = options;
  let lastPurge = 0;
  return async () => {
    if (Date.now() - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = Date.now();
    let total = 0;
    for (let i = 0; i < 20 && !stop.stopping; i++) {
      const deleted = await db.knex.raw<{ rowCount: number }>(
        `DELETE FROM outbox_events WHERE id IN (
           SELECT id FROM outbox_events
            WHERE published_at < now() - make_interval(hours => ?)
            LIMIT ${PURGE_CHUNK})`,
        [options.retainPublishedHours],
      );
      total += deleted.rowCount;
      if (deleted.rowCount < PURGE_CHUNK) break;
    }
    if (total > 0) log.info({ deleted: total }, "purged published outbox events");
  };
}
