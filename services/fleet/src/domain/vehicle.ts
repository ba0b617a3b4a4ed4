import { DomainError, failedPrecondition, type FieldViolation } from "../../../platform/src/errors.js";
import { moneyEquals, moneyViolations, type Money } from "../../../platform/src/money.js";

export type { Money };

export const VEHICLE_STATUSES = ["active", "rented", "under_maintenance", "decommissioned"] as const;
export type VehicleStatus = (typeof VEHICLE_STATUSES)[number];

export interface VehicleAttributes {
  readonly make: string;
  readonly model: string;
  readonly variant: string | null;
  readonly year: number | null;
  readonly passengerCapacity: number | null;
  readonly loadLimitKg: number | null;
  readonly acquisitionPrice: Money | null;
}

/**
 * What holds a rented or under-maintenance vehicle when an event put it
 * there: the rental or the maintenance job. Only the same rental or job
 * releases it again.
 */
export interface VehicleHold {
  readonly kind: "rental" | "maintenance_job";
  readonly id: string;
}

export interface Vehicle {
  readonly id: string;
  readonly plateNumber: string;
  readonly attributes: VehicleAttributes;
  readonly status: VehicleStatus;
  /** Null when no rental or job holds it (always null unless rented or under maintenance). */
  readonly hold: VehicleHold | null;
  readonly odometerKm: number | null;
  readonly rowVersion: bigint;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly createdBy: string | null;
  readonly updatedBy: string | null;
}

export interface OdometerReading {
  readonly id: string;
  readonly vehicleId: string;
  readonly readingKm: number;
  readonly recordedAt: Date;
  readonly recordedBy: string | null;
}

export const MAX_ODOMETER_KM = 10_000_000;
const MAX_TEXT = 120;
const PLATE_PATTERN = /^[A-Z0-9][A-Z0-9 -]{0,18}[A-Z0-9]$|^[A-Z0-9]$/;

/** Upper case, trimmed, inner whitespace collapsed: "ab 12 cd " -> "AB 12 CD". */
export const normalizePlate = (raw: string): string => raw.trim().replace(/\s+/g, " ").toUpperCase();

export function validatePlate(plate: string, field = "plate_number"): FieldViolation[] {
  if (plate === "") return [{ field, description: "is required", reason: "REQUIRED" }];
  if (!PLATE_PATTERN.test(plate)) {
    return [{ field, description: "must be 1-20 letters, digits, spaces or dashes", reason: "INVALID_FORMAT" }];
  }
  return [];
}

const text = (value: string, field: string, required: boolean): FieldViolation[] => {
  if (required && value.trim() === "") return [{ field, description: "is required", reason: "REQUIRED" }];
  if (value.length > MAX_TEXT) return [{ field, description: `must be at most ${MAX_TEXT} characters`, reason: "TOO_LONG" }];
  return [];
};

const intRange = (value: number | null, field: string, min: number, max: number): FieldViolation[] =>
  value !== null && (!Number.isInteger(value) || value < min || value > max)
    ? [{ field, description: `must be between ${min} and ${max}`, reason: "OUT_OF_RANGE" }]
    : [];

/** Field violations of vehicle attributes, with proto field paths under `prefix`. */
export function validateAttributes(a: VehicleAttributes, now: Date, prefix = "attributes"): FieldViolation[] {
  return [
    ...text(a.make, `${prefix}.make`, true),
    ...text(a.model, `${prefix}.model`, true),
    ...(a.variant === null ? [] : text(a.variant, `${prefix}.variant`, false)),
    ...intRange(a.year, `${prefix}.year`, 1900, now.getUTCFullYear() + 1),
    ...intRange(a.passengerCapacity, `${prefix}.passenger_capacity`, 0, 1000),
    ...intRange(a.loadLimitKg, `${prefix}.load_limit_kg`, 0, 1_000_000),
    ...moneyViolations(a.acquisitionPrice, `${prefix}.acquisition_price`),
  ];
}

/**
 * The lifecycle: active <-> rented, active <-> under_maintenance, and any
 * status except decommissioned -> decommissioned (terminal).
 */
const TRANSITIONS: Readonly<Record<VehicleStatus, readonly VehicleStatus[]>> = {
  active: ["rented", "under_maintenance", "decommissioned"],
  rented: ["active", "decommissioned"],
  under_maintenance: ["active", "decommissioned"],
  decommissioned: [],
};

