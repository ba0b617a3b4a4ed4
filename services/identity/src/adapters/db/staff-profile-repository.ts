import type { Database } from "../../../../platform/src/db.js";
import { isPgError, PG_UNIQUE_VIOLATION } from "../../../../platform/src/db.js";
import type { StaffProfileRepository } from "../../app/ports.js";
import { staffProfileExists, type StaffProfile, type StaffType } from "../../domain/staff-profile.js";

interface StaffRow {
  id: string;
  user_id: string;
  staff_type: StaffType;
  daily_rate_cents: bigint | null;
  currency: string | null;
  license_number: string | null;
  display_name: string;
  row_version: bigint;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  updated_by: string | null;
}

const COLUMNS = [
  "sp.id", "sp.user_id", "sp.staff_type", "sp.daily_rate_cents", "sp.currency", "sp.license_number", "u.display_name",
  "sp.row_version", "sp.created_at", "sp.updated_at", "sp.created_by", "sp.updated_by",
];

const toProfile = (r: StaffRow): StaffProfile => ({
  id: r.id,
  userId: r.user_id,
  attributes: {
    staffType: r.staff_type,
    dailyRate: r.daily_rate_cents === null || r.currency === null ? null : { amountMinor: r.daily_rate_cents, currency: r.currency },
    licenseNumber: r.license_number,
  },
  displayName: r.display_name,
  rowVersion: r.row_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  createdBy: r.created_by,
  updatedBy: r.updated_by,
});

const attributeColumns = (p: StaffProfile) => ({
  staff_type: p.attributes.staffType,
  daily_rate_cents: p.attributes.dailyRate?.amountMinor ?? null,
  currency: p.attributes.dailyRate?.currency ?? null,
  license_number: p.attributes.licenseNumber,
});

export function createStaffProfileRepository(db: Database): StaffProfileRepository {
  const q = () => db.executor();
  const base = () => q()("staff_profiles as sp").join("users as u", "u.id", "sp.user_id").select(COLUMNS);
  const one = async (query: ReturnType<typeof base>): Promise<StaffProfile | null> => {
    const row = (await query.first()) as StaffRow | undefined;
    return row ? toProfile(row) : null;
  };
  return {
    async insert(profile) {
      try {
        await q()("staff_profiles").insert({
          id: profile.id,
          user_id: profile.userId,
          ...attributeColumns(profile),
          row_version: profile.rowVersion,
          created_at: profile.createdAt,
          updated_at: profile.updatedAt,
          created_by: profile.createdBy,
          updated_by: profile.updatedBy,
        });
      } catch (err) {
        if (isPgError(err, PG_UNIQUE_VIOLATION, "staff_profiles_user_id_key")) throw staffProfileExists(profile.userId);
        throw err;
      }
    },
    findById: (id) => one(base().where("sp.id", id)),
    findByIdForUpdate: (id) => one(base().where("sp.id", id).forUpdate("sp")),
    findByUserId: (userId) => one(base().where("sp.user_id", userId)),
    async update(profile, expectedRowVersion) {
      const count = await q()("staff_profiles").where({ id: profile.id, row_version: expectedRowVersion }).update({
        ...attributeColumns(profile),
        row_version: profile.rowVersion,
        updated_at: profile.updatedAt,
        updated_by: profile.updatedBy,
      });
      return count === 1;
    },
    async list(filter, limit, after) {
      let query = base();
      if (filter.staffType) query = query.where("sp.staff_type", filter.staffType);
      if (after) query = query.whereRaw("(u.display_name, sp.id) > (?, ?::uuid)", [after[0]!, after[1]!]);
      const rows = (await query.orderBy([{ column: "u.display_name" }, { column: "sp.id" }]).limit(limit)) as StaffRow[];
      return rows.map(toProfile);
    },
  };
}
