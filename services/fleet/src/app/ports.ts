import type { FleetEvent } from "../domain/events.js";
import type { HoldRecord, OdometerReading, Vehicle, VehicleHold, VehicleStatus } from "../domain/vehicle.js";

import type { TimeIdCursor } from "../../../platform/src/paging.js";

/** Position after which the next page starts (the kit's keyset pagination). */
export type PageCursor = TimeIdCursor;

export interface VehicleRepository {
  /** Fails with PLATE_NUMBER_TAKEN when the plate is registered already. */
  insert(vehicle: Vehicle): Promise<void>;
  findById(id: string): Promise<Vehicle | null>;
  /** Reads and locks the row until the surrounding transaction ends. */
  findByIdForUpdate(id: string): Promise<Vehicle | null>;
  /** Compare-and-set on row_version; false when the row moved on. */
  update(vehicle: Vehicle, expectedRowVersion: bigint): Promise<boolean>;
  list(filter: { readonly status: VehicleStatus | null }, limit: number, after: PageCursor | null): Promise<Vehicle[]>;
  latestReading(vehicleId: string): Promise<OdometerReading | null>;
  insertReading(reading: OdometerReading): Promise<void>;
  /** Newest first. */
  listReadings(vehicleId: string, limit: number, after: PageCursor | null): Promise<OdometerReading[]>;
  /** The hold history's word on this rental or job and vehicle (vehicle_holds). */
  holdRecord(vehicleId: string, hold: VehicleHold): Promise<HoldRecord>;
  /** Records that the hold took the vehicle at `at` (the event's time). */
  recordHoldTaken(vehicleId: string, hold: VehicleHold, at: Date): Promise<void>;
  /** Records that the hold gave the vehicle back at `at`: by its own event, or cleared by hand. */
  recordHoldEnded(vehicleId: string, hold: VehicleHold, at: Date, by: "event" | "by_hand"): Promise<void>;
}

/** A transaction boundary: everything `work` does commits together or not at all. */
export interface UnitOfWork {
  run<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Fleet's transactional outbox. append() must run inside `UnitOfWork.run`,
 * after the aggregate is locked or inserted: the event then commits with the
 * state change it announces, or not at all, and is published afterwards.
 */
export interface Outbox {
  append(event: FleetEvent): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  newId(): string;
}

/** Who performs a use case, for audit columns: the kit's convention. */
export type { Actor } from "../../../platform/src/actor.js";
