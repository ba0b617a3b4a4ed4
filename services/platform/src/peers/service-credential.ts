import type { IdentityService } from "../../../../gen/fleetmesh/identity/v1/identity_service_pb.js";
import type { ServiceClient } from "../grpc/client.js";
import type { Logger } from "../logger.js";
import { dependencyUnavailable } from "./peer-errors.js";

export interface ServiceToken {
  readonly accessToken: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** Where a service's own access tokens come from (identity's client_credentials grant). */
export type ServiceTokenSource = () => Promise<ServiceToken>;

/** The service acting as itself: for consumers, scheduled jobs and backfills, which have no end user. */
export interface ServiceCredential {
  /** An `authorization` header value with a token valid for at least a few more seconds. */
  authorization(): Promise<string>;
}

export interface ServiceCredentialOptions {
  /** Renew this long before expiry (capped at half the token's lifetime). */
  readonly refreshBeforeExpiryMs?: number;
  readonly now?: () => number;
  readonly log?: Logger;
}

/** Tokens this close to expiry are not handed out: a peer would refuse them in flight. */
const MIN_REMAINING_MS = 5_000;

/**
 * Caches the service token and renews it before it expires. One fetch at a
 * time however many calls ask; while a renewal fails, a token that is still
 * valid keeps being used, and only with none left do calls fail UNAVAILABLE
 * (DEPENDENCY_UNAVAILABLE) so that they are retried rather than refused.
 */
export function createServiceCredential(source: ServiceTokenSource, options: ServiceCredentialOptions = {}): ServiceCredential {
  const now = options.now ?? Date.now;
  const refreshBefore = options.refreshBeforeExpiryMs ?? 60_000;
  let current: (ServiceToken & { renewAt: number }) | undefined;
  let inFlight: Promise<void> | undefined;

  const renew = (): Promise<void> =>
    (inFlight ??= (async () => {
      try {
        const token = await source();
        const issuedAt = now();
        const lifetime = Math.max(0, token.expiresAt - issuedAt);
        current = { ...token, renewAt: token.expiresAt - Math.min(refreshBefore, lifetime / 2) };
        options.log?.debug({ expiresAt: new Date(token.expiresAt).toISOString() }, "service token obtained");
      } catch (err) {
        options.log?.warn({ err }, "service token renewal failed");
        throw err;
      } finally {
        inFlight = undefined;
      }
    })());

  const usable = (t: number): boolean => current !== undefined && current.expiresAt - t > MIN_REMAINING_MS;

  return {
    async authorization() {
      const t = now();
      if (usable(t)) {
        // Still good: renew in the background once due, without making this call wait.
        if (t >= current!.renewAt) renew().catch(() => {});
        return `Bearer ${current!.accessToken}`;
      }
      try {
        await renew();
      } catch (err) {
        throw dependencyUnavailable("identity", err);
      }
      if (!usable(now())) throw dependencyUnavailable("identity");
      return `Bearer ${current!.accessToken}`;
    },
  };
}

/** identity's client_credentials grant over gRPC. The secret is never logged. */
export function identityTokenSource(
  identity: Pick<ServiceClient<typeof IdentityService>, "issueClientCredentialsToken">,
  clientId: string,
  clientSecret: string,
): ServiceTokenSource {
  return async () => {
    const res = await identity.issueClientCredentialsToken({ clientId, clientSecret });
    const expire = res.expireTime;
    if (!expire) throw new Error("identity returned a service token without an expiry");
    return { accessToken: res.accessToken, expiresAt: Number(expire.seconds) * 1000 + Math.floor(expire.nanos / 1e6) };
  };
}
