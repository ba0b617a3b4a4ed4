import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Secrets } from "../../app/ports.js";

/**
 * Refresh tokens and client secrets carry 256 random bits, so a fast digest
 * (SHA-256) is enough to store them: nobody can guess a preimage, and unlike
 * a password hash it costs microseconds per token request. Passwords, which
 * people choose, get scrypt instead.
 */
export function createSecrets(): Secrets {
  const digest = (secret: string): Buffer => createHash("sha256").update(secret, "utf8").digest();
  return {
    newRefreshToken: () => randomBytes(32).toString("base64url"),
    newClientId: () => `svc_${randomBytes(16).toString("hex")}`,
    // A recognisable prefix lets secret scanners find leaked secrets.
    newClientSecret: () => `fmcs_${randomBytes(32).toString("base64url")}`,
    digest,
    matches(secret, stored) {
      const presented = digest(secret);
      return stored.length === presented.length && timingSafeEqual(presented, stored);
    },
  };
}
