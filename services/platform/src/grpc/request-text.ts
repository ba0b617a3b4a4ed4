import { ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { FieldViolation } from "../errors.js";
import { MAX_TEXT_FIELD_LENGTH, textProblem } from "../validation.js";

/**
 * Per-field exceptions to MAX_TEXT_FIELD_LENGTH, keyed by the field's full
 * proto name (e.g. "fleetmesh.identity.v1.ExchangeExternalTokenRequest.subject_token").
 */
export type TextLimits = Readonly<Record<string, number>>;

// A map key in a field path, quoted as in google.rpc.BadRequest's examples,
// with everything but printable ASCII escaped: a hostile key (controls, bidi
// overrides) must not reach the response as it is.
const MAP_KEY_IN_PATH_MAX = 64;
const keyInPath = (key: unknown): string => {
  const text = String(key);
  return JSON.stringify(text.length > MAP_KEY_IN_PATH_MAX ? `${text.slice(0, MAP_KEY_IN_PATH_MAX)}...` : text)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
};

/**
 * Every string in a decoded request (nested messages, repeated fields, map
 * keys and values, oneofs) that could not be stored as text: one violation per
 * offending field, with its path in proto names (`attributes.make`,
 * `roles[2]`, `labels["k"]`).
 */
export function requestTextViolations(schema: DescMessage, message: Message, limits: TextLimits = {}): FieldViolation[] {
  const violations: FieldViolation[] = [];
  walk(planOf(schema), message as unknown as Fields, "", limits, violations);
  return violations;
}

// The fields of a message type that can hold text, found once per type from
// its descriptor: the per-call walk then reads only those, without building
// a reflection wrapper per message (a fifth of the cost).
interface TextField {
  readonly field: DescField;
  readonly limitKey: string;
  /** Reads the field's value, through its oneof if it has one. */
  readonly read: (m: Fields) => unknown;
  readonly shape: "string" | "strings" | "message" | "messages" | "map";
  /** For message-valued shapes (and maps with message values). */
  nested?: TextField[];
}
type Fields = Record<string, unknown>;

const plans = new WeakMap<DescMessage, TextField[]>();

function planOf(desc: DescMessage): TextField[] {
  const cached = plans.get(desc);
  if (cached) return cached;
  const plan: TextField[] = [];
  plans.set(desc, plan); // before recursing: message types may be recursive
  for (const field of desc.fields) {
    const { oneof } = field;
    const read = oneof
      ? (m: Fields) => {
        const o = m[oneof.localName] as { case?: string; value?: unknown } | undefined;
        return o?.case === field.localName ? o.value : undefined;
      }
      : (m: Fields) => m[field.localName];
    const base = { field, limitKey: fullName(field), read };
    switch (field.fieldKind) {
      case "scalar":
        if (field.scalar === ScalarType.STRING) plan.push({ ...base, shape: "string" });
        break;
      case "list":
        if (field.listKind === "scalar" && field.scalar === ScalarType.STRING) plan.push({ ...base, shape: "strings" });
        else if (field.listKind === "message") plan.push({ ...base, shape: "messages", nested: planOf(field.message) });
        break;
      case "message":
        plan.push({ ...base, shape: "message", nested: planOf(field.message) });
        break;
      case "map":
        if (field.mapKey === ScalarType.STRING || field.mapKind === "message" || (field.mapKind === "scalar" && field.scalar === ScalarType.STRING)) {
          plan.push({ ...base, shape: "map", ...(field.mapKind === "message" ? { nested: planOf(field.message) } : {}) });
        }
        break;
      default:
        break;
    }
  }
  return plan;
}

function walk(plan: readonly TextField[], message: Fields, prefix: string, limits: TextLimits, out: FieldViolation[]): void {
  for (const entry of plan) {
    const value = entry.read(message);
    if (value === undefined) continue;
    const path = `${prefix}${entry.field.name}`;
    const limit = limits[entry.limitKey] ?? MAX_TEXT_FIELD_LENGTH;
    const check = (text: unknown, at: string): void => {
      if (typeof text !== "string" || text === "") return;
      const problem = textProblem(text, limit);
      if (problem) out.push({ field: at, ...problem });
    };
    switch (entry.shape) {
      case "string":
        check(value, path);
        break;
      case "strings":
        (value as unknown[]).forEach((item, i) => check(item, `${path}[${i}]`));
        break;
      case "message":
        walk(entry.nested!, value as Fields, `${path}.`, limits, out);
        break;
      case "messages":
        (value as Fields[]).forEach((item, i) => walk(entry.nested!, item, `${path}[${i}].`, limits, out));
        break;
      case "map":
        for (const [key, item] of Object.entries(value as Fields)) {
          const keyProblem = textProblem(key, limit);
          if (keyProblem) {
            out.push({ field: path, description: `a key ${keyProblem.description}`, reason: keyProblem.reason });
            continue;
          }
          const at = `${path}[${keyInPath(key)}]`;
          if (entry.nested) walk(entry.nested, item as Fields, `${at}.`, limits, out);
          else check(item, at);
        }
        break;
    }
  }
}

const fullName = (field: DescField): string => `${field.parent.typeName}.${field.name}`;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const isUtf8 = (bytes: Uint8Array): boolean => {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
};

const isStringField = (field: DescField): boolean =>
  (field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")) && field.scalar === ScalarType.STRING;

/**
 * The path of the first string field whose bytes on the wire are not UTF-8,
 * for a request the strict decoder refused. Undefined when the message is
 * malformed otherwise. A bad map key is reported as the map field.
 */
export function findInvalidUtf8(schema: DescMessage, bytes: Uint8Array, prefix = ""): string | undefined {
  try {
    const reader = new BinaryReader(bytes);
    const counts = new Map<number, number>();
    while (reader.pos < reader.len) {
      const [number, wireType] = reader.tag();
      const field = schema.fields.find((f) => f.number === number);
      if (!field || wireType !== WireType.LengthDelimited) {
        reader.skip(wireType, number);
        continue;
      }
      const value = reader.bytes();
      const index = counts.get(number) ?? 0;
      counts.set(number, index + 1);
      const path = `${prefix}${field.name}${field.fieldKind === "list" ? `[${index}]` : ""}`;
      if (isStringField(field) && !isUtf8(value)) return path;
      if (field.fieldKind === "map") {
        const found = findInvalidUtf8InMapEntry(field, value, `${prefix}${field.name}`);
        if (found) return found;
        continue;
      }
      const nested = field.fieldKind === "message" ? field.message : field.fieldKind === "list" && field.listKind === "message" ? field.message : undefined;
      if (nested) {
        const found = findInvalidUtf8(nested, value, `${path}.`);
        if (found) return found;
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function findInvalidUtf8InMapEntry(field: DescField & { fieldKind: "map" }, entry: Uint8Array, path: string): string | undefined {
  const reader = new BinaryReader(entry);
  // Only a string key is named in the value's path; a numeric one is not decoded.
  let at = path;
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (wireType !== WireType.LengthDelimited) {
      reader.skip(wireType, number);
      continue;
    }
    const value = reader.bytes();
    if (number === 1 && field.mapKey === ScalarType.STRING) {
      if (!isUtf8(value)) return path;
      at = `${path}[${keyInPath(strictUtf8.decode(value))}]`;
    } else if (number === 2) {
      if (field.mapKind === "scalar" && field.scalar === ScalarType.STRING && !isUtf8(value)) return at;
      if (field.mapKind === "message") return findInvalidUtf8(field.message, value, `${at}.`);
    }
  }
  return undefined;
}
