// A stand-in for an external OIDC provider in tests: a locally generated RSA
// key pair whose JWKS is written to a file and served by a tiny local HTTP
// server that counts its requests, and real RS256-signed ID tokens.
import { generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import jwt from "jsonwebtoken";
import { testTempDir } from "../../platform/src/testing/harness.js";

export const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token";
export const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";

export interface ExternalIssuer {
  /** The `iss` of its tokens: its base URL, e.g. http://127.0.0.1:PORT/realms/test. */
  readonly issuer: string;
  readonly audience: string;
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwksFile: string;
  readonly jwksUrl: string;
  /** HTTP requests the server answered (JWKS fetches, or anything else). */
  readonly hits: () => number;
  /** An ID token of this issuer; claims and options override the defaults (a verified email, one group). */
  idToken(claims?: Record<string, unknown>, options?: jwt.SignOptions): string;
  close(): Promise<void>;
}

/** Starts an issuer whose JWKS is served at `<issuer>/jwks` and written to a file. */
export async function startExternalIssuer(options: { audience?: string } = {}): Promise<ExternalIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomUUID().slice(0, 8);
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] });
  const jwksFile = join(testTempDir("fleetmesh-oidc-"), "jwks.json");
  writeFileSync(jwksFile, jwks);
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/realms/test`;
  const audience = options.audience ?? `fleetmesh-${randomUUID().slice(0, 8)}`;
  return {
    issuer,
    audience,
    kid,
    privateKey,
    jwksFile,
    jwksUrl: `${issuer}/jwks`,
    hits: () => hits,
    idToken: (claims = {}, signOptions = {}) =>
      jwt.sign(
        { sub: randomUUID(), email: `ext-${randomUUID().slice(0, 8)}@example.test`, email_verified: true, name: "Erin External", ...claims },
        privateKey,
        { algorithm: "RS256", keyid: kid, issuer, audience, expiresIn: 300, ...signOptions },
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A JWT signed by `key` with any header (for forged and key-carrying tokens). */
export function signWithHeader(payload: Record<string, unknown>, key: KeyObject, header: Record<string, unknown>): string {
  return jwt.sign(payload, key, { algorithm: "RS256", header: { alg: "RS256", ...header } as jwt.JwtHeader });
}
