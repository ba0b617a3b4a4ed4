-- Events backbone (docs/events.md): identity's transactional outbox, and the
-- consumer inbox every service database carries. Same tables as fleet's
-- (migrations/fleet/0002_outbox_inbox.sql): the platform kit's relay and
-- consumer (services/platform/src/events/) read and write exactly these.
-- Runs as the database owner role; the runtime role gets DML through default
-- privileges (scripts/migrate.ts), the identity column's sequence included.

-- Events written in the same transaction as the state change they announce
-- (services/platform/src/events/outbox.ts); the relay publishes them to Kafka
-- and marks them published (outbox-relay.ts).
CREATE TABLE outbox_events (
  id             uuid PRIMARY KEY,                   -- the event id (envelope event_id, Kafka header event-id)
  -- Publish order. Taken at insert time; writers lock the user first, so one
  -- user's events get increasing sequences in commit order.
  sequence       bigint GENERATED ALWAYS AS IDENTITY,
  aggregate_type text NOT NULL,
  aggregate_id   uuid NOT NULL,                      -- the Kafka message key (the user id)
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
CREATE INDEX outbox_events_unpublished_idx ON outbox_events (sequence) WHERE published_at IS NULL;

-- No NOTIFY trigger: a NOTIFY in the writing transaction makes PostgreSQL
-- serialise the commits (and WAL flushes) of all notifying transactions.
-- Writers signal their relay after the commit instead (events/outbox.ts).

-- Events this database has consumed (services/platform/src/events/consumer.ts).
-- Identity consumes nothing yet; the table is here so that enabling a
-- consumer later needs no migration of its own. The row commits in the same
-- transaction as the event's effect.
CREATE TABLE inbox_processed_messages (
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

CREATE INDEX inbox_processed_messages_processed_idx ON inbox_processed_messages (processed_at);
