-- The platform kit's own tables, in every service database. Applied by the
-- kit's migrate() before the service's own migrations, tracked in
-- kit_schema_migrations. IF NOT EXISTS: fleet and identity databases migrated
-- before the kit owned these tables already have them, identical.
-- Runs as the database owner role; the runtime role gets DML through default
-- privileges (provisionDatabase), the identity column's sequence included.

-- Idempotency keys of mutating RPCs (platform kit, idempotency.ts).
CREATE TABLE IF NOT EXISTS idempotency_keys (
  scope        text NOT NULL,
  key          text NOT NULL,
  request_hash bytea NOT NULL,
  response     bytea NULL,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);

CREATE INDEX IF NOT EXISTS idempotency_keys_expiry_idx ON idempotency_keys (expires_at);

-- Events written in the same transaction as the state change they announce
-- (services/platform/src/events/outbox.ts); the relay publishes them to Kafka
-- and marks them published (outbox-relay.ts).
CREATE TABLE IF NOT EXISTS outbox_events (
  id             uuid PRIMARY KEY,                   -- the event id (envelope event_id, Kafka header event-id)
  -- Publish order. Taken at insert time; writers lock the aggregate first, so
  -- one aggregate's events get increasing sequences in commit order.
  sequence       bigint GENERATED ALWAYS AS IDENTITY,
  aggregate_type text NOT NULL,
  aggregate_id   uuid NOT NULL,                      -- the Kafka message key
  event_type     text NOT NULL,                      -- fully-qualified protobuf message name
  topic          text NOT NULL,                      -- logical topic from the event's (fleetmesh.common.v1.event) option
  schema_version int NOT NULL CHECK (schema_version >= 1),
  payload        jsonb NOT NULL,                     -- JSON rendering, for people and SQL; never parsed back
  payload_bin    bytea NOT NULL,                     -- protobuf binary: what is published
  traceparent    text NULL,                          -- W3C trace context of the writing transaction
  request_id     text NULL,
  occurred_at    timestamptz NOT NULL,
  published_at   timestamptz NULL
);

-- The relay's only read: unpublished rows in sequence order. Published rows
-- leave the index, so it stays as small as the backlog.
CREATE INDEX IF NOT EXISTS outbox_events_unpublished_idx ON outbox_events (sequence) WHERE published_at IS NULL;

-- No NOTIFY trigger: a NOTIFY in the writing transaction makes PostgreSQL
-- serialise the commits (and WAL flushes) of all notifying transactions.
-- Writers signal their relay after the commit instead (events/outbox.ts).

-- Events this database has consumed (services/platform/src/events/consumer.ts).
-- The row commits in the same transaction as the event's effect.
CREATE TABLE IF NOT EXISTS inbox_processed_messages (
  message_id     text PRIMARY KEY,                   -- event id, or <topic>-<partition>-<offset> without one
  processed_at   timestamptz NOT NULL,
  -- applied: the effect committed. dead_lettered: sent to <topic>.dlq; only
  -- the dead-letter replay command runs it again.
  outcome        text NOT NULL CHECK (outcome IN ('applied', 'dead_lettered')),
  consumer_group text NOT NULL,
  topic          text NOT NULL,
  "partition"    int NOT NULL,
  "offset"       bigint NOT NULL,
  event_type     text NULL,
  error_reason   text NULL
);

CREATE INDEX IF NOT EXISTS inbox_processed_messages_processed_idx ON inbox_processed_messages (processed_at);
