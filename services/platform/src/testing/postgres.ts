// Test support: a PostgreSQL server of a test's own, for tests that stop and
// restart one. The shared server (127.0.0.1:55432) that other tests and
// developers use keeps running. Used only by tests.
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectionSettings } from "../db.js";
import { freePort } from "./kafka.js";
import { privateInfra } from "./private-infra.js";

export interface PrivatePostgres {
  readonly superuser: ConnectionSettings;
  /** Starts it (initdb on first start), as scripts/infra/infra.sh does for the shared one. */
  start(): Promise<void>;
  /** pg_ctl stop -m fast: open connections are terminated (57P01), new ones refused. */
  stop(): Promise<void>;
  /** Stops it and deletes its data. Safe to call twice. */
  destroy(): Promise<void>;
}

/**
 * A private PostgreSQL 15, started and stopped by scripts/infra/infra.sh with
 * its own data directory (under the temp dir) and port.
 */
export async function createPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "fleetmesh-pg-"));
  // PostgreSQL runs as the postgres OS user (never root): it must reach the data dir.
  chmodSync(dir, 0o711);
  const port = await freePort();
  const password = "postgres";
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FLEET_LOCAL_DIR: dir,
    FLEET_INFRA_COMPONENTS: "postgres",
    FLEET_PG_PORT: String(port),
    FLEET_PG_SUPERUSER_PASSWORD: password,
  };
  return {
    superuser: { host: "127.0.0.1", port, database: "postgres", user: "postgres", password },
    ...privateInfra(dir, env),
  };
}
