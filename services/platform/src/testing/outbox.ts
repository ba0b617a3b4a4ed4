// Test support: reading a service database's outbox_events the way the
// events kit wrote them. Used only by tests.
import type pg from "pg";

export interface OutboxRowView {
  readonly id: string;
  readonly event_type: string;
  readonly aggregate_type: string;
  readonly aggregate_id: string;
  readonly topic: string;
  readonly schema_version: number;
  readonly payload: Record<string, unknown>;
  readonly payload_bin: Buffer;
  readonly request_id: string | null;
  readonly published_at: Date | null;
}

/** Outbox rows in publish order: all of them, or one aggregate's. */
export const readOutboxRows = async (admin: pg.Client, aggregateId?: string): Promise<OutboxRowView[]> =>
  (await admin.query<OutboxRowView>(
    `SELECT id, event_type, aggregate_type, aggregate_id, topic, schema_version, payload, payload_bin, request_id, published_at
       FROM outbox_events ${aggregateId ? "WHERE aggregate_id = $1" : ""} ORDER BY sequence`,
    aggregateId ? [aggregateId] : [],
  )).rows;
