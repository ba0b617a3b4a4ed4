import type { FieldViolation } from "./errors.js";

/**
 * Longest string any request field may carry unless its service declares a
 * larger bound (GrpcServerOptions.textLimits). Every field a service stores or
 * compares is far shorter (the longest today, an external subject token, is
 * bounded to 8192 by identity); this backstop keeps megabyte strings out of
 * handlers, logs and SQL.
 */
export const MAX_TEXT_FIELD_LENGTH = 16_384;

// C0 controls except TAB, LF and CR, DEL and the C1 controls. U+0000 is the
// one PostgreSQL cannot store at all; the others are never typed text and
// corrupt terminals, logs and CSV exports.
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// Explicit embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI,
// RLI, FSI, PDI): they reorder the text after them, so what an operator sees
// differs from what is stored ("Trojan Source"). The implicit marks LRM, RLM
// and ALM, which right-to-left text legitimately uses, are allowed.
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/;
// U+FFFD is what an encoder substitutes for text that is not Unicode (a lone
// surrogate sent by a JavaScript client arrives as U+FFFD): accepting it
// would store silently damaged text.
const REPLACEMENT_CHARACTER = "\uFFFD";
// Any of the above, or any surrogate (paired ones, e.g. emoji, pass below).
const SUSPECT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uFFFD\uD800-\uDFFF]/;

export interface TextProblem {
  readonly description: string;
  readonly reason: "TOO_LONG" | "INVALID_UTF8" | "CONTROL_CHARACTER" | "BIDI_CONTROL";
}

const codePoint = (s: string, index: number): string =>
  `U+${(s.codePointAt(index) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * What makes `value` unfit to be stored as text, or undefined. The
 * description names the offending code point and its index, never the value.
 */
export function textProblem(value: string, maxLength: number = MAX_TEXT_FIELD_LENGTH): TextProblem | undefined {
  if (value.length <= maxLength && !SUSPECT.test(value)) return undefined; // the common case, one scan
  if (value.length > maxLength) return { description: `must be at most ${maxLength} characters`, reason: "TOO_LONG" };
  if (!value.isWellFormed()) return { description: "must be valid Unicode: it holds an unpaired surrogate", reason: "INVALID_UTF8" };
  const replaced = value.indexOf(REPLACEMENT_CHARACTER);
  if (replaced >= 0) {
    return { description: `must be valid Unicode: U+FFFD at index ${replaced} marks text that was not`, reason: "INVALID_UTF8" };
  }
  const control = CONTROL_CHARACTER.exec(value);
  if (control) {
    return { description: `must not contain control character ${codePoint(value, control.index)} (index ${control.index})`, reason: "CONTROL_CHARACTER" };
  }
  const bidi = BIDI_CONTROL.exec(value);
  if (bidi) {
    return { description: `must not contain bidirectional control ${codePoint(value, bidi.index)} (index ${bidi.index})`, reason: "BIDI_CONTROL" };
  }
  return undefined;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * Collects field violations of a request so that one response lists every
 * problem, as google.rpc.BadRequest intends.
 */
export class Violations {
  readonly list: FieldViolation[] = [];

  add(field: string, description: string, reason: string): this {
    this.list.push({ field, description, reason });
    return this;
  }

  addAll(violations: readonly FieldViolation[]): this {
    this.list.push(...violations);
    return this;
  }

  uuid(field: string, value: string): this {
    if (value === "") return this.add(field, "is required", "REQUIRED");
    if (!UUID_PATTERN.test(value)) return this.add(field, "must be a UUID", "INVALID_FORMAT");
    return this;
  }

  maxLength(field: string, value: string, max: number): this {
    return value.length > max ? this.add(field, `must be at most ${max} characters`, "TOO_LONG") : this;
  }

  intRange(field: string, value: number | bigint, min: number, max: number): this {
    return value < min || value > max ? this.add(field, `must be between ${min} and ${max}`, "OUT_OF_RANGE") : this;
  }

  required(field: string, present: boolean): this {
    return present ? this : this.add(field, "is required", "REQUIRED");
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}

export const isUuid = (v: string): boolean => UUID_PATTERN.test(v);
