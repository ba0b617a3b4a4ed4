import { randomUUID } from "node:crypto";
import { toBinary, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { Knex } from "../db.js";
import { injectContext } from "../telemetry.js";
import { currentCorrelation } from "./correlation.js";
import { routingOf } from "./envelope.js";

/** One event to publish: a message of the event catalog and the aggregate it belongs to. */
export interface OutboxMessage<Desc extends DescMessage = DescMessage> {
  readonly schema: Desc;
  readonly message: MessageShape<Desc>;
  /** UUID of the aggregate; the Kafka message key, so it decides the partition and the order. */
  readonly aggregateId: string;
  /** Defaults to a new UUID. */
  readonly eventId?: string;
  /** Defaults to now. */
  readonly occurredAt?: Date;
}

/** Builds an OutboxMessage with the message type checked against its schema. */
export const outboxMessage = <Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  aggregateId: string,
): OutboxMessage => ({ schema, message, aggregateId }) as OutboxMessage;

export interface OutboxRow {
  readonly id: string;
  readonly aggregate_type: string;
  readonly aggregate_id: string;
  readonly event_type: string;
  readonly topic: string;
  readonly schema_version: number;
  readonly payload: unknown;
  readonly payload_bin: Buffer;
  readonly traceparent: string | null;
  readonly request_id: string | null;
  readonly occurred_at: Date;
}

const isTransaction = (executor: Knex | Knex.Transaction): executor is Knex.Transaction =>
  (executor as Partial<Knex.Transaction>).isTransaction === true;

// ---- commit signals ----
//
// The relay wants to know as soon as outbox rows commit. A NOTIFY inside the
// writing transaction would tell it, but PostgreSQL serialises the commits
// of every transaction that notifies (a cluster-wide lock on the
// notification queue is held through the commit and its WAL flush), which
// costs writers their group commit. So the signal is given after the commit
// instead, in this process: the local relay wakes directly, or, when
// another replica's relay is the active one, sends one NOTIFY for it
// (outbox-relay.ts). A process that dies between its commit and the signal
// leaves the rows to the relay's fallback poll.

type CommitListener = () => void;
const commitListeners = new Map<string, Set<CommitListener>>();
const signalled = new WeakSet<object>();

/** Identifies a database: listeners of one database do not hear commits of another. */
export const databaseKeyOf = (knex: Pick<Knex, "client">): string => {
  const connection = (knex.client as { config?: { connection?: unknown } }).config?.connection;
  if (connection && typeof connection === "object") {
    const c = connection as { host?: unknown; port?: unknown; database?: unknown };
    return `${String(c.host)}:${String(c.port)}/${String(c.database)}`;
  }
  return String(connection);
};

/** Calls `listener` after each commit of a transaction that appended to the outbox of that database. */
export function onOutboxCommit(databaseKey: string, listener: CommitListener): () => void {
  let set = commitListeners.get(databaseKey);
  if (!set) commitListeners.set(databaseKey, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) commitListeners.delete(databaseKey);
  };
}

function signalAfterCommit(trx: Knex.Transaction): void {
  let root = trx;
  while (root.parentTransaction) root = root.parentTransaction;
  if (signalled.has(root)) return;
  signalled.add(root);
  const key = databaseKeyOf(root);
  // executionPromise settles once the outermost COMMIT (or ROLLBACK) is done.
  root.executionPromise.then(
    () => {
      for (const listener of commitListeners.get(key) ?? []) listener();
    },
    () => undefined,
  );
}

/** The channel the active relay LISTENs on. */
export const OUTBOX_CHANNEL = "outbox_events";

export interface RelayNotifier {
  /** Asks for a NOTIFY; calls while one is in flight fold into one more after it. */
  notify(): void;
  /** Resolves once no NOTIFY is in flight or owed (a short-lived process calls it before closing its pool). */
  settled(): Promise<void>;
  /** No NOTIFY after this. */
  close(): void;
}

/**
 * Tells the active relay of a database, in whatever process it runs, that
 * outbox rows committed: a `NOTIFY outbox_events` on the pool, sent after
 * the commit (never inside the writing transaction, see above) and
 * coalesced, so a burst of commits costs a NOTIFY or two, not one each.
 */
export function createRelayNotifier(knex: Knex): RelayNotifier {
  let inFlight: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const send = (): void => {
    inFlight = knex.raw("SELECT pg_notify(?, '')", [OUTBOX_CHANNEL]).then(() => undefined, () => undefined).finally(() => {
      inFlight = undefined;
      if (again && !closed) {
        again = false;
        send();
      }
    });
  };
  return {
    notify() {
      if (closed) return;
      if (inFlight) again = true;
      else send();
    },
    async settled() {
      while (inFlight) await inFlight;
    },
    close() {
      closed = true;
    },
  };
}

/**
 * For a process that writes events but runs no relay (the relay disabled in
 * its configuration, or a command-line tool): the active relay elsewhere
 * hears of every commit instead of waiting for its fallback poll.
 */
