import test from "ava";
import fc from "fast-check";
import { DomainError } from "../src/errors.js";
import {
  allocateMoney,
  currencyExponent,
  divideHalfEven,
  formatMoney,
  money,
  moneyEquals,
  moneyViolations,
  multiplyByRate,
  multiplyMoney,
  parseMoney,
  splitMoney,
  sumMoney,
  type Money,
} from "../src/money.js";

const eur = (amountMinor: bigint): Money => ({ amountMinor, currency: "EUR" });
const amounts = (parts: readonly Money[]) => parts.map((p) => p.amountMinor);

test("exponents follow ISO 4217: JPY 0, EUR 2, USD 2, KWD 3, BHD 3, CLF 4", (t) => {
  t.deepEqual(["JPY", "EUR", "USD", "KWD", "BHD", "CLF"].map(currencyExponent), [0, 2, 2, 3, 3, 4]);
});

test("exponents where Intl (CLDR) differs from ISO 4217 come from the override table", (t) => {
  // ISO 4217 List One minor units; CLDR shows these with other digits or not at all.
  const iso: Record<string, number> = {
    AFN: 2, ALL: 2, COP: 2, HUF: 2, IDR: 2, IQD: 3, IRR: 2, KPW: 2, LAK: 2, LBP: 2, MGA: 2, MMK: 2,
    PKR: 2, SOS: 2, SYP: 2, YER: 2, BOV: 2, CHE: 2, CHW: 2, COU: 2, MXV: 2, USN: 2, UYI: 0, UYW: 4, VED: 2,
    ISK: 0, KRW: 0, VND: 0, CLP: 0, TND: 3, OMR: 3, JOD: 3, LYD: 3, XOF: 0, XAF: 0, GBP: 2, CHF: 2,
  };
  for (const [code, exponent] of Object.entries(iso)) t.is(currencyExponent(code), exponent, code);
});

test("unknown, malformed, withdrawn and non-minor-unit codes have no exponent", (t) => {
  for (const code of ["ABC", "eur", "EURO", "", "XAU", "XXX", "XTS", "XDR", "HRK", "SLL"]) {
    t.is(currencyExponent(code), undefined, code);
  }
  const err = t.throws(() => money(1n, "ABC"), { instanceOf: DomainError });
  t.is(err?.kind, "invalid_argument");
  t.deepEqual(err?.fieldViolations.map((v) => v.field), ["currency_code"]);
});

test("moneyViolations names currency_code and amount_minor under the field path", (t) => {
  t.deepEqual(moneyViolations(null, "price"), []);
  t.deepEqual(moneyViolations(eur(0n), "price"), []);
  t.deepEqual(moneyViolations({ amountMinor: -1n, currency: "eur" }, "price").map((v) => [v.field, v.reason]), [
    ["price.currency_code", "INVALID_FORMAT"],
    ["price.amount_minor", "OUT_OF_RANGE"],
  ]);
  t.deepEqual(moneyViolations(eur(-1n), "refund", { allowNegative: true }), []);
});

test("sum adds one currency; mixed currencies are INVALID_ARGUMENT with reason CURRENCY_MISMATCH", (t) => {
  t.deepEqual(sumMoney([eur(150n), eur(-50n), eur(1n)]), eur(101n));
  t.deepEqual(sumMoney([], "JPY"), { amountMinor: 0n, currency: "JPY" });
  const err = t.throws(() => sumMoney([eur(1n), { amountMinor: 1n, currency: "USD" }]), { instanceOf: DomainError });
  t.is(err?.kind, "invalid_argument");
  t.is(err?.reason, "CURRENCY_MISMATCH");
  t.deepEqual(err?.metadata, { expected_currency: "EUR", actual_currency: "USD" });
  t.throws(() => sumMoney([eur(1n)], "USD"), { instanceOf: DomainError, message: /EUR/ });
});

test("multiply by a quantity is exact, beyond 2^53", (t) => {
  t.deepEqual(multiplyMoney(eur(4199n), 3n), eur(12597n));
  t.deepEqual(multiplyMoney(eur(9_007_199_254_740_993n), 1000n), eur(9_007_199_254_740_993_000n));
});

test("half-even rounding: 2.5 -> 2, 3.5 -> 4, -2.5 -> -2, -3.5 -> -4, 0.5 -> 0, 1.5 -> 2", (t) => {
  t.deepEqual([[5n, 2n], [7n, 2n], [-5n, 2n], [-7n, 2n], [1n, 2n], [3n, 2n]].map(([n, d]) => divideHalfEven(n!, d!)), [2n, 4n, -2n, -4n, 0n, 2n]);
});

test("half-even rounding: off-tie values go to the nearest: 2.4 -> 2, 2.6 -> 3, -2.6 -> -3, 7/3 -> 2, -7/3 -> -2", (t) => {
  t.deepEqual([[24n, 10n], [26n, 10n], [-26n, 10n], [7n, 3n], [-7n, 3n], [26n, -10n]].map(([n, d]) => divideHalfEven(n!, d!)), [2n, 3n, -3n, 2n, -2n, -3n]);
});

test("half-even rounding property: nearest integer, and a tie goes to the even one", (t) => {
  fc.assert(fc.property(fc.bigInt(), fc.bigInt().filter((d) => d !== 0n), (n, d) => {
    const q = divideHalfEven(n, d);
    const abs = (x: bigint) => (x < 0n ? -x : x);
    const distance = abs(2n * (n - q * d)); // twice the rounding error, times |d|
    return distance < abs(d) || (distance === abs(d) && q % 2n === 0n);
  }));
  t.pass();
});

