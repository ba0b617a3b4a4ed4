// Issue 9, finding 2, for the ledger: every string field of every
// LedgerService and ReportingService RPC (enumerated from the descriptors,
// so a new RPC is covered by itself) refuses hostile text (NUL and other
// controls, lone surrogates, bidi controls, 1 MB strings) with
// INVALID_ARGUMENT naming the field, and nothing is written.
import { randomUUID } from "node:crypto";
import anyTest, { type TestFn } from "ava";
import { EntryDirection } from "../../../gen/fleetmesh/ledger/v1/journal_pb.js";
import { LedgerService } from "../../../gen/fleetmesh/ledger/v1/ledger_service_pb.js";
import { ReportingService } from "../../../gen/fleetmesh/ledger/v1/reporting_service_pb.js";
import { LEGITIMATE_TEXTS, methodsWithText, sweepHostileText, tableRowCounts } from "../../platform/src/testing/hostile-text.js";
import { ACCOUNTS, startLedger, type LedgerHarness } from "./support.js";

const test = anyTest.serial as TestFn<LedgerHarness>;
const eur = (amountMinor: bigint) => ({ amountMinor, currencyCode: "EUR" });

test.before(async (t) => {
  t.context = await startLedger();
});
test.after.always(async (t) => {
  await t.context?.stop?.();
});

const entry = (description: string) => ({
  externalRefType: "manual", externalRefId: randomUUID(), entryDate: "2026-05-04", description,
  lines: [
    { accountId: ACCOUNTS.CASH, direction: EntryDirection.DEBIT, amount: eur(500n), memo: description },
    { accountId: ACCOUNTS.OWNER_EQUITY, direction: EntryDirection.CREDIT, amount: eur(500n) },
  ],
});

test("hostile text in any string field of any ledger RPC is INVALID_ARGUMENT with the field path; nothing is written", async (t) => {
  const h = t.context;
  await h.ledger.postJournalEntry(entry("Opening cash"), h.as());
  const db = h.db.admin;
  const before = await tableRowCounts(db);
  for (const table of ["accounts", "journal_entries", "journal_lines", "outbox_events"]) t.true((before[table] ?? 0) > 0, `${table}: ${JSON.stringify(before)}`);
  const address = `127.0.0.1:${h.service.grpcPort}`;
  let total = 0;
  for (const service of [LedgerService, ReportingService]) {
    const { calls, mismatches } = await sweepHostileText(service, address, h.as().headers);
    t.deepEqual(mismatches, [], service.typeName);
    total += calls;
  }
  // Every RPC with a string field is swept; those without one (GetLedgerPosition) have nothing to sweep.
  const swept = [...methodsWithText(LedgerService), ...methodsWithText(ReportingService)].map((m) => m.name);
  t.deepEqual([...LedgerService.methods, ...ReportingService.methods].filter((m) => !swept.includes(m.name)).map((m) => m.name), ["GetLedgerPosition"]);
  t.log(`${total} hostile calls over ${swept.length} RPCs`);
  t.deepEqual(await tableRowCounts(db), before);
});

test("legitimate Unicode descriptions and memos are stored and read back unchanged", async (t) => {
  const h = t.context;
  for (const text of LEGITIMATE_TEXTS.filter((s) => !/[\n\t]/.test(s) && s.length <= 500)) {
    const { entry: posted } = await h.ledger.postJournalEntry(entry(text), h.as());
    const { entry: read } = await h.ledger.getJournalEntry({ key: { case: "journalEntryId", value: posted!.id } }, h.as());
    t.is(read!.description, text);
    t.is(read!.lines[0]!.memo, text);
  }
});
