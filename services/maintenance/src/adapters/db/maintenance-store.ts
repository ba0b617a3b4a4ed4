// Maintenance's repositories on its own PostgreSQL database (knex through
// db.executor(), so every call joins the unit of work's transaction).
import type { Database, Knex } from "../../../../platform/src/db.js";
import { isPgError, PG_UNIQUE_VIOLATION } from "../../../../platform/src/db.js";
import { money, type Money } from "../../../../platform/src/money.js";
import type { TimeIdCursor } from "../../../../platform/src/paging.js";
import { runInTransaction } from "../../../../platform/src/transactions.js";
import { partNumberTaken } from "../../domain/errors.js";
import type {
  MaintenanceJob,
  MaintenanceKind,
  MaintenancePlan,
  MaintenanceStatus,
  Part,
  PartUsed,
  StockMovement,
  StockMovementKind,
  VehicleView,
} from "../../domain/model.js";
import type { JobRepository, PartRepository, PlanRepository, UnitOfWork, VehicleProjection } from "../../app/ports.js";

type Row = Record<string, unknown>;
const str = (v: unknown): string => v as string;
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : (v as number));
const optDate = (v: unknown): Date | null => (v === null || v === undefined ? null : (v as Date));
const cur = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string).trim());
const optMoney = (amount: unknown, currency: string | null): Money | null =>
  amount === null || amount === undefined || currency === null ? null : money(amount as bigint, currency);

const toJob = (r: Row): MaintenanceJob => {
  const c = cur(r["currency"]);
  return {
    id: str(r["id"]), vehicleId: str(r["vehicle_id"]),
    attributes: {
      kind: r["kind"] as MaintenanceKind, description: str(r["description"]),
      scheduleTime: r["schedule_time"] as Date, estimatedCompletionTime: r["estimated_completion_time"] as Date,
    },
    status: r["status"] as MaintenanceStatus, mechanicId: optStr(r["mechanic_id"]),
    startTime: optDate(r["start_time"]), completeTime: optDate(r["complete_time"]), odometerKm: optNum(r["odometer_km"]),
    currency: c, laborCost: optMoney(r["labor_cost_minor"], c), partsCost: optMoney(r["parts_cost_minor"], c),
    notes: str(r["notes"]), cancelReason: optStr(r["cancel_reason"]), cancelTime: optDate(r["cancel_time"]),
    blockReference: str(r["block_reference"]), urgent: r["urgent"] as boolean, planId: optStr(r["plan_id"]), dueKey: optStr(r["due_key"]),
    rowVersion: r["row_version"] as bigint, createdAt: r["created_at"] as Date, updatedAt: r["updated_at"] as Date,
    createdBy: optStr(r["created_by"]), updatedBy: optStr(r["updated_by"]),
  };
};

const jobRow = (j: MaintenanceJob): Row => ({
  id: j.id, vehicle_id: j.vehicleId, kind: j.attributes.kind, description: j.attributes.description,
  schedule_time: j.attributes.scheduleTime, estimated_completion_time: j.attributes.estimatedCompletionTime,
  status: j.status, mechanic_id: j.mechanicId, start_time: j.startTime, complete_time: j.completeTime, odometer_km: j.odometerKm,
  currency: j.currency, labor_cost_minor: j.laborCost?.amountMinor ?? null, parts_cost_minor: j.partsCost?.amountMinor ?? null,
  notes: j.notes, cancel_reason: j.cancelReason, cancel_time: j.cancelTime, block_reference: j.blockReference, urgent: j.urgent,
  plan_id: j.planId, due_key: j.dueKey, row_version: j.rowVersion, created_at: j.createdAt, updated_at: j.updatedAt,
  created_by: j.createdBy, updated_by: j.updatedBy,
});

const toPartUsed = (r: Row): PartUsed => {
  const c = cur(r["currency"]);
  return {
    id: str(r["id"]), jobId: str(r["job_id"]), partId: optStr(r["part_id"]), partName: str(r["part_name"]), partNumber: str(r["part_number"]),
    quantity: r["quantity"] as number, unitCost: optMoney(r["unit_cost_minor"], c), totalCost: optMoney(r["total_cost_minor"], c),
    costOverrideReason: optStr(r["cost_override_reason"]), recordedAt: r["recorded_at"] as Date, recordedBy: optStr(r["recorded_by"]),
  };
};

