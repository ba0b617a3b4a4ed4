// Checkpoints of the balance reports (migrations/ledger/0002_reports.sql).
// A new checkpoint summarises only the journal lines after the previous one:
// the journal is never rescanned, and the lines it reads are immutable and
// all committed (positions are commit-ordered: every position up to the
// committed head belongs to a committed transaction).
import { rawOf, toBig } from "./report-store.js";
import type { Database } from "../../../../platform/src/db.js";
import { runInTransaction } from "../../../../platform/src/transactions.js";
import { readablePositionOf } from "./journal-store.js";
import type { CheckpointBuilder, CheckpointInfo } from "../../app/reporting-ports.js";


export function createCheckpointBuilder(db: Database): CheckpointBuilder {
  const latestIn = async (exec: ReturnType<Database["executor"]>): Promise<CheckpointInfo | null> => {
    const res = await rawOf(exec)<{ rows: Array<{ position: bigint; previous_position: bigint; line_count: bigint }> }>(
      "SELECT position, previous_position, line_count FROM report_checkpoints ORDER BY position DESC LIMIT 1",
    );
    const r = res.rows[0];
    return r === undefined ? null : { position: toBig(r.position), previousPosition: toBig(r.previous_position), lineCount: toBig(r.line_count) };
  };
  return {
    latest: () => latestIn(db.executor()),
    build: (minLines) =>
      runInTransaction(db, async (trx) => {
        await rawOf(trx)("SET LOCAL statement_timeout = '600s'");
        // One builder at a time (every replica's job may fire).
        await rawOf(trx)("SELECT pg_advisory_xact_lock(hashtext('fleetmesh.ledger.report_checkpoints'))");
        const head = await readablePositionOf(trx);
        const previous = await latestIn(trx);
        const from = previous?.position ?? 0n;
        if (head <= from) return null;
        const counted = await rawOf(trx)<{ rows: Array<{ n: bigint; max_post_time: Date | null }> }>(
          `SELECT (SELECT count(*) FROM journal_lines WHERE position > ? AND position <= ?) AS n,
                  (SELECT max(post_time) FROM journal_entries WHERE position > ? AND position <= ?) AS max_post_time`,
          [from, head, from, head],
        );
        const lines = toBig(counted.rows[0]?.n);
        if (lines === 0n || lines < BigInt(minLines)) return null;
        await rawOf(trx)(
          `INSERT INTO report_checkpoints (position, previous_position, line_count, max_post_time)
           SELECT ?, ?, ?, greatest((SELECT max_post_time FROM report_checkpoints WHERE position = ?), ?::timestamptz)`,
          [head, from, lines, from, counted.rows[0]?.max_post_time ?? null],
        );
        await rawOf(trx)(
          `INSERT INTO report_checkpoint_balances (checkpoint_position, account_id, currency, entry_date, debit_minor, credit_minor, line_count)
           SELECT ?, account_id, currency, entry_date,
                  sum(CASE WHEN direction = 'D' THEN amount_minor::numeric ELSE 0 END),
                  sum(CASE WHEN direction = 'C' THEN amount_minor::numeric ELSE 0 END),
                  count(*)
             FROM journal_lines WHERE position > ? AND position <= ?
            GROUP BY account_id, currency, entry_date`,
          [head, from, head],
        );
        return { position: head, previousPosition: from, lineCount: lines };
      }),
  };
}
