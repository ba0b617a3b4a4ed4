// Pure: no transport or persistence imports, so domain code may use it.
// Amounts are integer minor units on bigint, never number (docs/money.md).
import { DomainError, invalidArgument, type FieldViolation } from "./errors.js";

/** An amount in integer minor units of an ISO 4217 currency: 12.34 EUR is {1234n, "EUR"}. */
export interface Money {
  readonly amountMinor: bigint;
  /** ISO 4217 alphabetic code, upper case. */
  readonly currency: string;
}

/**
 * ISO 4217 minor units where Node's Intl (ICU/CLDR) disagrees or knows
 * nothing. CLDR's digits are a display convention: it shows HUF, COP, IDR,
 * PKR... without decimals and IQD with none, although ISO 4217 gives them 2
 * (IQD 3); and ICU does not list the fund codes (CLF, UYW, COU...) at all.
 * Checked against ISO 4217 List One in test/money.test.ts.
 */
const ISO_MINOR_UNITS_NOT_IN_INTL: Readonly<Record<string, number>> = {
  AFN: 2, ALL: 2, COP: 2, HUF: 2, IDR: 2, IQD: 3, IRR: 2, KPW: 2, LAK: 2, LBP: 2,
  MGA: 2, MMK: 2, PKR: 2, SOS: 2, SYP: 2, YER: 2,
  BOV: 2, CHE: 2, CHW: 2, CLF: 4, COU: 2, MXV: 2, USN: 2, UYI: 0, UYW: 4, VED: 2,
};

/**
 * Codes ICU still lists that are not a currency with a minor unit in ISO 4217
 * List One: withdrawn ones (HRK 2023, SLL 2024, ZWL 2024) and units without a
 * minor unit ("N.A."): SDR and Sucre.
 */
const NOT_ISO_CURRENCIES: ReadonlySet<string> = new Set(["HRK", "SLL", "ZWL", "XDR", "XSU"]);

const CURRENCY_PATTERN = /^[A-Z]{3}$/;
const INTL_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf("currency"));

const exponents = new Map<string, number>();

/** The ISO 4217 minor-unit exponent (EUR 2, JPY 0, KWD 3, CLF 4), undefined for an unknown code. */
export function currencyExponent(code: string): number | undefined {
  const cached = exponents.get(code);
  if (cached !== undefined) return cached;
  if (!CURRENCY_PATTERN.test(code) || NOT_ISO_CURRENCIES.has(code)) return undefined;
  const exponent = ISO_MINOR_UNITS_NOT_IN_INTL[code] ?? (INTL_CURRENCIES.has(code)
    ? new Intl.NumberFormat("en", { style: "currency", currency: code }).resolvedOptions().maximumFractionDigits
    : undefined);
  if (exponent !== undefined) exponents.set(code, exponent);
  return exponent;
}

export const isCurrency = (code: string): boolean => currencyExponent(code) !== undefined;

const exponentOf = (currency: string): number => {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) throw invalidArgument(currencyViolations(currency, "currency_code"));
  return exponent;
};

function currencyViolations(currency: string, field: string): FieldViolation[] {
  return isCurrency(currency)
    ? []
    : [{ field, description: "must be an ISO 4217 currency code such as EUR", reason: "INVALID_FORMAT" }];
}

/**
 * Field violations of a money value at proto path `field` (its
 * `currency_code` and `amount_minor`); null is valid (an absent price).
 */
export function moneyViolations(
  money: Money | null,
  field: string,
  options: { readonly allowNegative?: boolean } = {},
): FieldViolation[] {
  if (money === null) return [];
  const out = currencyViolations(money.currency, `${field}.currency_code`);
  if (!options.allowNegative && money.amountMinor < 0n) {
    out.push({ field: `${field}.amount_minor`, description: "must not be negative", reason: "OUT_OF_RANGE" });
  }
  return out;
}

/** A checked money value; an unknown currency is INVALID_ARGUMENT. */
export function money(amountMinor: bigint, currency: string): Money {
  exponentOf(currency);
  return { amountMinor, currency };
}

export const moneyEquals = (a: Money | null, b: Money | null): boolean =>
  a === b || (a !== null && b !== null && a.amountMinor === b.amountMinor && a.currency === b.currency);

export const currencyMismatch = (expected: string, actual: string): DomainError =>
  new DomainError("invalid_argument", "CURRENCY_MISMATCH", `cannot combine ${expected} with ${actual}`, {
    metadata: { expected_currency: expected, actual_currency: actual },
  });

/**
 * The sum of amounts of one currency. An empty list needs `currency` (its
 * sum is zero of it); mixed currencies are CURRENCY_MISMATCH, never converted.
 */
