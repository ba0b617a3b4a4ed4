// Tests only: one piece of infrastructure of a test's own (a PostgreSQL, a
// Kafka broker), run by scripts/infra/infra.sh in its own directory and on
// its own ports, so that stopping it leaves the shared one running.
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "../db.js";

export interface PrivateInfra {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it and deletes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

/** `env` must name FLEET_LOCAL_DIR (`dir`), FLEET_INFRA_COMPONENTS and the ports. */
export function privateInfra(dir: string, env: NodeJS.ProcessEnv): PrivateInfra {
  const infra = (command: string) =>
    promisify(execFile)("bash", [join(repoRoot, "scripts/infra/infra.sh"), command], { env, cwd: repoRoot, timeout: 120_000 });
  let destroyed = false;
  return {
    start: async () => {
      await infra("start");
    },
    stop: async () => {
      await infra("stop");
    },
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await infra("stop").catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
