// Runs a command (the test runner) against the infrastructure FLEET_TEST_INFRA
// selects. "local": runs it as it is (scripts/infra/infra.sh started the
// processes). "containers": starts PostgreSQL, Kafka and Redis with
// testcontainers, creates the project's topics, runs the command with their
// addresses in the environment, and removes the containers afterwards.
//   node dist/scripts/with-test-infra.js -- ava [args...]
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../services/platform/src/db.js";
import { freePort } from "../services/platform/src/testing/kafka.js";
import { startTestContainers, testInfraMode } from "../services/platform/src/testing/infra.js";

const run = (command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> =>
  new Promise((done, fail) => {
    const child = spawn(command, [...args], { stdio: "inherit", env });
    child.once("error", fail);
    child.once("exit", (code, signal) => done(code ?? (signal ? 128 : 1)));
  });

async function main(argv: readonly string[]): Promise<number> {
  const separator = argv.indexOf("--");
  const [command, ...args] = separator >= 0 ? argv.slice(separator + 1) : argv;
  if (!command) throw new Error("usage: with-test-infra -- <command> [args...]");
  if (testInfraMode() === "local") return run(command, args, process.env);

  process.stdout.write("[test-infra] starting PostgreSQL, Kafka and Redis containers (testcontainers)\n");
  const containers = await startTestContainers({ superuserPassword: "postgres", freePort });
  try {
    const env = { ...process.env, ...containers.environment };
    process.stdout.write(`[test-infra] ${Object.entries(containers.environment).filter(([k]) => !k.includes("PASSWORD")).map(([k, v]) => `${k}=${v}`).join(" ")}\n`);
    const topics = await run(process.execPath, [resolve(repoRoot, "scripts/kafka/create-topics.mjs")], env);
    if (topics !== 0) throw new Error("creating the topics failed");
    return await run(command, args, env);
  } finally {
    await containers.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`[test-infra] ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
