// The journal against real PostgreSQL through gRPC: postings, exactly-once
// references under concurrency, reversals, the commit-ordered position,
// period close, and what the database itself refuses to the app role.
import { randomUUID } from "node:crypto";
import { status as Status } from "@grpc/grpc-js";
import anyTest, { type TestFn } from "ava";
import pg from "pg";
import { EntryDirection } from "../../../gen/fleetmesh/ledger/v1/journal_pb.js";
import { PeriodStatus } from "../../../gen/fleetmesh/ledger/v1/invoice_pb.js";
import { runInTransaction } from "../../platform/src/transactions.js";
import { ACCOUNTS, rejectsWith, startLedger, violatedFields, type LedgerHarness } from "./support.js";

const test = anyTest as TestFn<{ h: LedgerHarness }>;

test.before(async (t) => {
  t.context.h = await startLedger();
});
test.after.always(async (t) => {
  await t.context.h?.stop();
});

const eur = (amountMinor: bigint) => ({ amountMinor, currencyCode: "EUR" });
const usd = (amountMinor: bigint) => ({ amountMinor, currencyCode: "USD" });
const line = (accountId: string, direction: EntryDirection, amount: { amountMinor: bigint; currencyCode: string }, vehicleId = "") =>
  ({ accountId, direction, amount, vehicleId });
const transfer = (from: string, to: string, amount: { amountMinor: bigint; currencyCode: string }) =>
  [line(to, EntryDirection.DEBIT, amount), line(from, EntryDirection.CREDIT, amount)];

const post = (h: LedgerHarness, lines: ReturnType<typeof line>[], options: { ref?: string; date?: string; description?: string } = {}) =>
  h.ledger.postJournalEntry({
    externalRefType: "manual", externalRefId: options.ref ?? randomUUID(), entryDate: options.date ?? "2026-03-10",
    description: options.description ?? "Adjustment", lines,
  }, h.as());

/** The app role's own connection: what the service itself may do to its tables. */
const appClient = async (h: LedgerHarness): Promise<pg.Client> => {
  const c = new pg.Client({ ...h.db.config, user: h.db.config.user, password: h.db.config.password });
  await c.connect();
  return c;
};

test.serial("a balanced manual entry posts with a position; 2^53 + 1 survives as bigint", async (t) => {
  const { h } = t.context;
  const big = 2n ** 53n + 1n;
  const before = (await h.ledger.getLedgerPosition({}, h.as())).ledgerPosition;
  const { entry, alreadyPosted } = await post(h, [
    ...transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.BANK, eur(big)),
    ...transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, usd(5n)),
  ]);
  t.false(alreadyPosted);
  t.is(entry!.position, before + 1n);
  t.is(entry!.lines.length, 4);
  t.is(entry!.lines[0]!.amount!.amountMinor, big);
  t.is(entry!.lines[0]!.accountCode, "BANK");
  const balance = await h.ledger.getAccountBalance({ accountId: ACCOUNTS.BANK }, h.as());
  t.is(balance.balances.find((b) => b.currencyCode === "EUR")?.balance?.amountMinor, big);
  t.true(balance.ledgerPosition >= entry!.position);
  const stored = await h.db.admin.query("SELECT amount_minor::text AS a FROM journal_lines WHERE entry_id = $1 ORDER BY line_no", [entry!.id]);
  t.is(stored.rows[0].a, big.toString());
});

