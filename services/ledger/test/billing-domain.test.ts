// Billing's pure rules: amounts and status, allocation, credit-note splits,
// charge mapping and the drafts (always postable, every amount positive).
import test from "ava";
import { money } from "../../platform/src/money.js";
import type { Invoice, InvoiceLineInput, Payment } from "../src/domain/billing-model.js";
import {
  amountDue, applicableOf, creditNoteDraft, creditNoteSplit, documentNumber, invoiceDraft, invoiceLinesOf, invoiceStatusOf, invoiceTotal,
  refundSources, revenueAccountOfCharge, splitAgainstDue, voidDraft, withAmounts,
} from "../src/domain/billing.js";
import { assertPostable, unbalancedCurrencies } from "../src/domain/journal.js";
import { ACCOUNTS } from "../src/domain/model.js";

let n = 0;
const newId = () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
const VEHICLE = "00000000-0000-4000-8000-00000000beef";
const line = (amount: bigint, account: string | null = null, quantity = 1, vehicleId: string | null = VEHICLE): InvoiceLineInput =>
  ({ description: "x", quantity, unitPrice: money(amount, "EUR"), revenueAccountId: account, vehicleId, rentalChargeId: null });

const invoiceOf = (inputs: InvoiceLineInput[], extra: Partial<Invoice> = {}): Invoice => {
  const lines = invoiceLinesOf(inputs, "EUR", newId);
  const now = new Date();
  return {
    id: newId(), number: "INV-2026-000001", customerId: newId(), rentalId: null, externalRef: null, contentHash: "", status: "ISSUED",
    currency: "EUR", lines, total: invoiceTotal(lines), paid: 0n, credited: 0n, creditApplied: 0n, issueDate: "2026-12-01", dueDate: null,
    notes: "", journalEntryId: newId(), voidReason: null, voidTime: null, rowVersion: 1n, createTime: now, updateTime: now, createdBy: "", updatedBy: "",
    ...extra,
  };
};

test("status follows the amounts: ISSUED, PARTIALLY_PAID, PAID, CREDITED; VOID stays", (t) => {
  const base = { status: "ISSUED" as const, total: 100n };
  t.is(invoiceStatusOf({ ...base, paid: 0n, credited: 0n }), "ISSUED");
  t.is(invoiceStatusOf({ ...base, paid: 40n, credited: 0n }), "PARTIALLY_PAID");
  t.is(invoiceStatusOf({ ...base, paid: 100n, credited: 0n }), "PAID");
  t.is(invoiceStatusOf({ ...base, paid: 0n, credited: 100n }), "CREDITED");
  t.is(invoiceStatusOf({ ...base, paid: 60n, credited: 40n }), "CREDITED");
  t.is(invoiceStatusOf({ ...base, paid: 0n, credited: 40n }), "ISSUED");
  t.is(invoiceStatusOf({ ...base, status: "VOID", paid: 0n, credited: 0n }), "VOID");
  t.is(amountDue({ total: 100n, paid: 30n, credited: 20n }), 50n);
  const i = invoiceOf([line(100n)]);
  t.is(withAmounts(i, { paid: 100n }).status, "PAID");
  t.is(withAmounts(withAmounts(i, { paid: 100n }), { paid: -30n }).status, "PARTIALLY_PAID");
  t.throws(() => withAmounts(i, { paid: 101n }));
});

test("a payment is split against what is due; the rest is overpaid", (t) => {
  t.deepEqual(splitAgainstDue(50n, 80n), { applied: 50n, excess: 0n });
  t.deepEqual(splitAgainstDue(100n, 80n), { applied: 80n, excess: 20n });
  t.deepEqual(splitAgainstDue(100n, 0n), { applied: 0n, excess: 100n });
});

test("charge types feed their revenue accounts; discounts reduce rental revenue", (t) => {
  t.is(revenueAccountOfCharge("BASE"), ACCOUNTS.REVENUE_RENTAL);
  t.is(revenueAccountOfCharge("EXTRA_DAY"), ACCOUNTS.REVENUE_RENTAL);
  t.is(revenueAccountOfCharge("FUEL"), ACCOUNTS.REVENUE_RENTAL);
  t.is(revenueAccountOfCharge("DRIVER"), ACCOUNTS.REVENUE_RENTAL);
  t.is(revenueAccountOfCharge("DISCOUNT"), ACCOUNTS.REVENUE_RENTAL);
  t.is(revenueAccountOfCharge("LATE_FEE"), ACCOUNTS.REVENUE_LATE_FEES);
  t.is(revenueAccountOfCharge("DISTANCE"), ACCOUNTS.REVENUE_EXTRA_KM);
  t.is(revenueAccountOfCharge("CANCELLATION_FEE"), ACCOUNTS.REVENUE_CANCELLATION_FEES);
  t.is(revenueAccountOfCharge("NO_SHOW_FEE"), ACCOUNTS.REVENUE_NO_SHOW_FEES);
  t.is(revenueAccountOfCharge("DAMAGE"), ACCOUNTS.REVENUE_DAMAGE);
  t.is(revenueAccountOfCharge("OTHER"), ACCOUNTS.REVENUE_OTHER);
});

