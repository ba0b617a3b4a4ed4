import pg from "pg";
import type { DatabaseConfig } from "../../config.js";
import type { Logger } from "../../logger.js";
import { OUTBOX_CHANNEL } from "../outbox.js";
import type { RelayMetrics } from "../outbox-relay.js";

// One relay per service database publishes at a time: rows are read and
// published in `sequence` order by a single loop, which is what keeps the
// order of each aggregate's events. The key is fixed because each service
// has its own database (advisory locks are per database).
const LEADER_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext('fleetmesh.outbox_relay')::bigint) AS locked";

export interface LeadershipOptions {
  readonly connection: DatabaseConfig;
  readonly applicationName: string;
  readonly leaderCheckMs: number;
  readonly log: Logger;
  readonly metrics: RelayMetrics;
  /** A NOTIFY on the outbox channel arrived (a commit in another process). */
  readonly onNotification: () => void;
}

/**
 * The relay's own connection (outside the pool): it holds the leader's
 * session advisory lock, LISTENs for the outbox NOTIFY, and is the session
 * the leader reads and marks rows through. A crashed leader's session ends,
 * and PostgreSQL releases the lock with it.
 */
export interface Leadership {
  /** Holds (or takes) the leader lock, connecting first if need be; false on standby. */
  ensure(): Promise<boolean>;
  readonly isLeader: boolean;
  /** The leader's session: if it is lost, so is the lock, and a relay that is no longer the leader cannot mark. */
  readonly session: pg.Client | undefined;
  /**
   * After a failed round: a standby's connection may be what failed, so it
   * starts over with a new one. The leader keeps its session (and lock); a
   * dead one is found by the next check.
   */
  dropIfStandby(): void;
  /** Ends the connection, and with it the lock. */
  drop(): void;
}

export function createLeadership(options: LeadershipOptions): Leadership {
  const { log, metrics } = options;
  let lease: pg.Client | undefined;
  let leader = false;
  let leaseCheckedAt = 0;

  const setLeader = (value: boolean): void => {
    if (value !== leader) log.info({ leader: value }, value ? "outbox relay is active" : "outbox relay is on standby");
    leader = value;
    metrics.leader.set(value ? 1 : 0);
  };

  const drop = (): void => {
    const client = lease;
    lease = undefined;
    setLeader(false);
    client?.removeAllListeners("notification");
    client?.end().catch(() => undefined);
  };

  const connect = async (): Promise<pg.Client> => {
    const c = options.connection;
    const client = new pg.Client({
      host: c.host,
      port: c.port,
      database: c.database,
      user: c.user,
      password: c.password,
      application_name: options.applicationName,
      keepAlive: true,
      statement_timeout: c.statementTimeoutMs,
    });
    client.on("error", (err) => {
      log.warn({ err }, "outbox relay connection lost");
      if (lease === client) drop();
    });
    client.on("end", () => {
      if (lease === client) drop();
    });
    client.on("notification", () => options.onNotification());
    await client.connect();
    // Marks need no flush to disk before the relay goes on: a mark lost in a
    // database crash only means the rows are sent again, which consumers
    // absorb. Writers then do not queue behind the relay's commits.
    //
    // The read must walk the partial index in sequence order and stop at the
    // batch size. Published rows leave dead entries at the head of that index
    // until vacuum; an ordered index scan marks them dead as it passes (later
    // scans skip them), but the bitmap scan the planner tends to pick with
    // stale statistics revisits every one of them on every round.
    await client.query(`SET synchronous_commit = off; SET enable_bitmapscan = off; SET enable_seqscan = off; LISTEN ${OUTBOX_CHANNEL}`);
    return client;
  };

  return {
    async ensure() {
      if (!lease) {
        lease = await connect();
        leaseCheckedAt = Date.now();
      }
      const now = Date.now();
      if (leader) {
        // A dead connection has released the lock already; find out before
        // publishing as if it were still held.
        if (now - leaseCheckedAt >= options.leaderCheckMs) {
          await lease.query("SELECT 1");
          leaseCheckedAt = now;
        }
        return true;
      }
      const { rows } = await lease.query<{ locked: boolean }>(LEADER_LOCK_SQL);
      leaseCheckedAt = now;
      setLeader(rows[0]?.locked === true);
      return leader;
    },
    get isLeader() {
      return leader;
    },
    get session() {
      return lease;
    },
    dropIfStandby() {
      if (lease && !leader) drop();
    },
    drop,
  };
}
