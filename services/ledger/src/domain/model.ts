// The ledger's domain types. Pure: no transport or persistence imports.
import type { Money } from "../../../platform/src/money.js";

export type AccountType = "ASSET" | "LIABILITY" | "EQUITY" | "REVENUE" | "EXPENSE";
export type Direction = "DEBIT" | "CREDIT";

/** Accounts whose balance is normally on the debit side. */
export const DEBIT_NORMAL: ReadonlySet<AccountType> = new Set(["ASSET", "EXPENSE"]);

export interface Account {
  readonly id: string;
  readonly code: string;
  readonly name: string;
  readonly type: AccountType;
  readonly description: string;
  readonly rowVersion: bigint;
  readonly createTime: Date;
  readonly updateTime: Date;
  readonly createdBy: string;
  readonly updatedBy: string;
}

/** The seeded accounts automatic postings use (migrations/ledger/0001_ledger.sql). */
export const ACCOUNTS = {
  CASH: "00000000-0000-4000-8000-000000001000",
  BANK: "00000000-0000-4000-8000-000000001010",
  ACCOUNTS_RECEIVABLE: "00000000-0000-4000-8000-000000001100",
  PARTS_INVENTORY: "00000000-0000-4000-8000-000000001200",
  ACCOUNTS_PAYABLE: "00000000-0000-4000-8000-000000002000",
  CUSTOMER_DEPOSITS: "00000000-0000-4000-8000-000000002100",
  CUSTOMER_CREDIT: "00000000-0000-4000-8000-000000002200",
  TAX_PAYABLE: "00000000-0000-4000-8000-000000002300",
  OWNER_EQUITY: "00000000-0000-4000-8000-000000003000",
  REVENUE_RENTAL: "00000000-0000-4000-8000-000000004000",
  REVENUE_LATE_FEES: "00000000-0000-4000-8000-000000004100",
  REVENUE_EXTRA_KM: "00000000-0000-4000-8000-000000004110",
  REVENUE_CANCELLATION_FEES: "00000000-0000-4000-8000-000000004120",
  REVENUE_NO_SHOW_FEES: "00000000-0000-4000-8000-000000004130",
  REVENUE_DAMAGE: "00000000-0000-4000-8000-000000004140",
  REVENUE_OTHER: "00000000-0000-4000-8000-000000004190",
  EXP_MAINTENANCE_PARTS: "00000000-0000-4000-8000-000000005000",
  EXP_MAINTENANCE_LABOR: "00000000-0000-4000-8000-000000005010",
  EXP_STAFF: "00000000-0000-4000-8000-000000005100",
  EXP_INVENTORY_ADJUSTMENT: "00000000-0000-4000-8000-000000005200",
} as const;

export type SeededAccount = keyof typeof ACCOUNTS;

/** The source of an entry: (type, id) is unique, which makes posting idempotent. */
export interface ExternalRef {
  readonly type: string;
  readonly id: string;
}

export interface JournalLineDraft {
  readonly accountId: string;
  readonly direction: Direction;
  /** Strictly positive. */
  readonly amount: Money;
  readonly vehicleId: string | null;
  readonly invoiceId: string | null;
  readonly memo: string;
}

export interface JournalEntryDraft {
  readonly externalRef: ExternalRef;
  /** "YYYY-MM-DD": when the fact happened, in the reporting time zone. */
  readonly entryDate: string;
  readonly description: string;
  readonly lines: readonly JournalLineDraft[];
  /** Empty for automatic postings. */
  readonly postedBy: string;
  readonly reversesEntryId: string | null;
}

export interface JournalLine extends JournalLineDraft {
  readonly id: string;
  readonly accountCode: string;
}

export interface JournalEntry {
  readonly id: string;
  readonly position: bigint;
  readonly externalRef: ExternalRef;
  readonly entryDate: string;
  /** Set when the fact's month was closed: the fact's own date (entryDate is then in the first open month). */
  readonly factDate: string | null;
  readonly description: string;
  readonly lines: readonly JournalLine[];
  readonly postTime: Date;
  readonly postedBy: string;
  readonly reversesEntryId: string | null;
  readonly reversedByEntryId: string | null;
}

export interface PostResult {
  readonly entry: JournalEntry;
  /** True when the reference was posted before with the same content. */
  readonly alreadyPosted: boolean;
}

export type PeriodStatus = "OPEN" | "CLOSED";

export interface PeriodStatusChange {
  readonly status: PeriodStatus;
  readonly changedBy: string;
  readonly reason: string;
  readonly changeTime: Date;
}

/** An accounting month, "YYYY-MM". */
export interface AccountingPeriod {
  readonly period: string;
  readonly startDate: string;
  readonly endDate: string;
  readonly status: PeriodStatus;
  readonly history: readonly PeriodStatusChange[];
}

export interface CurrencyBalance {
  readonly currency: string;
  readonly debitTotal: bigint;
  readonly creditTotal: bigint;
  /** On the account's normal side; may be negative. */
  readonly balance: bigint;
}
