import { eventSchemaOf } from "../catalog.js";
import { routingOf } from "../envelope.js";
import { PermanentEventError } from "../failures.js";
import type { EventHandler } from "./event.js";

/** Where a message goes, from its envelope alone, before any payload is decoded. */
export type Dispatch =
  | { readonly kind: "handle"; readonly handler: EventHandler }
  /** Not ours (another consumer's event on a shared topic), or a type newer than this build: both skipped, counted apart. */
  | { readonly kind: "skip"; readonly outcome: "ignored" | "unknown_type" }
  /** Can never be handled here: dead-lettered (once) without running a handler. */
  | { readonly kind: "reject"; readonly error: PermanentEventError };

export function dispatch(
  eventType: string,
  schemaVersion: number | undefined,
  handlers: ReadonlyMap<string, EventHandler>,
  isKnownType: (eventType: string) => boolean = (type) => eventSchemaOf(type) !== undefined,
): Dispatch {
  if (eventType === "") return { kind: "reject", error: new PermanentEventError("MALFORMED_ENVELOPE", "message has no event-type header") };
  const handler = handlers.get(eventType);
  if (!handler) return { kind: "skip", outcome: isKnownType(eventType) ? "ignored" : "unknown_type" };
  const handled = routingOf(handler.schema).schemaVersion;
  if (schemaVersion !== undefined && schemaVersion > handled) {
    return {
      kind: "reject",
      error: new PermanentEventError("SCHEMA_VERSION_UNSUPPORTED",
        `schema version ${schemaVersion} of ${eventType} is newer than the ${handled} this consumer handles`),
    };
  }
  return { kind: "handle", handler };
}

/** One handler per event type. */
export function handlerMap(handlers: readonly EventHandler[]): ReadonlyMap<string, EventHandler> {
  const byType = new Map<string, EventHandler>();
  for (const h of handlers) {
    if (byType.has(h.schema.typeName)) throw new Error(`two handlers for ${h.schema.typeName}`);
    byType.set(h.schema.typeName, h);
  }
  return byType;
}
