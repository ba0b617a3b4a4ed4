import { createHash } from "node:crypto";
import { DomainError } from "../../../platform/src/errors.js";
import type { PageCursor } from "./ports.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

const invalidToken = (): DomainError =>
  new DomainError("invalid_argument", "INVALID_PAGE_TOKEN", "page token is invalid or belongs to a different query", {
    fieldViolations: [{ field: "page.page_token", description: "invalid or from a different query", reason: "INVALID_PAGE_TOKEN" }],
  });

const fingerprint = (query: string): string => createHash("sha256").update(query).digest("base64url").slice(0, 12);

/** Opaque token: the last row's position plus a fingerprint of the query's filters. */
export function encodePageToken(cursor: PageCursor, query: string): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id, fingerprint(query)])).toString("base64url");
}

export function decodePageToken(token: string, query: string): PageCursor | null {
  if (token === "") return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (!Array.isArray(parsed) || parsed.length !== 3) throw invalidToken();
    const [at, id, fp] = parsed as unknown[];
    const createdAt = new Date(String(at));
    if (typeof id !== "string" || fp !== fingerprint(query) || Number.isNaN(createdAt.getTime())) throw invalidToken();
    return { createdAt, id };
  } catch {
    throw invalidToken();
  }
}

export function pageSize(requested: number): number {
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}