export function signalRelaysOnCommit(knex: Knex): { readonly name: string; start(): void; stop(): Promise<void> } {
  const notifier = createRelayNotifier(knex);
  let unsubscribe: (() => void) | undefined;
  return {
    name: "outbox-commit-signal",
    start() {
      unsubscribe ??= onOutboxCommit(databaseKeyOf(knex), () => notifier.notify());
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      await notifier.settled();
      notifier.close();
    },
  };
}

export function toOutboxRow(event: OutboxMessage, context: { traceparent: string | null; requestId: string | null }): OutboxRow {
  const routing = routingOf(event.schema);
  return {
    id: event.eventId ?? randomUUID(),
    aggregate_type: routing.aggregateType,
    aggregate_id: event.aggregateId,
    event_type: event.schema.typeName,
    topic: routing.topic,
    schema_version: routing.schemaVersion,
    // The binary encoding is what gets published; the JSON rendering is for
    // people reading the table (and SQL filters), never parsed back.
    payload: toJson(event.schema, event.message),
    payload_bin: Buffer.from(toBinary(event.schema, event.message)),
    traceparent: context.traceparent,
    request_id: context.requestId,
    occurred_at: event.occurredAt ?? new Date(),
  };
}

const OUTBOX_COLUMNS = "id, aggregate_type, aggregate_id, event_type, topic, schema_version, payload, payload_bin, traceparent, request_id, occurred_at";
const ROW_PLACEHOLDERS = "(?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?)";
const insertSql = (n: number): string => `INSERT INTO outbox_events (${OUTBOX_COLUMNS}) VALUES ${Array.from({ length: n }, () => ROW_PLACEHOLDERS).join(", ")}`;
const INSERT_ONE = insertSql(1);

/**
 * Writes events to `outbox_events` in the caller's transaction, so they
 * commit together with the state change they announce, or not at all. The
 * relay publishes them after the commit (outbox-relay.ts), woken by the
 * commit signal above.
 *
 * Call it after the aggregate's row is locked (or inserted): two
 * transactions on one aggregate then append in commit order, which is the
 * order the relay publishes in (by `sequence`).
 *
 * Refuses to run outside a transaction: an outbox row written on its own
 * could announce a change that then rolls back.
 */
export async function appendToOutbox(executor: Knex | Knex.Transaction, events: OutboxMessage | readonly OutboxMessage[]): Promise<string[]> {
  if (!isTransaction(executor)) throw new Error("appendToOutbox must run inside the transaction of the state change");
  if (Array.isArray(events) && events.length === 0) return [];
  const insert = outboxInsert(executor, events);
  await executor.raw(insert.sql, insert.bindings);
  return insert.ids;
}

/** An outbox INSERT handed to a caller that sends it inside a statement of its own. */
export interface OutboxInsert {
  /** `INSERT INTO outbox_events (...) VALUES (...)` with `?` placeholders: a CTE member or a statement of its own. */
  readonly sql: string;
  readonly bindings: Knex.RawBinding[];
  /** The event ids, in order. */
  readonly ids: string[];
}

/**
 * The INSERT appendToOutbox would send, for a caller that folds it into a
 * statement of its own (e.g. one member of a CTE that also writes the
 * aggregate): one round trip fewer. The same rules as appendToOutbox: only
 * inside the transaction of the state change, after the aggregate's row is
 * locked or in the same statement that inserts it. Like appendToOutbox it
 * arranges the relay's wake-up after the commit (nothing is signalled if the
 * transaction rolls back), so the caller must send the SQL in that
 * transaction.
 */
export function outboxInsert(executor: Knex | Knex.Transaction, events: OutboxMessage | readonly OutboxMessage[]): OutboxInsert {
  if (!isTransaction(executor)) throw new Error("outboxInsert must run inside the transaction of the state change");
  const list = Array.isArray(events) ? (events as readonly OutboxMessage[]) : [events as OutboxMessage];
  if (list.length === 0) throw new Error("outboxInsert needs at least one event");
  let traceparent: string | null = null;
  injectContext((key, value) => {
    if (key === "traceparent") traceparent = value;
  });
  const context = { traceparent, requestId: currentCorrelation()?.requestId ?? null };
  const rows = list.map((e) => toOutboxRow(e, context));
  // Plain SQL rather than the query builder: this runs in every write
  // transaction, and building the statement is a measurable share of it.
  const bindings: Knex.RawBinding[] = [];
  for (const r of rows) {
    bindings.push(r.id, r.aggregate_type, r.aggregate_id, r.event_type, r.topic, r.schema_version, JSON.stringify(r.payload),
      r.payload_bin, r.traceparent, r.request_id, r.occurred_at);
  }
  signalAfterCommit(executor);
  return { sql: rows.length === 1 ? INSERT_ONE : insertSql(rows.length), bindings, ids: rows.map((r) => r.id) };
}
