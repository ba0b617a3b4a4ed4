// Benchmark: ledger posting throughput through the consumer path, next to
// pgbench running the same SQL, in the same run (issue goal: the consumer
// path reaches >= 40% of pgbench).
//
// The consumer path is the production one: a PartStockReceived event on
// `maintenance.part.v1` (written to Kafka exactly as maintenance's outbox
// relay writes it: key = part id, protobuf value, the envelope in headers)
// -> the kit's consumer (inbox row `inbox_processed_messages` in the same
// transaction) -> the ledger's handler -> Posting.post (pre-check by
// external reference, the `ledger_head` position lock, re-check and closed
// months in one statement, one statement for the entry and its two lines, the
// LedgerPosted outbox row) -> commit; the outbox relay publishes
// LedgerPosted as in production.
//
// The ledger runs in a child process (build(), as its test support does,
// on a fresh copy of its schema), so its CPU is measured apart from the
// producer and the poller here. Every consumer phase gets a fresh topic
// prefix (`maintenance.part.v1`, 3 partitions by default) and a fresh
// consumer group; its N events are produced *before* the ledger starts,
// balanced over the partitions, and the phase is timed from the first
// committed posting to the last one (polling `ledger_head`), so neither the
// producer nor the group join is inside the window.
//
// The baseline is pgbench running the statements of one consumed event,
// statement for statement as the consumer sends them (BEGIN; inbox insert;
// select by external reference; UPDATE ledger_head ... RETURNING; re-check
// and closed months in one statement; entry + lines in one statement; outbox insert;
// COMMIT), with a real entry, inbox row and outbox row as templates, bound
// as parameters (-M extended, as node-postgres sends them), with as many
// clients as the consumer has partitions in flight, on a copy of the same
// schema, for BENCH_SECONDS.
//
// Phases per round, their order rotating from round to round; ratios are
// taken within a round and the table reports medians over rounds:
//   pgbench            the baseline (3 clients)
//   consumer           the production configuration (relay on, 3 partitions, partitionsConcurrently 3)
//   consumer, relay off        (BENCH_VARIANTS contains relay-off) the outbox rows stay unpublished
//   consumer, 6 partitions     (BENCH_VARIANTS contains p6) 6 partitions, partitionsConcurrently 6
//   consumer, 1 in flight      (BENCH_VARIANTS contains p1) 3 partitions, partitionsConcurrently 1
//   pgbench, 1 client          (BENCH_VARIANTS contains pg1) what one posting at a time costs in SQL
//   pgbench, fused             (BENCH_VARIANTS contains fused) a proposal: the position, the entry and
//                              its lines in one statement, the lookups before the lock
// After the run: exactly N entries, N inbox rows and N LedgerPosted rows per
// consumer phase, positions without gaps, and debits = credits globally.
//
//   node dist/bench/ledger-posting.js          (or: npm run bench -- ledger-posting)
//   BENCH_ROUNDS=3 BENCH_SECONDS=10 BENCH_EVENTS=3000 BENCH_VARIANTS=relay-off,p6,p1,pg1,fused node dist/bench/ledger-posting.js
//   BENCH_HOST_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" ...   a CPU profile of the ledger process
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Partitioners, type Producer } from "kafkajs";
import pg from "pg";
import { PartStockReceivedSchema } from "../gen/fleetmesh/maintenance/v1/events_pb.js";
import { PartSchema, StockMovement_Kind, StockMovementSchema } from "../gen/fleetmesh/maintenance/v1/maintenance_job_pb.js";
import type { DatabaseConfig } from "../services/platform/src/config.js";
import { repoRoot } from "../services/platform/src/db.js";
import { outboxMessage, toOutboxRow } from "../services/platform/src/events/outbox.js";
import { topicMessagesOf, type PendingRow } from "../services/platform/src/events/relay/message.js";
import { createTestDatabase, type TestDatabase } from "../services/platform/src/testing/harness.js";
import { createTopics, deleteTopicsWithPrefix, TEST_BROKERS, testKafka, uniqueTopicPrefix, waitFor } from "../services/platform/src/testing/kafka.js";
import { coresAndModel, cpuSecondsOf, loadAverage } from "./lib/machine.js";
import { fmt, markdownTable, median, rotated } from "./lib/stats.js";

const rounds = Number(process.env["BENCH_ROUNDS"] ?? 3);
/** pgbench's duration, and the shortest a consumer phase may take (N is calibrated to it). */
const seconds = Number(process.env["BENCH_SECONDS"] ?? 10);
/** Events per consumer phase; default: calibrated in the warm-up so a phase takes >= BENCH_SECONDS (at least 3000). */
const fixedEvents = process.env["BENCH_EVENTS"] ? Number(process.env["BENCH_EVENTS"]) : undefined;
const variants = new Set((process.env["BENCH_VARIANTS"] ?? "relay-off,p6,p1,pg1,fused").split(",").map((v) => v.trim()).filter(Boolean));
const PARTITIONS = 3;
const PGBENCH = process.env["PGBENCH"] ?? "/usr/lib/postgresql/15/bin/pgbench";
const PARTS_PER_PARTITION = 8;
const UNIT_COST_MINOR = 1_400n;
/** An occurred-at in an open month (no period is ever closed here). */
const MOVEMENT_TIME = new Date("2026-04-02T09:00:00Z");