test("multiply by a rate rounds once, half-even: 19% of 0.50 EUR = 0.095 -> 0.10, of 0.10 EUR = 0.019 -> 0.02, 1/8 of 0.20 EUR = 0.025 -> 0.02", (t) => {
  t.deepEqual(multiplyByRate(eur(50n), 19n, 100n), eur(10n));
  t.deepEqual(multiplyByRate(eur(10n), 19n, 100n), eur(2n));
  t.deepEqual(multiplyByRate(eur(20n), 1n, 8n), eur(2n));
  t.deepEqual(multiplyByRate(eur(-20n), 1n, 8n), eur(-2n));
  t.deepEqual(multiplyByRate(eur(60n), 1n, 8n), eur(8n)); // 7.5 -> 8
});

test("allocate by weights: 100 over 1:1:1 is 34, 33, 33 (tie goes to the lower index)", (t) => {
  t.deepEqual(amounts(allocateMoney(eur(100n), [1n, 1n, 1n])), [34n, 33n, 33n]);
  t.deepEqual(amounts(allocateMoney(eur(-100n), [1n, 1n, 1n])), [-34n, -33n, -33n]);
  t.deepEqual(amounts(allocateMoney(eur(5n), [3n, 7n])), [2n, 3n]); // exact 1.5 / 3.5: tie to index 0
  t.deepEqual(amounts(allocateMoney(eur(10n), [1n, 0n, 2n])), [3n, 0n, 7n]); // 3.33 / 0 / 6.67: largest remainder
  t.deepEqual(amounts(splitMoney(eur(2n), 3)), [1n, 1n, 0n]);
  t.throws(() => allocateMoney(eur(1n), []), { instanceOf: RangeError });
  t.throws(() => allocateMoney(eur(1n), [0n, 0n]), { instanceOf: RangeError });
  t.throws(() => allocateMoney(eur(1n), [1n, -1n]), { instanceOf: RangeError });
});

const weightsArb = fc.array(fc.bigInt({ min: 0n, max: 1_000_000n }), { minLength: 1, maxLength: 12 }).filter((ws) => ws.some((w) => w > 0n));
const totalArb = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n });

test("allocation property: the parts sum exactly to the total (nothing lost or created), in its currency", (t) => {
  fc.assert(fc.property(totalArb, weightsArb, (total, weights) => {
    const parts = allocateMoney(eur(total), weights);
    return parts.length === weights.length
      && parts.every((p) => p.currency === "EUR")
      && parts.reduce((sum, p) => sum + p.amountMinor, 0n) === total;
  }));
  t.pass();
});

test("allocation property: each part is within one minor unit of its exact share; zero weights get zero", (t) => {
  fc.assert(fc.property(totalArb, weightsArb, (total, weights) => {
    const weightSum = weights.reduce((a, b) => a + b, 0n);
    return allocateMoney(eur(total), weights).every((p, i) => {
      const error = p.amountMinor * weightSum - total * weights[i]!; // (part - exact share) * weightSum
      return (error < 0n ? -error : error) < weightSum && (weights[i] !== 0n || p.amountMinor === 0n);
    });
  }));
  t.pass();
});

test("allocation property: deterministic, and a negative total is the mirror of the positive one", (t) => {
  fc.assert(fc.property(totalArb, weightsArb, (total, weights) => {
    const once = amounts(allocateMoney(eur(total), weights));
    const again = amounts(allocateMoney(eur(total), [...weights]));
    const mirrored = amounts(allocateMoney(eur(-total), weights)).map((a) => -a);
    return once.every((a, i) => a === again[i] && a === mirrored[i]);
  }));
  t.pass();
});

test("parse and format major-unit strings exactly: 41990.00 EUR <-> 4199000", (t) => {
  t.deepEqual(parseMoney("41990.00", "EUR"), eur(4_199_000n));
  t.deepEqual(parseMoney("41990", "EUR"), eur(4_199_000n));
  t.deepEqual(parseMoney("-0.5", "EUR"), eur(-50n));
  t.deepEqual(parseMoney("1500", "JPY"), { amountMinor: 1500n, currency: "JPY" });
  t.deepEqual(parseMoney("1.234", "KWD"), { amountMinor: 1234n, currency: "KWD" });
  t.deepEqual(parseMoney("92233720368547758.07", "EUR"), eur(9_223_372_036_854_775_807n));
  t.is(formatMoney(eur(4_199_000n)), "41990.00");
  t.is(formatMoney(eur(-5n)), "-0.05");
  t.is(formatMoney({ amountMinor: 1500n, currency: "JPY" }), "1500");
  t.is(formatMoney({ amountMinor: 5n, currency: "KWD" }), "0.005");
  t.is(formatMoney({ amountMinor: 12345n, currency: "CLF" }), "1.2345");
});

test("parse refuses what is not exact: too many decimals, floats' notations, junk", (t) => {
  for (const [text, currency] of [["1.001", "EUR"], ["1.5", "JPY"], ["1e3", "EUR"], ["1,00", "EUR"], [" 1", "EUR"], ["", "EUR"], [".5", "EUR"], ["NaN", "EUR"]] as const) {
    const err = t.throws(() => parseMoney(text, currency, "price"), { instanceOf: DomainError }, `${text} ${currency}`);
    t.deepEqual(err?.fieldViolations.map((v) => [v.field, v.reason]), [["price", "INVALID_FORMAT"]]);
  }
  t.throws(() => parseMoney("1.00", "ABC"), { instanceOf: DomainError });
});

test("format then parse is the identity for any amount in JPY, EUR, KWD and CLF", (t) => {
  fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom("JPY", "EUR", "KWD", "CLF"), (amount, currency) => {
    const m = { amountMinor: amount, currency };
    return moneyEquals(parseMoney(formatMoney(m), currency), m);
  }));
  t.pass();
});
