import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { IdentityService } from "../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { publicJwksOf, UnsafeJwksError } from "../../services/platform/src/auth.js";
import { REQUEST_ID_HEADER } from "../../services/platform/src/context.js";
import { GrpcCallError, type ServiceClient } from "../../services/platform/src/grpc/client.js";
import { findDetail } from "../../services/platform/src/grpc/status.js";
import type { Logger } from "../../services/platform/src/logger.js";

type Request = IncomingMessage | Http2ServerRequest;
type Response = ServerResponse | Http2ServerResponse;

export const TOKEN_PATH = "/oauth/token";
export const JWKS_PATH = "/.well-known/jwks.json";

const MAX_BODY_BYTES = 16 * 1024;

/** RFC 6749 section 5.2 error codes (and RFC 8693's invalid_target), with the HTTP status each one gets. */
type OAuthError =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "invalid_target"
  | "unsupported_grant_type"
  | "temporarily_unavailable";

/** RFC 8693 token exchange: delegated login with an external OIDC issuer's token. */
export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const SUBJECT_TOKEN_TYPES: readonly string[] = ["urn:ietf:params:oauth:token-type:id_token", "urn:ietf:params:oauth:token-type:jwt"];
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

class OAuthFailure extends Error {
  constructor(readonly error: OAuthError, readonly status: number, description: string, readonly retryAfterSec?: string) {
    super(description);
  }
}

