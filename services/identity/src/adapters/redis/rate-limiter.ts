import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "../../../../platform/src/logger.js";
import type { RateLimiter } from "../../app/ports.js";

export interface RedisSettings {
  readonly url: string;
  readonly keyPrefix: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
}

/**
 * A client that fails fast instead of queueing: with Redis down, a command
 * errors at once (no offline queue, no retries), so the configured fail-safe
 * behaviour applies within the command timeout. Reconnects in the background.
 */
export function createRedisClient(settings: RedisSettings, log: Logger): Redis {
  const redis = new Redis(settings.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: settings.connectTimeoutMs,
    commandTimeout: settings.commandTimeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
    // How long disconnect() waits for the socket to close (its timer outlives an already closed socket).
    disconnectTimeout: 200,
  });
  // One line per outage, not one per reconnect attempt.
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) log.warn({ err: { message: err.message } }, "redis unavailable");
    down = true;
  });
  redis.on("ready", () => {
    if (down) log.info("redis available again");
    down = false;
  });
  return redis;
}

/**
 * Waits for the first connection outcome (ready, or an error), at most
 * `timeoutMs`; never fails: the limiter's fail-safe covers an outage.
 */
export function awaitFirstConnection(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off("ready", done);
      redis.off("error", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once("ready", done);
    redis.once("error", done);
  });
}

// INCR, and set the window's expiry when the key is new (or lost its TTL),
// atomically: a counter never lives without a TTL.
const HIT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

/**
 * Fixed-window counters in Redis: `<prefix>rl:<scope>:<digest of subject>`.
 * Subjects (emails, client ids) are stored only as a digest.
 */
export function createRedisRateLimiter(redis: Redis, keyPrefix: string): RateLimiter {
  const keyOf = (scope: string, subject: string): string =>
    `${keyPrefix}rl:${scope}:${createHash("sha256").update(subject).digest("base64url").slice(0, 22)}`;
  return {
    async consume(scope, subject, limit, windowSec) {
      const [count, ttl] = (await redis.eval(HIT, 1, keyOf(scope, subject), windowSec)) as [number, number];
      return count <= limit ? { allowed: true, retryAfterSec: 0 } : { allowed: false, retryAfterSec: Math.max(1, ttl) };
    },
    async peek(scope, subject, limit) {
      const key = keyOf(scope, subject);
      const results = await redis.multi().get(key).ttl(key).exec();
      if (!results) throw new Error("redis transaction aborted");
      for (const [err] of results) if (err) throw err;
      const count = Number(results[0]![1] ?? 0);
      const ttl = Number(results[1]![1]);
      return count < limit ? { allowed: true, retryAfterSec: 0 } : { allowed: false, retryAfterSec: Math.max(1, ttl) };
    },
    async reset(scope, subject) {
      await redis.del(keyOf(scope, subject));
    },
  };
}
