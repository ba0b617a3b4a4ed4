// The journal's use cases: accounts, postings and reversals, balances,
// accounting periods and the ledger position. Billing and the event rules
// post through `posting` (below), so every entry is validated the same way
// and announced with LedgerPosted in its own transaction.
import type { Caller } from "../../../platform/src/auth.js";
import type { Page } from "../../../platform/src/paging.js";
import { runInTransaction, type ConstraintErrors } from "../../../platform/src/transactions.js";
import type { Database } from "../../../platform/src/db.js";
import { accountingDateOf, parsePeriod } from "../domain/calendar.js";
import {
  accountCodeTaken,
  accountNotFound,
  entryAlreadyReversed,
  journalEntryNotFound,
  periodClosed,
  periodNotClosed,
  reversalNotReversible,
} from "../domain/errors.js";
import { assertPostable, reversalOf } from "../domain/journal.js";
import { positionToRead } from "../domain/position.js";
import type {
  Account,
  AccountingPeriod,
  AccountType,
  CurrencyBalance,
  ExternalRef,
  JournalEntry,
  JournalEntryDraft,
  PostResult,
} from "../domain/model.js";
import type { Accounts, ClosedPeriodPolicy, Journal, JournalFilter, PageQuery, Periods } from "./ports.js";
import type { Outbox } from "./ports-outbox.js";

/** The constraints the journal's transactions map to domain errors (the checks before them make these races only). */
export const JOURNAL_CONSTRAINTS: ConstraintErrors = {
  accounts_code_key: () => accountCodeTaken("(taken)"),
  journal_lines_account_id_fkey: () => accountNotFound("(unknown)"),
  journal_entries_reverses_key: (v) => entryAlreadyReversed(v.detail ?? ""),
  journal_entries_reversal_of_reversal: () => reversalNotReversible(""),
  journal_entries_period_open: () => periodClosed("(closed)"),
};

export interface JournalDeps {
  readonly db: Database;
  readonly journal: Journal;
  readonly accounts: Accounts;
  readonly periods: Periods;
  readonly outbox: Outbox;
  readonly clock: { now(): Date };
  readonly ids: { newId(): string };
  readonly reportingTimeZone: string;
}

/** Posting for the other use cases: inside their transaction, validated, announced. */
export interface Posting {
  /** Posts and, when new, appends LedgerPosted. Call it after taking any other lock of the transaction (see journal-store.ts). */
  post(draft: JournalEntryDraft, policy: ClosedPeriodPolicy): Promise<PostResult>;
  /** The position for a report fact (usage, maintenance) recorded in the current transaction. */
  takePosition(): Promise<bigint>;
  /** Today's accounting date in the reporting time zone. */
  today(): string;
  /** The accounting date of an instant. */
  dateOf(instant: Date): string;
}

export interface PositionedEntry {
  readonly entry: JournalEntry;
  readonly position: bigint;
}

export interface AccountBalance {
  readonly account: Account;
  readonly balances: readonly CurrencyBalance[];
  readonly asOfDate: string | null;
  readonly cutoffTime: Date;
  readonly position: bigint;
}

export interface JournalUseCases {
  readonly posting: Posting;
  createAccount(command: { readonly code: string; readonly name: string; readonly type: AccountType; readonly description: string }, caller: Caller): Promise<Account>;
  getAccount(id: string): Promise<Account>;
  listAccounts(type: AccountType | null, page: PageQuery): Promise<Page<Account>>;
  accountBalance(query: { readonly accountId: string; readonly asOfDate: string | null; readonly cutoffTime: Date | null; readonly asOfPosition: bigint | null }): Promise<AccountBalance>;
  /** A manual entry (accountants' adjustments): a date in a closed month is refused. */
  postEntry(draft: Omit<JournalEntryDraft, "postedBy" | "reversesEntryId">, caller: Caller): Promise<PostResult>;
  reverseEntry(command: { readonly entryId: string; readonly entryDate: string | null; readonly reason: string }, caller: Caller): Promise<JournalEntry>;
  getEntry(key: { readonly id: string } | { readonly ref: ExternalRef }): Promise<PositionedEntry>;
  listEntries(filter: JournalFilter, asOfPosition: bigint | null, page: PageQuery): Promise<{ readonly page: Page<JournalEntry>; readonly position: bigint }>;
  closePeriod(period: string, reason: string, caller: Caller): Promise<AccountingPeriod>;
  reopenPeriod(period: string, reason: string, caller: Caller): Promise<AccountingPeriod>;
  listPeriods(page: PageQuery): Promise<Page<AccountingPeriod>>;
  position(): Promise<bigint>;
  /** The position to read at: the one asked for (not beyond what is readable), or the readable one. */
  resolvePosition(asked: bigint | null): Promise<bigint>;
}