test.serial("bad entries are refused with the right code and write nothing", async (t) => {
  const { h } = t.context;
  const before = (await h.ledger.getLedgerPosition({}, h.as())).ledgerPosition;
  const unbalanced = await rejectsWith(t, post(h, [line(ACCOUNTS.CASH, EntryDirection.DEBIT, eur(10n)), line(ACCOUNTS.OWNER_EQUITY, EntryDirection.CREDIT, eur(9n))]),
    Status.INVALID_ARGUMENT, "UNBALANCED_ENTRY");
  t.deepEqual(violatedFields(unbalanced), ["lines"]);
  // Balanced in total but not per currency: nothing is ever converted.
  await rejectsWith(t, post(h, [line(ACCOUNTS.CASH, EntryDirection.DEBIT, eur(10n)), line(ACCOUNTS.OWNER_EQUITY, EntryDirection.CREDIT, usd(10n))]),
    Status.INVALID_ARGUMENT, "UNBALANCED_ENTRY");
  const shape = await rejectsWith(t, h.ledger.postJournalEntry({
    externalRefType: "Manual!", externalRefId: "x", entryDate: "2026-02-30", description: "",
    lines: [line("nope", EntryDirection.UNSPECIFIED, eur(-1n))],
  }, h.as()), Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(shape), [
    "description", "entry_date", "external_ref_id", "external_ref_type", "lines", "lines[0].account_id", "lines[0].amount.amount_minor", "lines[0].direction",
  ]);
  await rejectsWith(t, post(h, transfer(randomUUID(), ACCOUNTS.CASH, eur(1n))), Status.NOT_FOUND, "ACCOUNT_NOT_FOUND");
  await rejectsWith(t, h.ledger.postJournalEntry({
    externalRefType: "manual", externalRefId: randomUUID(), entryDate: "2026-03-01", description: "x", lines: transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(1n)),
  }, h.as(["ledger.read"])), Status.PERMISSION_DENIED, "PERMISSION_DENIED");
  t.is((await h.ledger.getLedgerPosition({}, h.as())).ledgerPosition, before);
});

test.serial("a reference posts once: same content returns it, other content is refused, 64 racing posts make one entry", async (t) => {
  const { h } = t.context;
  const ref = randomUUID();
  const lines = transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(700n));
  const first = await post(h, lines, { ref });
  const again = await post(h, lines, { ref });
  t.true(again.alreadyPosted);
  t.is(again.entry!.id, first.entry!.id);
  await rejectsWith(t, post(h, transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(701n)), { ref }), Status.ALREADY_EXISTS, "ENTRY_ALREADY_POSTED");

  const raced = randomUUID();
  const before = (await h.ledger.getLedgerPosition({}, h.as())).ledgerPosition;
  const results = await Promise.all(Array.from({ length: 64 }, () => post(h, lines, { ref: raced })));
  t.is(new Set(results.map((r) => r.entry!.id)).size, 1);
  t.is(results.filter((r) => !r.alreadyPosted).length, 1);
  const count = await h.db.admin.query("SELECT count(*)::int AS n FROM journal_entries WHERE external_ref_id = $1", [raced]);
  t.is(count.rows[0].n, 1);
  // Positions stay gapless: the racers that lost handed their number back.
  t.is((await h.ledger.getLedgerPosition({}, h.as())).ledgerPosition, before + 1n);
});

test.serial("opposing postings between the same accounts never deadlock", async (t) => {
  const { h } = t.context;
  const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) =>
    post(h, i % 2 === 0 ? transfer(ACCOUNTS.CASH, ACCOUNTS.BANK, eur(3n)) : transfer(ACCOUNTS.BANK, ACCOUNTS.CASH, eur(3n)))));
  t.deepEqual(results.filter((r) => r.status === "rejected"), []);
});

test.serial("an entry is reversed at most once, and a reversal is not reversible", async (t) => {
  const { h } = t.context;
  const { entry } = await post(h, transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(40n)));
  const { entry: reversal } = await h.ledger.reverseJournalEntry({ journalEntryId: entry!.id, reason: "Posted twice" }, h.as());
  t.is(reversal!.reversesEntryId, entry!.id);
  t.deepEqual(reversal!.lines.map((l) => l.direction), [EntryDirection.CREDIT, EntryDirection.DEBIT]);
  const original = await h.ledger.getJournalEntry({ key: { case: "journalEntryId", value: entry!.id } }, h.as());
  t.is(original.entry!.reversedByEntryId, reversal!.id);
  await rejectsWith(t, h.ledger.reverseJournalEntry({ journalEntryId: entry!.id, reason: "Again" }, h.as()), Status.FAILED_PRECONDITION, "ENTRY_ALREADY_REVERSED");
  await rejectsWith(t, h.ledger.reverseJournalEntry({ journalEntryId: reversal!.id, reason: "Undo" }, h.as()), Status.FAILED_PRECONDITION, "ENTRY_ALREADY_REVERSED");
  const byRef = await h.ledger.getJournalEntry({ key: { case: "externalRef", value: { type: "reversal", id: entry!.id } } }, h.as());
  t.is(byRef.entry!.id, reversal!.id);
});

