import { DomainError, type FieldViolation } from "../../../platform/src/errors.js";

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 128;

/**
 * Passwords are compared as NFKC-normalised Unicode, so the same password
 * typed on different keyboards or platforms hashes the same.
 */
export const normalizePassword = (password: string): string => password.normalize("NFKC");

/** Code points, not UTF-16 units: an emoji counts as one character. */
const lengthOf = (s: string): number => [...s].length;

// A short list of the most common passwords that pass the length rule. The
// length rule does most of the work; a full breached-password check (e.g. a
// k-anonymity range query) would be a separate port.
const COMMON_PASSWORDS = new Set([
  "123456789012", "1234567890123", "12345678901234", "123456789123", "1q2w3e4r5t6y", "qwertyuiopas",
  "qwertyuiop12", "qwerty123456", "password1234", "password12345", "password123!", "passwordpassword",
  "iloveyou1234", "administrator", "adminadmin123", "letmein12345", "welcome12345", "changeme1234",
  "football1234", "baseball1234", "aaaaaaaaaaaa", "111111111111", "000000000000", "abcdefghijkl",
  "abc123abc123", "trustno1trustno1", "correcthorsebatterystaple",
]);

/** One character repeated, or a run of consecutive characters such as "abcdefghijklm" or "234567890123". */
function isTrivial(p: string): boolean {
  const chars = [...p];
  if (new Set(chars).size <= 2) return true;
  const codes = chars.map((c) => c.codePointAt(0)!);
  const ascending = codes.every((c, i) => i === 0 || c - codes[i - 1]! === 1 || (codes[i - 1] === 57 && c === 48));
  const descending = codes.every((c, i) => i === 0 || codes[i - 1]! - c === 1);
  return ascending || descending;
}

/**
 * Violations of the password policy (reason WEAK_PASSWORD each): 12-128
 * characters, not the user's email address or its local part, not a common
 * or trivial password.
 */
export function passwordViolations(password: string, context: { readonly email: string }, field: string): FieldViolation[] {
  const p = normalizePassword(password);
  const weak = (description: string): FieldViolation[] => [{ field, description, reason: "WEAK_PASSWORD" }];
  const length = lengthOf(p);
  if (length < MIN_PASSWORD_LENGTH) return weak(`must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (length > MAX_PASSWORD_LENGTH) return weak(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  const lower = p.toLowerCase();
  const email = context.email.trim().toLowerCase();
  if (email !== "" && (lower === email || lower === email.split("@")[0])) return weak("must not be your email address");
  if (COMMON_PASSWORDS.has(lower) || isTrivial(lower)) return weak("is too common or too simple");
  return [];
}

export const weakPassword = (violations: readonly FieldViolation[]): DomainError =>
  new DomainError("invalid_argument", "WEAK_PASSWORD", `password does not meet the policy: ${violations.map((v) => v.description).join("; ")}`, {
    fieldViolations: violations,
  });

/** Throws WEAK_PASSWORD unless the password meets the policy. */
export function assertPasswordPolicy(password: string, context: { readonly email: string }, field: string): void {
  const violations = passwordViolations(password, context, field);
  if (violations.length > 0) throw weakPassword(violations);
}
