// Local development only (`npm run up`): makes sure every service of
// services/registry.yaml that calls peers has an identity service client with
// the mesh_service role, plus its own <service>_service role when identity's
// catalog has one (maintenance: maintenance_service), so that it can call its
// peers as itself (serviceCredential). Its secret is kept in $FLEET_LOCAL_DIR/dev/<service>-client.json
// (mode 0600), which up.sh passes to the service as
// FLEETMESH__SERVICE_CREDENTIAL__CLIENT_ID / __CLIENT_SECRET.
//
//   node dist/scripts/service-clients.js
//
// Runs after scripts/migrate.ts and before the services start: it writes
// directly into identity's database with identity's own repository code and
// identity's configuration (loadIdentityConfig: YAML plus FLEETMESH__
// overrides, FLEETMESH__DATABASE__PASSWORD = identity's app password). The
// role catalog is seeded first (identity does the same at start). Idempotent:
// a client whose file still matches an active client holding all those roles
// is kept; otherwise a new one is created, and the previous local clients of that
// service (same name) are revoked. Deployments create their service clients
// with CreateServiceClient instead (docs/deploy-eks.md).
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Caller } from "../services/platform/src/auth.js";
import { createDatabase, pendingMigrations, repoRoot, type Database } from "../services/platform/src/db.js";
import { loadServiceRegistry } from "../services/platform/src/registry.js";
import type { IdentityDependencies } from "../services/identity/src/app/dependencies.js";
import { createServiceClientUseCases } from "../services/identity/src/app/service-client-use-cases.js";
import { createSecrets } from "../services/identity/src/adapters/crypto/secrets.js";
import { createRoleRepository } from "../services/identity/src/adapters/db/role-repository.js";
import { createServiceClientRepository } from "../services/identity/src/adapters/db/service-client-repository.js";
import { createUnitOfWork } from "../services/identity/src/adapters/db/user-repository.js";
import { catalogPermissionsOf, PERMISSIONS, ROLE_CATALOG, roleDefinition } from "../services/identity/src/domain/role-catalog.js";
import { loadIdentityConfig } from "../services/identity/src/config.js";

export const SERVICE_ROLE = "mesh_service";

/** mesh_service, plus the service's own role when the catalog has one (maintenance_service: blocks on rental's timeline). */
export const rolesOf = (service: string): string[] =>
  [SERVICE_ROLE, ...(roleDefinition(`${service}_service`) ? [`${service}_service`] : [])];

/** What $FLEET_LOCAL_DIR/dev/<service>-client.json holds. */
export interface LocalServiceClient {
  readonly service: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export const clientNameOf = (service: string): string => `${service} (local development)`;

export const clientFileOf = (devDir: string, service: string): string => resolve(devDir, `${service}-client.json`);

function readClientFile(file: string): LocalServiceClient | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<LocalServiceClient>;
    return typeof parsed.clientId === "string" && typeof parsed.clientSecret === "string" ? (parsed as LocalServiceClient) : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary file created 0600, then renamed: never readable by others, never half-written. */
function writeClientFile(file: string, client: LocalServiceClient): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(client, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** The services that call peers (and so need a credential), from services/registry.yaml. */
export const servicesWithPeers = (): string[] => loadServiceRegistry().services.filter((s) => s.peers.length > 0).map((s) => s.name);

export async function ensureServiceClients(db: Database, devDir: string, services: readonly string[]): Promise<string[]> {
  const clients = createServiceClientRepository(db);
  const roles = createRoleRepository(db);
  const uow = createUnitOfWork(db);
  const secrets = createSecrets();
  await uow.run(() => roles.syncCatalog(ROLE_CATALOG, PERMISSIONS));
  const [role] = await roles.findByNames([SERVICE_ROLE]);
  if (!role) throw new Error(`role ${SERVICE_ROLE} is not in identity's role catalog`);
  // This script stands in for an administrator who may grant exactly these roles.
  const grantable = catalogPermissionsOf(services.flatMap(rolesOf));
  const caller: Caller = { subject: "local-service-clients", roles: [], permissions: new Set(grantable), anonymous: false };
  const useCases = createServiceClientUseCases({
    clients, roles, uow, secrets, clock: { now: () => new Date() }, ids: { newId: randomUUID },
  } as unknown as IdentityDependencies);

  const report: string[] = [];
  for (const service of services) {
    const file = clientFileOf(devDir, service);
    const name = clientNameOf(service);
    const saved = readClientFile(file);
    let keep: string | undefined;
    if (saved) {
      const found = await clients.findCredentials(saved.clientId);
      if (found && found.client.status === "active" && rolesOf(service).every((r) => found.client.roles.includes(r)) &&
        secrets.matches(saved.clientSecret, found.secretDigest)) {
        keep = found.client.id;
        writeClientFile(file, { service, clientId: saved.clientId, clientSecret: saved.clientSecret }); // re-asserts mode 0600
        report.push(`${service}: service client ${saved.clientId} (${rolesOf(service).join(", ")}) kept`);
      }
    }
    if (!keep) {
      const { client, secret } = await useCases.createServiceClient(caller, {
        name,
        description: `${service}'s own client for npm run up (secret in ${file})`,
        roles: rolesOf(service),
      });
      writeClientFile(file, { service, clientId: client.clientId, clientSecret: secret });
      keep = client.id;
      report.push(`${service}: service client ${client.clientId} (${rolesOf(service).join(", ")}) created, secret in ${file}`);
    }
    // One local client per service: earlier ones (a lost or stale file) are revoked.
    for (const other of await clients.list({ includeRevoked: false }, 1000, null)) {
      if (other.name === name && other.id !== keep) {
        await useCases.revokeServiceClient({ id: other.id, reason: "replaced by npm run up" });
        report.push(`${service}: earlier local client ${other.clientId} revoked`);
      }
    }
  }
  return report;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const devDir = resolve(process.env["FLEET_LOCAL_DIR"] ?? resolve(repoRoot, ".local"), "dev");
  const config = loadIdentityConfig();
  const db = createDatabase({ ...config.database, poolMax: 2 }, "identity-local-service-clients");
  try {
    const pending = await pendingMigrations(db.knex, config.database.migrationsDir);
    if (pending.length > 0) throw new Error(`the identity database has pending migrations (${pending.join(", ")}); migrate first`);
    for (const line of await ensureServiceClients(db, devDir, servicesWithPeers())) process.stdout.write(`${line}\n`);
  } catch (err) {
    process.stderr.write(`service-clients: ${(err as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    await db.close();
  }
}
