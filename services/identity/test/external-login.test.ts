import { writeFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { ConfigError } from "../../platform/src/config.js";
import { DomainError } from "../../platform/src/errors.js";
import { identityConfigSchema, loadIdentityConfig } from "../src/config.js";
import {
  externalRolesOf,
  mapExternalRoles,
  readExternalIdentity,
  roleMappingProblems,
  rolesToAdd,
  type ExternalIssuerPolicy,
} from "../src/domain/external-identity.js";
import { testTempDir } from "../../platform/src/testing/harness.js";

// Configuration of trusted external issuers (validated at load time) and the
// pure claim mapping of delegated login.

const ENV = { FLEETMESH__DATABASE__PASSWORD: "x" };
const base = () => loadIdentityConfig(ENV);
const issuer = (over: Record<string, unknown> = {}) => ({
  name: "sso",
  issuer: "https://login.example.com/realms/staff",
  audience: "fleetmesh",
  jwksUrl: "https://login.example.com/realms/staff/certs",
  ...over,
});
const problemsOf = (externalIssuers: unknown[]): string[] => {
  const result = identityConfigSchema.safeParse({ ...base(), externalIssuers });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

test("no external issuer by default", (t) => {
  t.deepEqual(base().externalIssuers, []);
});

test("an issuer's defaults: RS256, email claim, verified email required, groups claim, no auto-provisioning, no admin", (t) => {
  const parsed = identityConfigSchema.parse({ ...base(), externalIssuers: [issuer()] }).externalIssuers[0]!;
  t.like(parsed, {
    algorithms: ["RS256"],
    emailClaim: "email",
    requireEmailVerified: true,
    rolesClaim: "groups",
    roleMapping: {},
    autoProvision: false,
    allowAdminMapping: false,
    clockToleranceSec: 30,
  });
});

test("mapping to admin is refused at load time unless allowAdminMapping is true", (t) => {
  const problems = problemsOf([issuer({ roleMapping: { "it-admins": "admin" } })]);
  t.deepEqual(problems, ['externalIssuers.0.roleMapping: "it-admins" maps to "admin": set allowAdminMapping: true to allow it']);
  t.deepEqual(problemsOf([issuer({ roleMapping: { "it-admins": "admin" }, allowAdminMapping: true })]), []);
});

test("mapping to an unknown role or to a service-client role is refused at load time", (t) => {
  const problems = problemsOf([issuer({ roleMapping: { a: "superuser", b: "partner", c: "fleet_manager" } })]);
  t.is(problems.length, 2);
  t.regex(problems[0]!, /"a" maps to unknown role "superuser"/);
  t.regex(problems[1]!, /"b" maps to "partner", a service-client role/);
});

test("keys: exactly one of jwksUrl and jwksFile; https only, except to localhost", (t) => {
  t.regex(problemsOf([issuer({ jwksUrl: undefined })]).join(), /set exactly one of jwksUrl or jwksFile/);
  t.regex(problemsOf([issuer({ jwksFile: "keys.json" })]).join(), /set exactly one of jwksUrl or jwksFile/);
  t.regex(problemsOf([issuer({ jwksUrl: "http://login.example.com/certs" })]).join(), /https/);
  t.deepEqual(problemsOf([issuer({ jwksUrl: "http://127.0.0.1:8081/certs" })]), []);
  t.regex(problemsOf([issuer({ algorithms: ["HS256"] })]).join(), /algorithms/);
});

test("issuers are unique by name and by iss, and none may be identity itself", (t) => {
  const own = base().tokens.issuer;
  const problems = problemsOf([issuer(), issuer({ issuer: own }), issuer({ name: "other" })]);
  t.true(problems.some((p) => /externalIssuers\.1\.name: duplicate name "sso"/.test(p)));
  t.true(problems.some((p) => /externalIssuers\.1\.issuer: must differ from tokens\.issuer/.test(p)));
  t.true(problems.some((p) => /externalIssuers\.2\.issuer: duplicate issuer/.test(p)));
});

test("operators configure issuers in the FLEETMESH_CONFIG_FILE YAML; a bad mapping stops the start", (t) => {
  const dir = testTempDir("fleetmesh-config-");
  const good = join(dir, "good.yaml");
  writeFileSync(good, [
    "externalIssuers:",
    "  - name: corporate-sso",
    "    issuer: https://login.example.com/realms/staff",
    "    audience: fleetmesh",
    "    jwksUrl: https://login.example.com/realms/staff/certs",
    "    roleMapping: { fleet-managers: fleet_manager, counter-staff: rental_agent }",
    "    autoProvision: true",
  ].join("\n"));
  const config = loadIdentityConfig({ ...ENV, FLEETMESH_CONFIG_FILE: good });
  t.like(config.externalIssuers[0], { name: "corporate-sso", autoProvision: true, roleMapping: { "fleet-managers": "fleet_manager" } });
  const bad = join(dir, "bad.yaml");
  writeFileSync(bad, "externalIssuers:\n  - {name: x, issuer: https://x, audience: y, jwksUrl: https://x/k, roleMapping: {root: admin}}\n");
  const err = t.throws(() => loadIdentityConfig({ ...ENV, FLEETMESH_CONFIG_FILE: bad }), { instanceOf: ConfigError });
  t.regex(err?.message ?? "", /maps to "admin"/);
});

const policy: ExternalIssuerPolicy = {
  name: "sso",
  emailClaim: "email",
  requireEmailVerified: true,
  rolesClaim: "groups",
  roleMapping: { managers: "fleet_manager", agents: "rental_agent", "also-managers": "fleet_manager" },
  autoProvision: false,
};

test("claims map to roles: arrays or space-separated strings, unmapped groups ignored, duplicates merged", (t) => {
  t.deepEqual(externalRolesOf(["a", 1, "b"]), ["a", "b"]);
  t.deepEqual(externalRolesOf(" a  b "), ["a", "b"]);
  t.deepEqual(externalRolesOf({ a: 1 }), []);
  t.deepEqual(mapExternalRoles(["agents", "managers", "also-managers", "nobody", "constructor", "__proto__"], policy.roleMapping), ["fleet_manager", "rental_agent"]);
  t.deepEqual(rolesToAdd(["customer", "fleet_manager"], ["fleet_manager", "rental_agent"]), ["rental_agent"]);
});

test("readExternalIdentity: subject, normalised verified email, display name, mapped roles", (t) => {
  const id = readExternalIdentity(policy, { iss: "https://x", sub: "abc", email: " Erin@Example.COM ", email_verified: true, given_name: "Erin", family_name: "E", groups: "managers" });
  t.deepEqual(id, { issuer: "https://x", subject: "abc", email: "erin@example.com", displayName: "Erin E", roles: ["fleet_manager"] });
  t.is(readExternalIdentity(policy, { sub: "abc", email: "e@x.io", email_verified: true }).displayName, "e");
  t.is(readExternalIdentity({ ...policy, requireEmailVerified: false, emailClaim: "upn" }, { sub: "s", upn: "u@x.io" }).email, "u@x.io");
  for (const claims of [
    { email: "e@x.io", email_verified: true },
    { sub: "", email: "e@x.io", email_verified: true },
    { sub: "s", email_verified: true },
    { sub: "s", email: "e@x.io", email_verified: false },
    { sub: "s", email: "e@x.io", email_verified: "true" },
    { sub: "s", email: "nope", email_verified: true },
  ]) {
    const err = t.throws(() => readExternalIdentity(policy, claims), { instanceOf: DomainError }, JSON.stringify(claims));
    t.is(err?.reason, "INVALID_CREDENTIALS");
  }
});

test("roleMappingProblems is what configuration runs", (t) => {
  t.deepEqual(roleMappingProblems({ a: "customer", b: "mechanic" }, false), []);
  t.is(roleMappingProblems({ a: "admin" }, false).length, 1);
  t.deepEqual(roleMappingProblems({ a: "admin" }, true), []);
});