test.serial("reads as of a position see exactly the entries at or below it", async (t) => {
  const { h } = t.context;
  const vehicle = randomUUID();
  const a = await post(h, [line(ACCOUNTS.CASH, EntryDirection.DEBIT, eur(11n), vehicle), line(ACCOUNTS.REVENUE_OTHER, EntryDirection.CREDIT, eur(11n), vehicle)]);
  const p = a.entry!.position;
  await post(h, [line(ACCOUNTS.CASH, EntryDirection.DEBIT, eur(13n), vehicle), line(ACCOUNTS.REVENUE_OTHER, EntryDirection.CREDIT, eur(13n), vehicle)]);
  const asOf = await h.ledger.listJournalEntries({ vehicleId: vehicle, asOfPosition: p }, h.as());
  t.deepEqual(asOf.entries.map((e) => e.id), [a.entry!.id]);
  t.is(asOf.ledgerPosition, p);
  const now = await h.ledger.listJournalEntries({ vehicleId: vehicle }, h.as());
  t.is(now.entries.length, 2);
  const balance = await h.ledger.getAccountBalance({ accountId: ACCOUNTS.REVENUE_OTHER, asOfPosition: p }, h.as());
  const later = await h.ledger.getAccountBalance({ accountId: ACCOUNTS.REVENUE_OTHER }, h.as());
  const eurOf = (r: typeof balance) => r.balances.find((b) => b.currencyCode === "EUR")!.balance!.amountMinor;
  t.is(eurOf(later) - eurOf(balance), 13n);
  const ahead = (await h.ledger.getLedgerPosition({}, h.as())).ledgerPosition + 10n;
  await rejectsWith(t, h.ledger.listJournalEntries({ asOfPosition: ahead }, h.as()), Status.OUT_OF_RANGE, "LEDGER_POSITION_AHEAD");
});

test.serial("a position is readable only once every lower one is settled (commit order)", async (t) => {
  const { h } = t.context;
  // A transaction holds the next position without committing…
  const holder = await appClient(h);
  try {
    await holder.query("BEGIN");
    const held = BigInt((await holder.query("UPDATE ledger_head SET position = position + 1 RETURNING position")).rows[0].position);
    // …so a concurrent posting waits for it, and readers still see the position below it.
    const pending = post(h, transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(1n)));
    await new Promise((r) => setTimeout(r, 300));
    t.is((await h.ledger.getLedgerPosition({}, h.as())).ledgerPosition, held - 1n);
    await holder.query("ROLLBACK");
    const { entry } = await pending;
    // The rolled-back number was never visible and is reused: no gap, no later appearance below.
    t.is(entry!.position, held);
  } finally {
    await holder.end();
  }
});

test.serial("a closed month refuses manual postings; reopening needs a reason and is audited", async (t) => {
  const { h } = t.context;
  const closed = await h.ledger.closePeriod({ period: "2025-11", reason: "Month end" }, h.as());
  t.is(closed.period!.status, PeriodStatus.CLOSED);
  await rejectsWith(t, post(h, transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(5n)), { date: "2025-11-30" }), Status.FAILED_PRECONDITION, "PERIOD_CLOSED");
  await post(h, transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(5n)), { date: "2025-12-01" });
  const noReason = await rejectsWith(t, h.ledger.reopenPeriod({ period: "2025-11", reason: "" }, h.as()), Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  t.deepEqual(violatedFields(noReason), ["reason"]);
  await rejectsWith(t, h.ledger.reopenPeriod({ period: "2025-11", reason: "Late invoice" }, h.as(["ledger.close_period"])), Status.PERMISSION_DENIED, "PERMISSION_DENIED");
  await rejectsWith(t, h.ledger.reopenPeriod({ period: "2025-10", reason: "x" }, h.as()), Status.FAILED_PRECONDITION, "PERIOD_NOT_CLOSED");
  await rejectsWith(t, h.ledger.closePeriod({ period: "2025-13" }, h.as()), Status.INVALID_ARGUMENT, "INVALID_ARGUMENT");
  const reopened = await h.ledger.reopenPeriod({ period: "2025-11", reason: "Late invoice" }, h.as());
  t.is(reopened.period!.status, PeriodStatus.OPEN);
  t.deepEqual(reopened.period!.history.map((c) => [c.status, c.reason]), [[PeriodStatus.CLOSED, "Month end"], [PeriodStatus.OPEN, "Late invoice"]]);
  await post(h, transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(5n)), { date: "2025-11-30" });
  const listed = await h.ledger.listPeriods({}, h.as());
  t.true(listed.periods.some((p) => p.period === "2025-11"));
});

