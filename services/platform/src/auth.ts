import { createPublicKey, type KeyObject, type JsonWebKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import jwt from "jsonwebtoken";
import { authorization, type MethodAuthorization } from "../../../gen/fleetmesh/common/v1/options_pb.js";
import type { AuthConfig } from "./config.js";
import { DomainError } from "./errors.js";

/** Who is calling: derived from a verified access token, never from request fields. */
export interface Caller {
  readonly subject: string;
  readonly roles: readonly string[];
  readonly permissions: ReadonlySet<string>;
  /** Staff profile id of a staff member, if the token carries one. */
  readonly staffId?: string;
  /** Customer id of a customer, if the token carries one. */
  readonly customerId?: string;
  readonly tokenId?: string;
  readonly anonymous: boolean;
}

export const ANONYMOUS: Caller = { subject: "", roles: [], permissions: new Set(), anonymous: true };


/** Claims Fleet mesh access tokens carry besides the registered ones. */
export interface AccessTokenClaims {
  readonly sub: string;
  readonly roles?: readonly string[];
  readonly permissions?: readonly string[];
  readonly staff_id?: string;
  readonly customer_id?: string;
  readonly jti?: string;
}

const unauthenticated = (reason: string, message: string): DomainError =>
  new DomainError("unauthenticated", reason, message);

/** Headers that would let a token choose its own verification key. */
const KEY_CARRYING_HEADERS = ["jwk", "jku", "x5u", "x5c"] as const;

export interface TokenVerifier {
  verify(bearer: string | undefined): Promise<Caller>;
}

export interface JwksDocument {
  readonly keys: ReadonlyArray<JsonWebKey & { kid?: string; alg?: string; use?: string }>;
}

export function loadJwks(file: string): JwksDocument {
  return JSON.parse(readFileSync(file, "utf8")) as JwksDocument;
}

/**
 * JWK members that are private key material (RFC 7518 §6.2.2, §6.4): any one
 * of them in a published key set leaks the signing key (RSA's primes alone
 * rebuild `d`), so a key set holding one is refused whole, never filtered.
 */
export const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/** The public members each key type may publish; everything else is dropped when re-serving. */
const PUBLIC_JWK_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ["kty", "n", "e"],
  EC: ["kty", "crv", "x", "y"],
  OKP: ["kty", "crv", "x"],
};
const JWK_METADATA_MEMBERS = ["kid", "alg", "use", "key_ops"] as const;

/** Why a key set is not fit to verify with or to publish. */
export class UnsafeJwksError extends Error {
  override readonly name = "UnsafeJwksError";
}

/**
 * Refuses a key set that carries private key material or symmetric keys,
 * naming the offending key and members so an operator can fix the source.
 */
export function assertPublicJwks(jwks: unknown, source: string): asserts jwks is JwksDocument {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new UnsafeJwksError(`${source}: not a JWKS (no "keys" array)`);
  keys.forEach((jwk: Record<string, unknown>, i) => {
    const name = typeof jwk?.["kid"] === "string" ? `key ${jwk["kid"]}` : `key #${i + 1}`;
    const leaked = PRIVATE_JWK_MEMBERS.filter((m) => jwk !== null && typeof jwk === "object" && m in jwk);
    if (leaked.length > 0) {
      throw new UnsafeJwksError(
        `${source}: ${name} carries private key material (${leaked.join(", ")}); a JWKS must hold public keys only — ` +
          "publish the output of the identity service's /.well-known/jwks.json or regenerate the file",
      );
    }
    if (typeof jwk?.["kty"] !== "string" || !(jwk["kty"] in PUBLIC_JWK_MEMBERS)) {
      throw new UnsafeJwksError(`${source}: ${name} has key type ${String(jwk?.["kty"])}; only asymmetric public keys (RSA, EC, OKP) are accepted`);
    }
  });
}

/**
 * The same key set with public members only: what may be served to anyone.
 * Throws {@link UnsafeJwksError} rather than silently stripping a leaked key.
 */
export function publicJwksOf(jwks: unknown, source: string): JwksDocument {
  assertPublicJwks(jwks, source);
  return {
    keys: jwks.keys.map((jwk) => {
      const record = jwk as Readonly<Record<string, unknown>>;
      const allowed = [...PUBLIC_JWK_MEMBERS[jwk.kty as string]!, ...JWK_METADATA_MEMBERS];
      return Object.fromEntries(allowed.filter((m) => record[m] !== undefined).map((m) => [m, record[m]])) as JsonWebKey;
    }),
  };
}

function keysOf(jwks: JwksDocument, source: string): Map<string, KeyObject> {
  assertPublicJwks(jwks, source);
  const keys = new Map<string, KeyObject>();
  for (const jwk of jwks.keys) {
    if (!jwk.kid || (jwk.use !== undefined && jwk.use !== "sig")) continue;
    keys.set(jwk.kid, createPublicKey({ key: jwk, format: "jwk" }));
  }
  return keys;
}