// ---- the ledger host (child process) ------------------------------------------

/** What the parent asks the ledger host to do, one JSON line each. */
type Command =
  | { op: "start"; db: DatabaseConfig; prefix: string; groupId: string; relay: boolean; partitionsConcurrently: number; profile: boolean }
  | { op: "stop" };

interface StatementProfile {
  /** Per statement kind: calls and milliseconds from the query event to its response. */
  readonly statements: Record<string, { calls: number; ms: number }>;
  /** Postings profiled, and the mean time from sending UPDATE ledger_head to the COMMIT's response. */
  readonly postings: number;
  readonly lockHeldMs: number;
  /** Mean time from BEGIN sent to COMMIT answered. */
  readonly transactionMs: number;
  /** One posting's statements, in order (the first seen). */
  readonly sample: string[];
}

const kindOf = (sql: string): string => {
  const s = sql.replace(/\s+/g, " ").trim();
  if (/^BEGIN/i.test(s)) return "BEGIN";
  if (/^COMMIT/i.test(s)) return "COMMIT";
  if (/^ROLLBACK/i.test(s)) return "ROLLBACK";
  if (s.startsWith("INSERT INTO inbox_processed_messages")) return "inbox insert";
  if (s.startsWith("SELECT e.id, e.position")) return "select by external ref";
  if (s.startsWith("UPDATE ledger_head")) return "UPDATE ledger_head RETURNING";
  if (s.startsWith("SELECT EXISTS (SELECT 1 FROM journal_entries")) return "re-check and closed months";
  if (s.startsWith("WITH entry AS")) return "entry + lines insert";
  if (s.startsWith("INSERT INTO outbox_events")) return "outbox insert";
  if (s.startsWith("SELECT id, code FROM accounts")) return "account codes (cached)";
  return s.slice(0, 60);
};

async function host(): Promise<void> {
  const { pino } = await import("pino");
  const { build } = await import("../services/ledger/src/main.js");
  const { ledgerConfigSchema } = await import("../services/ledger/src/config.js");
  const { createTestKeys } = await import("../services/platform/src/testing/harness.js");
  const { testServiceConfigInput } = await import("../services/platform/src/testing/service-config.js");
  const keys = createTestKeys();
  type Running = Awaited<ReturnType<typeof build>>;
  let running: Running | undefined;
  let profile: (() => StatementProfile) | undefined;
  const reply = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
  const stopRunning = async (): Promise<StatementProfile | undefined> => {
    const p = profile?.();
    profile = undefined;
    await running?.stop();
    running = undefined;
    return p;
  };
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const cmd = JSON.parse(line) as Command;
    try {
      if (cmd.op === "start") {
        const config = ledgerConfigSchema.parse(testServiceConfigInput({
          name: "ledger",
          db: { config: cmd.db },
          auth: { ...keys.auth, enabled: true },
          extra: {
            kafka: {
              enabled: true, brokers: [...TEST_BROKERS], topicPrefix: cmd.prefix,
              relay: { enabled: cmd.relay },
              consumer: { groupId: cmd.groupId, partitionsConcurrently: cmd.partitionsConcurrently, fromBeginning: true },
            },
            // Postings from events call no peer; IssueInvoice (not benchmarked) would ask identity.
            peers: { identity: { address: "127.0.0.1:9", deadlineMs: 1_000 } },
          },
        }));
        running = await build(config, { log: pino({ level: "silent" }) });
        if (cmd.profile) profile = profileStatements();
        reply({ ok: true });
      } else {
        reply({ ok: true, profile: await stopRunning() });
      }
    } catch (err) {
      reply({ error: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  }
  await stopRunning();
  process.exit(0);
}

/**
 * Times every statement the process sends (node-postgres' Client.query, which
 * knex calls with a callback, BEGIN and COMMIT included), per kind, and per
 * posting transaction on its connection: from BEGIN sent to COMMIT answered,
 * and from the UPDATE of ledger_head answered (the lock taken) to COMMIT
 * answered (the lock released).
 */
function profileStatements(): () => StatementProfile {
  type Callback = (err: unknown, res: unknown) => void;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const statements: Record<string, { calls: number; ms: number }> = {};
  const tx = new WeakMap<object, { begin: number; lockAt?: number; kinds: string[] }>();
  let postings = 0;
  let lockHeld = 0;
  let transaction = 0;
  let sample: string[] = [];
  proto.query = function (this: object, ...args: unknown[]): unknown {
    const first = args[0] as string | { text?: string } | undefined;
    const kind = kindOf(typeof first === "string" ? first : first?.text ?? "");
    const sent = performance.now();
    if (kind === "BEGIN") tx.set(this, { begin: sent, kinds: [] });
    tx.get(this)?.kinds.push(kind);
    const done = (ok: boolean): void => {
      const now = performance.now();
      const slot = (statements[kind] ??= { calls: 0, ms: 0 });
      slot.calls += 1;
      slot.ms += now - sent;
      const t = tx.get(this);
      if (!t) return;
      if (kind === "UPDATE ledger_head RETURNING" && ok) t.lockAt = now;
      if (kind === "COMMIT" || kind === "ROLLBACK") {
        tx.delete(this);
        if (kind === "COMMIT" && ok && t.lockAt !== undefined) {
          postings += 1;
          lockHeld += now - t.lockAt;
          transaction += now - t.begin;
          if (sample.length === 0) sample = t.kinds;
        }
      }
    };
    const at = args.findIndex((a) => typeof a === "function");
    if (at >= 0) {
      const callback = args[at] as Callback;
      args[at] = (err: unknown, res: unknown) => {
        done(!err);
        callback(err, res);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args) as { then?: (a: () => void, b: () => void) => unknown } | undefined;
    if (typeof result?.then === "function") result.then(() => done(true), () => done(false));
    return result;
  };
  return () => {
    proto.query = original;
    return { statements, postings, lockHeldMs: lockHeld / Math.max(1, postings), transactionMs: transaction / Math.max(1, postings), sample };
  };
}

/** The parent's handle on the ledger host. */
interface LedgerHost {
  readonly pid: number;
  send(cmd: Command): Promise<{ profile?: StatementProfile }>;
  close(): Promise<void>;
}

function startLedgerHost(): LedgerHost {
  // BENCH_HOST_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the ledger (as bench/lib/mesh-host.ts does for the mesh).
  const hostFlags = (process.env["BENCH_HOST_FLAGS"] ?? "").split(" ").filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...hostFlags, "--enable-source-maps", fileURLToPath(import.meta.url), "--host"], {
    cwd: repoRoot, stdio: ["pipe", "pipe", "inherit"],
  });
  const replies = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  replies.on("line", (line) => waiting.shift()?.(line));
  return {
    pid: child.pid ?? 0,
    async send(cmd) {
      const answer = new Promise<string>((resolve) => waiting.push(resolve));
      child.stdin!.write(`${JSON.stringify(cmd)}\n`);
      const parsed = JSON.parse(await answer) as { ok?: true; error?: string; profile?: StatementProfile };
      if (parsed.error) throw new Error(`ledger host: ${parsed.error}`);
      return parsed;
    },
    async close() {
      child.stdin!.end();
      await Promise.race([once(child, "exit"), sleep(15_000)]);
    },
  };
}

// ---- events on the wire ---------------------------------------------------------

/** Part ids bucketed by the partition the relay's producer (DefaultPartitioner) sends their key to. */
function partsByPartition(partitions: number): string[][] {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 0, replicas: [0], isr: [0], offlineReplicas: [] }));
  const buckets: string[][] = Array.from({ length: partitions }, () => []);
  while (buckets.some((b) => b.length < PARTS_PER_PARTITION)) {
    const id = randomUUID();
    const p = partitioner({ topic: "t", partitionMetadata, message: { key: id, value: null } });
    if (buckets[p]!.length < PARTS_PER_PARTITION) buckets[p]!.push(id);
  }
  return buckets;
}