export function createJournalUseCases(deps: JournalDeps): JournalUseCases {
  const { db, journal, accounts, periods, outbox, clock, ids, reportingTimeZone } = deps;
  const tx = <T>(work: () => Promise<T>): Promise<T> => runInTransaction(db, work, { constraints: JOURNAL_CONSTRAINTS });

  const posting: Posting = {
    async post(draft, policy) {
      assertPostable(draft);
      const result = await journal.post(draft, policy, ids);
      if (!result.alreadyPosted) await outbox.append({ type: "LedgerPosted", entry: result.entry });
      return result;
    },
    takePosition: () => journal.takePosition(),
    today: () => accountingDateOf(clock.now(), reportingTimeZone),
    dateOf: (instant) => accountingDateOf(instant, reportingTimeZone),
  };

  const resolvePosition = async (asked: bigint | null): Promise<bigint> => positionToRead(asked, await journal.readablePosition());

  const requireAccount = async (id: string): Promise<Account> => {
    const account = await accounts.get(id);
    if (!account) throw accountNotFound(id);
    return account;
  };

  const requireLinesAccounts = async (draft: Pick<JournalEntryDraft, "lines">): Promise<void> => {
    for (const id of new Set(draft.lines.map((l) => l.accountId))) await requireAccount(id);
  };

  return {
    posting,
    resolvePosition,

    async createAccount(command, caller) {
      return tx(async () => accounts.create({ id: ids.newId(), ...command, createdBy: caller.subject, updatedBy: caller.subject }))
        .catch((err: unknown) => {
          throw (err as { reason?: string }).reason === "ACCOUNT_CODE_TAKEN" ? accountCodeTaken(command.code) : err;
        });
    },

    getAccount: requireAccount,
    listAccounts: (type, page) => accounts.list(type, page),

    async accountBalance(query) {
      return runInTransaction(db, async () => {
        const account = await requireAccount(query.accountId);
        const position = await resolvePosition(query.asOfPosition);
        const cutoffTime = query.cutoffTime ?? clock.now();
        const balances = await journal.balances({ accountId: account.id, asOfDate: query.asOfDate, cutoffTime, asOfPosition: position }, account.type);
        return { account, balances, asOfDate: query.asOfDate, cutoffTime, position };
      }, { isolation: "repeatable read", readOnly: true });
    },

    async postEntry(draft, caller) {
      const full: JournalEntryDraft = { ...draft, postedBy: caller.subject, reversesEntryId: null };
      assertPostable(full);
      await requireLinesAccounts(full);
      return tx(() => posting.post(full, "refuse"));
    },

    async reverseEntry(command, caller) {
      return tx(async () => {
        const original = await journal.get(command.entryId);
        if (!original) throw journalEntryNotFound(command.entryId);
        if (original.reversesEntryId !== null) throw reversalNotReversible(original.id);
        if (original.reversedByEntryId !== null) throw entryAlreadyReversed(original.id);
        const draft = reversalOf(original, command.entryDate ?? posting.today(), command.reason, caller.subject);
        const { entry, alreadyPosted } = await posting.post(draft, "refuse");
        // The reference ("reversal", original id) is unique: a second reversal with other content is refused above,
        // and one with the same content is the same fact; still, "at most once" means a repeat is not a new reversal.
        if (alreadyPosted) throw entryAlreadyReversed(original.id);
        return entry;
      });
    },

    async getEntry(key) {
      const entry = "id" in key ? await journal.get(key.id) : await journal.getByRef(key.ref.type, key.ref.id);
      if (!entry) throw journalEntryNotFound("id" in key ? key.id : `${key.ref.type}/${key.ref.id}`);
      return { entry, position: await journal.readablePosition() };
    },

    async listEntries(filter, asOfPosition, page) {
      return runInTransaction(db, async () => {
        const position = await resolvePosition(asOfPosition);
        return { page: await journal.list(filter, position, page), position };
      }, { isolation: "repeatable read", readOnly: true });
    },

    async closePeriod(period, reason, caller) {
      const month = parsePeriod("period", period);
      return tx(async () => {
        const current = await periods.get(month.period);
        if (current?.status === "CLOSED") return current;
        return periods.setStatus(month, "CLOSED", { id: ids.newId(), by: caller.subject, reason });
      });
    },

    async reopenPeriod(period, reason, caller) {
      const month = parsePeriod("period", period);
      return tx(async () => {
        const current = await periods.get(month.period);
        if (current?.status !== "CLOSED") throw periodNotClosed(month.period);
        return periods.setStatus(month, "OPEN", { id: ids.newId(), by: caller.subject, reason });
      });
    },

    listPeriods: (page) => periods.list(page),
    position: () => journal.readablePosition(),
  };
}
