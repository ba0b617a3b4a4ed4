import { DomainError, type FieldViolation } from "../../../platform/src/errors.js";

export const STAFF_TYPES = ["driver", "conductor", "mechanic", "admin", "system"] as const;
export type StaffType = (typeof STAFF_TYPES)[number];

export interface Money {
  readonly amountMinor: bigint;
  /** ISO 4217 code, upper case. */
  readonly currency: string;
}

export interface StaffProfileAttributes {
  readonly staffType: StaffType;
  readonly dailyRate: Money | null;
  readonly licenseNumber: string | null;
}

export interface StaffProfile {
  readonly id: string;
  readonly userId: string;
  readonly attributes: StaffProfileAttributes;
  /** The user's display name (output only). */
  readonly displayName: string;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string | null;
  readonly updatedBy: string | null;
}

export const MAX_LICENSE_NUMBER = 50;
const CURRENCY_PATTERN = /^[A-Z]{3}$/;

export function validateStaffAttributes(a: StaffProfileAttributes, prefix = "attributes"): FieldViolation[] {
  const out: FieldViolation[] = [];
  if (a.dailyRate !== null) {
    if (!CURRENCY_PATTERN.test(a.dailyRate.currency)) {
      out.push({ field: `${prefix}.daily_rate.currency_code`, description: "must be an ISO 4217 code such as EUR", reason: "INVALID_FORMAT" });
    }
    if (a.dailyRate.amountMinor < 0n) {
      out.push({ field: `${prefix}.daily_rate.amount_minor`, description: "must not be negative", reason: "OUT_OF_RANGE" });
    }
  }
  if (a.licenseNumber !== null && a.licenseNumber.length > MAX_LICENSE_NUMBER) {
    out.push({ field: `${prefix}.license_number`, description: `must be at most ${MAX_LICENSE_NUMBER} characters`, reason: "TOO_LONG" });
  }
  return out;
}

export const UPDATABLE_STAFF_FIELDS = ["staff_type", "daily_rate", "license_number"] as const;
export type UpdatableStaffField = (typeof UPDATABLE_STAFF_FIELDS)[number];

export function applyStaffPatch(
  current: StaffProfileAttributes,
  patch: StaffProfileAttributes,
  fields: readonly UpdatableStaffField[],
): StaffProfileAttributes {
  const next = { ...current } as { -readonly [K in keyof StaffProfileAttributes]: StaffProfileAttributes[K] };
  for (const field of fields) {
    switch (field) {
      case "staff_type": next.staffType = patch.staffType; break;
      case "daily_rate": next.dailyRate = patch.dailyRate; break;
      case "license_number": next.licenseNumber = patch.licenseNumber; break;
    }
  }
  return next;
}

const sameMoney = (a: Money | null, b: Money | null): boolean =>
  a === b || (a !== null && b !== null && a.amountMinor === b.amountMinor && a.currency === b.currency);

/** The attributes whose value differs between `before` and `after`, as proto paths into StaffProfileAttributes. */
export function changedStaffFields(before: StaffProfileAttributes, after: StaffProfileAttributes): UpdatableStaffField[] {
  const changed: UpdatableStaffField[] = [];
  if (before.staffType !== after.staffType) changed.push("staff_type");
  if (!sameMoney(before.dailyRate, after.dailyRate)) changed.push("daily_rate");
  if (before.licenseNumber !== after.licenseNumber) changed.push("license_number");
  return changed;
}

export const staffProfileNotFound = (key: string): DomainError =>
  new DomainError("not_found", "STAFF_PROFILE_NOT_FOUND", `staff profile ${key} not found`);

export const staffProfileExists = (userId: string): DomainError =>
  new DomainError("already_exists", "STAFF_PROFILE_EXISTS", `user ${userId} already has a staff profile`, {
    metadata: { user_id: userId },
  });
