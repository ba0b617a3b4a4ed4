import { readFileSync } from "node:fs";
import test from "ava";
import { renderRolesMarkdown, ROLES_DOC } from "../../../scripts/docs-roles.js";
import { ROLE_CATALOG } from "../src/domain/role-catalog.js";

test("docs/roles.md is generated from the role catalog (run: node dist/scripts/docs-roles.js --write)", (t) => {
  t.is(readFileSync(ROLES_DOC, "utf8"), renderRolesMarkdown());
});

test("docs/roles.md: '## Permissions by role' is a machine-readable table of every role", (t) => {
  const doc = readFileSync(ROLES_DOC, "utf8");
  const section = doc.split("## Permissions by role")[1]!.split("\n## ")[0]!;
  const rows = section
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| role ") && !l.startsWith("| ---"))
    .map((l) => l.split("|").map((c) => c.trim()).filter((c) => c !== ""));
  const parsed = Object.fromEntries(rows.map(([role, permissions]) => [role!, permissions!.split(",").map((p) => p.trim()).sort()]));
  t.deepEqual(parsed, Object.fromEntries(ROLE_CATALOG.map((r) => [r.name, [...r.permissions].sort()])));
  t.false(section.includes("`"), "no backticks in the table");
});