/**
 * `count` PartStockReceived events, spread evenly over the partitions, as
 * maintenance's outbox relay publishes them: the outbox row of
 * outboxMessage(PartStockReceivedSchema, ..., part id) made into a Kafka
 * record by the relay's own toKafkaMessage, under `prefix`.
 */
async function produceReceipts(producer: Producer, prefix: string, partitions: number, count: number, tag: string): Promise<void> {
  const parts = partsByPartition(partitions);
  const rows: PendingRow[] = [];
  for (let i = 0; i < count; i++) {
    const bucket = parts[i % partitions]!;
    const partId = bucket[Math.floor(i / partitions) % bucket.length]!;
    const quantity = 1 + (i % 20);
    const partNumber = `${tag}-${partId.slice(0, 8)}`;
    const part = create(PartSchema, {
      id: partId, partNumber, name: `Bench part ${partNumber}`, unitCost: { currencyCode: "EUR", amountMinor: UNIT_COST_MINOR }, stockOnHand: 100 + quantity,
    });
    const movement = create(StockMovementSchema, {
      id: randomUUID(), partId, kind: StockMovement_Kind.RECEIPT, quantityDelta: quantity, reason: "goods receipt",
      totalCost: { currencyCode: "EUR", amountMinor: UNIT_COST_MINOR * BigInt(quantity) }, createTime: timestampFromDate(MOVEMENT_TIME),
    });
    const row = toOutboxRow(outboxMessage(PartStockReceivedSchema, create(PartStockReceivedSchema, { part, movement }), partId), { traceparent: null, requestId: null });
    rows.push(row);
  }
  // The relay sends batches of up to 500 rows with acks=all; so do we.
  for (let i = 0; i < rows.length; i += 500) {
    await producer.sendBatch({ acks: -1, topicMessages: topicMessagesOf(rows.slice(i, i + 500), prefix) });
  }
}

// ---- pgbench ---------------------------------------------------------------------

interface Sample {
  readonly entry: Record<string, string>;
  readonly lines: Array<Record<string, string>>;
  readonly outbox: Record<string, string>;
  readonly inbox: Record<string, string>;
}

