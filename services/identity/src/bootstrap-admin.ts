// Creates the first administrator. There is no default password: it comes
// from FLEET_BOOTSTRAP_ADMIN_PASSWORD or from stdin (when stdin is not a
// terminal), and must meet the password policy.
//
//   FLEET_BOOTSTRAP_ADMIN_PASSWORD=... node dist/services/identity/src/bootstrap-admin.js --email admin@example.com [--display-name "Ada Admin"]
//   printf '%s' "$PASSWORD" | node dist/services/identity/src/bootstrap-admin.js --email admin@example.com
//
// Uses the identity service's configuration (loadIdentityConfig: YAML plus
// FLEETMESH__ overrides, FLEETMESH__DATABASE__PASSWORD). Idempotent: seeds the
// role catalog, creates the user with the admin role, or, when the email
// exists, makes sure it holds the admin role (its password is left alone).
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createDatabase, pendingMigrations } from "../../platform/src/db.js";
import { DomainError } from "../../platform/src/errors.js";
import { createRelayNotifier } from "../../platform/src/events/outbox.js";
import { createUserUseCases } from "./app/user-use-cases.js";
import { createScryptPasswordHasher } from "./adapters/crypto/scrypt-password-hasher.js";
import { createEventOutbox } from "./adapters/db/event-outbox.js";
import { createRefreshTokenRepository } from "./adapters/db/refresh-token-repository.js";
import { createRoleRepository } from "./adapters/db/role-repository.js";
import { createStaffProfileRepository } from "./adapters/db/staff-profile-repository.js";
import { createUnitOfWork, createUserRepository } from "./adapters/db/user-repository.js";
import { loadIdentityConfig } from "./config.js";

export const PASSWORD_ENV = "FLEET_BOOTSTRAP_ADMIN_PASSWORD";

const USAGE = `usage: bootstrap-admin --email <email> [--display-name <name>]
  password from ${PASSWORD_ENV}, or from stdin when stdin is not a terminal`;

async function readPassword(): Promise<string> {
  const fromEnv = process.env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (process.stdin.isTTY) throw new UsageError(`no password: set ${PASSWORD_ENV} or pipe the password on stdin`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is the terminator of `echo`, not part of the password.
  return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
}

class UsageError extends Error {}

export async function bootstrapAdmin(argv: readonly string[]): Promise<string> {
  const { values } = parseArgs({
    args: [...argv],
    options: { email: { type: "string" }, "display-name": { type: "string" } },
    strict: true,
  });
  if (!values.email) throw new UsageError(USAGE);
  const password = await readPassword();
  const config = loadIdentityConfig();
  const db = createDatabase({ ...config.database, poolMax: 2 }, "identity-bootstrap-admin");
  try {
    const pending = await pendingMigrations(db.knex, config.database.migrationsDir);
    if (pending.length > 0) throw new UsageError(`the identity database has pending migrations (${pending.join(", ")}); migrate first`);
    const users = createUserUseCases({
      users: createUserRepository(db),
      roles: createRoleRepository(db),
      staff: createStaffProfileRepository(db),
      tokens: createRefreshTokenRepository(db),
      uow: createUnitOfWork(db),
      // No relay in this process: the running service's relay is told below.
      outbox: createEventOutbox(db),
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
      hasher: createScryptPasswordHasher(config.passwords.scrypt),
    });
    const result = await users.bootstrapAdmin({ email: values.email, displayName: values["display-name"] ?? "Administrator", password });
    if (result.created || result.roleGranted) {
      // Wake the service's active relay now rather than at its fallback poll.
      const relays = createRelayNotifier(db.knex);
      relays.notify();
      await relays.settled();
    }
    const who = `${result.user.attributes.email} (user ${result.user.id})`;
    if (result.created) return `created administrator ${who}`;
    const status = result.user.status === "disabled" ? "; note: the user is DISABLED" : "";
    return result.roleGranted ? `${who} already existed; granted the admin role${status}` : `${who} already holds the admin role${status}`;
  } finally {
    await db.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  bootstrapAdmin(process.argv.slice(2)).then(
    (message) => {
      process.stdout.write(`${message}\n`);
    },
    (err: unknown) => {
      if (err instanceof DomainError) {
        const details = err.fieldViolations.map((v) => `${v.field}: ${v.description}`).join("; ");
        process.stderr.write(`bootstrap-admin: ${err.reason}: ${details || err.message}\n`);
        process.exitCode = 2;
      } else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
        process.stderr.write(`bootstrap-admin: ${(err as Error).message}\n`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`bootstrap-admin: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    },
  );
}
