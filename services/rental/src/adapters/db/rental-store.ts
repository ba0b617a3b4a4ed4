// Rental's repositories on its own PostgreSQL database (knex through
// db.executor(), so every call joins the unit of work's transaction).
// Periods are tstzrange '[)' in the database, {start, end} in the domain.
import type { Database, Knex } from "../../../../platform/src/db.js";
import { money, type Money } from "../../../../platform/src/money.js";
import type { TimeIdCursor } from "../../../../platform/src/paging.js";
import { outboxInsert, type OutboxInsert } from "../../../../platform/src/events/outbox.js";
import { runInTransaction } from "../../../../platform/src/transactions.js";
import { staffNotAvailable, vehicleNotAvailable } from "../../domain/errors.js";
import type {
  ChargeType,
  Location,
  LocationType,
  PaymentKind,
  PaymentProvider,
  PaymentStatus,
  Period,
  PricingPlan,
  Quote,
  QuoteLine,
  Rental,
  RentalCharge,
  RentalPayment,
  RentalStatus,
  TimelineClaim,
  VehicleBlock,
  VehicleView,
} from "../../domain/model.js";
import type { CatalogRepository, QuoteRepository, RentalRepository, Timeline, UnitOfWork, VehicleProjection } from "../../app/ports.js";
import type { VehicleAtLocation } from "../../app/use-case-api.js";
import { toEventMessage } from "./event-outbox.js";

type Row = Record<string, unknown>;

const range = (knex: Knex, p: Period) => knex.raw("tstzrange(?, ?, '[)')", [p.start, p.end]);
const PERIOD_COLUMNS = "lower(period) AS period_start, upper(period) AS period_end";
const periodOf = (r: Row): Period => ({ start: r["period_start"] as Date, end: r["period_end"] as Date });
const optMoney = (amount: unknown, currency: string): Money | null => (amount === null || amount === undefined ? null : money(amount as bigint, currency));
const str = (v: unknown): string => v as string;
const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : (v as number));

// ---- mapping ---------------------------------------------------------------

const toLocation = (r: Row): Location => ({
  id: str(r["id"]),
  attributes: { name: str(r["name"]), type: r["type"] as LocationType, address: optStr(r["address"]), timeZone: str(r["time_zone"]) },
  rowVersion: r["row_version"] as bigint,
  createdAt: r["created_at"] as Date,
  updatedAt: r["updated_at"] as Date,
  createdBy: optStr(r["created_by"]),
  updatedBy: optStr(r["updated_by"]),
});

const toPlan = (r: Row): PricingPlan => {
  const c = (r["currency"] as string).trim();
  const cancellationFee = optMoney(r["cancellation_fee_minor"], c);
  return {
    id: str(r["id"]),
    name: str(r["name"]),
    description: str(r["description"]),
    rates: {
      currency: c,
      dailyRate: money(r["daily_rate_minor"] as bigint, c),
      perKmRate: optMoney(r["per_km_rate_minor"], c),
      includedKmPerDay: optNum(r["included_km_per_day"]),
      hourlyRate: optMoney(r["hourly_rate_minor"], c),
      lateFeePerHour: optMoney(r["late_fee_per_hour_minor"], c),
      lateGraceMinutes: r["late_grace_minutes"] as number,
      lateFeeCap: optMoney(r["late_fee_cap_minor"], c),
      cancellation: cancellationFee === null ? null : { freeUntilHoursBefore: r["cancellation_free_hours"] as number, fee: cancellationFee },
      noShowFee: optMoney(r["no_show_fee_minor"], c),
      deposit: optMoney(r["deposit_minor"], c),
    },
    archivedAt: (r["archived_at"] as Date | null) ?? null,
    rowVersion: r["row_version"] as bigint,
    createdAt: r["created_at"] as Date,
    updatedAt: r["updated_at"] as Date,
    createdBy: optStr(r["created_by"]),
    updatedBy: optStr(r["updated_by"]),
  };
};

const planRow = (p: PricingPlan): Row => ({
  id: p.id, name: p.name, description: p.description, currency: p.rates.currency,
  daily_rate_minor: p.rates.dailyRate.amountMinor,
  per_km_rate_minor: p.rates.perKmRate?.amountMinor ?? null,
  included_km_per_day: p.rates.includedKmPerDay,
  hourly_rate_minor: p.rates.hourlyRate?.amountMinor ?? null,
  late_fee_per_hour_minor: p.rates.lateFeePerHour?.amountMinor ?? null,
  late_grace_minutes: p.rates.lateGraceMinutes,
  late_fee_cap_minor: p.rates.lateFeeCap?.amountMinor ?? null,
  cancellation_free_hours: p.rates.cancellation?.freeUntilHoursBefore ?? null,
  cancellation_fee_minor: p.rates.cancellation?.fee.amountMinor ?? null,
  no_show_fee_minor: p.rates.noShowFee?.amountMinor ?? null,
  deposit_minor: p.rates.deposit?.amountMinor ?? null,
  archived_at: p.archivedAt, row_version: p.rowVersion, created_at: p.createdAt, updated_at: p.updatedAt,
  created_by: p.createdBy, updated_by: p.updatedBy,
});