const toPart = (r: Row): Part => ({
  id: str(r["id"]), partNumber: str(r["part_number"]), name: str(r["name"]), unitCost: money(r["unit_cost_minor"] as bigint, cur(r["currency"])!),
  stockOnHand: r["stock_on_hand"] as number, reorderLevel: r["reorder_level"] as number, rowVersion: r["row_version"] as bigint,
  createdAt: r["created_at"] as Date, updatedAt: r["updated_at"] as Date,
});

const toMovement = (r: Row): StockMovement => ({
  id: str(r["id"]), partId: str(r["part_id"]), kind: r["kind"] as StockMovementKind, quantityDelta: r["quantity_delta"] as number,
  totalCost: optMoney(r["total_cost_minor"], cur(r["currency"])), jobId: optStr(r["job_id"]), reason: str(r["reason"]),
  stockAfter: r["stock_after"] as number, createdAt: r["created_at"] as Date, createdBy: optStr(r["created_by"]),
});

const toPlan = (r: Row): MaintenancePlan => ({
  id: str(r["id"]), name: str(r["name"]),
  target: r["vehicle_id"] ? { vehicleId: str(r["vehicle_id"]) } : { make: str(r["vehicle_make"]), model: str(r["vehicle_model"]) },
  intervalDays: optNum(r["interval_days"]), intervalKm: optNum(r["interval_km"]), leadDays: r["lead_days"] as number, leadKm: r["lead_km"] as number,
  plannedHours: r["planned_hours"] as number, jobDescription: str(r["job_description"]), archivedAt: optDate(r["archived_at"]),
  rowVersion: r["row_version"] as bigint, createdAt: r["created_at"] as Date, createdBy: optStr(r["created_by"]),
});

const toVehicle = (r: Row): VehicleView => ({
  vehicleId: str(r["vehicle_id"]), plateNumber: str(r["plate_number"]), make: str(r["make"]), model: str(r["model"]),
  passengerCapacity: optNum(r["passenger_capacity"]), loadLimitKg: optNum(r["load_limit_kg"]), status: r["status"] as VehicleView["status"],
  fleetRowVersion: r["fleet_row_version"] as bigint, odometerKm: optNum(r["odometer_km"]), odometerAt: optDate(r["odometer_at"]),
  firstOdometerKm: optNum(r["first_odometer_km"]),
});

export const createUnitOfWork = (db: Database): UnitOfWork => ({ run: (work) => runInTransaction(db, () => work()) });

