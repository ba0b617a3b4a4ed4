// The signing key ring: one PEM file holding one or more RSA private keys
// (PKCS#8 "PRIVATE KEY" blocks). The first key signs; the others are previous
// keys, still published in the JWKS so tokens they signed verify until they
// expire. Rotating = put the new key first, keep the old one second for at
// least one access-token lifetime, restart.
import { createHash, createPrivateKey, createPublicKey, randomUUID, type JsonWebKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import jwt from "jsonwebtoken";
import { publicJwksOf } from "../../../../platform/src/auth.js";
import type { AccessTokenSigner } from "../../app/ports.js";

export interface PublicJwk extends JsonWebKey {
  readonly kid: string;
  readonly alg: "RS256";
  readonly use: "sig";
}

export interface KeyRing {
  readonly current: { readonly kid: string; readonly privateKey: KeyObject };
  /** Public parts of every key, current first. */
  readonly jwks: { readonly keys: readonly PublicJwk[] };
}

const PEM_BLOCK = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+?-----END (RSA )?PRIVATE KEY-----/g;
const MIN_MODULUS_BITS = 2048;

/**
 * kid = first 16 characters of base64url(sha256("<n>.<e>")) of the public
 * JWK: the same as scripts/dev-keys.ts, so dev tokens and identity share keys.
 */
export function kidOf(jwk: { n?: string | undefined; e?: string | undefined }): string {
  return createHash("sha256").update(`${jwk.n}.${jwk.e}`).digest("base64url").slice(0, 16);
}

export function keyRingFromPem(pem: string, source = "signing keys"): KeyRing {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM private key found`);
  const keys = blocks.map((block, i) => {
    const privateKey = createPrivateKey(block);
    if (privateKey.asymmetricKeyType !== "rsa") throw new Error(`${source}: key ${i + 1} is not an RSA key`);
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_MODULUS_BITS) throw new Error(`${source}: key ${i + 1} has ${bits} bits; at least ${MIN_MODULUS_BITS} are required`);
    const { n, e } = createPublicKey(privateKey).export({ format: "jwk" });
    const kid = kidOf({ n, e });
    return { kid, privateKey, jwk: { kty: "RSA", n, e, kid, alg: "RS256", use: "sig" } as PublicJwk };
  });
  const kids = new Set(keys.map((k) => k.kid));
  if (kids.size !== keys.length) throw new Error(`${source}: the same key appears twice`);
  // Through the same gate as every served key set, so a change here can never publish a private member.
  const jwks = publicJwksOf({ keys: keys.map((k) => k.jwk) }, source) as KeyRing["jwks"];
  return { current: { kid: keys[0]!.kid, privateKey: keys[0]!.privateKey }, jwks };
}

export const loadKeyRing = (file: string): KeyRing => keyRingFromPem(readFileSync(file, "utf8"), file);

/** RS256 access tokens signed with the ring's current key. */
export function createJwtSigner(ring: KeyRing, options: { issuer: string; audience: string }): AccessTokenSigner {
  return {
    sign(claims, ttlSec, now) {
      const iat = Math.floor(now.getTime() / 1000);
      const exp = iat + ttlSec;
      const tokenId = randomUUID();
      const token = jwt.sign(
        { ...claims, iss: options.issuer, aud: options.audience, iat, exp, jti: tokenId },
        ring.current.privateKey,
        { algorithm: "RS256", keyid: ring.current.kid },
      );
      return { token, expiresAt: new Date(exp * 1000), tokenId };
    },
  };
}