const toVehicle = (r: Row): VehicleView => ({
  vehicleId: str(r["vehicle_id"]),
  plateNumber: str(r["plate_number"]),
  make: str(r["make"]),
  model: str(r["model"]),
  variant: optStr(r["variant"]),
  passengerCapacity: optNum(r["passenger_capacity"]),
  loadLimitKg: optNum(r["load_limit_kg"]),
  status: r["status"] as VehicleView["status"],
  fleetRowVersion: r["fleet_row_version"] as bigint,
  homeLocationId: optStr(r["home_location_id"]),
});
const toVehicleAt = (r: Row): VehicleAtLocation => ({ ...toVehicle(r), locationId: optStr(r["location_id"]) });

interface StoredLine { type: ChargeType; description: string; quantity: number; unitPriceMinor: string; amountMinor: string; estimated: boolean }

const toQuote = (r: Row): Quote => {
  const c = (r["currency"] as string).trim();
  return {
    id: str(r["id"]),
    customerId: str(r["customer_id"]),
    terms: {
      vehicleId: str(r["vehicle_id"]), period: periodOf(r), originLocationId: str(r["origin_location_id"]),
      destinationLocationId: str(r["destination_location_id"]), pricingPlanId: str(r["pricing_plan_id"]),
      estimatedDistanceKm: optNum(r["estimated_distance_km"]), driverId: optStr(r["driver_id"]), conductorId: optStr(r["conductor_id"]),
    },
    lines: (r["lines"] as StoredLine[]).map((l): QuoteLine => ({
      type: l.type, description: l.description, quantity: l.quantity, estimated: l.estimated,
      unitPrice: money(BigInt(l.unitPriceMinor), c), amount: money(BigInt(l.amountMinor), c),
    })),
    total: money(r["total_minor"] as bigint, c),
    deposit: optMoney(r["deposit_minor"], c),
    hourly: r["hourly"] as boolean,
    rentalDays: r["rental_days"] as number,
    expiresAt: r["expires_at"] as Date,
    createdAt: r["created_at"] as Date,
    createdBy: optStr(r["created_by"]),
    usedByRentalId: optStr(r["used_by_rental_id"]),
  };
};

const RENTAL_COLUMNS = `*, ${PERIOD_COLUMNS}`;

const toRental = (r: Row): Rental => {
  const c = (r["currency"] as string).trim();
  return {
    id: str(r["id"]), vehicleId: str(r["vehicle_id"]), customerId: str(r["customer_id"]),
    driverId: optStr(r["driver_id"]), conductorId: optStr(r["conductor_id"]), period: periodOf(r),
    originLocationId: str(r["origin_location_id"]), destinationLocationId: str(r["destination_location_id"]),
    pricingPlanId: str(r["pricing_plan_id"]), quoteId: optStr(r["quote_id"]), status: r["status"] as RentalStatus,
    currency: c, timeZone: str(r["time_zone"]),
    chargesTotal: money(r["charges_total_minor"] as bigint, c), paidTotal: money(r["paid_total_minor"] as bigint, c),
    deposit: optMoney(r["deposit_minor"], c),
    pickupTime: (r["pickup_time"] as Date | null) ?? null, pickupOdometerKm: optNum(r["pickup_odometer_km"]),
    returnTime: (r["return_time"] as Date | null) ?? null, returnOdometerKm: optNum(r["return_odometer_km"]),
    returnLocationId: optStr(r["return_location_id"]), notes: str(r["notes"]),
    cancelReason: optStr(r["cancel_reason"]), cancelTime: (r["cancel_time"] as Date | null) ?? null,
    noShowTime: (r["no_show_time"] as Date | null) ?? null,
    atRisk: r["at_risk"] as boolean, atRiskReason: optStr(r["at_risk_reason"]),
    overdueNotifiedAt: (r["overdue_notified_at"] as Date | null) ?? null,
    driverDailyRate: optMoney(r["driver_rate_minor"], c), conductorDailyRate: optMoney(r["conductor_rate_minor"], c),
    rowVersion: r["row_version"] as bigint, createdAt: r["created_at"] as Date, updatedAt: r["updated_at"] as Date,
    createdBy: optStr(r["created_by"]), updatedBy: optStr(r["updated_by"]),
  };
};

