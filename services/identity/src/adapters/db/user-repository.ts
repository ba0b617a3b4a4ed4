import type { Database, Knex } from "../../../../platform/src/db.js";
import { isPgError, PG_UNIQUE_VIOLATION } from "../../../../platform/src/db.js";
import type { UnitOfWork, UserRepository } from "../../app/ports.js";
import { emailTaken, type User, type UserStatus } from "../../domain/user.js";

interface UserRow {
  id: string;
  email: string;
  display_name: string;
  phone_number: string | null;
  has_password: boolean;
  status: UserStatus;
  disable_time: Date | null;
  disable_reason: string | null;
  last_login_time: Date | null;
  row_version: bigint;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  updated_by: string | null;
  roles: string[];
}

const toUser = (r: UserRow): User => ({
  id: r.id,
  attributes: { email: r.email, displayName: r.display_name, phoneNumber: r.phone_number },
  status: r.status,
  roles: r.roles,
  hasPassword: r.has_password,
  lastLoginTime: r.last_login_time,
  disableTime: r.disable_time,
  disableReason: r.disable_reason,
  rowVersion: r.row_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  createdBy: r.created_by,
  updatedBy: r.updated_by,
});

/** Every column but the password hash, plus the role names. The hash is read only by findCredentials/findPasswordHash. */
const userColumns = (k: Knex | Knex.Transaction) => [
  "u.id", "u.email", "u.display_name", "u.phone_number", "u.status", "u.disable_time", "u.disable_reason",
  "u.last_login_time", "u.row_version", "u.created_at", "u.updated_at", "u.created_by", "u.updated_by",
  k.raw("(u.password_hash IS NOT NULL) AS has_password"),
  k.raw("ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = u.id ORDER BY r.name) AS roles"),
];

/** LIKE pattern of a literal substring. */
const containing = (s: string): string => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function createUserRepository(db: Database): UserRepository {
  const q = () => db.executor();
  const mapUnique = (err: unknown): unknown => (isPgError(err, PG_UNIQUE_VIOLATION, "users_email_key") ? emailTaken() : err);

  return {
    async insert(user, passwordHash) {
      try {
        await q()("users").insert({
          id: user.id,
          email: user.attributes.email,
          display_name: user.attributes.displayName,
          phone_number: user.attributes.phoneNumber,
          password_hash: passwordHash,
          status: user.status,
          disable_time: user.disableTime,
          disable_reason: user.disableReason,
          last_login_time: user.lastLoginTime,
          row_version: user.rowVersion,
          created_at: user.createdAt,
          updated_at: user.updatedAt,
          created_by: user.createdBy,
          updated_by: user.updatedBy,
        });
      } catch (err) {
        throw mapUnique(err);
      }
    },
    async findById(id) {
      const k = q();
      const row = await k("users as u").select(userColumns(k)).where("u.id", id).first<UserRow | undefined>();
      return row ? toUser(row) : null;
    },
    async findByIdForUpdate(id) {
      const k = q();
      const row = await k("users as u").select(userColumns(k)).where("u.id", id).forUpdate().first<UserRow | undefined>();
      return row ? toUser(row) : null;
    },
    async findByEmail(email) {
      const k = q();
      const row = await k("users as u").select(userColumns(k)).where("u.email", email).first<UserRow | undefined>();
      return row ? toUser(row) : null;
    },
    async findCredentialsByEmail(email) {
      const k = q();
      const row = await k("users as u")
        .select([...userColumns(k), "u.password_hash"])
        .where("u.email", email)
        .first<(UserRow & { password_hash: string | null }) | undefined>();
      return row ? { user: toUser(row), passwordHash: row.password_hash } : null;
    },
    async findPasswordHash(id) {
      const row = await q()("users").where({ id }).first<{ password_hash: string | null } | undefined>("password_hash");
      return row?.password_hash ?? null;
    },
    async update(user, expectedRowVersion) {
      try {
        const count = await q()("users").where({ id: user.id, row_version: expectedRowVersion }).update({
          email: user.attributes.email,
          display_name: user.attributes.displayName,
          phone_number: user.attributes.phoneNumber,
          status: user.status,
          disable_time: user.disableTime,
          disable_reason: user.disableReason,
          row_version: user.rowVersion,
          updated_at: user.updatedAt,
          updated_by: user.updatedBy,
        });
        return count === 1;
      } catch (err) {
        throw mapUnique(err);
      }
    },
    async setPasswordHash(id, passwordHash) {
      await q()("users").where({ id }).update({ password_hash: passwordHash });
    },
    async recordLogin(id, at) {
      await q()("users").where({ id }).update({ last_login_time: at });
    },
    async list(filter, limit, after) {
      const k = q();
      let query = k("users as u").select(userColumns(k));
      if (filter.status) query = query.where("u.status", filter.status);
      if (filter.role) {
        query = query.whereExists(
          k("user_roles as ur").join("roles as r", "r.id", "ur.role_id").whereRaw("ur.user_id = u.id").where("r.name", filter.role).select(k.raw("1")),
        );
      }
      if (filter.query) {
        const pattern = containing(filter.query);
        query = query.where((w) => w.whereRaw("u.email ILIKE ? ESCAPE '\\'", [pattern]).orWhereRaw("u.display_name ILIKE ? ESCAPE '\\'", [pattern]));
      }
      if (after) query = query.whereRaw("(u.email, u.id) > (?::citext, ?::uuid)", [after[0]!, after[1]!]);
      const rows = await query.orderBy([{ column: "u.email" }, { column: "u.id" }]).limit(limit) as UserRow[];
      return rows.map(toUser);
    },
    async addRole(userId, roleId, at, by) {
      const rows = await q()("user_roles")
        .insert({ user_id: userId, role_id: roleId, granted_at: at, granted_by: by })
        .onConflict(["user_id", "role_id"])
        .ignore()
        .returning("user_id");
      return rows.length === 1;
    },
    async removeRole(userId, roleId) {
      return (await q()("user_roles").where({ user_id: userId, role_id: roleId }).delete()) === 1;
    },
  };
}

export const createUnitOfWork = (db: Database): UnitOfWork => ({
  run: (work) => db.transaction(() => work()),
});
