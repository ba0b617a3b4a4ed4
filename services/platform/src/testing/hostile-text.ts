// Test support: hostile strings for every string field of every RPC, found
// from the service descriptors, so a new RPC or field is covered by itself.
// Used only by tests; production code never imports it.
import { create, ScalarType, toBinary, type DescMessage, type DescMethod, type DescService, type Message } from "@bufbuild/protobuf";
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type pg from "pg";
import { methodAuthorization } from "../auth.js";
import { MAX_TEXT_FIELD_LENGTH } from "../validation.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { createServiceClient, GrpcCallError } from "../grpc/client.js";
import { decodeStatusDetails, findDetail, type DecodedStatus } from "../grpc/status.js";

export interface HostileText {
  readonly name: string;
  readonly value: string;
  /** The field violation reason the kit answers with. */
  readonly reason: string;
}

/**
 * What a client may put in a text field that must not reach a handler. A
 * lone surrogate cannot travel in UTF-8: the client's encoder sends U+FFFD,
 * which the kit refuses as INVALID_UTF8 too.
 */
export const HOSTILE_TEXTS: readonly HostileText[] = [
  { name: "NUL", value: "a\u0000b", reason: "CONTROL_CHARACTER" },
  { name: "escape sequence", value: "a\u001b[2Jb", reason: "CONTROL_CHARACTER" },
  { name: "C1 control", value: "a\u0085b", reason: "CONTROL_CHARACTER" },
  { name: "lone high surrogate", value: "a\uD800b", reason: "INVALID_UTF8" },
  { name: "lone low surrogate", value: "a\uDC00b", reason: "INVALID_UTF8" },
  { name: "right-to-left override", value: "abc\u202Egpj.exe", reason: "BIDI_CONTROL" },
  { name: "left-to-right isolate", value: "a\u2066b\u2069", reason: "BIDI_CONTROL" },
  { name: "1 MB string", value: "x".repeat(1 << 20), reason: "TOO_LONG" },
  { name: "one over the bound", value: "x".repeat(MAX_TEXT_FIELD_LENGTH + 1), reason: "TOO_LONG" },
];

/** Text that must pass the kit (it may still fail a service's own rules). */
export const LEGITIMATE_TEXTS: readonly string[] = [
  "Zoë Ångström-Łukasiewicz",
  "محمد بن سلمان", // Arabic
  "שלום עולם\u200F", // Hebrew with a right-to-left mark
  "Müller\u061C", // Arabic letter mark
  "山田太郎",
  "देवनागरी",
  "👩‍👩‍👧‍👦 family", // ZWJ sequence
  "e\u0301", // combining acute
  "line one\nline two\ttabbed\r\n",
];

/** One string field of a request: its path and how to set it. */
export interface StringFieldPath {
  /** Proto names, dotted, `[0]` for a repeated field's first element. */
  readonly path: string;
  /** A request of `schema` holding `value` at `path` and nothing else. */
  request(value: string): Message;
}

/**
 * Every string field reachable in `schema` (nested messages, repeated fields
 * as their first element), without recursing into a message type twice.
 */
export function stringFieldPaths(schema: DescMessage): StringFieldPath[] {
  const out: StringFieldPath[] = [];
  const walk = (desc: DescMessage, prefix: string, build: (leaf: Record<string, unknown>) => Record<string, unknown>, seen: ReadonlySet<string>) => {
    for (const field of desc.fields) {
      const path = `${prefix}${field.name}`;
      const wrap = (inner: unknown) => build(field.oneof ? { [field.oneof.localName]: { case: field.localName, value: inner } } : { [field.localName]: inner });
      if (field.fieldKind === "scalar" && field.scalar === ScalarType.STRING) {
        out.push({ path, request: (v) => create(schema, wrap(v)) });
      } else if (field.fieldKind === "list" && field.listKind === "scalar" && field.scalar === ScalarType.STRING) {
        out.push({ path: `${path}[0]`, request: (v) => create(schema, wrap([v])) });
      } else if ((field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) && !seen.has(field.message.typeName)) {
        const list = field.fieldKind === "list";
        walk(field.message, `${path}${list ? "[0]" : ""}.`, (leaf) => wrap(list ? [leaf] : leaf), new Set([...seen, field.message.typeName]));
      }
    }
  };
  walk(schema, "", (leaf) => leaf, new Set([schema.typeName]));
  return out;
}

