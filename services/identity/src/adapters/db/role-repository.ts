import { randomUUID } from "node:crypto";
import type { Database, Knex } from "../../../../platform/src/db.js";
import type { Role, RoleRepository } from "../../app/ports.js";

interface RoleRow {
  id: string;
  name: string;
  description: string;
  permissions: string[];
}

const toRole = (r: RoleRow): Role => ({ id: r.id, name: r.name, description: r.description, permissions: r.permissions });

const roleColumns = (k: Knex | Knex.Transaction) => [
  "r.id", "r.name", "r.description",
  k.raw("ARRAY(SELECT p.name FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id = r.id ORDER BY p.name) AS permissions"),
];

/** Serialises catalog syncs of several replicas starting at once. */
const CATALOG_LOCK = "fleetmesh.identity.role_catalog";

export function createRoleRepository(db: Database): RoleRepository {
  const q = () => db.executor();
  return {
    async syncCatalog(catalog, permissions) {
      const k = q();
      await k.raw("SELECT pg_advisory_xact_lock(hashtext(?))", [CATALOG_LOCK]);
      const names = [...new Set([...permissions, ...catalog.flatMap((r) => r.permissions)])];
      await k.raw(
        `INSERT INTO permissions (id, name) SELECT * FROM unnest(?::uuid[], ?::text[]) ON CONFLICT (name) DO NOTHING`,
        [names.map(() => randomUUID()), names],
      );
      await k.raw(
        `INSERT INTO roles (id, name, description) SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[])
         ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, updated_at = now()
         WHERE roles.description IS DISTINCT FROM EXCLUDED.description`,
        [catalog.map(() => randomUUID()), catalog.map((r) => r.name), catalog.map((r) => r.description)],
      );
      const pairs = catalog.flatMap((r) => r.permissions.map((p) => [r.name, p] as const));
      const roleCol = pairs.map(([r]) => r);
      const permCol = pairs.map(([, p]) => p);
      await k.raw(
        `INSERT INTO role_permissions (role_id, permission_id)
         SELECT r.id, p.id FROM unnest(?::text[], ?::text[]) AS c(role, perm)
           JOIN roles r ON r.name = c.role JOIN permissions p ON p.name = c.perm
         ON CONFLICT DO NOTHING`,
        [roleCol, permCol],
      );
      // The catalog is the source: a permission taken out of a catalog role is taken out here too.
      await k.raw(
        `DELETE FROM role_permissions rp USING roles r, permissions p
          WHERE rp.role_id = r.id AND rp.permission_id = p.id AND r.name = ANY(?::text[])
            AND NOT EXISTS (SELECT 1 FROM unnest(?::text[], ?::text[]) AS c(role, perm) WHERE c.role = r.name AND c.perm = p.name)`,
        [catalog.map((r) => r.name), roleCol, permCol],
      );
    },
    async findByNames(names) {
      if (names.length === 0) return [];
      const k = q();
      const rows = (await k("roles as r").select(roleColumns(k)).whereIn("r.name", [...names])) as RoleRow[];
      return rows.map(toRole);
    },
    async permissionsOf(roleNames) {
      if (roleNames.length === 0) return [];
      const rows = await q()
        .distinct("p.name")
        .from("roles as r")
        .join("role_permissions as rp", "rp.role_id", "r.id")
        .join("permissions as p", "p.id", "rp.permission_id")
        .whereIn("r.name", [...roleNames])
        .orderBy("p.name") as Array<{ name: string }>;
      return rows.map((r) => r.name);
    },
    async list(limit, after) {
      const k = q();
      let query = k("roles as r").select(roleColumns(k));
      if (after) query = query.whereRaw("(r.name, r.id) > (?, ?::uuid)", [after[0]!, after[1]!]);
      const rows = (await query.orderBy([{ column: "r.name" }, { column: "r.id" }]).limit(limit)) as RoleRow[];
      return rows.map(toRole);
    },
  };
}
