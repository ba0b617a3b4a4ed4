import { DomainError, type FieldViolation } from "../../../platform/src/errors.js";
import { moneyEquals, moneyViolations, type Money } from "../../../platform/src/money.js";

export type { Money };

export const STAFF_TYPES = ["driver", "conductor", "mechanic", "admin", "system"] as const;
export type StaffType = (typeof STAFF_TYPES)[number];

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

export function validateStaffAttributes(a: StaffProfileAttributes, prefix = "attributes"): FieldViolation[] {
  const out = moneyViolations(a.dailyRate, `${prefix}.daily_rate`);
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

/** The attributes whose value differs between `before` and `after`, as proto paths into StaffProfileAttributes. */
export function changedStaffFields(before: StaffProfileAttributes, after: StaffProfileAttributes): UpdatableStaffField[] {
  const changed: UpdatableStaffField[] = [];
  if (before.staffType !== after.staffType) changed.push("staff_type");
  if (!moneyEquals(before.dailyRate, after.dailyRate)) changed.push("daily_rate");
  if (before.licenseNumber !== after.licenseNumber) changed.push("license_number");
  return changed;
}

export const staffProfileNotFound = (key: string): DomainError =>
  new DomainError("not_found", "STAFF_PROFILE_NOT_FOUND", `staff profile ${key} not found`);

export const staffProfileExists = (userId: string): DomainError =>
  new DomainError("already_exists", "STAFF_PROFILE_EXISTS", `user ${userId} already has a staff profile`, {
    metadata: { user_id: userId },
  });
