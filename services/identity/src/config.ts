import { resolve } from "node:path";
import { configFilesOf, listOf, loadConfig, SERVICE_SECRET_PATHS, serviceConfigSchema, z } from "../../platform/src/config.js";
import { repoRoot } from "../../platform/src/db.js";
import { roleMappingProblems } from "./domain/external-identity.js";

const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const windowSchema = (limit: number, windowSec: number) =>
  z.strictObject({ limit: int(1, 1_000_000).default(limit), windowSec: int(1, 86_400).default(windowSec) }).default({ limit, windowSec });

/** HTTPS, or plain HTTP to this machine only (tests, a local mock provider). */
const jwksUrl = z.string().url().refine((u) => {
  const { protocol, hostname } = new URL(u);
  return protocol === "https:" || (protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(hostname));
}, "must be an https:// URL (http:// only to localhost)");

/**
 * A trusted external OIDC issuer for delegated login (ExchangeExternalToken).
 * Lists do not fit environment variables: operators put these in the YAML
 * file named by FLEETMESH_CONFIG_FILE.
 */
export const externalIssuerSchema = z
  .strictObject({
    /** Operator's name for the issuer (logs, rate-limit keys). */
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be lower case letters, digits, - and _"),
    /** Exactly the token's `iss` claim. */
    issuer: z.string().min(1),
    /** The token's `aud` must contain this (the client id registered at the provider), or one of these. */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** The provider's JWKS; a relative jwksFile is from the repository root. One of the two is required. */
    jwksUrl: jwksUrl.optional(),
    jwksFile: z.string().min(1).optional(),
    jwksCacheSec: int(10, 86_400).default(300),
    jwksMinRefreshSec: int(1, 3_600).default(30),
    algorithms: listOf(z.enum(["RS256", "PS256", "ES256"]), 1).default(["RS256"]),
    clockToleranceSec: int(0, 300).default(30),
    emailClaim: z.string().min(1).default("email"),
    /** The `email_verified` claim must be true. */
    requireEmailVerified: bool.default(true),
    /** An array of strings or a space-separated string. */
    rolesClaim: z.string().min(1).default("groups"),
    /** External role or group -> Fleet mesh role name (from the role catalog). */
    roleMapping: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** Mapping a group to "admin" is refused unless this is true. */
    allowAdminMapping: bool.default(false),
    /** Create an active user with the mapped roles on first login; otherwise the email must exist already. */
    autoProvision: bool.default(false),
  })
  .refine((i) => (i.jwksUrl === undefined) !== (i.jwksFile === undefined), { message: "set exactly one of jwksUrl or jwksFile", path: ["jwksUrl"] })
  .superRefine((i, ctx) => {
    for (const message of roleMappingProblems(i.roleMapping, i.allowAdminMapping)) ctx.addIssue({ code: "custom", message, path: ["roleMapping"] });
  });

export type ExternalIssuerConfig = z.output<typeof externalIssuerSchema>;

/** The platform's service configuration plus token issuing, password hashing, Redis and rate limits. */
export const identityConfigSchema = serviceConfigSchema.extend({
  tokens: z.strictObject({
    issuer: z.string().min(1),
    audience: z.string().min(1),
    /** PEM file of RSA private keys, the first one current; relative paths are from the repository root. */
    signingKeysFile: z.string().min(1),
    accessTokenTtlSec: int(60, 86_400).default(900),
    refreshTokenTtlSec: int(300, 365 * 86_400).default(30 * 86_400),
  }),
  passwords: z
    .strictObject({
      scrypt: z
        .strictObject({
          cost: int(2, 2 ** 20).refine((n) => (n & (n - 1)) === 0, "must be a power of two").default(32_768),
          blockSize: int(1, 32).default(8),
          parallelization: int(1, 16).default(1),
        })
        .default({ cost: 32_768, blockSize: 8, parallelization: 1 }),
    })
    .default({ scrypt: { cost: 32_768, blockSize: 8, parallelization: 1 } }),
  redis: z.strictObject({
    url: z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL"),
    keyPrefix: z.string().default("fm:identity:"),
    connectTimeoutMs: int(50, 60_000).default(1_000),
    commandTimeoutMs: int(10, 60_000).default(500),
  }),
  rateLimits: z
    .strictObject({
      failOpen: bool.default(false),
      loginFailures: windowSchema(5, 900),
      clientCredentials: windowSchema(30, 60),
      refresh: windowSchema(30, 60),
      externalExchange: windowSchema(10, 60),
    })
    .default({
      failOpen: false,
      loginFailures: { limit: 5, windowSec: 900 },
      clientCredentials: { limit: 30, windowSec: 60 },
      refresh: { limit: 30, windowSec: 60 },
      externalExchange: { limit: 10, windowSec: 60 },
    }),
  /** Trusted external OIDC issuers (delegated login); none by default. */
  externalIssuers: z.array(externalIssuerSchema).default([]),
}).superRefine((c, ctx) => {
  const seen = { name: new Set<string>(), issuer: new Set<string>() };
  c.externalIssuers.forEach((i, n) => {
    if (seen.name.has(i.name)) ctx.addIssue({ code: "custom", message: `duplicate name "${i.name}"`, path: ["externalIssuers", n, "name"] });
    if (seen.issuer.has(i.issuer)) ctx.addIssue({ code: "custom", message: `duplicate issuer "${i.issuer}"`, path: ["externalIssuers", n, "issuer"] });
    if (i.issuer === c.tokens.issuer) {
      ctx.addIssue({ code: "custom", message: "must differ from tokens.issuer (this service's own tokens)", path: ["externalIssuers", n, "issuer"] });
    }
    seen.name.add(i.name);
    seen.issuer.add(i.issuer);
  });
});

export type IdentityConfig = z.output<typeof identityConfigSchema>;

export function loadIdentityConfig(env: NodeJS.ProcessEnv = process.env): IdentityConfig {
  return loadConfig(identityConfigSchema, {
    files: configFilesOf(resolve(repoRoot, "services/identity/config/default.yaml"), "identity", env),
    env,
    secretPaths: SERVICE_SECRET_PATHS,
  });
}
