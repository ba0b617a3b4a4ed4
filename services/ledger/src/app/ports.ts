// The ledger's ports: what its use cases need from persistence. The
// adapters in adapters/db implement them on PostgreSQL.
import type { Page } from "../../../platform/src/paging.js";
import type {
  Account,
  AccountingPeriod,
  AccountType,
  CurrencyBalance,
  JournalEntry,
  JournalEntryDraft,
  PeriodStatus,
  PostResult,
} from "../domain/model.js";

export interface PageQuery {
  readonly pageSize: number;
  readonly pageToken: string;
}

/** What happens to a fact dated in a closed month. */
export type ClosedPeriodPolicy =
  /** Refused: FAILED_PRECONDITION, PERIOD_CLOSED (manual postings). */
  | "refuse"
  /** Posted on the first day of the first open month after it, with fact_date set (facts from events). */
  | "first_open_period";

export interface JournalFilter {
  readonly accountId: string | null;
  readonly externalRefType: string | null;
  readonly externalRefId: string | null;
  readonly vehicleId: string | null;
  readonly datedWithin: { readonly startDate: string; readonly endDate: string } | null;
}

export interface BalanceQuery {
  readonly accountId: string;
  readonly asOfDate: string | null;
  readonly cutoffTime: Date;
  readonly asOfPosition: bigint;
}

export interface Journal {
  /** Posts `draft` in the current transaction (or its own); idempotent on its external reference. */
  post(draft: JournalEntryDraft, policy: ClosedPeriodPolicy, ids: { newId(): string }): Promise<PostResult>;
  /** Takes the next position for a fact that is not a journal entry (report facts). Locks the position until commit. */
  takePosition(): Promise<bigint>;
  /** Every fact at or below it is committed; none lower can appear later. */
  readablePosition(): Promise<bigint>;
  get(id: string): Promise<JournalEntry | null>;
  getByRef(type: string, id: string): Promise<JournalEntry | null>;
  list(filter: JournalFilter, asOfPosition: bigint, page: PageQuery): Promise<Page<JournalEntry>>;
  balances(query: BalanceQuery, type: AccountType): Promise<CurrencyBalance[]>;
}

export interface Accounts {
  create(account: Omit<Account, "rowVersion" | "createTime" | "updateTime">): Promise<Account>;
  get(id: string): Promise<Account | null>;
  /** Ordered by code. */
  list(type: AccountType | null, page: PageQuery): Promise<Page<Account>>;
}

export interface Periods {
  /** Under the position lock, so no posting dated in the month commits after it. */
  setStatus(period: { period: string; startDate: string }, status: PeriodStatus, change: { id: string; by: string; reason: string }): Promise<AccountingPeriod>;
  get(period: string): Promise<AccountingPeriod | null>;
  list(page: PageQuery): Promise<Page<AccountingPeriod>>;
}
