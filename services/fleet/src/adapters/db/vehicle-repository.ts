import type { Database } from "../../../../platform/src/db.js";
import { isPgError, PG_RAISE_EXCEPTION, PG_UNIQUE_VIOLATION } from "../../../../platform/src/db.js";
import { DomainError, failedPrecondition } from "../../../../platform/src/errors.js";
import type { PageCursor, UnitOfWork, VehicleRepository } from "../../app/ports.js";
import type { OdometerReading, Vehicle, VehicleHold, VehicleStatus } from "../../domain/vehicle.js";

interface VehicleRow {
  id: string;
  plate_number: string;
  make: string;
  model: string;
  variant: string | null;
  year: number | null;
  passenger_capacity: number | null;
  load_limit_kg: number | null;
  acquisition_price_cents: bigint | null;
  currency: string | null;
  status: VehicleStatus;
  hold_kind: VehicleHold["kind"] | null;
  hold_id: string | null;
  odometer_km: number | null;
  row_version: bigint;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  updated_by: string | null;
}

interface ReadingRow {
  id: string;
  vehicle_id: string;
  reading_km: number;
  recorded_at: Date;
  recorded_by: string | null;
}

const toVehicle = (r: VehicleRow): Vehicle => ({
  id: r.id,
  plateNumber: r.plate_number,
  attributes: {
    make: r.make,
    model: r.model,
    variant: r.variant,
    year: r.year,
    passengerCapacity: r.passenger_capacity,
    loadLimitKg: r.load_limit_kg,
    acquisitionPrice:
      r.acquisition_price_cents === null || r.currency === null ? null : { amountMinor: r.acquisition_price_cents, currency: r.currency },
  },
  status: r.status,
  hold: r.hold_kind === null || r.hold_id === null ? null : { kind: r.hold_kind, id: r.hold_id },
  odometerKm: r.odometer_km,
  rowVersion: r.row_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  createdBy: r.created_by,
  updatedBy: r.updated_by,
});

const toRow = (v: Vehicle): VehicleRow => ({
  id: v.id,
  plate_number: v.plateNumber,
  make: v.attributes.make,
  model: v.attributes.model,
  variant: v.attributes.variant,
  year: v.attributes.year,
  passenger_capacity: v.attributes.passengerCapacity,
  load_limit_kg: v.attributes.loadLimitKg,
  acquisition_price_cents: v.attributes.acquisitionPrice?.amountMinor ?? null,
  currency: v.attributes.acquisitionPrice?.currency ?? null,
  status: v.status,
  hold_kind: v.hold?.kind ?? null,
  hold_id: v.hold?.id ?? null,
  odometer_km: v.odometerKm,
  row_version: v.rowVersion,
  created_at: v.createdAt,
  updated_at: v.updatedAt,
  created_by: v.createdBy,
  updated_by: v.updatedBy,
});

const toReading = (r: ReadingRow): OdometerReading => ({
  id: r.id,
  vehicleId: r.vehicle_id,
  readingKm: r.reading_km,
  recordedAt: r.recorded_at,
  recordedBy: r.recorded_by,
});

export function createVehicleRepository(db: Database): VehicleRepository {
  const q = () => db.executor();
  return {
    async insert(vehicle) {
      try {
        await q()("vehicles").insert(toRow(vehicle));
      } catch (err) {
        if (isPgError(err, PG_UNIQUE_VIOLATION, "vehicles_plate_number_key")) {
          throw new DomainError("already_exists", "PLATE_NUMBER_TAKEN", `plate number ${vehicle.plateNumber} is already registered`, {
            fieldViolations: [{ field: "plate_number", description: "is already registered", reason: "TAKEN" }],
            metadata: { plate_number: vehicle.plateNumber },
          });
        }
        throw err;
      }
    },
    async findById(id) {
      const row = await q()("vehicles").where({ id }).whereNull("deleted_at").first<VehicleRow | undefined>();
      return row ? toVehicle(row) : null;
    },
    async findByIdForUpdate(id) {
      const row = await q()("vehicles").where({ id }).whereNull("deleted_at").forUpdate().first<VehicleRow | undefined>();
      return row ? toVehicle(row) : null;
    },
    async update(vehicle, expectedRowVersion) {
      const { id: _id, created_at: _c, created_by: _cb, ...changes } = toRow(vehicle);
      const count = await q()("vehicles").where({ id: vehicle.id, row_version: expectedRowVersion }).update(changes);
      return count === 1;
    },
    async list(filter, limit, after) {
      let query = q()("vehicles").whereNull("deleted_at");
      if (filter.status) query = query.where({ status: filter.status });
      if (after) query = query.whereRaw("(created_at, id) > (?, ?)", [after.at, after.id]);
      const rows = await query.orderBy([{ column: "created_at" }, { column: "id" }]).limit(limit).select<VehicleRow[]>();
      return rows.map(toVehicle);
    },
    async latestReading(vehicleId) {
      // Readings taken in the same millisecond tie on recorded_at: the
      // highest of them is the latest, never whichever has the larger id.
      const row = await q()("vehicle_odometer_readings")
        .where({ vehicle_id: vehicleId })
        .orderBy([{ column: "recorded_at", order: "desc" }, { column: "reading_km", order: "desc" }])
        .first<ReadingRow | undefined>();
      return row ? toReading(row) : null;
    },
    async insertReading(reading) {
      try {
        await q()("vehicle_odometer_readings").insert({
          id: reading.id,
          vehicle_id: reading.vehicleId,
          reading_km: reading.readingKm,
          recorded_at: reading.recordedAt,
          recorded_by: reading.recordedBy,
        });
      } catch (err) {
        if (isPgError(err, PG_RAISE_EXCEPTION)) {
          throw failedPrecondition("ODOMETER_DECREASING", "odometer reading is below the latest reading", {
            subject: `vehicles/${reading.vehicleId}`,
          });
        }
        throw err;
      }
    },
    async listReadings(vehicleId, limit, after: PageCursor | null) {
      let query = q()("vehicle_odometer_readings").where({ vehicle_id: vehicleId });
      if (after) query = query.whereRaw("(recorded_at, id) < (?, ?)", [after.at, after.id]);
      const rows = await query
        .orderBy([{ column: "recorded_at", order: "desc" }, { column: "id", order: "desc" }])
        .limit(limit)
        .select<ReadingRow[]>();
      return rows.map(toReading);
    },
    async holdRecord(vehicleId, hold) {
      const row = await q()("vehicle_holds").where({ vehicle_id: vehicleId, hold_kind: hold.kind, hold_id: hold.id })
        .first<{ ended_by: string | null } | undefined>("ended_by");
      return row === undefined ? "none" : row.ended_by === null ? "current" : "ended";
    },
    async recordHoldTaken(vehicleId, hold, at) {
      await q()("vehicle_holds").insert({ vehicle_id: vehicleId, hold_kind: hold.kind, hold_id: hold.id, taken_at: at });
    },
    async recordHoldEnded(vehicleId, hold, at, by) {
      await q()("vehicle_holds").where({ vehicle_id: vehicleId, hold_kind: hold.kind, hold_id: hold.id }).whereNull("ended_by")
        .update({ released_at: at, ended_by: by });
    },
  };
}

export const createUnitOfWork = (db: Database): UnitOfWork => ({
  run: (work) => db.transaction(() => work()),
});
