import { spawn } from "node:child_process";
import { resolve } from "node:path";
import anyTest, { type TestFn } from "ava";
import { repoRoot } from "../../platform/src/db.js";
import { PASSWORD_ENV } from "../src/bootstrap-admin.js";
import { claimsOf, PASSWORD, startIdentity, type IdentityHarness } from "./support.js";

const test = anyTest as TestFn<IdentityHarness>;

test.before(async (t) => {
  t.context = await startIdentity();
});
test.after.always(async (t) => {
  await t.context.stop();
});

const SCRIPT = resolve(repoRoot, "dist/services/identity/src/bootstrap-admin.js");

/** Runs the compiled command against the harness's database, as an operator would. */
function bootstrap(h: IdentityHarness, args: string[], options: { password?: string; stdin?: string } = {}) {
  const db = h.config.database;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    FLEETMESH__DATABASE__HOST: db.host,
    FLEETMESH__DATABASE__PORT: String(db.port),
    FLEETMESH__DATABASE__DATABASE: db.database,
    FLEETMESH__DATABASE__USER: db.user,
    FLEETMESH__DATABASE__PASSWORD: db.password,
    FLEETMESH__PASSWORDS__SCRYPT__COST: "1024",
    ...(options.password === undefined ? {} : { [PASSWORD_ENV]: options.password }),
  };
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { env, cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}

test.serial("creates the first administrator, who can log in; running it again changes nothing", async (t) => {
  const h = t.context;
  const first = await bootstrap(h, ["--email", "Boss@Example.test", "--display-name", "The Boss"], { password: "bootstrap-secret-42" });
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /created administrator boss@example\.test \(user [0-9a-f-]{36}\)/);
  t.false(first.stdout.includes("bootstrap-secret-42") || first.stderr.includes("bootstrap-secret-42"));
  const login = await h.client.login({ email: "boss@example.test", password: "bootstrap-secret-42" });
  t.deepEqual(login.user?.roles, ["admin"]);
  t.is(login.user?.attributes?.displayName, "The Boss");
  t.true((claimsOf(login.tokens!.accessToken)["permissions"] as string[]).includes("roles.assign"));

  const again = await bootstrap(h, ["--email", "boss@example.test"], { password: "a-different-secret-7" });
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /already holds the admin role/);
  t.truthy((await h.client.login({ email: "boss@example.test", password: "bootstrap-secret-42" })).tokens, "password unchanged");
});

test.serial("reads the password from stdin, and grants admin to an existing user", async (t) => {
  const h = t.context;
  const user = await h.user(["customer"]);
  const res = await bootstrap(h, ["--email", user.email], { stdin: "stdin-secret-pass-1\n" });
  t.is(res.code, 0, res.stderr);
  t.regex(res.stdout, /already existed; granted the admin role/);
  const login = await h.client.login({ email: user.email, password: PASSWORD });
  t.deepEqual(login.user?.roles, ["admin", "customer"]);
  const created = await bootstrap(h, ["--email", "piped@example.test"], { stdin: "stdin-secret-pass-1\n" });
  t.is(created.code, 0, created.stderr);
  t.truthy((await h.client.login({ email: "piped@example.test", password: "stdin-secret-pass-1" })).tokens, "the newline is not part of it");
});

test.serial("refuses weak or missing passwords and bad arguments, and writes nothing", async (t) => {
  const h = t.context;
  const weak = await bootstrap(h, ["--email", "weak@example.test"], { password: "admin" });
  t.is(weak.code, 2);
  t.regex(weak.stderr, /WEAK_PASSWORD/);
  const empty = await bootstrap(h, ["--email", "empty@example.test"], { stdin: "" });
  t.is(empty.code, 2);
  const noEmail = await bootstrap(h, [], { password: "bootstrap-secret-42" });
  t.is(noEmail.code, 2);
  t.regex(noEmail.stderr, /usage/);
  const unknown = await bootstrap(h, ["--email", "x@example.test", "--password", "inline-is-not-allowed"], { password: "bootstrap-secret-42" });
  t.is(unknown.code, 2, "no password on the command line");
  const rows = await h.db.admin.query("SELECT count(*)::int AS n FROM users WHERE email IN ('weak@example.test', 'empty@example.test', 'x@example.test')");
  t.is(rows.rows[0].n, 0);
});
