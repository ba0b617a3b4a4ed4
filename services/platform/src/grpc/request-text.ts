import { ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { FieldViolation } from "../errors.js";
import { MAX_TEXT_FIELD_LENGTH, textProblem } from "../validation.js";

/**
 * Per-field exceptions to MAX_TEXT_FIELD_LENGTH, keyed by the field's full
 * proto name (e.g. "fleetmesh.identity.v1.ExchangeExternalTokenRequest.subject_token").
 */
export type TextLimits = Readonly<Record<string, number>>;

// A map key in a field path, quoted as in google.rpc.BadRequest's examples.
// JSON escaping keeps a hostile key (NUL, lone surrogate) out of the response.
const MAP_KEY_IN_PATH_MAX = 64;
const keyInPath = (key: unknown): string => {
  const text = String(key);
  return JSON.stringify(text.length > MAP_KEY_IN_PATH_MAX ? `${text.slice(0, MAP_KEY_IN_PATH_MAX)}…` : text);
};

/**
 * Every string in a decoded request (nested messages, repeated fields, map
 * keys and values, oneofs) that could not be stored as text: one violation per
 * offending field, with its path in proto names (`attributes.make`,
 * `roles[2]`, `labels["k"]`).
 */
export function requestTextViolations(schema: DescMessage, message: Message, limits: TextLimits = {}): FieldViolation[] {
  const violations: FieldViolation[] = [];
  walkMessage(reflect(schema, message), "", limits, violations);
  return violations;
}

function walkMessage(msg: ReflectMessage, prefix: string, limits: TextLimits, out: FieldViolation[]): void {
  for (const field of msg.fields) {
    if (!msg.isSet(field)) continue;
    const path = `${prefix}${field.name}`;
    const check = (value: unknown, at: string): void => {
      if (typeof value !== "string") return;
      const problem = textProblem(value, limits[fullName(field)] ?? MAX_TEXT_FIELD_LENGTH);
      if (problem) out.push({ field: at, ...problem });
    };
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        check(msg.get(field), path);
        break;
      case "message":
        walkMessage(msg.get(field), `${path}.`, limits, out);
        break;
      case "list": {
        let i = 0;
        for (const item of msg.get(field)) {
          const at = `${path}[${i++}]`;
          if (field.listKind === "message") walkMessage(item as ReflectMessage, `${at}.`, limits, out);
          else check(item, at);
        }
        break;
      }
      case "map":
        for (const [key, value] of msg.get(field)) {
          const keyProblem = typeof key === "string" ? textProblem(key, limits[fullName(field)] ?? MAX_TEXT_FIELD_LENGTH) : undefined;
          if (keyProblem) {
            out.push({ field: path, description: `a key ${keyProblem.description}`, reason: keyProblem.reason });
            continue;
          }
          const at = `${path}[${keyInPath(key)}]`;
          if (field.mapKind === "message") walkMessage(value as ReflectMessage, `${at}.`, limits, out);
          else check(value, at);
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