/**
 * Where verification keys come from. A static set (a file, or a document in
 * tests) never changes; a URL is re-read every `jwksCacheSec`, and an unknown
 * kid triggers a re-read at most once per `jwksMinRefreshSec`, so a flood of
 * tokens with made-up kids cannot hammer the identity service.
 */
interface KeyStore {
  key(kid: string): Promise<KeyObject | undefined>;
}

function staticKeyStore(jwks: JwksDocument, source: string): KeyStore {
  const keys = keysOf(jwks, source);
  return { key: (kid) => Promise.resolve(keys.get(kid)) };
}

function remoteKeyStore(url: string, cacheSec: number, minRefreshSec: number, onRefused: (err: Error) => void): KeyStore {
  let keys = new Map<string, KeyObject>();
  let fetchedAt = 0;
  let inFlight: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (inFlight ??= (async () => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) keys = keysOf((await res.json()) as JwksDocument, url);
      } catch (err) {
        // Keep the keys we have; the next refresh may succeed. A key set with
        // private members is reported: it means the source is misconfigured.
        if (err instanceof UnsafeJwksError) onRefused(err);
      } finally {
        fetchedAt = Date.now();
        inFlight = undefined;
      }
    })());
  return {
    async key(kid) {
      const age = Date.now() - fetchedAt;
      if (fetchedAt === 0 || age > cacheSec * 1000) await refresh();
      else if (!keys.has(kid) && age > minRefreshSec * 1000) await refresh();
      return keys.get(kid);
    },
  };
}

/** Registered claims of a verified JWT (`exp` always present) plus whatever else it carries. */
export type VerifiedClaims = jwt.JwtPayload & { readonly exp: number } & Readonly<Record<string, unknown>>;

export interface JwtVerifierOptions {
  readonly issuer: string;
  /** The token's `aud` must contain this value (or one of these). */
  readonly audience: string | readonly string[];
  readonly algorithms: readonly string[];
  readonly clockToleranceSec: number;
  /** Keys: a document (tests), else `jwksUrl` (re-read as below), else `jwksFile` (read once). */
  readonly jwks?: JwksDocument | undefined;
  readonly jwksUrl?: string | undefined;
  readonly jwksFile?: string | undefined;
  readonly jwksCacheSec?: number | undefined;
  readonly jwksMinRefreshSec?: number | undefined;
  /** Told when a fetched key set is refused (private members); the previous keys stay in use. */
  readonly onJwksRefused?: ((err: Error) => void) | undefined;
}

export interface JwtVerifier {
  /** The claims of a compact JWT that passes every check; UNAUTHENTICATED otherwise. */
  verify(token: string): Promise<VerifiedClaims>;
}