/** The methods of a service whose request has at least one string field. */
export const methodsWithText = (service: DescService): DescMethod[] =>
  service.methods.filter((m) => stringFieldPaths(m.input).length > 0);

/** Every permission the service's RPCs declare: a token that passes authorization everywhere. */
export const allPermissions = (service: DescService): string[] =>
  [...new Set(service.methods.map((m) => methodAuthorization(m)?.permission ?? "").filter((p) => p !== ""))];

/**
 * The request with `U+0800` at `path` as raw bytes, with that character's
 * encoding E0 A0 80 turned into ED A0 80: the (forbidden) UTF-8 form of the
 * surrogate U+D800, which no conforming encoder emits, so only a raw client
 * can send it.
 */
export function withSurrogateBytes(field: StringFieldPath, schema: DescMessage): Uint8Array {
  const bytes = toBinary(schema, field.request("a\u0800b"));
  const at = bytes.findIndex((b, i) => b === 0xe0 && bytes[i + 1] === 0xa0 && bytes[i + 2] === 0x80);
  if (at < 0) throw new Error(`no placeholder in the encoded ${schema.typeName}`);
  bytes[at] = 0xed;
  return bytes;
}

export interface RawCallResult {
  readonly code: number;
  readonly status: DecodedStatus | undefined;
}

/** Sends request bytes as they are, bypassing any encoder. */
export function rawUnaryCall(address: string, method: DescMethod, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<RawCallResult> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      metadata,
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null) => {
        client.close();
        resolve({ code: err?.code ?? 0, status: decodeStatusDetails(err?.metadata) });
      },
    );
  });
}

/** Row count of every table of the database but the migration bookkeeping: "nothing was written". */
export async function tableRowCounts(admin: pg.Client): Promise<Record<string, number>> {
  const tables = await admin.query<{ name: string }>(
    "SELECT quote_ident(table_name) AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'schema_migrations%' ORDER BY 1",
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables.rows) {
    const { rows } = await admin.query<{ n: string }>(`SELECT count(*)::text AS n FROM public.${name}`);
    counts[name] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

export interface SweepResult {
  /** Calls made: every hostile text on every string field of every RPC, plus raw surrogate bytes. */
  readonly calls: number;
  /** One line per call that did not end in INVALID_ARGUMENT with exactly the expected field violation. */
  readonly mismatches: readonly string[];
}

/**
 * Sends every hostile text to every string field of every RPC of `service`
 * (typed client, as a client library would), and the raw UTF-8 bytes of a
 * surrogate (raw client), with `headers` (a token allowed every RPC).
 */
export async function sweepHostileText(service: DescService, address: string, headers: Record<string, string>): Promise<SweepResult> {
  const client = createServiceClient(service, { address, deadlineMs: 10_000 }) as unknown as
    Record<string, (r: unknown, o: { headers: Record<string, string> }) => Promise<unknown>> & { close(): void };
  const mismatches: string[] = [];
  let calls = 0;
  const expect = (label: string, code: number, status: DecodedStatus | undefined, field: string, reason: string): void => {
    calls++;
    const info = findDetail(status, ErrorInfoSchema);
    const violations = (findDetail(status, BadRequestSchema)?.fieldViolations ?? []).map((v) => `${v.field}:${v.reason}`);
    const got = `${GrpcStatus[code] ?? code} ${info?.reason ?? "-"} [${violations.join(", ")}]`;
    const want = `INVALID_ARGUMENT INVALID_ARGUMENT [${field}:${reason}]`;
    if (got !== want) mismatches.push(`${label}: got ${got}, want ${want}`);
  };
  try {
    for (const method of methodsWithText(service)) {
      for (const field of stringFieldPaths(method.input)) {
        for (const hostile of HOSTILE_TEXTS) {
          const label = `${method.name} ${field.path} ${hostile.name}`;
          try {
            await client[method.localName]!(field.request(hostile.value), { headers });
            expect(label, GrpcStatus.OK, undefined, field.path, hostile.reason);
          } catch (err) {
            if (!(err instanceof GrpcCallError)) throw err;
            expect(label, err.code, err.status, field.path, hostile.reason);
          }
        }
        const raw = await rawUnaryCall(address, method, withSurrogateBytes(field, method.input), headers);
        expect(`${method.name} ${field.path} raw surrogate bytes`, raw.code, raw.status, field.path, "INVALID_UTF8");
      }
    }
  } finally {
    client.close();
  }
  return { calls, mismatches };
}