function readForm(req: Request): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") {
      reject(new OAuthFailure("invalid_request", 400, "content-type must be application/x-www-form-urlencoded"));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new OAuthFailure("invalid_request", 400, "request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

/** Client authentication: HTTP Basic (client_secret_basic) or form fields (client_secret_post), not both. */
function clientCredentials(req: Request, form: URLSearchParams): { clientId: string; clientSecret: string } {
  const header = req.headers["authorization"];
  const fromForm = form.has("client_id") || form.has("client_secret");
  if (typeof header === "string" && header.startsWith("Basic ")) {
    if (fromForm) throw new OAuthFailure("invalid_request", 400, "use one client authentication method");
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new OAuthFailure("invalid_client", 401, "malformed basic credentials");
    // RFC 6749 2.3.1: both parts are form-urlencoded before base64.
    return { clientId: decodeURIComponent(decoded.slice(0, colon)), clientSecret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  const clientId = form.get("client_id") ?? "";
  const clientSecret = form.get("client_secret") ?? "";
  if (clientId === "" || clientSecret === "") throw new OAuthFailure("invalid_client", 401, "client authentication required");
  return { clientId, clientSecret };
}

const expiresIn = (expire: { seconds: bigint } | undefined): number =>
  expire === undefined ? 0 : Math.max(0, Number(expire.seconds) - Math.floor(Date.now() / 1000));

/** Why an exchange was refused, in words safe for the client (the reasons are documented). */
const EXCHANGE_REFUSALS: Readonly<Record<string, string>> = {
  USER_DISABLED: "user is disabled",
  EXTERNAL_USER_NOT_PROVISIONED: "no user for this identity; ask an administrator to create it",
};

/** Maps identity's gRPC errors to OAuth errors; nothing else leaks to the client. */
function oauthFailureOf(err: unknown, grant: "client_credentials" | "refresh_token" | "token_exchange"): OAuthFailure {
  if (!(err instanceof GrpcCallError)) return new OAuthFailure("temporarily_unavailable", 503, "token service unavailable");
  const reason = findDetail(err.status, ErrorInfoSchema)?.reason ?? "";
  const refusedExchange = (): OAuthFailure =>
    new OAuthFailure("invalid_grant", 400, EXCHANGE_REFUSALS[reason] ?? "subject token is invalid, expired or not from a trusted issuer");
  switch (err.code) {
    case GrpcStatus.FAILED_PRECONDITION:
      // A token exchange for an identity with no user here (not provisioned).
      return grant === "token_exchange" ? refusedExchange() : new OAuthFailure("temporarily_unavailable", 503, "token service unavailable");
    case GrpcStatus.UNAUTHENTICATED:
    case GrpcStatus.NOT_FOUND:
    case GrpcStatus.PERMISSION_DENIED:
      if (grant === "client_credentials") return new OAuthFailure("invalid_client", 401, "client authentication failed");
      if (grant === "token_exchange") return refusedExchange();
      return new OAuthFailure("invalid_grant", 400, reason === "REFRESH_TOKEN_REUSED" ? "refresh token reuse detected" : "refresh token is invalid, expired or revoked");
    case GrpcStatus.INVALID_ARGUMENT:
      return new OAuthFailure("invalid_request", 400, err.message);
    case GrpcStatus.RESOURCE_EXHAUSTED: {
      const retryAfter = findDetail(err.status, ErrorInfoSchema)?.metadata["retry_after_seconds"];
      return new OAuthFailure("temporarily_unavailable", 429, "too many requests", retryAfter);
    }
    default:
      return new OAuthFailure("temporarily_unavailable", 503, "token service unavailable");
  }
}

/**
 * The token exchange request (RFC 8693 section 2.1) this endpoint accepts: a
 * subject token of an accepted type, for an access token of this platform.
 * Delegation (actor_token), other requested token types and other audiences
 * or resources are refused.
 */
function tokenExchangeRequest(form: URLSearchParams): { subjectToken: string; subjectTokenType: string } {
  const subjectToken = form.get("subject_token") ?? "";
  const subjectTokenType = form.get("subject_token_type") ?? "";
  if (subjectToken === "") throw new OAuthFailure("invalid_request", 400, "subject_token is required");
  if (subjectTokenType === "") throw new OAuthFailure("invalid_request", 400, "subject_token_type is required");
  if (!SUBJECT_TOKEN_TYPES.includes(subjectTokenType)) {
    throw new OAuthFailure("invalid_request", 400, `subject_token_type must be one of ${SUBJECT_TOKEN_TYPES.join(", ")}`);
  }
  if (form.has("actor_token") || form.has("actor_token_type")) throw new OAuthFailure("invalid_request", 400, "delegation (actor_token) is not supported");
  const requested = form.get("requested_token_type");
  if (requested !== null && requested !== ACCESS_TOKEN_TYPE) {
    throw new OAuthFailure("invalid_request", 400, `requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  if (form.has("audience") || form.has("resource")) {
    throw new OAuthFailure("invalid_target", 400, "tokens are issued for this platform only; omit audience and resource");
  }
  return { subjectToken, subjectTokenType };
}

/**
 * The OAuth 2.0 token endpoint (RFC 6749 section 3.2): `client_credentials`
 * for partners and service accounts, `refresh_token` with rotation, and the
 * RFC 8693 token exchange of a trusted external issuer's ID token (delegated
 * login; identity verifies it and answers with its own tokens). Staff and
 * customers log in with the first-party Login RPC; the resource-owner
 * password grant is deliberately not offered.
 */
export function createTokenEndpoint(identity: ServiceClient<typeof IdentityService>, log: Logger) {
  return async (req: Request, res: Response, requestId: string): Promise<void> => {
    const send = (status: number, body: unknown, extra: Record<string, string> = {}): void => {
      res.setHeader("cache-control", "no-store");
      res.setHeader("pragma", "no-cache");
      res.setHeader(REQUEST_ID_HEADER, requestId);
      for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
      res.setHeader("content-type", "application/json");
      res.statusCode = status;
      res.end(JSON.stringify(body));
    };
    const headers = { [REQUEST_ID_HEADER]: requestId };
    try {
      if (req.method !== "POST") throw new OAuthFailure("invalid_request", 405, "use POST");
      const form = await readForm(req);
      const grant = form.get("grant_type");
      if (grant === "client_credentials") {
        const { clientId, clientSecret } = clientCredentials(req, form);
        try {
          const token = await identity.issueClientCredentialsToken({ clientId, clientSecret }, { headers });
          send(200, { access_token: token.accessToken, token_type: "Bearer", expires_in: expiresIn(token.expireTime) });
        } catch (err) {
          throw oauthFailureOf(err, "client_credentials");
        }
        return;
      }
      if (grant === "refresh_token") {
        const refreshToken = form.get("refresh_token") ?? "";
        if (refreshToken === "") throw new OAuthFailure("invalid_request", 400, "refresh_token is required");
        try {
          const { tokens } = await identity.refreshToken({ refreshToken }, { headers });
          send(200, {
            access_token: tokens?.accessToken,
            token_type: "Bearer",
            expires_in: expiresIn(tokens?.accessTokenExpireTime),
            refresh_token: tokens?.refreshToken,
          });
        } catch (err) {
          throw oauthFailureOf(err, "refresh_token");
        }
        return;
      }
      if (grant === TOKEN_EXCHANGE_GRANT) {
        const request = tokenExchangeRequest(form);
        try {
          const { tokens } = await identity.exchangeExternalToken(request, { headers });
          // RFC 8693 section 2.2.1.
          send(200, {
            access_token: tokens?.accessToken,
            issued_token_type: ACCESS_TOKEN_TYPE,
            token_type: "Bearer",
            expires_in: expiresIn(tokens?.accessTokenExpireTime),
            refresh_token: tokens?.refreshToken,
          });
        } catch (err) {
          throw oauthFailureOf(err, "token_exchange");
        }
        return;
      }
      throw new OAuthFailure(grant ? "unsupported_grant_type" : "invalid_request", 400,
        grant ? `grant_type ${grant} is not supported` : "grant_type is required");
    } catch (err) {
      const failure = err instanceof OAuthFailure ? err : new OAuthFailure("temporarily_unavailable", 503, "token service unavailable");
      if (!(err instanceof OAuthFailure)) log.error({ err, requestId }, "token endpoint failed");
      const extra: Record<string, string> = {};
      if (failure.status === 401) extra["www-authenticate"] = 'Basic realm="fleetmesh"';
      if (failure.retryAfterSec) extra["retry-after"] = failure.retryAfterSec;
      log.info({ requestId, path: TOKEN_PATH, status: failure.status, error: failure.error }, "token request refused");
      send(failure.status, { error: failure.error, error_description: failure.message }, extra);
    }
  };
}

/**
 * Serves the key set tokens are verified with, cached briefly. Only public
 * members are ever written out; a source holding private key material is
 * refused (503, logged) rather than stripped, since it means the key leaked.
 */
export function createJwksEndpoint(source: () => Promise<{ document: unknown; source: string }>, log: Logger) {
  let cached: { body: string; at: number } | undefined;
  return async (_req: Request, res: Response): Promise<void> => {
    try {
      if (!cached || Date.now() - cached.at > 60_000) {
        const fetched = await source();
        cached = { body: JSON.stringify(publicJwksOf(fetched.document, fetched.source)), at: Date.now() };
      }
      res.setHeader("content-type", "application/json");
      res.setHeader("cache-control", "public, max-age=300");
      res.statusCode = 200;
      res.end(cached.body);
    } catch (err) {
      if (err instanceof UnsafeJwksError) log.error({ err: err.message }, "JWKS not served: it holds private key material");
      else log.warn({ err }, "JWKS source unavailable");
      res.statusCode = 503;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ error: "jwks unavailable" }));
    }
  };
}
