// Creates the local development signing key and its JWKS (idempotent).
// Never used outside a developer machine or CI: production keys come from
// the identity service and a secret store.
import { createPrivateKey, createPublicKey, generateKeyPairSync, createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { publicJwksOf } from "../services/platform/src/auth.js";
import { repoRoot } from "../services/platform/src/db.js";

export const devDir = resolve(process.env["FLEET_LOCAL_DIR"] ?? resolve(repoRoot, ".local"), "dev");
export const devKeyFile = resolve(devDir, "signing-key.pem");
export const devJwksFile = resolve(devDir, "jwks.json");

export function ensureDevKeys(): { kid: string; privateKeyPem: string } {
  mkdirSync(devDir, { recursive: true, mode: 0o700 });
  if (!existsSync(devKeyFile)) {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(devKeyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
  }
  const privateKeyPem = readFileSync(devKeyFile, "utf8");
  // From the public key, never by deleting members from the private JWK: an
  // RSA private JWK also carries p, q, dp, dq and qi, each enough to rebuild
  // the key. publicJwksOf refuses the file should anything private remain.
  const { kty, n, e } = createPublicKey(createPrivateKey(privateKeyPem)).export({ format: "jwk" });
  const kid = createHash("sha256").update(`${n}.${e}`).digest("base64url").slice(0, 16);
  const jwks = publicJwksOf({ keys: [{ kty, n, e, kid, alg: "RS256", use: "sig" }] }, devJwksFile);
  writeFileSync(devJwksFile, JSON.stringify(jwks, null, 2));
  return { kid, privateKeyPem };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  ensureDevKeys();
  process.stdout.write(`${devJwksFile}\n`);
}