export const canTransition = (from: VehicleStatus, to: VehicleStatus): boolean => TRANSITIONS[from].includes(to);

/** Fails fast with FAILED_PRECONDITION naming the current status. */
export function assertTransition(vehicle: Pick<Vehicle, "id" | "status">, target: VehicleStatus): void {
  if (canTransition(vehicle.status, target)) return;
  const reason = vehicle.status === "decommissioned" ? "VEHICLE_DECOMMISSIONED" : "INVALID_VEHICLE_TRANSITION";
  throw failedPrecondition(reason, `vehicle is ${vehicle.status} and cannot become ${target}`, {
    subject: `vehicles/${vehicle.id}`,
    current_status: vehicle.status,
    target_status: target,
  });
}

export function assertEditable(vehicle: Pick<Vehicle, "id" | "status">): void {
  if (vehicle.status === "decommissioned") {
    throw failedPrecondition("VEHICLE_DECOMMISSIONED", "vehicle is decommissioned and can no longer change", {
      subject: `vehicles/${vehicle.id}`,
      current_status: vehicle.status,
    });
  }
}

/**
 * Readings only go forward: not below the latest reading and not recorded
 * before it.
 */
export function assertOdometerAdvances(latest: OdometerReading | null, readingKm: number, recordedAt: Date): void {
  if (latest === null) return;
  if (readingKm < latest.readingKm) {
    throw failedPrecondition("ODOMETER_DECREASING", `reading ${readingKm} km is below the latest reading of ${latest.readingKm} km`, {
      subject: `vehicles/${latest.vehicleId}`,
      latest_reading_km: String(latest.readingKm),
    });
  }
  if (recordedAt.getTime() < latest.recordedAt.getTime()) {
    throw failedPrecondition("ODOMETER_DECREASING", "reading is recorded before the latest reading", {
      subject: `vehicles/${latest.vehicleId}`,
      latest_record_time: latest.recordedAt.toISOString(),
    });
  }
}

export const vehicleNotFound = (id: string): DomainError =>
  new DomainError("not_found", "VEHICLE_NOT_FOUND", `vehicle ${id} not found`, { metadata: { vehicle_id: id } });

export const staleRowVersion = (id: string, expected: bigint, actual: bigint): DomainError =>
  new DomainError("aborted", "ROW_VERSION_MISMATCH", `vehicle ${id} changed since row version ${expected} (now ${actual})`, {
    metadata: { vehicle_id: id, expected_row_version: String(expected), current_row_version: String(actual) },
  });

/** Fields of VehicleAttributes an update may name. */
export const UPDATABLE_ATTRIBUTES = [
  "make", "model", "variant", "year", "passenger_capacity", "load_limit_kg", "acquisition_price",
] as const;
export type UpdatableAttribute = (typeof UPDATABLE_ATTRIBUTES)[number];

/** Applies the named fields of `patch` onto `current`. */
export function applyAttributePatch(
  current: VehicleAttributes,
  patch: VehicleAttributes,
  fields: readonly UpdatableAttribute[],
): VehicleAttributes {
  const next = { ...current } as { -readonly [K in keyof VehicleAttributes]: VehicleAttributes[K] };
  for (const field of fields) {
    switch (field) {
      case "make": next.make = patch.make; break;
      case "model": next.model = patch.model; break;
      case "variant": next.variant = patch.variant; break;
      case "year": next.year = patch.year; break;
      case "passenger_capacity": next.passengerCapacity = patch.passengerCapacity; break;
      case "load_limit_kg": next.loadLimitKg = patch.loadLimitKg; break;
      case "acquisition_price": next.acquisitionPrice = patch.acquisitionPrice; break;
    }
  }
  return next;
}

/** The status a hold puts a vehicle in. */
export const statusOfHold = (hold: VehicleHold): VehicleStatus => (hold.kind === "rental" ? "rented" : "under_maintenance");

const sameHold = (a: VehicleHold | null, b: VehicleHold): boolean => a !== null && a.kind === b.kind && a.id === b.id;

const describeHold = (hold: VehicleHold | null): string => (hold === null ? "nothing" : `${hold.kind} ${hold.id}`);

