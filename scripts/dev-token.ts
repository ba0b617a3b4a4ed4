// Prints a development access token signed with the local dev key.
//   node dist/scripts/dev-token.js [--permissions a,b] [--roles admin] [--ttl 3600] [--sub <uuid>]
// Without --permissions the token carries every permission declared in proto/.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import jwt from "jsonwebtoken";
import { allPermissions } from "./lib/catalog.js";
import { ensureDevKeys } from "./dev-keys.js";

export const DEV_ISSUER = "https://identity.fleetmesh.local";
export const DEV_AUDIENCE = "fleetmesh";
export const DEV_ADMIN_SUBJECT = "00000000-0000-4000-8000-000000000001";

export interface DevTokenOptions {
  readonly permissions?: readonly string[];
  readonly roles?: readonly string[];
  readonly ttlSec?: number;
  readonly subject?: string;
}

export async function devToken(options: DevTokenOptions = {}): Promise<string> {
  const { kid, privateKeyPem } = ensureDevKeys();
  return jwt.sign(
    {
      roles: options.roles ?? ["admin"],
      permissions: options.permissions ?? (await allPermissions()),
    },
    privateKeyPem,
    {
      algorithm: "RS256",
      keyid: kid,
      issuer: DEV_ISSUER,
      audience: DEV_AUDIENCE,
      subject: options.subject ?? DEV_ADMIN_SUBJECT,
      expiresIn: options.ttlSec ?? 3600,
      jwtid: randomUUID(),
    },
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      permissions: { type: "string" },
      roles: { type: "string" },
      ttl: { type: "string" },
      sub: { type: "string" },
    },
  });
  const split = (s: string | undefined) => (s === undefined ? undefined : s.split(",").map((x) => x.trim()).filter(Boolean));
  const permissions = split(values.permissions);
  const roles = split(values.roles);
  const token = await devToken({
    ...(permissions ? { permissions } : {}),
    ...(roles ? { roles } : {}),
    ...(values.ttl ? { ttlSec: Number(values.ttl) } : {}),
    ...(values.sub ? { subject: values.sub } : {}),
  });
  process.stdout.write(`${token}\n`);
}