test("the invoice entry nets discounts into their revenue bucket; every amount positive, balanced, dimensions set", (t) => {
  const i = invoiceOf([line(10_000n, null, 3), line(-5_000n), line(2_500n, ACCOUNTS.REVENUE_LATE_FEES), line(-1_000n, ACCOUNTS.REVENUE_OTHER)]);
  t.is(i.total, 26_500n);
  const draft = invoiceDraft(i, "2026-12-01", "");
  assertPostable(draft);
  t.deepEqual(unbalancedCurrencies(draft.lines), []);
  t.true(draft.lines.every((l) => l.amount.amountMinor > 0n && l.invoiceId === i.id));
  t.deepEqual(draft.lines.map((l) => [l.accountId, l.direction, l.amount.amountMinor, l.vehicleId]), [
    [ACCOUNTS.ACCOUNTS_RECEIVABLE, "DEBIT", 26_500n, null],
    [ACCOUNTS.REVENUE_RENTAL, "CREDIT", 25_000n, VEHICLE],
    [ACCOUNTS.REVENUE_LATE_FEES, "CREDIT", 2_500n, VEHICLE],
    [ACCOUNTS.REVENUE_OTHER, "DEBIT", 1_000n, VEHICLE],
  ]);
  const reversal = voidDraft(i, "2026-12-02", "typo", "u");
  assertPostable(reversal);
  t.deepEqual(reversal.lines.map((l) => l.direction), ["CREDIT", "DEBIT", "DEBIT", "CREDIT"]);
  t.is(reversal.reversesEntryId, i.journalEntryId);
});

test("credit notes split pro rata over the positive revenue buckets without losing a cent", (t) => {
  const i = invoiceOf([line(10_000n), line(3_333n, ACCOUNTS.REVENUE_DAMAGE), line(1n, ACCOUNTS.REVENUE_OTHER)]);
  const split = creditNoteSplit(i, 1_000n);
  t.is(split.reduce((s, x) => s + x.amount, 0n), 1_000n);
  t.deepEqual(split.map((s) => s.amount), [750n, 250n], "largest remainders; a zero share posts no line");
  t.true(split.every((s) => s.amount <= s.bucket.net));
  const draft = creditNoteDraft(i, { id: newId(), number: "CN-2026-000001", amount: 1_000n, reason: "goodwill" }, "2026-12-03", "");
  assertPostable(draft);
  t.true(draft.lines.filter((l) => l.direction === "DEBIT").every((l) => l.vehicleId === VEHICLE));
  const whole = creditNoteSplit(i, i.total);
  t.deepEqual(whole.map((s) => s.amount), [10_000n, 3_333n, 1n]);
});

test("refunds come from held deposits, then customer credit, then the receivable", (t) => {
  const p = { amount: money(100n, "EUR"), applied: 60n, credit: 30n, refunded: 0n } as Payment;
  t.deepEqual(refundSources({ ...p, applied: 50n }, 100n, 30n), { fromHeld: 20n, fromCredit: 30n, fromApplied: 50n });
  t.deepEqual(refundSources(p, 40n, 30n), { fromHeld: 10n, fromCredit: 30n, fromApplied: 0n });
  t.deepEqual(refundSources(p, 100n, 5n), null, "credit used elsewhere cannot be refunded from the receivable beyond what was applied");
  t.deepEqual(refundSources(p, 75n, 5n), { fromHeld: 10n, fromCredit: 5n, fromApplied: 60n });
});

test("a deposit's applicable part is what rental settled; a payment's is all it holds", (t) => {
  const base = { amount: money(500n, "EUR"), applied: 0n, credit: 0n, refunded: 0n, rentalApplied: 0n } as Payment;
  t.is(applicableOf({ ...base, kind: "PAYMENT" }), 500n);
  t.is(applicableOf({ ...base, kind: "DEPOSIT" }), 0n);
  t.is(applicableOf({ ...base, kind: "DEPOSIT", rentalApplied: 200n, refunded: 300n }), 200n);
  t.is(applicableOf({ ...base, kind: "DEPOSIT", rentalApplied: 200n, applied: 150n, refunded: 300n }), 50n);
});

test("numbers are zero-padded per series and year; amounts beyond 2^53 stay exact", (t) => {
  t.is(documentNumber("INV", 2026, 1n), "INV-2026-000001");
  t.is(documentNumber("CN", 2027, 1234567n), "CN-2027-1234567");
  const big = 2n ** 53n + 1n;
  const i = invoiceOf([line(big, null, 3)]);
  t.is(i.total, big * 3n);
  const draft = invoiceDraft(i, "2026-12-01", "");
  t.is(draft.lines[0]!.amount.amountMinor, 27_021_597_764_222_979n);
});
