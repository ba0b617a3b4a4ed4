// Tokens of trusted external OIDC issuers, verified with the platform kit's
// JWT verifier against each issuer's configured JWKS.
import { createJwtVerifier, decodeUnverified, type JwtVerifier } from "../../../../platform/src/auth.js";
import { DomainError } from "../../../../platform/src/errors.js";
import type { ExternalTokenVerifier } from "../../app/ports.js";
import { externalTokenRefused, type ExternalIssuerPolicy } from "../../domain/external-identity.js";

export interface ExternalIssuerSettings extends ExternalIssuerPolicy {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly algorithms: readonly string[];
  readonly clockToleranceSec: number;
  readonly jwksUrl?: string | undefined;
  /** Absolute path. */
  readonly jwksFile?: string | undefined;
  readonly jwksCacheSec: number;
  readonly jwksMinRefreshSec: number;
}

/**
 * One verifier per configured issuer, chosen by the token's (unverified) `iss`
 * by exact match. An unknown issuer is refused before anything else happens:
 * no JWKS is fetched for it, and nothing named by the token (jku, x5u, an
 * issuer's discovery document) is ever fetched. The token is then verified
 * like the platform's own tokens: pinned algorithms, `exp` required, `nbf`,
 * `iss`, `aud`, clock tolerance, key by `kid` from the issuer's JWKS.
 */
export function createExternalTokenVerifier(issuers: readonly ExternalIssuerSettings[]): ExternalTokenVerifier {
  const byIssuer = new Map<string, { policy: ExternalIssuerPolicy; verifier: JwtVerifier }>(
    issuers.map((i) => [i.issuer, { policy: i, verifier: createJwtVerifier(i) }]),
  );
  return {
    async verify(token) {
      const payload = decodeUnverified(token)?.payload;
      const iss = typeof payload === "object" ? payload.iss : undefined;
      const trusted = typeof iss === "string" ? byIssuer.get(iss) : undefined;
      if (!trusted) throw externalTokenRefused("issuer not trusted");
      try {
        return { policy: trusted.policy, claims: await trusted.verifier.verify(token) };
      } catch (err) {
        // The kit says UNAUTHENTICATED (TOKEN_EXPIRED for an expired token);
        // a subject token is a credential: INVALID_CREDENTIALS either way.
        if (err instanceof DomainError) throw externalTokenRefused(err.message);
        throw err;
      }
    },
  };
}