/** A posting the consumer made (its entry, lines, inbox and outbox rows): the template of pgbench's transaction. */
async function samplePosting(db: pg.Client): Promise<Sample> {
  const entry = (await db.query(`SELECT id::text, external_ref_type, content_hash, entry_date::text, description, posted_by
                                   FROM journal_entries ORDER BY position DESC LIMIT 1`)).rows[0] as Record<string, string>;
  const lines = (await db.query(`SELECT account_id::text, direction, amount_minor::text, currency, memo FROM journal_lines
                                  WHERE entry_id = $1 ORDER BY line_no`, [entry["id"]])).rows as Array<Record<string, string>>;
  const outbox = (await db.query(`SELECT aggregate_type, event_type, topic, schema_version::text, payload::text AS payload,
                                         '\\x' || encode(payload_bin, 'hex') AS payload_bin FROM outbox_events WHERE aggregate_id = $1`, [entry["id"]])).rows[0] as Record<string, string>;
  const inbox = (await db.query(`SELECT consumer_group, topic, event_type FROM inbox_processed_messages ORDER BY processed_at DESC LIMIT 1`)).rows[0] as Record<string, string>;
  // The maintenance rules post as nobody (posted_by ''), which the script writes as a literal: pgbench takes no empty -D value.
  if (entry["posted_by"] !== "") throw new Error(`unexpected posted_by ${entry["posted_by"]}`);
  return { entry, lines, outbox, inbox };
}

/** The columns journal-store.ts's byRef selects, verbatim. */
const ENTRY_COLUMNS = `e.id, e.position, e.external_ref_type, e.external_ref_id, e.content_hash, e.entry_date, e.fact_date,
  e.description, e.post_time, e.posted_by, e.reverses_entry_id,
  (SELECT r.id FROM journal_entries r WHERE r.reverses_entry_id = e.id) AS reversed_by_entry_id`;

/** Both scripts' opening: a transaction, the inbox row of the consumed event, the pre-check by external reference. */
function consumedEventOpening(id: (what: string) => string, ref: string): string {
  return `\\set n :n + 1
\\set g :n * :clients + :client_id
BEGIN;
INSERT INTO inbox_processed_messages
     (message_id, processed_at, outcome, consumer_group, topic, "partition", "offset", event_type, error_reason)
   VALUES (${id("m")}::text, now(), 'applied', :group, :topic, :client_id, :n, :event_type, NULL)
   ON CONFLICT (message_id) DO UPDATE
     SET outcome = 'applied', processed_at = now(), consumer_group = EXCLUDED.consumer_group,
         topic = EXCLUDED.topic, "partition" = EXCLUDED."partition", "offset" = EXCLUDED."offset", error_reason = NULL
     WHERE inbox_processed_messages.outcome = 'dead_lettered' AND :replay::boolean
   RETURNING message_id;
SELECT ${ENTRY_COLUMNS} FROM journal_entries e WHERE e.external_ref_type = :ref_type AND e.external_ref_id = ${ref};`;
}

/**
 * The statements of one consumed PartStockReceived, as the consumer sends
 * them (inbox.ts, journal-store.ts post(), outbox.ts appendToOutbox), values
 * bound as parameters. Client c's n-th transaction is number g = n * clients + c
 * of the run, which makes its message id, movement id (external reference),
 * entry, line and outbox ids.
 */
function pgbenchScript(): string {
  const id = (what: string) => `md5('${what}-' || :run::text || '-' || :g::text)::uuid`;
  const ref = `'bench-' || :run::text || '-' || :g::text`;
  return `${consumedEventOpening(id, ref)}
UPDATE ledger_head SET position = position + 1 RETURNING position \\gset
SELECT EXISTS (SELECT 1 FROM journal_entries WHERE external_ref_type = :ref_type AND external_ref_id = ${ref}) AS raced,
                ARRAY(SELECT period_start::text FROM accounting_periods
                       WHERE status = 'CLOSED' AND period_start >= date_trunc('month', :entry_date::date)::date ORDER BY period_start) AS closed;
WITH entry AS (
           INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, fact_date, description, posted_by, reverses_entry_id)
           VALUES (${id("e")}, :position, :ref_type, ${ref}, :content_hash, :entry_date::date, NULL::date, :description, '', NULL) RETURNING id, post_time)
         , lines AS (
           INSERT INTO journal_lines (id, entry_id, line_no, position, entry_date, account_id, direction, amount_minor, currency, vehicle_id, invoice_id, memo)
           SELECT l.id, ${id("e")}::uuid, l.line_no, :position, :entry_date::date, l.account_id, l.direction, l.amount_minor, l.currency, l.vehicle_id, l.invoice_id, l.memo
             FROM unnest(ARRAY[${id("l1")}, ${id("l2")}]::uuid[], :line_nos::smallint[], :accounts::uuid[], :directions::char(1)[], :amounts::bigint[], :currencies::char(3)[], :nulls::uuid[], :nulls::uuid[], :memos::text[])
                  AS l(id, line_no, account_id, direction, amount_minor, currency, vehicle_id, invoice_id, memo)
           RETURNING 1)
         SELECT post_time, (SELECT count(*) FROM lines) AS line_count FROM entry;
INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, topic, schema_version, payload, payload_bin, traceparent, request_id, occurred_at)
  VALUES (${id("o")}, :aggregate_type, ${id("e")}, :event_type_out, :topic_out, :schema_version, :payload::jsonb, :payload_bin, NULL, NULL, now());
COMMIT;
`;
}

/**
 * A proposal, for comparison: the lookups (pre-check, closed periods) before
 * the position lock, and the position, the entry and its lines in one
 * statement, so the lock is held for that statement, the outbox insert and
 * the commit (3 round trips instead of 5). A concurrent post of the same
 * reference then fails on the unique key and the transaction is retried,
 * where the pre-check finds it; a close that slipped in is caught by the
 * period trigger the same way.
 */
