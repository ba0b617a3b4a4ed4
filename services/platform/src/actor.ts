// Pure: use cases and domain code may import it.
import type { Caller } from "./auth.js";
import { isUuid } from "./validation.js";

/**
 * Who performs a use case, for audit columns (created_by, updated_by): the
 * calling user's id, or null for service clients (their subject is not a
 * user) and the system. The one convention of every service.
 */
export interface Actor {
  readonly userId: string | null;
}

export const actorOf = (caller: Caller): Actor => ({ userId: isUuid(caller.subject) ? caller.subject : null });

/** The actor of work no caller asked for (event handlers, jobs). */
export const SYSTEM_ACTOR: Actor = { userId: null };
