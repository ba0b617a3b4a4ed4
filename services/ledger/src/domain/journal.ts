// The rules every journal entry obeys before it reaches the database (which
// enforces balance and immutability again, whoever writes): lines on both
// sides, positive amounts, debits equal to credits in every currency.
import { createHash } from "node:crypto";
import { invalidArgument, type FieldViolation } from "../../../platform/src/errors.js";
import { unbalancedEntry } from "./errors.js";
import type { Direction, JournalEntry, JournalEntryDraft, JournalLineDraft } from "./model.js";

export const MAX_LINES = 500;

/** Throws INVALID_ARGUMENT (field violations, or UNBALANCED_ENTRY) unless the draft may be posted. */
export function assertPostable(draft: JournalEntryDraft): void {
  const violations: FieldViolation[] = [];
  if (draft.lines.length < 2 || draft.lines.length > MAX_LINES) {
    violations.push({ field: "lines", description: `an entry has 2 to ${MAX_LINES} lines`, reason: "LINE_COUNT" });
  }
  draft.lines.forEach((line, i) => {
    if (line.amount.amountMinor <= 0n) violations.push({ field: `lines[${i}].amount`, description: "must be positive; the direction gives the sign", reason: "NOT_POSITIVE" });
  });
  if (violations.length > 0) throw invalidArgument(violations);
  const unbalanced = unbalancedCurrencies(draft.lines);
  if (unbalanced.length > 0) throw unbalancedEntry(unbalanced);
}

/** Currencies whose debits and credits differ, sorted. */
export function unbalancedCurrencies(lines: readonly JournalLineDraft[]): string[] {
  const net = new Map<string, bigint>();
  for (const l of lines) net.set(l.amount.currency, (net.get(l.amount.currency) ?? 0n) + signed(l.direction, l.amount.amountMinor));
  return [...net].filter(([, n]) => n !== 0n).map(([c]) => c).sort();
}

const signed = (direction: Direction, amount: bigint): bigint => (direction === "DEBIT" ? amount : -amount);

/**
 * SHA-256 of what makes an entry the fact it is: reference, date,
 * description, reversal target and lines in order. Posting the same
 * reference again is idempotent only if this is equal; who posted it and
 * where a late fact landed are not part of the fact.
 */
export function entryContentHash(draft: JournalEntryDraft): string {
  const canonical = JSON.stringify([
    draft.externalRef.type, draft.externalRef.id, draft.entryDate, draft.description, draft.reversesEntryId ?? "",
    draft.lines.map((l) => [l.accountId, l.direction, l.amount.amountMinor.toString(), l.amount.currency, l.vehicleId ?? "", l.invoiceId ?? "", l.memo]),
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** The draft that reverses `entry`: every line on the other side, referencing the original. */
export function reversalOf(entry: JournalEntry, entryDate: string, reason: string, postedBy: string): JournalEntryDraft {
  return {
    externalRef: { type: "reversal", id: entry.id },
    entryDate,
    description: reason,
    postedBy,
    reversesEntryId: entry.id,
    lines: entry.lines.map((l) => ({
      accountId: l.accountId,
      direction: l.direction === "DEBIT" ? "CREDIT" : "DEBIT",
      amount: l.amount,
      vehicleId: l.vehicleId,
      invoiceId: l.invoiceId,
      memo: l.memo,
    })),
  };
}

export const debit = (accountId: string, amount: JournalLineDraft["amount"], extra: Partial<Omit<JournalLineDraft, "accountId" | "direction" | "amount">> = {}): JournalLineDraft =>
  ({ accountId, direction: "DEBIT", amount, vehicleId: extra.vehicleId ?? null, invoiceId: extra.invoiceId ?? null, memo: extra.memo ?? "" });

export const credit = (accountId: string, amount: JournalLineDraft["amount"], extra: Partial<Omit<JournalLineDraft, "accountId" | "direction" | "amount">> = {}): JournalLineDraft =>
  ({ accountId, direction: "CREDIT", amount, vehicleId: extra.vehicleId ?? null, invoiceId: extra.invoiceId ?? null, memo: extra.memo ?? "" });