function pgbenchFusedScript(): string {
  const id = (what: string) => `md5('${what}-' || :run::text || '-' || :g::text)::uuid`;
  const ref = `'bench-' || :run::text || '-' || :g::text`;
  return `${consumedEventOpening(id, ref)}
SELECT period_start FROM accounting_periods WHERE status = 'CLOSED' AND period_start >= date_trunc('month', :entry_date::date)::date ORDER BY period_start;
WITH head AS (UPDATE ledger_head SET position = position + 1 RETURNING position)
         , entry AS (
           INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, fact_date, description, posted_by, reverses_entry_id)
           SELECT ${id("e")}, head.position, :ref_type, ${ref}, :content_hash, :entry_date::date, NULL::date, :description, '', NULL FROM head
           RETURNING id, position, post_time)
         , lines AS (
           INSERT INTO journal_lines (id, entry_id, line_no, position, entry_date, account_id, direction, amount_minor, currency, vehicle_id, invoice_id, memo)
           SELECT l.id, entry.id, l.line_no, entry.position, :entry_date::date, l.account_id, l.direction, l.amount_minor, l.currency, l.vehicle_id, l.invoice_id, l.memo
             FROM entry, unnest(ARRAY[${id("l1")}, ${id("l2")}]::uuid[], :line_nos::smallint[], :accounts::uuid[], :directions::char(1)[], :amounts::bigint[], :currencies::char(3)[], :nulls::uuid[], :nulls::uuid[], :memos::text[])
                  AS l(id, line_no, account_id, direction, amount_minor, currency, vehicle_id, invoice_id, memo)
           RETURNING 1)
         SELECT position, post_time, (SELECT count(*) FROM lines) AS line_count FROM entry;
INSERT INTO outbox_events (id, aggregate_type, aggregate_id, event_type, topic, schema_version, payload, payload_bin, traceparent, request_id, occurred_at)
  VALUES (${id("o")}, :aggregate_type, ${id("e")}, :event_type_out, :topic_out, :schema_version, :payload::jsonb, :payload_bin, NULL, NULL, now());
COMMIT;
`;
}

const pgArrayOf = (values: readonly string[]): string => `{${values.map((v) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(",")}}`;

interface PgbenchResult {
  readonly rate: number;
  readonly transactions: number;
  /** Per-statement mean latency in ms (pgbench -r), in script order. */
  readonly statementMs: number[];
}

