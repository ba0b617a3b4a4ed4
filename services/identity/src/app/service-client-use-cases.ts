import type { Caller } from "../../../platform/src/auth.js";
import { invalidArgument } from "../../../platform/src/errors.js";
import { decodePageToken, pageSize, toPage } from "../../../platform/src/paging.js";
import { assertMayGrantRoles } from "../domain/access.js";
import { serviceClientNotFound, validateServiceClient, type ServiceClient } from "../domain/service-client.js";
import { roleNotFound } from "../domain/user.js";
import { actorIdOf, type IdentityDependencies, type Page, type PageInput } from "./dependencies.js";

/** OAuth 2.0 clients of the client_credentials grant (partners, service accounts). */
export function createServiceClientUseCases(deps: IdentityDependencies) {
  const { clients, roles, uow, clock, ids, secrets } = deps;

  return {
    /** The secret is returned here only; the service keeps its SHA-256. */
    async createServiceClient(
      caller: Caller,
      input: { name: string; description: string; roles: readonly string[] },
    ): Promise<{ client: ServiceClient; secret: string }> {
      const name = input.name.trim();
      const description = input.description.trim();
      const violations = validateServiceClient({ name, description });
      if (violations.length > 0) throw invalidArgument(violations);
      const roleNames = [...new Set(input.roles)].sort();
      const granted = await roles.findByNames(roleNames);
      for (const role of roleNames) if (!granted.some((r) => r.name === role)) throw roleNotFound(role);
      assertMayGrantRoles(caller, granted);
      const secret = secrets.newClientSecret();
      const client: ServiceClient = {
        id: ids.newId(),
        clientId: secrets.newClientId(),
        name,
        description,
        roles: roleNames,
        status: "active",
        secretHint: secret.slice(-4),
        lastUseTime: null,
        revokeTime: null,
        revokeReason: null,
        createdAt: clock.now(),
        createdBy: actorIdOf(caller),
      };
      await uow.run(() => clients.insert(client, secrets.digest(secret), granted.map((r) => r.id)));
      return { client, secret };
    },

    async getServiceClient(id: string): Promise<ServiceClient> {
      const client = await clients.findById(id);
      if (!client) throw serviceClientNotFound(id);
      return client;
    },

    async listServiceClients(input: { includeRevoked: boolean } & PageInput): Promise<Page<ServiceClient>> {
      const query = JSON.stringify(["clients", input.includeRevoked]);
      const after = decodePageToken(input.pageToken, query, 2);
      const limit = pageSize(input.pageSize);
      const rows = await clients.list({ includeRevoked: input.includeRevoked }, limit + 1, after);
      return toPage(rows, limit, query, (c) => [c.name, c.id]);
    },

    /** For good; idempotent. Access tokens already issued expire normally. */
    async revokeServiceClient(input: { id: string; reason: string }): Promise<ServiceClient> {
      return uow.run(async () => {
        const client = await clients.findByIdForUpdate(input.id);
        if (!client) throw serviceClientNotFound(input.id);
        if (client.status === "revoked") return client;
        const now = clock.now();
        const reason = input.reason.trim() === "" ? null : input.reason.trim();
        await clients.revoke(client.id, now, reason);
        return { ...client, status: "revoked" as const, revokeTime: now, revokeReason: reason };
      });
    },
  };
}

export type ServiceClientUseCases = ReturnType<typeof createServiceClientUseCases>;
