// Keyset pagination, the one convention of every service: no OFFSET; an
// opaque page token holds the last row's position in the sort order and a
// fingerprint of the query's filters.
import { createHash } from "node:crypto";
import { DomainError } from "./errors.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** A position in the sort order: the sort key values of the last row, e.g. [email, id]. */
export type PagePosition = readonly string[];

const invalidToken = (): DomainError =>
  new DomainError("invalid_argument", "INVALID_PAGE_TOKEN", "page token is invalid or belongs to a different query", {
    fieldViolations: [{ field: "page.page_token", description: "invalid or from a different query", reason: "INVALID_PAGE_TOKEN" }],
  });

const fingerprint = (query: string): string => createHash("sha256").update(query).digest("base64url").slice(0, 12);

/** Opaque token: the last row's position plus a fingerprint of the query's filters. */
export function encodePageToken(position: PagePosition, query: string): string {
  return Buffer.from(JSON.stringify([...position, fingerprint(query)])).toString("base64url");
}

/**
 * The position a token continues after, or null for the first page. A token
 * that does not decode, has the wrong shape or was issued for other filters
 * is INVALID_ARGUMENT, reason INVALID_PAGE_TOKEN.
 */
export function decodePageToken(token: string, query: string, arity: number): PagePosition | null {
  if (token === "") return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalidToken();
  }
  if (!Array.isArray(parsed) || parsed.length !== arity + 1 || !parsed.every((p) => typeof p === "string")) throw invalidToken();
  const values = parsed as string[];
  if (values[arity] !== fingerprint(query)) throw invalidToken();
  return values.slice(0, arity);
}

/** 0 means the default; larger than the maximum is capped (negative sizes are rejected by the adapters). */
export function pageSize(requested: number): number {
  if (requested <= 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken: string;
}

/**
 * Cuts the `limit + 1` rows a repository returned into a page: the extra row
 * only tells that another page exists.
 */
export function toPage<T>(rows: readonly T[], limit: number, query: string, positionOf: (item: T) => PagePosition): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextPageToken: rows.length > limit && last !== undefined ? encodePageToken(positionOf(last), query) : "" };
}

/** The most common sort order: newest or oldest first by a timestamp, ties broken by id. */
export interface TimeIdCursor {
  readonly at: Date;
  readonly id: string;
}

/** decodePageToken for a (timestamp, id) sort order: the position as a cursor. */
export function decodeTimeIdToken(token: string, query: string): TimeIdCursor | null {
  const position = decodePageToken(token, query, 2);
  if (position === null) return null;
  const at = new Date(position[0]!);
  if (Number.isNaN(at.getTime())) throw invalidToken();
  return { at, id: position[1]! };
}

/** toPage for a (timestamp, id) sort order. */
export const toTimeIdPage = <T>(rows: readonly T[], limit: number, query: string, cursorOf: (item: T) => TimeIdCursor): Page<T> =>
  toPage(rows, limit, query, (item) => {
    const cursor = cursorOf(item);
    return [cursor.at.toISOString(), cursor.id];
  });