const rentalRow = (knex: Knex, x: Rental): Row => ({
  id: x.id, vehicle_id: x.vehicleId, customer_id: x.customerId, driver_id: x.driverId, conductor_id: x.conductorId,
  period: range(knex, x.period), origin_location_id: x.originLocationId, destination_location_id: x.destinationLocationId,
  pricing_plan_id: x.pricingPlanId, quote_id: x.quoteId, status: x.status, currency: x.currency, time_zone: x.timeZone,
  charges_total_minor: x.chargesTotal.amountMinor, paid_total_minor: x.paidTotal.amountMinor, deposit_minor: x.deposit?.amountMinor ?? null,
  pickup_time: x.pickupTime, pickup_odometer_km: x.pickupOdometerKm, return_time: x.returnTime, return_odometer_km: x.returnOdometerKm,
  return_location_id: x.returnLocationId, notes: x.notes, cancel_reason: x.cancelReason, cancel_time: x.cancelTime,
  no_show_time: x.noShowTime, at_risk: x.atRisk, at_risk_reason: x.atRiskReason, overdue_notified_at: x.overdueNotifiedAt,
  driver_rate_minor: x.driverDailyRate?.amountMinor ?? null, conductor_rate_minor: x.conductorDailyRate?.amountMinor ?? null,
  row_version: x.rowVersion, created_at: x.createdAt, updated_at: x.updatedAt, created_by: x.createdBy, updated_by: x.updatedBy,
});

const toCharge = (r: Row): RentalCharge => {
  const c = (r["currency"] as string).trim();
  return {
    id: str(r["id"]), rentalId: str(r["rental_id"]), type: r["type"] as ChargeType, description: str(r["description"]),
    quantity: r["quantity"] as number, unitPrice: money(r["unit_price_minor"] as bigint, c), amount: money(r["amount_minor"] as bigint, c),
    createdAt: r["created_at"] as Date, createdBy: optStr(r["created_by"]),
  };
};

const toPayment = (r: Row): RentalPayment => {
  const c = (r["currency"] as string).trim();
  return {
    id: str(r["id"]), rentalId: str(r["rental_id"]), kind: r["kind"] as PaymentKind, provider: r["provider"] as PaymentProvider,
    amount: money(r["amount_minor"] as bigint, c), status: r["status"] as PaymentStatus,
    refundedAmount: money(r["refunded_minor"] as bigint, c), appliedAmount: money(r["applied_minor"] as bigint, c),
    externalReference: str(r["external_reference"]), statusReason: str(r["status_reason"]), rowVersion: r["row_version"] as bigint,
    createdAt: r["created_at"] as Date, updatedAt: r["updated_at"] as Date, createdBy: optStr(r["created_by"]), updatedBy: optStr(r["updated_by"]),
  };
};

const paymentRow = (p: RentalPayment): Row => ({
  id: p.id, rental_id: p.rentalId, kind: p.kind, provider: p.provider, amount_minor: p.amount.amountMinor, currency: p.amount.currency,
  status: p.status, refunded_minor: p.refundedAmount.amountMinor, applied_minor: p.appliedAmount.amountMinor,
  external_reference: p.externalReference, status_reason: p.statusReason, row_version: p.rowVersion,
  created_at: p.createdAt, updated_at: p.updatedAt, created_by: p.createdBy, updated_by: p.updatedBy,
});

const toBlock = (r: Row): VehicleBlock => ({
  reference: str(r["reference"]), vehicleId: str(r["vehicle_id"]), period: periodOf(r), reason: str(r["reason"]),
  urgent: r["urgent"] as boolean, releasedAt: (r["released_at"] as Date | null) ?? null, createdAt: r["created_at"] as Date,
  createdBy: optStr(r["created_by"]),
});

// ---- repositories ------------------------------------------------------------

export const createUnitOfWork = (db: Database): UnitOfWork => ({
  run: (work) => runInTransaction(db, () => work(), {
    constraints: {
      vehicle_claims_no_overlap: (v) => vehicleNotAvailable(vehicleIdOf(v.detail) ?? "", "another rental or block holds it over this period"),
      staff_claims_no_overlap: () => staffNotAvailable(),
    },
  }),
});

