// The service registry for shell scripts (scripts/up.sh, scripts/common.sh).
//   node dist/scripts/registry.js names       one service name a line
//   node dist/scripts/registry.js processes   name, entry point, ops port and its env (KEY=VALUE), tab-separated,
//                                             for the values in FLEET_LOCAL_DIR, FLEET_REDIS_PORT, FLEET_KAFKA_PORT, FLEET_PG_PORT
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../services/platform/src/db.js";
import { loadServiceRegistry, localEnvOf } from "../services/platform/src/registry.js";

export function registryLines(command: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const { services } = loadServiceRegistry();
  if (command === "names") return services.map((s) => s.name);
  if (command === "processes") {
    const values = {
      dev: resolve(env["FLEET_LOCAL_DIR"] ?? resolve(repoRoot, ".local"), "dev"),
      redisPort: env["FLEET_REDIS_PORT"] ?? "56379",
      kafka: `127.0.0.1:${env["FLEET_KAFKA_PORT"] ?? "59092"}`,
      pgPort: env["FLEET_PG_PORT"] ?? "55432",
    };
    return services.map((s) => [s.name, s.main, String(s.ports.ops), ...Object.entries(localEnvOf(s, values)).map(([k, v]) => `${k}=${v}`)].join("\t"));
  }
  throw new Error(`usage: registry.js names|processes (got ${command})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    for (const line of registryLines(process.argv[2] ?? "")) process.stdout.write(`${line}\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}
