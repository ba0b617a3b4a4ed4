import { DomainError } from "../../platform/src/errors.js";
import { createInMemoryUnitOfWork, InMemoryTable, RecordingOutbox } from "../../platform/src/testing/fakes.js";
import type { FleetDependencies } from "../src/app/fleet-use-cases.js";
import type { PageCursor, VehicleRepository } from "../src/app/ports.js";
import type { FleetEvent } from "../src/domain/events.js";
import type { OdometerReading, Vehicle, VehicleHold } from "../src/domain/vehicle.js";

// Fleet's ports in memory, honouring the contracts the PostgreSQL adapters
// keep (plate uniqueness, compare-and-set on row_version, keyset order).

const after = (cursor: PageCursor | null, at: Date, id: string, direction: 1 | -1): boolean =>
  cursor === null || direction * (at.getTime() - cursor.at.getTime() || id.localeCompare(cursor.id)) > 0;

export function createInMemoryVehicles() {
  const vehicles = new InMemoryTable<string, Vehicle>();
  const readings = new InMemoryTable<string, OdometerReading>();
  const holds = new InMemoryTable<string, { takenAt: Date; releasedAt: Date | null; endedBy: "event" | "by_hand" | null }>();
  const holdKey = (vehicleId: string, hold: VehicleHold): string => `${vehicleId}/${hold.kind}/${hold.id}`;
  const repository: VehicleRepository = {
    async insert(vehicle) {
      if ([...vehicles.rows.values()].some((v) => v.plateNumber === vehicle.plateNumber)) {
        throw new DomainError("already_exists", "PLATE_NUMBER_TAKEN", `plate number ${vehicle.plateNumber} is already registered`);
      }
      vehicles.rows.set(vehicle.id, vehicle);
    },
    findById: async (id) => vehicles.rows.get(id) ?? null,
    findByIdForUpdate: async (id) => vehicles.rows.get(id) ?? null,
    async update(vehicle, expectedRowVersion) {
      if (vehicles.rows.get(vehicle.id)?.rowVersion !== expectedRowVersion) return false;
      vehicles.rows.set(vehicle.id, vehicle);
      return true;
    },
    list: async (filter, limit, cursor) =>
      [...vehicles.rows.values()]
        .filter((v) => filter.status === null || v.status === filter.status)
        .filter((v) => after(cursor, v.createdAt, v.id, 1))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
        .slice(0, limit),
    latestReading: async (vehicleId) =>
      [...readings.rows.values()].filter((r) => r.vehicleId === vehicleId)
        .sort((a, b) => b.recordedAt.getTime() - a.recordedAt.getTime() || b.id.localeCompare(a.id))[0] ?? null,
    async insertReading(reading) {
      readings.rows.set(reading.id, reading);
    },
    listReadings: async (vehicleId, limit, cursor) =>
      [...readings.rows.values()]
        .filter((r) => r.vehicleId === vehicleId && after(cursor, r.recordedAt, r.id, -1))
        .sort((a, b) => b.recordedAt.getTime() - a.recordedAt.getTime() || b.id.localeCompare(a.id))
        .slice(0, limit),
    async holdRecord(vehicleId, hold) {
      const row = holds.rows.get(holdKey(vehicleId, hold));
      return row === undefined ? "none" : row.endedBy === null ? "current" : "ended";
    },
    async recordHoldTaken(vehicleId, hold, at) {
      if (holds.rows.has(holdKey(vehicleId, hold))) throw new Error("duplicate key value violates unique constraint vehicle_holds_pkey");
      holds.rows.set(holdKey(vehicleId, hold), { takenAt: at, releasedAt: null, endedBy: null });
    },
    async recordHoldEnded(vehicleId, hold, at, by) {
      const row = holds.rows.get(holdKey(vehicleId, hold));
      if (row && row.endedBy === null) holds.rows.set(holdKey(vehicleId, hold), { ...row, releasedAt: at, endedBy: by });
    },
  };
  return { repository, vehicles, readings, holds };
}

/** Use-case dependencies in memory, with a settable clock and sequential ids. */
export function createInMemoryFleet(start = new Date("2026-01-01T08:00:00Z")) {
  const store = createInMemoryVehicles();
  const outbox = new RecordingOutbox<FleetEvent>();
  const uow = createInMemoryUnitOfWork([store.vehicles, store.readings, store.holds, outbox]);
  let now = start;
  let next = 0;
  const deps: FleetDependencies = {
    vehicles: store.repository,
    uow,
    outbox,
    clock: { now: () => now },
    ids: { newId: () => `00000000-0000-4000-8000-${String(++next).padStart(12, "0")}` },
  };
  return { deps, store, outbox, uow, advance: (ms: number) => { now = new Date(now.getTime() + ms); } };
}
