import type { FieldViolation } from "./errors.js";

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
