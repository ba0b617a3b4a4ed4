import { resolve } from "node:path";
import { loadConfig, serviceConfigSchema, z } from "../../platform/src/config.js";
import { repoRoot } from "../../platform/src/db.js";

const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const windowSchema = (limit: number, windowSec: number) =>
  z.strictObject({ limit: int(1, 1_000_000).default(limit), windowSec: int(1, 86_400).default(windowSec) }).default({ limit, windowSec });

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
    })
    .default({
      failOpen: false,
      loginFailures: { limit: 5, windowSec: 900 },
      clientCredentials: { limit: 30, windowSec: 60 },
      refresh: { limit: 30, windowSec: 60 },
    }),
});

export type IdentityConfig = z.output<typeof identityConfigSchema>;

export function loadIdentityConfig(env: NodeJS.ProcessEnv = process.env): IdentityConfig {
  const extra = env["FLEETMESH_CONFIG_FILE"];
  return loadConfig(identityConfigSchema, {
    files: [resolve(repoRoot, "services/identity/config/default.yaml"), ...(extra ? [extra] : [])],
    env,
    secretPaths: ["database.password"],
  });
}
