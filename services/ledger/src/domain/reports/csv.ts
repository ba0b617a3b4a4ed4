// Pure: the canonical CSV of reports. RFC 4180: fields separated by commas,
// a field holding a comma, a quote, CR or LF is quoted with its quotes
// doubled, every line (the header included) ends with CRLF. Amounts are
// integer minor units, dates "YYYY-MM-DD": the bytes depend on nothing but
// the values (no locale, no time zone, no float formatting).
import { createHash, type Hash } from "node:crypto";

const NEEDS_QUOTES = /[",\r\n]/;

export const csvField = (value: string): string => (NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

export const csvLine = (fields: readonly string[]): string => `${fields.map(csvField).join(",")}\r\n`;

/**
 * Accumulates CSV lines: the SHA-256 and byte count of everything added, and
 * chunks of whole lines of at most `chunkBytes` (a longer line is a chunk of
 * its own) handed to `flush` as they fill, so that a large report never sits
 * in memory whole.
 */
export class CsvAccumulator {
  private readonly hash: Hash = createHash("sha256");
  private pending: string[] = [];
  private pendingBytes = 0;
  private chunks = 0;
  bytes = 0;
  lines = 0;

  constructor(
    private readonly chunkBytes: number,
    private readonly flush: (chunkNo: number, content: string, bytes: number) => Promise<void> | void,
  ) {}

  async add(line: string): Promise<void> {
    const size = Buffer.byteLength(line, "utf8");
    this.hash.update(line, "utf8");
    this.bytes += size;
    this.lines += 1;
    if (this.pendingBytes > 0 && this.pendingBytes + size > this.chunkBytes) await this.cut();
    this.pending.push(line);
    this.pendingBytes += size;
  }

  private async cut(): Promise<void> {
    const content = this.pending.join("");
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    await this.flush(this.chunks++, content, bytes);
  }

  /** Flushes the last chunk; returns the lower-case hex SHA-256, byte, line and chunk counts. */
  async finish(): Promise<{ sha256: string; bytes: number; lines: number; chunks: number }> {
    if (this.pendingBytes > 0) await this.cut();
    return { sha256: this.hash.digest("hex"), bytes: this.bytes, lines: this.lines, chunks: this.chunks };
  }
}

/** SHA-256 (lower-case hex) of a whole CSV. */
export const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * The longest prefix of `text` (whole LF-terminated lines) of at most
 * `maxBytes` UTF-8 bytes, as a character count. With `atLeastOne`, one line
 * is taken even when it alone is longer (a page always makes progress).
 */
export function cutAtLineEnd(text: string, maxBytes: number, atLeastOne = true): number {
  let end = 0;
  let bytes = 0;
  for (;;) {
    const nl = text.indexOf("\n", end);
    const lineEnd = nl < 0 ? text.length : nl + 1;
    if (lineEnd === end) return end;
    const lineBytes = Buffer.byteLength(text.slice(end, lineEnd), "utf8");
    if (bytes + lineBytes > maxBytes && !(atLeastOne && end === 0)) return end;
    bytes += lineBytes;
    end = lineEnd;
    if (nl < 0) return end;
  }
}