export function sumMoney(items: readonly Money[], currency?: string): Money {
  const expected = currency ?? items[0]?.currency;
  if (expected === undefined) throw new Error("sumMoney of no items needs a currency");
  exponentOf(expected);
  let total = 0n;
  for (const item of items) {
    if (item.currency !== expected) throw currencyMismatch(expected, item.currency);
    total += item.amountMinor;
  }
  return { amountMinor: total, currency: expected };
}

export const addMoney = (a: Money, b: Money): Money => sumMoney([a, b]);

export const negateMoney = (m: Money): Money => ({ amountMinor: -m.amountMinor, currency: m.currency });

/** Amount times a whole quantity (days, units); exact. */
export const multiplyMoney = (m: Money, quantity: bigint): Money => ({ amountMinor: m.amountMinor * quantity, currency: m.currency });

/**
 * numerator / denominator rounded to the nearest integer, ties to the even
 * neighbour (banker's rounding): 2.5 -> 2, 3.5 -> 4, -2.5 -> -2.
 */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError("division by zero");
  const n = denominator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const quotient = n / d; // truncates toward zero
  const remainder = n % d; // has the sign of n
  const twice = 2n * (remainder < 0n ? -remainder : remainder);
  const awayFromZero = twice > d || (twice === d && quotient % 2n !== 0n);
  if (!awayFromZero) return quotient;
  return n < 0n ? quotient - 1n : quotient + 1n;
}

/**
 * Amount times the rational rate numerator/denominator (a tax rate, a
 * discount, a pro-rata share), computed exactly and rounded ONCE, half-even,
 * to the currency's minor unit.
 */
export function multiplyByRate(m: Money, numerator: bigint, denominator: bigint): Money {
  return { amountMinor: divideHalfEven(m.amountMinor * numerator, denominator), currency: m.currency };
}

/**
 * Splits `total` over parts in proportion to `weights` (>= 0, at least one
 * > 0) without losing or creating a minor unit: each part gets the floor of
 * its exact share, then the units left over go one each to the parts with
 * the largest remainders, ties to the lower index (largest-remainder method).
 * The parts always sum to `total`; a zero weight gets zero; a negative total
 * is split like its absolute value and negated.
 */
export function allocateMoney(total: Money, weights: readonly bigint[]): Money[] {
  if (weights.length === 0) throw new RangeError("allocateMoney needs at least one weight");
  if (weights.some((w) => w < 0n)) throw new RangeError("allocateMoney weights must not be negative");
  const weightSum = weights.reduce((a, b) => a + b, 0n);
  if (weightSum === 0n) throw new RangeError("allocateMoney needs a positive weight");
  const sign = total.amountMinor < 0n ? -1n : 1n;
  const amount = total.amountMinor * sign;
  const shares = weights.map((w) => (amount * w) / weightSum);
  const remainders = weights.map((w) => (amount * w) % weightSum);
  let leftOver = amount - shares.reduce((a, b) => a + b, 0n);
  const byRemainder = remainders
    .map((remainder, index) => ({ remainder, index }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of byRemainder) {
    if (leftOver === 0n) break;
    shares[index] = (shares[index] ?? 0n) + 1n;
    leftOver -= 1n;
  }
  return shares.map((share) => ({ amountMinor: share * sign, currency: total.currency }));
}

/** Splits `total` into `parts` shares as equal as possible, earlier parts taking the extra units. */
export const splitMoney = (total: Money, parts: number): Money[] => allocateMoney(total, Array.from({ length: parts }, () => 1n));

const DECIMAL_PATTERN = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * Reads a decimal amount in major units ("41990.00", "-0.5", "1000") of
 * `currency` exactly, with at most the currency's number of decimals
 * (more would need rounding, so they are refused).
 */
export function parseMoney(text: string, currency: string, field = "amount"): Money {
  const exponent = exponentOf(currency);
  const match = DECIMAL_PATTERN.exec(text);
  const fraction = match?.[3] ?? "";
  if (match === null || fraction.length > exponent) {
    throw invalidArgument([{
      field,
      description: exponent === 0
        ? `must be a whole number of ${currency}`
        : `must be a decimal number with at most ${exponent} decimals for ${currency}`,
      reason: "INVALID_FORMAT",
    }]);
  }
  const minor = BigInt(`${match[2] ?? "0"}${fraction.padEnd(exponent, "0")}`);
  return { amountMinor: match[1] === "-" ? -minor : minor, currency };
}

/** The amount in major units with exactly the currency's decimals: 4199000n EUR -> "41990.00". */
export function formatMoney(m: Money): string {
  const exponent = exponentOf(m.currency);
  const negative = m.amountMinor < 0n;
  const digits = (negative ? -m.amountMinor : m.amountMinor).toString().padStart(exponent + 1, "0");
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? "-" : ""}${whole}${exponent > 0 ? `.${fraction}` : ""}`;
}