/** The vehicle id from an exclusion violation's detail: "Key (vehicle_id, period)=(<uuid>, [...)) conflicts with ...". */
const vehicleIdOf = (detail: string | undefined): string | undefined => /\(([0-9a-f-]{36}),/.exec(detail ?? "")?.[1];

export function createCatalogRepository(db: Database): CatalogRepository {
  const q = () => db.executor();
  return {
    async insertLocation(l) {
      await q()("locations").insert({
        id: l.id, name: l.attributes.name, type: l.attributes.type, address: l.attributes.address, time_zone: l.attributes.timeZone,
        row_version: l.rowVersion, created_at: l.createdAt, updated_at: l.updatedAt, created_by: l.createdBy, updated_by: l.updatedBy,
      });
    },
    async findLocation(id) {
      const row = await q()("locations").where({ id }).first<Row | undefined>();
      return row ? toLocation(row) : null;
    },
    async listLocations(type, limit, after) {
      let query = q()("locations");
      if (type !== null) query = query.where({ type });
      if (after) query = query.whereRaw("(name, id) > (?, ?)", [after.name, after.id]);
      return (await query.orderBy([{ column: "name" }, { column: "id" }]).limit(limit).select<Row[]>()).map(toLocation);
    },
    async insertPlan(p) {
      await q()("pricing_plans").insert(planRow(p));
    },
    async findPlan(id) {
      const row = await q()("pricing_plans").where({ id }).first<Row | undefined>();
      return row ? toPlan(row) : null;
    },
    async archivePlan(id, expectedRowVersion, at, by) {
      const rows = await q()("pricing_plans").where({ id, row_version: expectedRowVersion })
        .update({ archived_at: at, updated_at: at, updated_by: by, row_version: expectedRowVersion + 1n }).returning<Row[]>("*");
      return rows[0] ? toPlan(rows[0]) : null;
    },
    async listPlans(filter, limit, after) {
      let query = q()("pricing_plans");
      if (!filter.includeArchived) query = query.whereNull("archived_at");
      if (filter.currency !== null) query = query.where({ currency: filter.currency });
      if (after) query = query.whereRaw("(name, id) > (?, ?)", [after.name, after.id]);
      return (await query.orderBy([{ column: "name" }, { column: "id" }]).limit(limit).select<Row[]>()).map(toPlan);
    },
  };
}

/**
 * Where a vehicle is at instant `at` (SQL on alias v): the destination of its
 * latest RESERVED/ACTIVE/COMPLETED rental that ends by then (its actual
 * return location once completed), else its home location.
 */
const LOCATION_AT = `COALESCE((
    SELECT COALESCE(r.return_location_id, r.destination_location_id) FROM rentals r
     WHERE r.vehicle_id = v.vehicle_id AND r.status IN ('reserved', 'active', 'completed')
       AND COALESCE(r.return_time, upper(r.period)) <= ?
     ORDER BY COALESCE(r.return_time, upper(r.period)) DESC LIMIT 1
  ), v.home_location_id)`;

const VEHICLE_COLUMNS = "vehicle_id, plate_number, make, model, variant, passenger_capacity, load_limit_kg, status, fleet_row_version, home_location_id";
const FIND_VEHICLE = `SELECT ${VEHICLE_COLUMNS} FROM vehicles WHERE vehicle_id = ?`;
/** The vehicle and whether any claim (rental or block) overlaps the period: one round trip before a reservation. */
const FIND_VEHICLE_FOR_PERIOD = `SELECT ${VEHICLE_COLUMNS.split(", ").map((c) => `v.${c}`).join(", ")},
       EXISTS (SELECT 1 FROM vehicle_claims c WHERE c.vehicle_id = v.vehicle_id AND c.period && tstzrange(?, ?, '[)')) AS claimed
  FROM vehicles v WHERE v.vehicle_id = ?`;

export function createVehicleProjection(db: Database): VehicleProjection {
  const q = () => db.executor();
  return {
    async find(vehicleId) {
      const { rows } = await db.query<Row>(FIND_VEHICLE, [vehicleId]);
      return rows[0] ? toVehicle(rows[0]) : null;
    },
    async findForPeriod(vehicleId, period) {
      // Every reservation and quote reads this: straight to the driver.
      const { rows } = await db.query<Row>(FIND_VEHICLE_FOR_PERIOD, [period.start, period.end, vehicleId]);
      const row = rows[0];
      return row ? { vehicle: toVehicle(row), claimed: row["claimed"] as boolean } : null;
    },
    async upsert(f, at) {
      const result = await q().raw<{ rowCount: number }>(
        `INSERT INTO vehicles (vehicle_id, plate_number, make, model, variant, passenger_capacity, load_limit_kg, status, fleet_row_version, synced_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (vehicle_id) DO UPDATE SET plate_number = EXCLUDED.plate_number, make = EXCLUDED.make, model = EXCLUDED.model,
           variant = EXCLUDED.variant, passenger_capacity = EXCLUDED.passenger_capacity, load_limit_kg = EXCLUDED.load_limit_kg,
           status = EXCLUDED.status, fleet_row_version = EXCLUDED.fleet_row_version, synced_at = EXCLUDED.synced_at
         WHERE vehicles.fleet_row_version <= EXCLUDED.fleet_row_version`,
        [f.vehicleId, f.plateNumber, f.make, f.model, f.variant, f.passengerCapacity, f.loadLimitKg, f.status, String(f.fleetRowVersion), at],
      );
      return result.rowCount === 1;
    },
    async updateStatus(vehicleId, status, fleetRowVersion, at) {
      const n = await q()("vehicles").where({ vehicle_id: vehicleId }).whereRaw("fleet_row_version <= ?", [String(fleetRowVersion)])
        .update({ status, fleet_row_version: fleetRowVersion, synced_at: at });
      return n === 1;
    },
    async setHome(vehicleId, locationId) {
      await q()("vehicles").where({ vehicle_id: vehicleId }).update({ home_location_id: locationId });
    },
    async count() {
      const row = await q()("vehicles").count<{ count: bigint | string }[]>("* as count").first();
      return Number(row?.count ?? 0);
    },
    async withLocationAt(vehicleId, at) {
      const row = await q().raw<{ rows: Row[] }>(`SELECT v.*, ${LOCATION_AT} AS location_id FROM vehicles v WHERE v.vehicle_id = ?`, [at, vehicleId]);
      return row.rows[0] ? toVehicleAt(row.rows[0]) : null;
    },
    async available(query, limit, after) {
      const params: Knex.RawBinding[] = [query.period.start];
      let sql = `SELECT * FROM (SELECT v.*, ${LOCATION_AT} AS location_id FROM vehicles v
         WHERE v.status NOT IN ('decommissioned', 'under_maintenance')
           AND NOT EXISTS (SELECT 1 FROM vehicle_claims c WHERE c.vehicle_id = v.vehicle_id AND c.period && tstzrange(?, ?, '[)'))`;
      params.push(query.period.start, query.period.end);
      if (query.minPassengerCapacity !== null) { sql += " AND v.passenger_capacity >= ?"; params.push(query.minPassengerCapacity); }
      if (query.minLoadLimitKg !== null) { sql += " AND v.load_limit_kg >= ?"; params.push(query.minLoadLimitKg); }
      sql += ") x WHERE TRUE";
      if (query.locationId !== null) { sql += " AND x.location_id = ?"; params.push(query.locationId); }
      if (after) { sql += " AND (x.plate_number, x.vehicle_id) > (?, ?)"; params.push(after.plate, after.id); }
      sql += " ORDER BY x.plate_number, x.vehicle_id LIMIT ?";
      params.push(limit);
      return (await q().raw<{ rows: Row[] }>(sql, params)).rows.map(toVehicleAt);
    },
  };
}

export function createQuoteRepository(db: Database): QuoteRepository {
  const q = () => db.executor();
  return {
    async insert(x) {
      const knex = q();
      await knex("quotes").insert({
        id: x.id, customer_id: x.customerId, vehicle_id: x.terms.vehicleId, period: range(db.knex, x.terms.period),
        origin_location_id: x.terms.originLocationId, destination_location_id: x.terms.destinationLocationId,
        pricing_plan_id: x.terms.pricingPlanId, estimated_distance_km: x.terms.estimatedDistanceKm, driver_id: x.terms.driverId,
        conductor_id: x.terms.conductorId, currency: x.total.currency,
        lines: JSON.stringify(x.lines.map((l): StoredLine => ({
          type: l.type, description: l.description, quantity: l.quantity, estimated: l.estimated,
          unitPriceMinor: l.unitPrice.amountMinor.toString(), amountMinor: l.amount.amountMinor.toString(),
        }))),
        total_minor: x.total.amountMinor, deposit_minor: x.deposit?.amountMinor ?? null, hourly: x.hourly, rental_days: x.rentalDays,
        expires_at: x.expiresAt, created_at: x.createdAt, created_by: x.createdBy,
      });
    },
    async find(id) {
      const row = await q()("quotes").where({ id }).first<Row | undefined>(db.knex.raw(`*, ${PERIOD_COLUMNS}`));
      return row ? toQuote(row) : null;
    },
    async markUsed(id, rentalId) {
      const n = await q()("quotes").where({ id }).whereNull("used_by_rental_id").update({ used_by_rental_id: rentalId });
      return n === 1;
    },
  };
}

export function createRentalRepository(db: Database): RentalRepository {
  const q = () => db.executor();
  const rentalsQuery = () => q()("rentals").select(db.knex.raw(RENTAL_COLUMNS));
  const newestFirst = <T extends Knex.QueryBuilder>(query: T, after: TimeIdCursor | null): T => {
    if (after) query.whereRaw("(lower(period), id) < (?, ?)", [after.at, after.id]);
    return query.orderByRaw("lower(period) DESC, id DESC") as T;
  };
  const oldestFirst = <T extends Knex.QueryBuilder>(query: T, after: TimeIdCursor | null): T => {
    if (after) query.whereRaw("(created_at, id) > (?, ?)", [after.at, after.id]);
    return query.orderBy([{ column: "created_at" }, { column: "id" }]) as T;
  };
  return {
    async insert(rental) {
      await q()("rentals").insert(rentalRow(db.knex, rental));
    },
    async find(id) {
      const row = await rentalsQuery().where({ id }).first<Row | undefined>();
      return row ? toRental(row) : null;
    },
    async findForUpdate(id) {
      const row = await rentalsQuery().where({ id }).forUpdate().first<Row | undefined>();
      return row ? toRental(row) : null;
    },
    async update(rental, expectedRowVersion) {
      const { id: _id, created_at: _c, created_by: _cb, ...changes } = rentalRow(db.knex, rental);
      return (await q()("rentals").where({ id: rental.id, row_version: expectedRowVersion }).update(changes)) === 1;
    },
    async list(filter, limit, after) {
      const query = rentalsQuery();
      if (filter.customerId !== null) query.where({ customer_id: filter.customerId });
      if (filter.vehicleId !== null) query.where({ vehicle_id: filter.vehicleId });
      if (filter.driverId !== null) query.where({ driver_id: filter.driverId });
      if (filter.statuses.length > 0) query.whereIn("status", filter.statuses);
      if (filter.overlaps !== null) query.whereRaw("period && tstzrange(?, ?, '[)')", [filter.overlaps.start, filter.overlaps.end]);
      if (filter.atRiskOnly) query.where({ at_risk: true });
      return (await newestFirst(query, after).limit(limit)).map(toRental);
    },
    async listOwn(scope, statuses, limit, after) {
      const query = rentalsQuery().where((w) => {
        w.whereRaw("customer_id::text = ?", [scope.subject]).orWhereRaw("driver_id::text = ?", [scope.subject])
          .orWhereRaw("conductor_id::text = ?", [scope.subject]).orWhere({ created_by: scope.subject });
      });
      if (statuses.length > 0) query.whereIn("status", statuses);
      return (await newestFirst(query, after).limit(limit)).map(toRental);
    },
    async insertCharges(charges) {
      if (charges.length === 0) return;
      await q()("rental_charges").insert(charges.map((c) => ({
        id: c.id, rental_id: c.rentalId, type: c.type, description: c.description, quantity: c.quantity,
        unit_price_minor: c.unitPrice.amountMinor, amount_minor: c.amount.amountMinor, currency: c.amount.currency,
        created_at: c.createdAt, created_by: c.createdBy,
      })));
    },
    async charges(rentalId, limit, after) {
      return (await oldestFirst(q()("rental_charges").where({ rental_id: rentalId }), after).limit(limit)).map(toCharge);
    },
    async allCharges(rentalId) {
      return (await q()("rental_charges").where({ rental_id: rentalId }).orderBy([{ column: "created_at" }, { column: "id" }])).map(toCharge);
    },
    async insertPayment(payment) {
      await q()("rental_payments").insert(paymentRow(payment));
    },
    async findPaymentForUpdate(id) {
      const row = await q()("rental_payments").where({ id }).forUpdate().first<Row | undefined>();
      return row ? toPayment(row) : null;
    },
    async updatePayment(payment, expectedRowVersion) {
      const { id: _id, created_at: _c, created_by: _cb, ...changes } = paymentRow(payment);
      return (await q()("rental_payments").where({ id: payment.id, row_version: expectedRowVersion }).update(changes)) === 1;
    },
    async payments(rentalId, limit, after) {
      return (await oldestFirst(q()("rental_payments").where({ rental_id: rentalId }), after).limit(limit)).map(toPayment);
    },
    async allPayments(rentalId) {
      return (await q()("rental_payments").where({ rental_id: rentalId }).orderBy([{ column: "created_at" }, { column: "id" }])).map(toPayment);
    },
    async lockDueNoShows(startedBefore, limit) {
      const rows = await rentalsQuery().where({ status: "reserved" }).whereRaw("lower(period) < ?", [startedBefore])
        .orderByRaw("lower(period)").limit(limit).forUpdate().skipLocked();
      return rows.map(toRental);
    },
    async lockNewlyOverdue(endedBefore, limit) {
      const rows = await rentalsQuery().where({ status: "active" }).whereNull("overdue_notified_at")
        .whereRaw("upper(period) < ?", [endedBefore]).orderByRaw("upper(period)").limit(limit).forUpdate().skipLocked();
      return rows.map(toRental);
    },
    async nextReservation(vehicleId, from) {
      const row = await rentalsQuery().where({ vehicle_id: vehicleId, status: "reserved" }).whereRaw("lower(period) >= ?", [from])
        .orderByRaw("lower(period)").first<Row | undefined>();
      return row ? toRental(row) : null;
    },
  };
}

/**
 * Claims of one vehicle (or one staff member) queue on a transaction-scoped
 * advisory lock before they touch the timeline. The exclusion constraint
 * stays the authority; the lock only spares it a pile-up: with many
 * concurrent conflicting inserts, each waits on the others' uncommitted rows
 * and PostgreSQL untangles them one deadlock timeout at a time (measured:
 * eight rebookings of one freed slot stalled past the 5 s statement
 * timeout). Queued, the first commits and the rest see its row and fail at
 * once. Vehicles lock before staff, staff in id order, so locks never cycle.
 */
const serializeOn = async (knex: Knex, keys: readonly string[]): Promise<void> => {
  for (const key of [...keys].sort()) await knex.raw("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [key]);
};

/** The lock and the insert in one statement: one round trip per claim. */
const claimVehicle = (knex: Knex, vehicleId: string, period: Period, rentalId: string | null, blockReference: string | null) =>
  knex.raw(
    `INSERT INTO vehicle_claims (vehicle_id, period, rental_id, block_reference)
     SELECT ?::uuid, tstzrange(?, ?, '[)'), ?::uuid, ? FROM (SELECT pg_advisory_xact_lock(hashtextextended(?, 0))) queued`,
    [vehicleId, period.start, period.end, rentalId, blockReference, `vehicle:${vehicleId}`],
  );

const RENTAL_INSERT_COLUMNS = [
  "id", "vehicle_id", "customer_id", "driver_id", "conductor_id", "period", "origin_location_id", "destination_location_id",
  "pricing_plan_id", "quote_id", "status", "currency", "time_zone", "charges_total_minor", "paid_total_minor", "deposit_minor",
  "pickup_time", "pickup_odometer_km", "return_time", "return_odometer_km", "return_location_id", "notes", "cancel_reason",
  "cancel_time", "no_show_time", "at_risk", "at_risk_reason", "overdue_notified_at", "driver_rate_minor", "conductor_rate_minor",
  "row_version", "created_at", "updated_at", "created_by", "updated_by",
] as const;

/**
 * The reservation's write as one statement. The claims select FROM the
 * queued locks (vehicle first, then staff in id order), so each lock is
 * held before its claim is inserted; the foreign keys to the rental are
 * checked at the end of the statement, when the rental row is there. The
 * outbox row (the kit's outboxInsert) is one more member: it commits with
 * the rental or not at all.
 */
function bookingStatement(knex: Knex, rental: Rental, charges: readonly RentalCharge[], outbox: OutboxInsert | null): { sql: string; bindings: Knex.RawBinding[] } {
  const row = rentalRow(knex, rental);
  const values: Knex.RawBinding[] = [];
  const placeholders = RENTAL_INSERT_COLUMNS.map((column) => {
    if (column === "period") {
      values.push(rental.period.start, rental.period.end);
      return "tstzrange(?, ?, '[)')";
    }
    values.push(row[column] as Knex.RawBinding);
    return "?";
  });
  const staff = [
    ...(rental.driverId === null ? [] : [{ id: rental.driverId, role: "driver" }]),
    ...(rental.conductorId === null ? [] : [{ id: rental.conductorId, role: "conductor" }]),
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
  const lockKeys = [`vehicle:${rental.vehicleId}`, ...staff.map((s) => `staff:${s.id}`)];
  const bindings: Knex.RawBinding[] = [...values, lockKeys, rental.vehicleId, rental.period.start, rental.period.end];
  let sql = `WITH r AS (INSERT INTO rentals (${RENTAL_INSERT_COLUMNS.join(", ")}) VALUES (${placeholders.join(", ")}) RETURNING id),
  queued AS (SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS n
               FROM (SELECT k FROM unnest(?::text[]) WITH ORDINALITY AS t(k, ord) ORDER BY ord) ordered),
  vc AS (INSERT INTO vehicle_claims (vehicle_id, period, rental_id)
           SELECT ?::uuid, tstzrange(?, ?, '[)'), r.id FROM r, queued)`;
  staff.forEach((s, i) => {
    sql += `,\n  sc${i} AS (INSERT INTO staff_claims (staff_id, role, rental_id, period) SELECT ?::uuid, ?, r.id, tstzrange(?, ?, '[)') FROM r, queued)`;
    bindings.push(s.id, s.role, rental.period.start, rental.period.end);
  });
  if (charges.length > 0) {
    sql += `,\n  ch AS (INSERT INTO rental_charges (id, rental_id, type, description, quantity, unit_price_minor, amount_minor, currency, created_at, created_by) VALUES ${charges.map(() => "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")})`;
    for (const c of charges) {
      bindings.push(c.id, c.rentalId, c.type, c.description, c.quantity, String(c.unitPrice.amountMinor), String(c.amount.amountMinor),
        c.amount.currency, c.createdAt, c.createdBy);
    }
  }
  if (outbox !== null) {
    sql += `,\n  ob AS (${outbox.sql})`;
    bindings.push(...outbox.bindings);
  }
  sql += "\nSELECT 1";
  return { sql, bindings };
}

export function createTimeline(db: Database): Timeline {
  const q = () => db.executor();
  return {
    async bookNewRental(rental, charges, event) {
      const executor = q();
      const { sql, bindings } = bookingStatement(executor, rental, charges, event === null ? null : outboxInsert(executor, toEventMessage(event)));
      // The reservation's one write: straight to the driver, in the unit of work's transaction.
      await db.query(sql, bindings);
    },
    async claimVehicleForRental(vehicleId, rentalId, period) {
      await claimVehicle(q(), vehicleId, period, rentalId, null);
    },
    async claimVehicleForBlock(vehicleId, reference, period) {
      await claimVehicle(q(), vehicleId, period, null, reference);
    },
    async moveRentalClaim(rentalId, period) {
      const claim = await q()("vehicle_claims").where({ rental_id: rentalId }).first<{ vehicle_id: string } | undefined>("vehicle_id");
      if (claim) await serializeOn(q(), [`vehicle:${claim.vehicle_id}`]);
      await q()("vehicle_claims").where({ rental_id: rentalId }).update({ period: range(db.knex, period) });
    },
    async releaseRentalClaim(rentalId) {
      await q()("vehicle_claims").where({ rental_id: rentalId }).delete();
    },
    async releaseBlockClaim(reference) {
      await q()("vehicle_claims").where({ block_reference: reference }).delete();
    },
    async claimStaff(staffId, role, rentalId, period) {
      await serializeOn(q(), [`staff:${staffId}`]);
      await q()("staff_claims").insert({ staff_id: staffId, role, rental_id: rentalId, period: range(db.knex, period) });
    },
    async moveStaffClaims(rentalId, period) {
      const staff = await q()("staff_claims").where({ rental_id: rentalId }).select<{ staff_id: string }[]>("staff_id");
      await serializeOn(q(), staff.map((s) => `staff:${s.staff_id}`));
      await q()("staff_claims").where({ rental_id: rentalId }).update({ period: range(db.knex, period) });
    },
    async releaseStaffClaim(rentalId, role) {
      await q()("staff_claims").where({ rental_id: rentalId, role }).delete();
    },
    async releaseStaffClaims(rentalId) {
      await q()("staff_claims").where({ rental_id: rentalId }).delete();
    },
    async overlapping(vehicleId, period) {
      const { rows } = await q().raw<{ rows: Row[] }>(
        `SELECT lower(c.period) AS period_start, upper(c.period) AS period_end, c.rental_id, c.block_reference,
                r.status AS rental_status, r.at_risk, b.reason, b.urgent
           FROM vehicle_claims c
           LEFT JOIN rentals r ON r.id = c.rental_id
           LEFT JOIN vehicle_blocks b ON b.reference = c.block_reference
          WHERE c.vehicle_id = ? AND c.period && tstzrange(?, ?, '[)')
          ORDER BY lower(c.period)`,
        [vehicleId, period.start, period.end],
      );
      return rows.map((r): TimelineClaim => ({
        kind: r["rental_id"] ? "rental" : "block",
        period: periodOf(r),
        reference: str(r["rental_id"] ?? r["block_reference"]),
        rentalStatus: (r["rental_status"] as RentalStatus | null) ?? null,
        reason: optStr(r["reason"]) ?? "",
        urgent: (r["urgent"] as boolean | null) ?? false,
        atRisk: (r["at_risk"] as boolean | null) ?? false,
      }));
    },
    async lockOverlappingReservations(vehicleId, period) {
      const rows = await q()("rentals").select(db.knex.raw(RENTAL_COLUMNS.replace("*", "rentals.*").replace("lower(period)", "lower(rentals.period)").replace("upper(period)", "upper(rentals.period)")))
        .join("vehicle_claims", "vehicle_claims.rental_id", "rentals.id")
        .where("rentals.status", "reserved").where("vehicle_claims.vehicle_id", vehicleId)
        .whereRaw("vehicle_claims.period && tstzrange(?, ?, '[)')", [period.start, period.end])
        .orderByRaw("lower(rentals.period)").forUpdate("rentals");
      return (rows as Row[]).map(toRental);
    },
    async insertBlock(b) {
      const now = new Date();
      await q()("vehicle_blocks").insert({
        reference: b.reference, vehicle_id: b.vehicleId, period: range(db.knex, b.period), reason: b.reason, urgent: b.urgent,
        released_at: b.releasedAt, created_at: b.createdAt, updated_at: now, created_by: b.createdBy,
      });
    },
    async findBlockForUpdate(reference) {
      const row = await q()("vehicle_blocks").select(db.knex.raw(`*, ${PERIOD_COLUMNS}`)).where({ reference }).forUpdate().first<Row | undefined>();
      return row ? toBlock(row) : null;
    },
    async updateBlock(b) {
      await q()("vehicle_blocks").where({ reference: b.reference }).update({
        vehicle_id: b.vehicleId, period: range(db.knex, b.period), reason: b.reason, urgent: b.urgent, released_at: b.releasedAt, updated_at: new Date(),
      });
    },
  };
}
