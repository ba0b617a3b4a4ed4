import type { Database, Knex } from "../../../../platform/src/db.js";
import type { ServiceClientRepository } from "../../app/ports.js";
import type { ServiceClient, ServiceClientStatus } from "../../domain/service-client.js";

interface ClientRow {
  id: string;
  client_id: string;
  name: string;
  description: string;
  status: ServiceClientStatus;
  secret_hint: string;
  last_use_time: Date | null;
  revoke_time: Date | null;
  revoke_reason: string | null;
  created_at: Date;
  created_by: string | null;
  roles: string[];
}

/** Every column but the secret digest, which only findCredentials reads. */
const clientColumns = (k: Knex | Knex.Transaction) => [
  "c.id", "c.client_id", "c.name", "c.description", "c.status", "c.secret_hint", "c.last_use_time", "c.revoke_time",
  "c.revoke_reason", "c.created_at", "c.created_by",
  k.raw("ARRAY(SELECT r.name FROM service_client_roles cr JOIN roles r ON r.id = cr.role_id WHERE cr.service_client_id = c.id ORDER BY r.name) AS roles"),
];

const toClient = (r: ClientRow): ServiceClient => ({
  id: r.id,
  clientId: r.client_id,
  name: r.name,
  description: r.description,
  roles: r.roles,
  status: r.status,
  secretHint: r.secret_hint,
  lastUseTime: r.last_use_time,
  revokeTime: r.revoke_time,
  revokeReason: r.revoke_reason,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

export function createServiceClientRepository(db: Database): ServiceClientRepository {
  const q = () => db.executor();
  const base = () => {
    const k = q();
    return k("service_clients as c").select(clientColumns(k));
  };
  return {
    async insert(client, secretDigest, roleIds) {
      await q()("service_clients").insert({
        id: client.id,
        client_id: client.clientId,
        name: client.name,
        description: client.description,
        secret_hash: secretDigest,
        secret_hint: client.secretHint,
        status: client.status,
        created_at: client.createdAt,
        created_by: client.createdBy,
      });
      if (roleIds.length > 0) {
        await q()("service_client_roles").insert(roleIds.map((roleId) => ({ service_client_id: client.id, role_id: roleId })));
      }
    },
    async findById(id) {
      const row = (await base().where("c.id", id).first()) as ClientRow | undefined;
      return row ? toClient(row) : null;
    },
    async findByIdForUpdate(id) {
      const row = (await base().where("c.id", id).forUpdate().first()) as ClientRow | undefined;
      return row ? toClient(row) : null;
    },
    async findCredentials(clientId) {
      const row = (await base().select("c.secret_hash").where("c.client_id", clientId).first()) as (ClientRow & { secret_hash: Buffer }) | undefined;
      return row ? { client: toClient(row), secretDigest: row.secret_hash } : null;
    },
    async revoke(id, at, reason) {
      await q()("service_clients").where({ id }).update({ status: "revoked", revoke_time: at, revoke_reason: reason });
    },
    async recordUse(id, at) {
      await q()("service_clients").where({ id }).update({ last_use_time: at });
    },
    async list(filter, limit, after) {
      let query = base();
      if (!filter.includeRevoked) query = query.where("c.status", "active");
      if (after) query = query.whereRaw("(c.name, c.id) > (?, ?::uuid)", [after[0]!, after[1]!]);
      const rows = (await query.orderBy([{ column: "c.name" }, { column: "c.id" }]).limit(limit)) as ClientRow[];
      return rows.map(toClient);
    },
  };
}