export function createJobRepository(db: Database): JobRepository {
  const q = () => db.executor();
  const newestFirst = (query: Knex.QueryBuilder, after: TimeIdCursor | null): Knex.QueryBuilder => {
    if (after) query.whereRaw("(schedule_time, id) < (?, ?)", [after.at, after.id]);
    return query.orderBy([{ column: "schedule_time", order: "desc" }, { column: "id", order: "desc" }]);
  };
  return {
    async insert(job) {
      // Every unique index is an arbiter: a due job's id derives from its due
      // key, so two instances racing on one due plan collide on the primary
      // key as well, and with due_key alone as the arbiter the loser failed
      // with a unique violation instead of doing nothing.
      const rows = await q()("maintenance_jobs").insert(jobRow(job)).onConflict().ignore().returning("id");
      return rows.length === 1;
    },
    async find(id) {
      const row = await q()("maintenance_jobs").where({ id }).first<Row | undefined>();
      return row ? toJob(row) : null;
    },
    async findForUpdate(id) {
      const row = await q()("maintenance_jobs").where({ id }).forUpdate().first<Row | undefined>();
      return row ? toJob(row) : null;
    },
    async findByDueKey(dueKey) {
      const row = await q()("maintenance_jobs").where({ due_key: dueKey }).first<Row | undefined>();
      return row ? toJob(row) : null;
    },
    async update(job, expectedRowVersion) {
      const { id: _id, created_at: _c, created_by: _cb, ...changes } = jobRow(job);
      return (await q()("maintenance_jobs").where({ id: job.id, row_version: expectedRowVersion }).update(changes)) === 1;
    },
    async list(filter, limit, after) {
      const query = q()("maintenance_jobs");
      if (filter.vehicleId !== null) query.where({ vehicle_id: filter.vehicleId });
      if (filter.statuses.length > 0) query.whereIn("status", filter.statuses);
      if (filter.kind !== null) query.where({ kind: filter.kind });
      if (filter.mechanicId !== null) query.where({ mechanic_id: filter.mechanicId });
      if (filter.scheduledWithin !== null) {
        query.where("schedule_time", ">=", filter.scheduledWithin.start).where("schedule_time", "<", filter.scheduledWithin.end);
      }
      return ((await newestFirst(query, after).limit(limit)) as Row[]).map(toJob);
    },
    async listOfMechanic(mechanicId, statuses, limit, after) {
      const query = q()("maintenance_jobs").whereRaw("mechanic_id::text = ?", [mechanicId]);
      if (statuses.length > 0) query.whereIn("status", statuses);
      return ((await newestFirst(query, after).limit(limit)) as Row[]).map(toJob);
    },
    async insertParts(parts) {
      if (parts.length === 0) return;
      await q()("parts_used").insert(parts.map((p) => ({
        id: p.id, job_id: p.jobId, part_id: p.partId, part_name: p.partName, part_number: p.partNumber, quantity: p.quantity,
        unit_cost_minor: p.unitCost?.amountMinor ?? null, total_cost_minor: p.totalCost?.amountMinor ?? null,
        currency: p.unitCost?.currency ?? p.totalCost?.currency ?? null, cost_override_reason: p.costOverrideReason,
        recorded_at: p.recordedAt, recorded_by: p.recordedBy,
      })));
    },
    async parts(jobId) {
      return ((await q()("parts_used").where({ job_id: jobId }).orderBy([{ column: "recorded_at" }, { column: "id" }])) as Row[]).map(toPartUsed);
    },
    async partsPage(jobId, limit, after) {
      const query = q()("parts_used").where({ job_id: jobId });
      if (after) query.whereRaw("(recorded_at, id) > (?, ?)", [after.at, after.id]);
      return ((await query.orderBy([{ column: "recorded_at" }, { column: "id" }]).limit(limit)) as Row[]).map(toPartUsed);
    },
    async costedJobs(vehicleId, completedWithin) {
      const query = q()("maintenance_jobs").where({ vehicle_id: vehicleId }).where((w) => {
        w.where({ status: "completed" }).orWhere((c) => c.where({ status: "cancelled" }).whereNotNull("parts_cost_minor"));
      });
      if (completedWithin !== null) {
        query.whereRaw("COALESCE(complete_time, cancel_time) >= ? AND COALESCE(complete_time, cancel_time) < ?", [completedWithin.start, completedWithin.end]);
      }
      return ((await query) as Row[]).map(toJob);
    },
    async lastCompletedOfPlan(planId, vehicleId) {
      const row = await q()("maintenance_jobs").where({ plan_id: planId, vehicle_id: vehicleId, status: "completed" })
        .orderBy("complete_time", "desc").first<Row | undefined>();
      return row ? { jobId: str(row["id"]), at: row["complete_time"] as Date, odometerKm: optNum(row["odometer_km"]) } : null;
    },
    async inProgressOf(vehicleId, except) {
      const row = await q()("maintenance_jobs").where({ vehicle_id: vehicleId, status: "in_progress" }).whereNot({ id: except }).first<Row | undefined>();
      return row ? toJob(row) : null;
    },
    async insertIntent(intent) {
      await db.knex("block_intents").insert({ job_id: intent.jobId, vehicle_id: intent.vehicleId, block_reference: intent.blockReference, created_at: intent.at })
        .onConflict("job_id").ignore();
    },
    async deleteIntent(jobId) {
      await q()("block_intents").where({ job_id: jobId }).delete();
    },
    async staleIntents(before, limit) {
      const { rows } = await q().raw<{ rows: Row[] }>(
        `SELECT i.job_id, i.block_reference, EXISTS (SELECT 1 FROM maintenance_jobs j WHERE j.id = i.job_id) AS job_exists
           FROM block_intents i WHERE i.created_at < ? ORDER BY i.created_at LIMIT ?`,
        [before, limit],
      );
      return rows.map((r) => ({ jobId: str(r["job_id"]), blockReference: str(r["block_reference"]), jobExists: r["job_exists"] as boolean }));
    },
  };
}

