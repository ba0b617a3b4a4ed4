// Container entry point (copied to /app/bin/run.mjs in the image): the first
// argument selects what the container runs, the rest is passed on.
//
//   run.mjs gateway | fleet | rental | maintenance | identity | ledger
//   run.mjs migrate [service ...]          provision databases and apply migrations
//   run.mjs create-topics [--dry-run] ...  create the Kafka topics of scripts/kafka/topics.yaml
//   run.mjs list                           what this image contains
//
// The target module runs in this process (no child process: signals reach it
// directly). Each entry point starts only when it is the main module
// (`import.meta.url === pathToFileURL(process.argv[1])`), so argv[1] is set to
// the target's path before it is imported.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// In the image this file is /app/bin/run.mjs; in the repository scripts/deploy/run.mjs.
const root = process.env["FLEETMESH_APP_ROOT"] ?? resolve(here, "..", existsSync(join(here, "..", "dist")) ? "" : "..");

const SERVICES = ["fleet", "rental", "maintenance", "identity", "ledger"];
const targets = {
  gateway: "dist/gateway/src/main.js",
  ...Object.fromEntries(SERVICES.map((s) => [s, `dist/services/${s}/src/main.js`])),
  migrate: "dist/scripts/migrate.js",
  "create-topics": "scripts/kafka/create-topics.mjs",
};

const die = (message) => {
  process.stderr.write(`run: ${message}\n`);
  process.exit(2);
};

const [command, ...rest] = process.argv.slice(2);

if (command === undefined || command === "help" || command === "--help" || command === "-h") {
  process.stdout.write(
    "usage: run.mjs <gateway|fleet|rental|maintenance|identity|ledger|migrate|create-topics|list> [args...]\n",
  );
  process.exit(command === undefined ? 2 : 0);
}

if (command === "list") {
  for (const [name, path] of Object.entries(targets)) {
    process.stdout.write(`${name.padEnd(14)} ${existsSync(join(root, path)) ? "available" : "not in this image (not implemented yet)"}\n`);
  }
  process.exit(0);
}

const relative = targets[command];
if (relative === undefined) die(`unknown component '${command}' (expected one of: ${Object.keys(targets).join(", ")})`);
const target = join(root, relative);
if (!existsSync(target)) die(`'${command}' is not in this image (${relative} missing): the component is not implemented yet`);

if (command === "migrate") {
  // migrate.js silently skips service names it does not know; refuse them here
  // so a migration Job never "succeeds" without migrating anything. A separate
  // module instance (query string) is loaded only to read SERVICE_DATABASES.
  const { SERVICE_DATABASES } = await import(`${pathToFileURL(target).href}?inspect`);
  const known = SERVICE_DATABASES.map((d) => d.service);
  const unknown = rest.filter((s) => !known.includes(s));
  if (unknown.length) die(`migrate: no database defined for ${unknown.join(", ")} in this image (known: ${known.join(", ")})`);
}

if (SERVICES.includes(command) || command === "gateway") {
  if (rest.length) die(`'${command}' takes no arguments (configure it with FLEETMESH_CONFIG_FILE and FLEETMESH__* variables)`);
}

process.argv.splice(1, process.argv.length - 1, target, ...rest);
await import(pathToFileURL(target).href);
