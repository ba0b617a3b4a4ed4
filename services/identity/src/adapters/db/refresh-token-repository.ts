import type { Database } from "../../../../platform/src/db.js";
import type { RefreshTokenRepository } from "../../app/ports.js";
import type { RefreshTokenRecord } from "../../domain/refresh-token.js";

interface TokenRow {
  id: string;
  family_id: string;
  user_id: string;
  issued_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  replaced_by: string | null;
}

const toRecord = (r: TokenRow): RefreshTokenRecord => ({
  id: r.id,
  familyId: r.family_id,
  userId: r.user_id,
  issuedAt: r.issued_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  revokedAt: r.revoked_at,
  replacedBy: r.replaced_by,
});

const COLUMNS = ["id", "family_id", "user_id", "issued_at", "expires_at", "used_at", "revoked_at", "replaced_by"];

export function createRefreshTokenRepository(db: Database): RefreshTokenRepository {
  const q = () => db.executor();
  return {
    async insert(token, digest) {
      await q()("refresh_tokens").insert({
        id: token.id,
        family_id: token.familyId,
        user_id: token.userId,
        token_hash: digest,
        issued_at: token.issuedAt,
        expires_at: token.expiresAt,
        used_at: token.usedAt,
        revoked_at: token.revokedAt,
        replaced_by: token.replacedBy,
      });
    },
    async findByDigest(digest) {
      const row = await q()("refresh_tokens").select(COLUMNS).where({ token_hash: digest }).first<TokenRow | undefined>();
      return row ? toRecord(row) : null;
    },
    async markUsed(id, replacedBy, at) {
      const count = await q()("refresh_tokens")
        .where({ id })
        .whereNull("used_at")
        .whereNull("revoked_at")
        .update({ used_at: at, replaced_by: replacedBy });
      return count === 1;
    },
    async revokeFamilyNow(familyId, at) {
      // db.knex, not db.executor(): a statement of its own on the pool, so it
      // commits even when the surrounding request's transaction rolls back.
      await db.knex("refresh_tokens").where({ family_id: familyId }).whereNull("revoked_at").update({ revoked_at: at });
    },
    async revokeAllOfUser(userId, at) {
      return q()("refresh_tokens").where({ user_id: userId }).whereNull("revoked_at").update({ revoked_at: at });
    },
    async purgeExpired(before) {
      return db.knex("refresh_tokens").where("expires_at", "<", before).delete();
    },
  };
}

/** Deletes refresh tokens a day after they expired (reuse detection needs them until then); returns a stop function. */
export function scheduleRefreshTokenPurge(repo: RefreshTokenRepository, everyMs = 60 * 60_000): () => void {
  const timer = setInterval(() => {
    repo.purgeExpired(new Date(Date.now() - 24 * 3600_000)).catch(() => undefined);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
