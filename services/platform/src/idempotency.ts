import { createHash } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Database } from "./db.js";
import { DomainError, invalidArgument } from "./errors.js";
import type { Interceptor } from "./grpc/server.js";
import { encodeOnce, methodPath } from "./grpc/service-definition.js";
import { runInTransaction } from "./transactions.js";
import type { JobDefinition } from "./scheduler.js";

const KEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;
const NO_SIDE_EFFECTS = 1;

/**
 * Postgres-backed idempotency keys for mutating RPCs. The key row is inserted
 * in the same transaction as the RPC's effect, so:
 * - the same key and request returns the stored response without re-running;
 * - the same key with a different request is rejected;
 * - a concurrent duplicate blocks on the key's unique index until the first
 *   commits (then it replays the response) or rolls back (then it runs).
 * Keys are scoped per caller and method; they expire after `ttlHours`.
 *
 * Each service's migrations create the `idempotency_keys` table.
 */
export function idempotencyInterceptor(db: Database, ttlHours: number): Interceptor {
  return (next) => async (request, ctx) => {
    const key = ctx.idempotencyKey;
    if (key === undefined || ctx.method.idempotency === NO_SIDE_EFFECTS) return next(request, ctx);
    if (!KEY_PATTERN.test(key)) {
      throw invalidArgument([{
        field: "idempotency-key",
        description: "must be 8-128 characters of letters, digits, '_', '.', ':' or '-'",
        reason: "INVALID_FORMAT",
      }]);
    }
    const method = ctx.method;
    const scope = `${ctx.caller.subject}|${methodPath(method)}`;
    const requestHash = createHash("sha256").update(toBinary(method.input, request)).digest();
    // A serialization failure or deadlock voids the key row with the effect:
    // the whole call runs again (runInTransaction), as if it had just arrived.
    return runInTransaction(db, async (trx) => {
      // Straight to the driver (db.query): every keyed call pays these two statements.
      const inserted = await db.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, created_at, expires_at)
         VALUES (?, ?, ?, now(), now() + make_interval(hours => ?))
         ON CONFLICT (scope, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, response = NULL,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
           WHERE idempotency_keys.expires_at < now()
         RETURNING key`,
        [scope, key, requestHash, ttlHours],
      );
      if (inserted.rows.length === 0) {
        const stored = await trx("idempotency_keys")
          .where({ scope, key })
          .first<{ request_hash: Buffer; response: Buffer | null } | undefined>("request_hash", "response");
        if (!stored || !stored.request_hash.equals(requestHash)) {
          throw new DomainError("invalid_argument", "IDEMPOTENCY_KEY_REUSED",
            "idempotency key was already used with a different request",
            { fieldViolations: [{ field: "idempotency-key", description: "reused with a different request", reason: "REUSED" }] });
        }
        if (stored.response === null) {
          throw new DomainError("aborted", "IDEMPOTENCY_KEY_IN_FLIGHT", "a request with this idempotency key is in flight");
        }
        ctx.log.info({ idempotencyKey: key }, "replaying stored response");
        return fromBinary(method.output, stored.response);
      }
      const response = await next(request, ctx);
      await db.query("UPDATE idempotency_keys SET response = ? WHERE scope = ? AND key = ?",
        [encodeOnce(method.output, response), scope, key]);
      return response;
    });
  };
}

/**
 * The recurring job that deletes expired keys: every 10 minutes, one replica
 * runs it (scheduler.ts).
 */
export function idempotencyPurgeJob(db: Database, cron = "*/10 * * * *"): JobDefinition {
  return {
    name: "idempotency.purge",
    cron,
    retryLimit: 2,
    handler: async (_data, ctx) => {
      const deleted = await db.knex("idempotency_keys").where("expires_at", "<", db.knex.fn.now()).delete();
      ctx.log.info({ deleted }, "purged expired idempotency keys");
    },
  };
}