export function createPartRepository(db: Database): PartRepository {
  const q = () => db.executor();
  return {
    async insert(part) {
      try {
        await q()("parts").insert({
          id: part.id, part_number: part.partNumber, name: part.name, unit_cost_minor: part.unitCost.amountMinor, currency: part.unitCost.currency,
          stock_on_hand: part.stockOnHand, reorder_level: part.reorderLevel, row_version: part.rowVersion, created_at: part.createdAt, updated_at: part.updatedAt,
        });
      } catch (err) {
        if (isPgError(err, PG_UNIQUE_VIOLATION, "parts_part_number_key")) throw partNumberTaken(part.partNumber);
        throw err;
      }
    },
    async find(id) {
      const row = await q()("parts").where({ id }).first<Row | undefined>();
      return row ? toPart(row) : null;
    },
    async findMany(ids) {
      if (ids.length === 0) return [];
      return ((await q()("parts").whereIn("id", ids)) as Row[]).map(toPart);
    },
    async changeStock(id, delta, at) {
      // One statement: the row lock and the check happen together, so two
      // mechanics can never both take the last part.
      const { rows } = await q().raw<{ rows: Row[] }>(
        `UPDATE parts SET stock_on_hand = stock_on_hand + ?, row_version = row_version + 1, updated_at = ?
          WHERE id = ? AND stock_on_hand + ? >= 0
          RETURNING *, stock_on_hand - ? AS stock_before`,
        [delta, at, id, delta, delta],
      );
      const row = rows[0];
      if (!row) return null;
      const after = toPart(row);
      return { before: { ...after, stockOnHand: row["stock_before"] as number }, after };
    },
    async list(lowStockOnly, limit, after) {
      const query = q()("parts");
      if (lowStockOnly) query.whereRaw("stock_on_hand <= reorder_level");
      if (after) query.whereRaw("(part_number, id) > (?, ?)", [after.partNumber, after.id]);
      return ((await query.orderBy([{ column: "part_number" }, { column: "id" }]).limit(limit)) as Row[]).map(toPart);
    },
    async insertMovement(m) {
      await q()("stock_movements").insert({
        id: m.id, part_id: m.partId, kind: m.kind, quantity_delta: m.quantityDelta, total_cost_minor: m.totalCost?.amountMinor ?? null,
        currency: m.totalCost?.currency ?? null, job_id: m.jobId, reason: m.reason, stock_after: m.stockAfter, created_at: m.createdAt, created_by: m.createdBy,
      });
    },
    async movements(partId, limit, after) {
      const query = q()("stock_movements").where({ part_id: partId });
      if (after) query.whereRaw("(created_at, id) < (?, ?)", [after.at, after.id]);
      return ((await query.orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }]).limit(limit)) as Row[]).map(toMovement);
    },
  };
}