/** What an event-driven transition does to a vehicle: change it, or nothing because it is already done. */
export type HoldDecision = "apply" | "already_done";

/**
 * What fleet knows of a rental's or job's hold on a vehicle (vehicle_holds):
 * it never took the vehicle, holds it now, or took it and gave it back (by
 * its own event, or cleared by hand).
 */
export type HoldRecord = "none" | "current" | "ended";

/**
 * A rental or maintenance job starting takes the vehicle: only an ACTIVE
 * vehicle can be taken; the same rental or job taking it again, or taking
 * it after its hold ended (a hold takes a vehicle once), is a no-op.
 * DECOMMISSIONED can never be taken (VEHICLE_DECOMMISSIONED); held by
 * something else, or rented / under maintenance by hand, it cannot be taken
 * *now* (VEHICLE_IN_USE: the event consumer parks such an event until the
 * other hold's release arrives).
 */
export function decideAcquire(vehicle: Pick<Vehicle, "id" | "status" | "hold">, hold: VehicleHold, record: HoldRecord): HoldDecision {
  const target = statusOfHold(hold);
  if (vehicle.status === target && sameHold(vehicle.hold, hold)) return "already_done";
  if (record === "ended") return "already_done";
  if (vehicle.status === "active") return "apply";
  const metadata = {
    subject: `vehicles/${vehicle.id}`,
    current_status: vehicle.status,
    target_status: target,
    held_by: describeHold(vehicle.hold),
    requested_by: describeHold(hold),
  };
  if (vehicle.status === "decommissioned") {
    throw failedPrecondition("VEHICLE_DECOMMISSIONED", `vehicle is decommissioned and cannot become ${target}`, metadata);
  }
  throw failedPrecondition("VEHICLE_IN_USE",
    `vehicle is ${vehicle.status} (held by ${describeHold(vehicle.hold)}) and cannot become ${target} for ${describeHold(hold)}`, metadata);
}

/**
 * A rental or maintenance job ending releases the vehicle back to ACTIVE if
 * it holds it. A hold that ended already (a repeated event, or cleared by
 * hand) and a DECOMMISSIONED vehicle (retired while held, or before the hold
 * took it: nothing will ever hold it) are no-ops. A rental or job that never
 * took the vehicle cannot release it *yet* (HOLD_NOT_TAKEN: its take has not
 * arrived; the event consumer parks the release until it does). A record
 * saying it holds the vehicle when the vehicle says otherwise is an
 * impossible transition (INVALID_VEHICLE_TRANSITION).
 */
export function decideRelease(vehicle: Pick<Vehicle, "id" | "status" | "hold">, hold: VehicleHold, record: HoldRecord): HoldDecision {
  if (vehicle.status === statusOfHold(hold) && sameHold(vehicle.hold, hold)) return "apply";
  if (vehicle.status === "decommissioned" || record === "ended") return "already_done";
  const metadata = {
    subject: `vehicles/${vehicle.id}`,
    current_status: vehicle.status,
    held_by: describeHold(vehicle.hold),
    released_by: describeHold(hold),
  };
  if (record === "none") {
    throw failedPrecondition("HOLD_NOT_TAKEN",
      `${describeHold(hold)} has not taken the vehicle (it is ${vehicle.status}, held by ${describeHold(vehicle.hold)}), so it cannot release it`, metadata);
  }
  throw failedPrecondition("INVALID_VEHICLE_TRANSITION",
    `vehicle is ${vehicle.status} (held by ${describeHold(vehicle.hold)}), not by ${describeHold(hold)}, which cannot release it`, metadata);
}

/** The attributes whose value differs between `before` and `after`. */
export function changedAttributes(before: VehicleAttributes, after: VehicleAttributes): UpdatableAttribute[] {
  const changed: UpdatableAttribute[] = [];
  if (before.make !== after.make) changed.push("make");
  if (before.model !== after.model) changed.push("model");
  if (before.variant !== after.variant) changed.push("variant");
  if (before.year !== after.year) changed.push("year");
  if (before.passengerCapacity !== after.passengerCapacity) changed.push("passenger_capacity");
  if (before.loadLimitKg !== after.loadLimitKg) changed.push("load_limit_kg");
  if (!moneyEquals(before.acquisitionPrice, after.acquisitionPrice)) changed.push("acquisition_price");
  return changed;
}
