// Provisions each service database (roles, extensions, grants) and applies its
// migrations. Safe to run any number of times.
//   node dist/scripts/migrate.js [service ...]
// Environment: FLEET_PG_HOST, FLEET_PG_PORT, FLEET_PG_SUPERUSER_PASSWORD (provisioning),
// <SERVICE>_DB_OWNER_PASSWORD and <SERVICE>_DB_APP_PASSWORD for each service.
import { pathToFileURL } from "node:url";
import knexFactory from "knex";
import { migrate, provisionDatabase, type ConnectionSettings } from "../services/platform/src/db.js";
import { databaseOf, loadServiceRegistry } from "../services/platform/src/registry.js";

export interface ServiceDatabase {
  readonly service: string;
  readonly database: string;
  readonly ownerRole: string;
  readonly appRole: string;
  readonly migrationsDir: string;
}

/** Each service owns one database; none reads another's. From services/registry.yaml. */
export const SERVICE_DATABASES: readonly ServiceDatabase[] = loadServiceRegistry().services.map(databaseOf);

export async function provisionAndMigrate(
  target: ServiceDatabase,
  superuser: ConnectionSettings,
  passwords: { owner: string; app: string },
): Promise<string[]> {
  await provisionDatabase({
    superuser,
    database: target.database,
    owner: { role: target.ownerRole, password: passwords.owner },
    app: { role: target.appRole, password: passwords.app },
  });
  const knex = knexFactory({
    client: "pg",
    connection: { ...superuser, database: target.database, user: target.ownerRole, password: passwords.owner },
    pool: { min: 0, max: 1 },
  });
  try {
    return await migrate(knex, target.migrationsDir);
  } finally {
    await knex.destroy();
  }
}

const requireEnv = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const wanted = process.argv.slice(2);
  const superuser: ConnectionSettings = {
    host: process.env["FLEET_PG_HOST"] ?? "127.0.0.1",
    port: Number(process.env["FLEET_PG_PORT"] ?? 55432),
    database: "postgres",
    user: process.env["FLEET_PG_SUPERUSER"] ?? "postgres",
    password: requireEnv("FLEET_PG_SUPERUSER_PASSWORD"),
  };
  for (const target of SERVICE_DATABASES.filter((t) => wanted.length === 0 || wanted.includes(t.service))) {
    const prefix = target.service.toUpperCase();
    const applied = await provisionAndMigrate(target, superuser, {
      owner: requireEnv(`${prefix}_DB_OWNER_PASSWORD`),
      app: requireEnv(`${prefix}_DB_APP_PASSWORD`),
    });
    process.stdout.write(`${target.service}: ${applied.length ? `applied ${applied.join(", ")}` : "up to date"}\n`);
  }
}
