import type { Database } from "../../db.js";

export interface BacklogFigures {
  readonly count: number;
  readonly oldestSeconds: number;
}

/** Unpublished rows and the age of the oldest, with the last figures kept for a scrape whose read fails. */
export interface Backlog {
  read(): Promise<BacklogFigures>;
  readonly last: BacklogFigures;
  /** A round found nothing to publish. */
  markEmpty(): void;
}

export function createBacklog(db: Database): Backlog {
  let last: BacklogFigures = { count: 0, oldestSeconds: 0 };
  return {
    async read() {
      const { rows } = await db.knex.raw<{ rows: Array<{ n: bigint; oldest: number | null }> }>(
        `SELECT count(*) AS n, extract(epoch FROM now() - min(occurred_at))::float8 AS oldest
           FROM outbox_events WHERE published_at IS NULL`,
      );
      const row = rows[0];
      last = { count: Number(row?.n ?? 0n), oldestSeconds: Math.max(0, row?.oldest ?? 0) };
      return last;
    },
    get last() {
      return last;
    },
    markEmpty() {
      last = { count: 0, oldestSeconds: 0 };
    },
  };
}