test.serial("a fact from a closed month posts in the first open month and keeps its own date", async (t) => {
  const { h } = t.context;
  await h.ledger.closePeriod({ period: "2025-08" }, h.as());
  await h.ledger.closePeriod({ period: "2025-09" }, h.as());
  const { entry } = await runInTransaction(h.service.db, () => h.service.journal.posting.post({
    externalRef: { type: "part_receipt", id: randomUUID() }, entryDate: "2025-08-20", description: "Late goods receipt", postedBy: "", reversesEntryId: null,
    lines: [
      { accountId: ACCOUNTS.PARTS_INVENTORY, direction: "DEBIT", amount: { amountMinor: 900n, currency: "EUR" }, vehicleId: null, invoiceId: null, memo: "" },
      { accountId: ACCOUNTS.ACCOUNTS_PAYABLE, direction: "CREDIT", amount: { amountMinor: 900n, currency: "EUR" }, vehicleId: null, invoiceId: null, memo: "" },
    ],
  }, "first_open_period"));
  t.is(entry.entryDate, "2025-10-01");
  t.is(entry.factDate, "2025-08-20");
  const read = await h.ledger.getJournalEntry({ key: { case: "journalEntryId", value: entry.id } }, h.as());
  t.is(read.entry!.factDate, "2025-08-20");
});

test.serial("the database refuses changes to the journal and unbalanced raw inserts, as the app role", async (t) => {
  const { h } = t.context;
  const { entry } = await post(h, transfer(ACCOUNTS.OWNER_EQUITY, ACCOUNTS.CASH, eur(77n)));
  const app = await appClient(h);
  try {
    await t.throwsAsync(app.query("UPDATE journal_lines SET amount_minor = 1 WHERE entry_id = $1", [entry!.id]), { message: /permission denied/ });
    await t.throwsAsync(app.query("DELETE FROM journal_entries WHERE id = $1", [entry!.id]), { message: /permission denied/ });
    await t.throwsAsync(app.query("TRUNCATE journal_lines"), { message: /permission denied/ });
    await t.throwsAsync(app.query("UPDATE period_status_changes SET reason = 'x'"), { message: /permission denied/ });
    // Unbalanced: accepted statement by statement, refused at commit by the deferred trigger.
    await app.query("BEGIN");
    const position = (await app.query("UPDATE ledger_head SET position = position + 1 RETURNING position")).rows[0].position;
    const id = randomUUID();
    await app.query(`INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, description)
      VALUES ($1, $2, 'manual', $3, 'x', '2026-03-01', 'raw')`, [id, position, randomUUID()]);
    await app.query(`INSERT INTO journal_lines (id, entry_id, line_no, position, entry_date, account_id, direction, amount_minor, currency) VALUES
      ($1, $2, 1, $3, '2026-03-01', $4, 'D', 100, 'EUR'), ($5, $2, 2, $3, '2026-03-01', $6, 'C', 99, 'EUR')`,
    [randomUUID(), id, position, ACCOUNTS.CASH, randomUUID(), ACCOUNTS.OWNER_EQUITY]);
    await t.throwsAsync(app.query("COMMIT"), { message: /unbalanced in EUR/ });
    // A lonely entry without lines is refused too.
    await app.query("BEGIN");
    await app.query("UPDATE ledger_head SET position = position + 1");
    await app.query(`INSERT INTO journal_entries (id, position, external_ref_type, external_ref_id, content_hash, entry_date, description)
      SELECT $1, position, 'manual', $2, 'x', '2026-03-01', 'raw' FROM ledger_head`, [randomUUID(), randomUUID()]);
    await t.throwsAsync(app.query("COMMIT"), { message: /at least two are required/ });
  } finally {
    await app.end();
  }
  // The owner is refused by the triggers too.
  await t.throwsAsync(h.db.admin.query("UPDATE journal_lines SET memo = 'x' WHERE entry_id = $1", [entry!.id]), { message: /append-only/ });
  await t.throwsAsync(h.db.admin.query("DELETE FROM journal_lines WHERE entry_id = $1", [entry!.id]), { message: /append-only/ });
});