export function createPlanRepository(db: Database): PlanRepository {
  const q = () => db.executor();
  return {
    async insert(p) {
      await q()("maintenance_plans").insert({
        id: p.id, name: p.name, vehicle_id: "vehicleId" in p.target ? p.target.vehicleId : null,
        vehicle_make: "make" in p.target ? p.target.make : null, vehicle_model: "model" in p.target ? p.target.model : null,
        interval_days: p.intervalDays, interval_km: p.intervalKm, lead_days: p.leadDays, lead_km: p.leadKm, planned_hours: p.plannedHours,
        job_description: p.jobDescription, archived_at: p.archivedAt, row_version: p.rowVersion, created_at: p.createdAt, created_by: p.createdBy,
      });
    },
    async find(id) {
      const row = await q()("maintenance_plans").where({ id }).first<Row | undefined>();
      return row ? toPlan(row) : null;
    },
    async archive(id, at) {
      const rows = await q()("maintenance_plans").where({ id }).update({ archived_at: db.knex.raw("COALESCE(archived_at, ?)", [at]) }).returning("*");
      return rows[0] ? toPlan(rows[0] as Row) : null;
    },
    async list(filter, limit, after) {
      const query = q()("maintenance_plans");
      if (!filter.includeArchived) query.whereNull("archived_at");
      if (filter.vehicle !== null) {
        const v = filter.vehicle;
        query.where((w) => {
          w.where({ vehicle_id: v.vehicleId }).orWhere((m) => m.whereRaw("lower(vehicle_make) = lower(?) AND lower(vehicle_model) = lower(?)", [v.make, v.model]));
        });
      }
      if (after) query.whereRaw("(name, id) > (?, ?)", [after.name, after.id]);
      return ((await query.orderBy([{ column: "name" }, { column: "id" }]).limit(limit)) as Row[]).map(toPlan);
    },
    async active() {
      return ((await q()("maintenance_plans").whereNull("archived_at").orderBy("created_at")) as Row[]).map(toPlan);
    },
  };
}

export function createVehicleProjection(db: Database): VehicleProjection {
  const q = () => db.executor();
  return {
    async find(vehicleId) {
      const row = await q()("vehicles").where({ vehicle_id: vehicleId }).first<Row | undefined>();
      return row ? toVehicle(row) : null;
    },
    async all() {
      return ((await q()("vehicles").orderBy("vehicle_id")) as Row[]).map(toVehicle);
    },
    async upsert(f, at) {
      await q().raw(
        `INSERT INTO vehicles (vehicle_id, plate_number, make, model, passenger_capacity, load_limit_kg, status, fleet_row_version,
                               odometer_km, odometer_at, first_odometer_km, synced_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ?::int IS NULL THEN NULL ELSE ?::timestamptz END, ?, ?)
         ON CONFLICT (vehicle_id) DO UPDATE SET plate_number = EXCLUDED.plate_number, make = EXCLUDED.make, model = EXCLUDED.model,
           passenger_capacity = EXCLUDED.passenger_capacity, load_limit_kg = EXCLUDED.load_limit_kg, status = EXCLUDED.status,
           fleet_row_version = EXCLUDED.fleet_row_version, synced_at = EXCLUDED.synced_at,
           odometer_km = GREATEST(vehicles.odometer_km, EXCLUDED.odometer_km),
           first_odometer_km = COALESCE(vehicles.first_odometer_km, EXCLUDED.first_odometer_km)
         WHERE vehicles.fleet_row_version <= EXCLUDED.fleet_row_version`,
        [f.vehicleId, f.plateNumber, f.make, f.model, f.passengerCapacity, f.loadLimitKg, f.status, String(f.fleetRowVersion),
          f.odometerKm, f.odometerKm, at, f.odometerKm, at],
      );
    },
    async updateStatus(vehicleId, status, fleetRowVersion, at) {
      await q()("vehicles").where({ vehicle_id: vehicleId }).whereRaw("fleet_row_version <= ?", [String(fleetRowVersion)])
        .update({ status, fleet_row_version: String(fleetRowVersion), synced_at: at });
    },
    async recordOdometer(vehicleId, km, at) {
      // Readings can arrive out of order: the highest is the latest (odometers only grow).
      await q().raw(
        `UPDATE vehicles SET odometer_km = GREATEST(COALESCE(odometer_km, ?), ?),
                odometer_at = CASE WHEN odometer_km IS NULL OR ? >= odometer_km THEN ? ELSE odometer_at END,
                first_odometer_km = LEAST(COALESCE(first_odometer_km, ?), ?)
          WHERE vehicle_id = ?`,
        [km, km, km, at, km, km, vehicleId],
      );
    },
    async count() {
      const row = await q()("vehicles").count<{ count: string | bigint }[]>("* as count").first();
      return Number(row?.count ?? 0);
    },
  };
}