const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Header and payload of a compact JWT, NOT verified: only for choosing how to
 * verify it (kid, alg, iss). Null when it is not a well-formed JWT (where
 * jsonwebtoken's decode would throw on a payload that is not JSON).
 */
export function decodeUnverified(token: string): jwt.Jwt | null {
  if (!COMPACT_JWT.test(token)) return null;
  try {
    return jwt.decode(token, { complete: true });
  } catch {
    return null;
  }
}

/**
 * Verifies a JWT against a pinned key set and returns its raw claims:
 * signature with an allow-listed algorithm, `exp` (required), `nbf`, `iss`
 * and `aud`, with a small clock tolerance. The key is looked up by `kid` in
 * the configured key set only; keys carried in token headers (jwk, jku, x5u,
 * x5c) are refused, never fetched. Interpreting the claims is the caller's job.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  // A static key set with private members throws here, so the process refuses to start.
  const store = options.jwks
    ? staticKeyStore(options.jwks, "the configured JWKS")
    : options.jwksUrl
      ? remoteKeyStore(options.jwksUrl, options.jwksCacheSec ?? 300, options.jwksMinRefreshSec ?? 30, options.onJwksRefused ?? (() => {}))
      : staticKeyStore(loadJwks(options.jwksFile!), options.jwksFile!);
  const algorithms = [...options.algorithms] as jwt.Algorithm[];
  const audience = (typeof options.audience === "string" ? options.audience : [...options.audience]) as string | [string, ...string[]];
  return {
    async verify(token) {
      const decoded = decodeUnverified(token);
      if (!decoded || typeof decoded.payload === "string") throw unauthenticated("UNAUTHENTICATED", "malformed token");
      const header = decoded.header as unknown as Record<string, unknown>;
      if (KEY_CARRYING_HEADERS.some((h) => h in header)) {
        throw unauthenticated("UNAUTHENTICATED", "token headers may not carry keys");
      }
      if (!algorithms.includes(decoded.header.alg as jwt.Algorithm)) {
        throw unauthenticated("UNAUTHENTICATED", "token algorithm not allowed");
      }
      const kid = decoded.header.kid;
      if (typeof kid !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(kid)) throw unauthenticated("UNAUTHENTICATED", "unknown signing key");
      const key = await store.key(kid);
      if (!key) throw unauthenticated("UNAUTHENTICATED", "unknown signing key");
      let claims: jwt.JwtPayload;
      try {
        claims = jwt.verify(token, key, {
          algorithms,
          issuer: options.issuer,
          audience,
          clockTolerance: options.clockToleranceSec,
          complete: false,
        }) as jwt.JwtPayload;
      } catch (err) {
        if (err instanceof jwt.TokenExpiredError) throw unauthenticated("TOKEN_EXPIRED", "token expired");
        throw unauthenticated("UNAUTHENTICATED", `invalid token: ${(err as Error).message}`);
      }
      if (typeof claims.exp !== "number") throw unauthenticated("UNAUTHENTICATED", "token has no expiry");
      return claims as VerifiedClaims;
    },
  };
}

/**
 * Verifies bearer access tokens against a pinned key set (see
 * {@link createJwtVerifier}) and turns their claims into the Caller. The
 * same code runs in the gateway and every service.
 */
export function createTokenVerifier(
  config: AuthConfig,
  jwks?: JwksDocument,
  onJwksRefused?: (err: Error) => void,
): TokenVerifier {
  const jwtVerifier = createJwtVerifier({ ...config, jwks, onJwksRefused });
  // Verified tokens, keyed by the whole token string: a hit skips the
  // signature check (the dominant per-request cost) but never the expiry.
  const verified = new Map<string, { caller: Caller; expiresAtMs: number }>();
  const toleranceMs = config.clockToleranceSec * 1000;
  return {
    async verify(bearer) {
      const hit = bearer === undefined ? undefined : verified.get(bearer);
      if (hit) {
        if (Date.now() < hit.expiresAtMs + toleranceMs) return hit.caller;
        verified.delete(bearer!);
      }
      const result = await verifyUncached(bearer);
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(bearer!, result);
      return result.caller;
    },
  };

  async function verifyUncached(bearer: string | undefined): Promise<{ caller: Caller; expiresAtMs: number }> {
    if (bearer === undefined || bearer === "") throw unauthenticated("UNAUTHENTICATED", "missing bearer token");
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(bearer);
    if (!match?.[1]) throw unauthenticated("UNAUTHENTICATED", "malformed authorization header");
    const claims = (await jwtVerifier.verify(match[1])) as VerifiedClaims & AccessTokenClaims;
    if (typeof claims.sub !== "string" || claims.sub === "") throw unauthenticated("UNAUTHENTICATED", "token has no subject");
    const caller: Caller = {
      subject: claims.sub,
      roles: stringArray(claims.roles),
      permissions: new Set(stringArray(claims.permissions)),
      ...(typeof claims.staff_id === "string" ? { staffId: claims.staff_id } : {}),
      ...(typeof claims.customer_id === "string" ? { customerId: claims.customer_id } : {}),
      ...(typeof claims.jti === "string" ? { tokenId: claims.jti } : {}),
      anonymous: false,
    };
    return { caller, expiresAtMs: claims.exp * 1000 };
  }
}

const VERIFIED_CACHE_SIZE = 10_000;

const stringArray = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

const requirements = new WeakMap<DescMethod, MethodAuthorization | null>();

/** The authorization requirement an RPC declares in proto/ (read once per method). */
export function methodAuthorization(method: DescMethod): MethodAuthorization | undefined {
  let requirement = requirements.get(method);
  if (requirement === undefined) {
    requirement = hasOption(method, authorization) ? getOption(method, authorization) : null;
    requirements.set(method, requirement);
  }
  return requirement ?? undefined;
}

/**
 * Decides whether the caller may invoke the method. An RPC without a declared
 * requirement is refused: forgetting the option must fail closed.
 */
export function authorize(method: DescMethod, caller: Caller): void {
  const requirement = methodAuthorization(method);
  if (requirement?.anonymous) return;
  if (!requirement || requirement.permission === "") {
    throw new DomainError("permission_denied", "PERMISSION_DENIED", `${method.name} declares no permission`);
  }
  if (caller.anonymous) throw unauthenticated("UNAUTHENTICATED", "missing bearer token");
  if (!caller.permissions.has(requirement.permission)) {
    throw new DomainError("permission_denied", "PERMISSION_DENIED", `permission ${requirement.permission} required`, {
      metadata: { permission: requirement.permission },
    });
  }
}

/** Authentication is needed unless the RPC is declared anonymous. */
export const requiresToken = (method: DescMethod): boolean => methodAuthorization(method)?.anonymous !== true;
