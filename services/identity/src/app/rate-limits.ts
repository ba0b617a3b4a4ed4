import { DomainError } from "../../../platform/src/errors.js";
import type { Alerts, RateDecision, RateLimiter } from "./ports.js";

export interface Window {
  readonly limit: number;
  readonly windowSec: number;
}

export interface RateLimitSettings {
  /** Redis down: true lets requests through (and warns), false refuses them with UNAVAILABLE. */
  readonly failOpen: boolean;
  /** Failed logins (and wrong current passwords) per account. */
  readonly loginFailures: Window;
  /** Token requests per service client. */
  readonly clientCredentials: Window;
  /** Refreshes per user. */
  readonly refresh: Window;
  /** Token exchanges (delegated login) per external subject (issuer and `sub`). */
  readonly externalExchange: Window;
}

export const rateLimited = (retryAfterSec: number): DomainError =>
  new DomainError("resource_exhausted", "RATE_LIMITED", `too many attempts; retry in ${retryAfterSec} s`, {
    metadata: { retry_after_seconds: String(Math.max(1, retryAfterSec)) },
  });

export const rateLimiterUnavailable = (cause: unknown): DomainError =>
  new DomainError("unavailable", "DEPENDENCY_UNAVAILABLE", "rate limiter unavailable; retry later", {
    metadata: { dependency: "redis" },
    cause,
  });

const ALLOW: RateDecision = { allowed: true, retryAfterSec: 0 };

/**
 * The service's rate limits on top of the RateLimiter port, with the
 * configured fail-safe behaviour when the limiter itself is down.
 */
export function createRateLimits(limiter: RateLimiter, settings: RateLimitSettings, alerts: Alerts) {
  const guarded = async (op: () => Promise<RateDecision>): Promise<RateDecision> => {
    try {
      return await op();
    } catch (err) {
      if (!settings.failOpen) throw rateLimiterUnavailable(err);
      alerts.warn("rate limiter unavailable; failing open", err);
      return ALLOW;
    }
  };
  const enforce = (decision: RateDecision): void => {
    if (!decision.allowed) throw rateLimited(decision.retryAfterSec);
  };
  const { loginFailures: login, clientCredentials: client, refresh, externalExchange: exchange } = settings;

  return {
    /** Before checking a password: refuses once the account has too many recent failures. */
    async assertLoginAllowed(email: string): Promise<void> {
      enforce(await guarded(() => limiter.peek("login", email, login.limit, login.windowSec)));
    },
    async recordLoginFailure(email: string): Promise<void> {
      await guarded(() => limiter.consume("login", email, login.limit, login.windowSec));
    },
    /** Best effort: a failure to reset only delays the account's next attempts. */
    async clearLoginFailures(email: string): Promise<void> {
      try {
        await limiter.reset("login", email);
      } catch (err) {
        alerts.warn("could not reset login failures", err);
      }
    },
    /** Counts every token request of a client, valid or not. */
    async consumeClientCredentials(clientId: string): Promise<void> {
      enforce(await guarded(() => limiter.consume("client", clientId, client.limit, client.windowSec)));
    },
    async consumeRefresh(userId: string): Promise<void> {
      enforce(await guarded(() => limiter.consume("refresh", userId, refresh.limit, refresh.windowSec)));
    },
    /** Counts every exchange of a verified external subject ("<issuer name>|<sub>"). */
    async consumeExternalExchange(externalSubject: string): Promise<void> {
      enforce(await guarded(() => limiter.consume("exchange", externalSubject, exchange.limit, exchange.windowSec)));
    },
  };
}

export type RateLimits = ReturnType<typeof createRateLimits>;
