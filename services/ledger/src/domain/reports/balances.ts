// Pure: the balance reports (trial balance, income statement, balance sheet)
// from per-account, per-currency debit and credit sums.
import {
  compareText,
  type AccountRef,
  type AccountType,
  type AmountLine,
  type BalanceSheet,
  type BalanceSheetSection,
  type CurrencyTotals,
  type DateRange,
  type IncomeStatement,
  type IncomeStatementSection,
  type TrialBalance,
  type TrialBalanceRow,
} from "./model.js";

/** Sums of one account's lines in one currency. */
export interface AccountBalance extends AccountRef {
  readonly accountType: AccountType;
  readonly currency: string;
  readonly debit: bigint;
  readonly credit: bigint;
}

const byCodeThenCurrency = (a: AccountBalance, b: AccountBalance): number =>
  compareText(a.accountCode, b.accountCode) || compareText(a.currency, b.currency);

/** Debit-normal accounts: assets and expenses. */
const isDebitNormal = (t: AccountType): boolean => t === "ASSET" || t === "EXPENSE";

/** The balance on the account's normal side (positive when it is). */
export const normalBalance = (b: AccountBalance): bigint => (isDebitNormal(b.accountType) ? b.debit - b.credit : b.credit - b.debit);

/** Rows ordered by account code then currency; one debit or credit balance per row; totals per currency. */
export function trialBalanceOf(asOfDate: string, balances: readonly AccountBalance[]): TrialBalance {
  const rows: TrialBalanceRow[] = [...balances].sort(byCodeThenCurrency).map((b) => {
    const net = b.debit - b.credit;
    return {
      accountId: b.accountId,
      accountCode: b.accountCode,
      accountName: b.accountName,
      accountType: b.accountType,
      currency: b.currency,
      debitBalance: net > 0n ? net : 0n,
      creditBalance: net < 0n ? -net : 0n,
    };
  });
  const totals = new Map<string, { debit: bigint; credit: bigint }>();
  for (const r of rows) {
    const t = totals.get(r.currency) ?? { debit: 0n, credit: 0n };
    totals.set(r.currency, { debit: t.debit + r.debitBalance, credit: t.credit + r.creditBalance });
  }
  const totalRows: CurrencyTotals[] = [...totals.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([currency, t]) => ({ currency, debitTotal: t.debit, creditTotal: t.credit }));
  return { asOfDate, rows, totals: totalRows };
}

const currenciesOf = (balances: readonly AccountBalance[]): string[] =>
  [...new Set(balances.map((b) => b.currency))].sort(compareText);

const lineOf = (b: AccountBalance): AmountLine => ({
  accountId: b.accountId,
  accountCode: b.accountCode,
  accountName: b.accountName,
  amount: normalBalance(b),
});

const sum = (lines: readonly AmountLine[]): bigint => lines.reduce((acc, l) => acc + l.amount, 0n);

/** Net movements of REVENUE and EXPENSE accounts over the period, one section per currency. */
export function incomeStatementOf(period: DateRange, movements: readonly AccountBalance[]): IncomeStatement {
  const relevant = movements.filter((b) => b.accountType === "REVENUE" || b.accountType === "EXPENSE");
  const sections: IncomeStatementSection[] = currenciesOf(relevant).map((currency) => {
    const inCurrency = relevant.filter((b) => b.currency === currency).sort(byCodeThenCurrency);
    const revenue = inCurrency.filter((b) => b.accountType === "REVENUE").map(lineOf);
    const expenses = inCurrency.filter((b) => b.accountType === "EXPENSE").map(lineOf);
    const totalRevenue = sum(revenue);
    const totalExpenses = sum(expenses);
    return { currency, revenue, expenses, totalRevenue, totalExpenses, netIncome: totalRevenue - totalExpenses };
  });
  return { period, sections };
}

/**
 * Assets, liabilities and equity as of a date, one section per currency;
 * current earnings are revenue minus expenses not closed into equity, so
 * total assets = total liabilities + total equity + current earnings.
 */
export function balanceSheetOf(asOfDate: string, balances: readonly AccountBalance[]): BalanceSheet {
  const sections: BalanceSheetSection[] = currenciesOf(balances).map((currency) => {
    const inCurrency = balances.filter((b) => b.currency === currency).sort(byCodeThenCurrency);
    const of = (type: AccountType) => inCurrency.filter((b) => b.accountType === type).map(lineOf);
    const assets = of("ASSET");
    const liabilities = of("LIABILITY");
    const equity = of("EQUITY");
    return {
      currency,
      assets,
      liabilities,
      equity,
      totalAssets: sum(assets),
      totalLiabilities: sum(liabilities),
      totalEquity: sum(equity),
      currentEarnings: sum(of("REVENUE")) - sum(of("EXPENSE")),
    };
  });
  return { asOfDate, sections };
}
