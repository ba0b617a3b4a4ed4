import type { ConsumerMetrics } from "../consumer.js";
import type { ConsumedEvent, Outcome } from "./event.js";

/**
 * Counts one handled message. Unknown types share one `event_type` label
 * value, so a producer that invents types cannot grow the series without end.
 */
export function recordOutcome(metrics: ConsumerMetrics, event: ConsumedEvent, outcome: Outcome, seconds: number, nowMs = Date.now()): void {
  const { topic } = event;
  metrics.consumed.inc({ topic, event_type: outcome === "unknown_type" ? "(unknown)" : event.eventType, outcome });
  metrics.duration.observe({ topic }, seconds);
  if (outcome === "applied" && event.occurredAt) metrics.endToEnd.observe({ topic }, (nowMs - event.occurredAt.getTime()) / 1000);
}