async function runPgbench(file: string, db: DatabaseConfig, sample: Sample, run: number, clients: number, duration: number): Promise<PgbenchResult> {
  const vars: Record<string, string> = {
    n: "0", run: String(run), clients: String(clients), replay: "false",
    group: sample.inbox["consumer_group"]!, topic: sample.inbox["topic"]!, event_type: sample.inbox["event_type"]!,
    ref_type: sample.entry["external_ref_type"]!, content_hash: sample.entry["content_hash"]!, entry_date: sample.entry["entry_date"]!,
    description: sample.entry["description"]!,
    line_nos: `{${sample.lines.map((_, i) => i + 1).join(",")}}`,
    accounts: pgArrayOf(sample.lines.map((l) => l["account_id"]!)), directions: pgArrayOf(sample.lines.map((l) => l["direction"]!)),
    amounts: pgArrayOf(sample.lines.map((l) => l["amount_minor"]!)), currencies: pgArrayOf(sample.lines.map((l) => l["currency"]!)),
    nulls: `{${sample.lines.map(() => "NULL").join(",")}}`, memos: pgArrayOf(sample.lines.map((l) => l["memo"]!)),
    aggregate_type: sample.outbox["aggregate_type"]!, event_type_out: sample.outbox["event_type"]!, topic_out: sample.outbox["topic"]!,
    schema_version: sample.outbox["schema_version"]!, payload: sample.outbox["payload"]!, payload_bin: sample.outbox["payload_bin"]!,
  };
  const args = [
    "-n", "-r", "-M", "extended", "-c", String(clients), "-j", String(Math.min(clients, availableParallelism())), "-T", String(duration),
    "-f", file, "-h", db.host, "-p", String(db.port), "-U", db.user,
    ...Object.entries(vars).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
    db.database,
  ];
  const child = spawn(PGBENCH, args, { env: { ...process.env, PGPASSWORD: db.password }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
  const processed = /number of transactions actually processed: (\d+)/.exec(out);
  const failed = /number of failed transactions: (\d+)/.exec(out);
  if (code !== 0 || !tps || !processed || (failed && failed[1] !== "0")) throw new Error(`pgbench failed (exit ${code}):\n${out}`);
  const statementMs: number[] = [];
  const latencies = out.slice(out.indexOf("statement latencies in milliseconds"));
  for (const line of latencies.split("\n").slice(1)) {
    const m = /^\s+([\d.]+)\s+\d+\s+(BEGIN|INSERT|SELECT|UPDATE|WITH|COMMIT)/.exec(line) ?? /^\s+([\d.]+)\s+(BEGIN|INSERT|SELECT|UPDATE|WITH|COMMIT)/.exec(line);
    if (m) statementMs.push(Number(m[1]));
  }
  return { rate: Number(tps[1]), transactions: Number(processed[1]), statementMs };
}

// ---- main ------------------------------------------------------------------------

interface ConsumerResult {
  readonly rate: number;
  readonly events: number;
  readonly seconds: number;
  /** CPU ms of the ledger process per posting, first posting to the relay's backlog drained (or the last posting, relay off). */
  readonly cpuMs: number;
  /** Seconds from the last posting until every LedgerPosted row was published (NaN with the relay off). */
  readonly drainSeconds: number;
  readonly profile?: StatementProfile | undefined;
}

interface ConsumerSetup {
  readonly relay: boolean;
  readonly partitions: number;
  readonly concurrency: number;
}

async function main(): Promise<void> {
  console.log(`machine: ${coresAndModel()}, load average ${loadAverage()}, node ${process.version}`);
  const kafka = testKafka(TEST_BROKERS, "bench-ledger-posting");
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({
    idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const ledgerDb: TestDatabase = await createTestDatabase("ledger", "migrations/ledger");
  const scratch: TestDatabase = await createTestDatabase("ledger", "migrations/ledger");
  const ledger = startLedgerHost();
  const scriptDir = mkdtempSync(join(tmpdir(), "fleetmesh-ledger-bench-"));
  const prefixes: string[] = [];
  const db = ledgerDb.admin;
  const position = async (client: pg.Client = db): Promise<number> => Number((await client.query<{ p: string }>("SELECT position::text AS p FROM ledger_head")).rows[0]!.p);
  /** Per consumer phase: entries (-1 when a reference was posted twice), inbox and LedgerPosted rows, gapless positions. */
  const checks: Array<{ phase: string; events: number; entries: number; inbox: number; outbox: number; gapless: boolean }> = [];
  let phaseNo = 0;

  /** One consumer phase: N events produced under a fresh prefix, then the ledger started on them and timed. */
  const consumerPhase = async (name: string, setup: ConsumerSetup, events: number, profile = false): Promise<ConsumerResult> => {
    const prefix = uniqueTopicPrefix();
    prefixes.push(prefix);
    const tag = `BENCH${++phaseNo}`;
    // Every topic the ledger consumes or publishes (broker auto-create is off).
    await createTopics(admin, ["maintenance.part.v1", "maintenance.job.v1", "rental.rental.v1", "ledger.posting.v1", "ledger.invoice.v1", "ledger.payment.v1"].map((t) => `${prefix}${t}`), setup.partitions);
    await produceReceipts(producer, prefix, setup.partitions, events, tag);
    const base = await position();
    await ledger.send({
      op: "start", db: ledgerDb.config, prefix, groupId: `${prefix}ledger`, relay: setup.relay, partitionsConcurrently: setup.concurrency, profile,
    });
    let first: { at: number; count: number; cpu: number } | undefined;
    let last: { at: number; cpu: number } | undefined;
    const deadline = performance.now() + 300_000;
    while (!last) {
      const count = (await position()) - base;
      const at = performance.now();
      if (count > 0 && !first) first = { at, count, cpu: cpuSecondsOf(ledger.pid) };
      if (count >= events) last = { at, cpu: cpuSecondsOf(ledger.pid) };
      else if (at > deadline) throw new Error(`${name}: only ${count} of ${events} postings after 300 s`);
      else await sleep(20);
    }
    let cpuEnd = last.cpu;
    let drainSeconds = Number.NaN;
    if (setup.relay) {
      await waitFor("the relay to publish every LedgerPosted", async () =>
        Number((await db.query<{ n: string }>("SELECT count(*)::text AS n FROM outbox_events WHERE published_at IS NULL")).rows[0]!.n) === 0, 120_000, 20);
      drainSeconds = (performance.now() - last.at) / 1000;
      cpuEnd = cpuSecondsOf(ledger.pid);
    }
    const stopped = await ledger.send({ op: "stop" });
    if (!setup.relay) {
      // Published by another replica in production; here no later phase's relay may pick them up.
      await db.query("UPDATE outbox_events SET published_at = now() WHERE published_at IS NULL");
    }
    // Exactly one entry, inbox row and LedgerPosted per event, and positions without gaps.
    const q = async (sql: string, params: unknown[]) => Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);
    const entries = await q(`SELECT CASE WHEN count(*) = count(DISTINCT external_ref_id) THEN count(*) ELSE -1 END::text AS n
                               FROM journal_entries WHERE description LIKE $1`, [`% x ${tag}-%`]);
    const inbox = await q("SELECT count(*)::text AS n FROM inbox_processed_messages WHERE topic = $1 AND outcome = 'applied'", [`${prefix}maintenance.part.v1`]);
    const outbox = await q(`SELECT count(*)::text AS n FROM outbox_events o JOIN journal_entries e ON e.id = o.aggregate_id
                             WHERE o.event_type = 'fleetmesh.ledger.v1.LedgerPosted' AND e.description LIKE $1`, [`% x ${tag}-%`]);
    const gapless = (await position()) - base === events
      && await q("SELECT count(*)::text AS n FROM journal_entries WHERE position > $1", [base]) === events;
    checks.push({ phase: name, events, entries, inbox, outbox, gapless });
    const postings = events - first!.count;
    const elapsed = (last.at - first!.at) / 1000;
    return {
      rate: postings / elapsed, events, seconds: elapsed, cpuMs: ((cpuEnd - first!.cpu) * 1000) / postings, drainSeconds, profile: stopped.profile,
    };
  };

  try {
    const production: ConsumerSetup = { relay: true, partitions: PARTITIONS, concurrency: 3 };
    // Warm-up: JIT, pools, group joins; the faster of the two calibrates N.
    console.log("warm-up ...");
    const warm1 = await consumerPhase("warm-up 1", production, 1_500);
    const warm2 = await consumerPhase("warm-up 2", production, 3_000);
    const warmRate = Math.max(warm1.rate, warm2.rate);
    const events = fixedEvents ?? Math.max(3_000, Math.ceil((warmRate * seconds * 1.3) / 300) * 300);
    console.log(`  warm-up: ${fmt(warm1.rate, 0)}, ${fmt(warm2.rate, 0)} postings/s; ${events} events per consumer phase`);
    const sample = await samplePosting(db);
    const scriptFile = join(scriptDir, "posting.sql");
    writeFileSync(scriptFile, pgbenchScript());
    const fusedFile = join(scriptDir, "posting-fused.sql");
    writeFileSync(fusedFile, pgbenchFusedScript());
    let pgRun = 0;
    // pgbench warm-up, and a check that the scripts run.
    await runPgbench(scriptFile, scratch.config, sample, ++pgRun, 3, 2);
    if (variants.has("fused")) await runPgbench(fusedFile, scratch.config, sample, ++pgRun, 3, 2);

    type PathName = string;
    const PG = "pgbench, 3 clients (baseline)";
    const CONSUMER = "consumer (relay on, 3 partitions x 3 in flight)";
    const phases: Array<[PathName, () => Promise<{ rate: number; cpuMs?: number; drain?: number; pg?: PgbenchResult }>]> = [
      [PG, async () => { const r = await runPgbench(scriptFile, scratch.config, sample, ++pgRun, 3, seconds); return { rate: r.rate, pg: r }; }],
      [CONSUMER, async () => { const r = await consumerPhase(CONSUMER, production, events); return { rate: r.rate, cpuMs: r.cpuMs, drain: r.drainSeconds }; }],
    ];
    if (variants.has("relay-off")) {
      const n = "consumer, relay off";
      phases.push([n, async () => { const r = await consumerPhase(n, { ...production, relay: false }, events); return { rate: r.rate, cpuMs: r.cpuMs }; }]);
    }
    if (variants.has("p6")) {
      const n = "consumer, 6 partitions x 6 in flight";
      phases.push([n, async () => { const r = await consumerPhase(n, { relay: true, partitions: 6, concurrency: 6 }, events); return { rate: r.rate, cpuMs: r.cpuMs, drain: r.drainSeconds }; }]);
    }
    if (variants.has("p1")) {
      const n = "consumer, 3 partitions x 1 in flight";
      phases.push([n, async () => { const r = await consumerPhase(n, { ...production, concurrency: 1 }, events); return { rate: r.rate, cpuMs: r.cpuMs, drain: r.drainSeconds }; }]);
    }
    if (variants.has("pg1")) {
      phases.push(["pgbench, 1 client", async () => { const r = await runPgbench(scriptFile, scratch.config, sample, ++pgRun, 1, seconds); return { rate: r.rate, pg: r }; }]);
    }
    if (variants.has("fused")) {
      phases.push(["pgbench, 3 clients, fused statement (proposal)", async () => {
        const r = await runPgbench(fusedFile, scratch.config, sample, ++pgRun, 3, seconds); return { rate: r.rate, pg: r };
      }]);
    }
    const names = phases.map(([n]) => n);
    const results = new Map<PathName, Array<{ rate: number; cpuMs?: number; drain?: number; pg?: PgbenchResult }>>(names.map((n) => [n, []]));
    const ratios = new Map<PathName, number[]>(names.map((n) => [n, []]));
    const started = performance.now();
    for (let round = 0; round < rounds; round++) {
      console.log(`round ${round + 1}/${rounds} (load average ${loadAverage()})`);
      const thisRound = new Map<PathName, number>();
      for (const [name, phase] of rotated(phases, round)) {
        const r = await phase();
        results.get(name)!.push(r);
        thisRound.set(name, r.rate);
        console.log(`  ${name}: ${fmt(r.rate, 0)} postings/s${r.cpuMs !== undefined ? `, CPU ${fmt(r.cpuMs, 2)} ms/posting` : ""}${r.drain !== undefined && Number.isFinite(r.drain) ? `, relay drained ${fmt(r.drain, 2)} s after the last posting` : ""}`);
      }
      for (const name of names) ratios.get(name)!.push(thisRound.get(name)! / thisRound.get(PG)!);
    }
    const totalSeconds = (performance.now() - started) / 1000;
    // A profiled phase after the rounds (not in the table: the driver hook costs a little): where a posting's time goes.
    const profiled = await consumerPhase("profile", production, events, true);
    const profile = profiled.profile!;
    console.log(`  profiled consumer phase: ${fmt(profiled.rate, 0)} postings/s`);

    // ---- invariants ----
    const balance = async (client: pg.Client) => (await client.query<{ d: string; c: string; unbalanced: string }>(
      `SELECT coalesce(sum(amount_minor) FILTER (WHERE direction = 'D'), 0)::text AS d, coalesce(sum(amount_minor) FILTER (WHERE direction = 'C'), 0)::text AS c,
              (SELECT count(*) FROM (SELECT entry_id FROM journal_lines GROUP BY entry_id
                 HAVING sum(CASE direction WHEN 'D' THEN amount_minor ELSE -amount_minor END) <> 0) u)::text AS unbalanced
         FROM journal_lines`)).rows[0]!;
    const service = await balance(db);
    const baseline = await balance(scratch.admin);
    const failures: string[] = [];
    for (const c of checks) {
      if (c.entries !== c.events || c.inbox !== c.events || c.outbox !== c.events || !c.gapless) failures.push(`${c.phase}: ${JSON.stringify(c)}`);
    }
    if (service.d !== service.c || service.unbalanced !== "0") failures.push(`ledger database unbalanced: ${JSON.stringify(service)}`);
    if (baseline.d !== baseline.c || baseline.unbalanced !== "0") failures.push(`pgbench database unbalanced: ${JSON.stringify(baseline)}`);

    // ---- report ----
    console.log(`\nLedger posting throughput: PartStockReceived -> consumer -> Posting.post (2-line entry, LedgerPosted outbox row), ` +
      `${events} events per consumer phase, pgbench for ${seconds} s; ${rounds} rounds, order rotating; medians over rounds; ` +
      `${new Date().toISOString()}, ${coresAndModel()}, load average now ${loadAverage()}, node ${process.version}\n`);
    const rows = names.map((name) => {
      const rs = results.get(name)!;
      const isPg = name.startsWith("pgbench");
      return [
        name, fmt(median(rs.map((r) => r.rate)), 0), rs.map((r) => fmt(r.rate, 0)).join(" / "),
        `${fmt(median(ratios.get(name)!) * 100, 0)}%`, isPg ? "-" : fmt(median(rs.map((r) => r.cpuMs ?? Number.NaN)), 2),
        isPg || !rs.some((r) => Number.isFinite(r.drain ?? Number.NaN)) ? "-" : fmt(median(rs.map((r) => r.drain ?? Number.NaN)), 2),
      ];
    });
    console.log(markdownTable(["path", "postings/s (median = p50 of per-round rates)", "per round", "vs pgbench (median of per-round ratios)", "CPU ms/posting (ledger process)", "relay drained after last posting, s"], rows));

    console.log(`\nWhere a consumed posting's time goes (a profiled consumer phase after the rounds, ${profile.postings} postings profiled at the driver (node-postgres Client.query, sent to answered); ` +
      `pgbench -r means of the baseline, 3 clients, median over rounds):\n`);
    const pgOrder = ["BEGIN", "inbox insert", "select by external ref", "UPDATE ledger_head RETURNING", "re-check and closed months",
      "entry + lines insert", "outbox insert", "COMMIT"];
    const perCall = (k: string) => {
      const s = profile.statements[k];
      return s ? s.ms / s.calls : Number.NaN;
    };
    const pgStatements = pgOrder.map((_, i) => median(results.get(PG)!.map((r) => r.pg?.statementMs[i] ?? Number.NaN)));
    const statementRows = pgOrder.map((k, i) => [k, fmt(perCall(k), 2), fmt(pgStatements[i]!, 2)]);
    console.log(markdownTable(["statement", "consumer ms (sent to answered)", "pgbench ms"], statementRows));
    // Under the lock: everything after the UPDATE (its answer included, as the consumer's measure is).
    const pgLock = pgStatements.slice(4).reduce((a, b) => a + b, 0);
    console.log(`\nposition lock held per posting (UPDATE ledger_head answered -> COMMIT answered): consumer ${fmt(profile.lockHeldMs, 2)} ms ` +
      `(ceiling ${fmt(1000 / profile.lockHeldMs, 0)} postings/s), pgbench ~${fmt(pgLock, 2)} ms (sum of its statement means, ceiling ${fmt(1000 / pgLock, 0)}/s); ` +
      `consumer transaction BEGIN -> COMMIT ${fmt(profile.transactionMs, 2)} ms`);
    console.log(`consumer statements per posting (first profiled): ${profile.sample.join(" -> ")}`);
    const others = Object.entries(profile.statements).filter(([k]) => !pgOrder.includes(k));
    if (others.length > 0) console.log(`other statements on the service's pool while profiling: ${others.map(([k, v]) => `${k} x${v.calls}`).join("; ")}`);

    console.log("");
    const ratio = median(ratios.get(CONSUMER)!);
    console.log(`Goal: consumer path >= 40% of pgbench -> ${fmt(ratio * 100, 0)}% ${ratio >= 0.4 ? "MET" : "NOT MET"}`);
    console.log(`Check: exactly N entries, inbox rows and LedgerPosted rows per consumer phase, positions gapless -> ` +
      `${failures.some((f) => !f.includes("unbalanced")) ? "FAILED" : "OK"} (${checks.length} phases)`);
    console.log(`Check: debits = credits globally -> ledger ${service.d} = ${service.c}, pgbench copy ${baseline.d} = ${baseline.c}, ` +
      `unbalanced entries ${service.unbalanced} / ${baseline.unbalanced}`);
    console.log(`(measured phases took ${totalSeconds.toFixed(0)} s)`);
    if (failures.length > 0) throw new Error(`invariants violated:\n${failures.join("\n")}`);
  } finally {
    await ledger.close();
    await producer.disconnect().catch(() => undefined);
    for (const prefix of prefixes) await deleteTopicsWithPrefix(admin, prefix).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await ledgerDb.drop();
    await scratch.drop();
    rmSync(scriptDir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--host") {
  await host();
} else {
  await main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
