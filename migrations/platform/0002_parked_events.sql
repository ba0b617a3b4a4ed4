-- Events a consumer parked because they could not apply yet (a handler threw
-- DeferredEventError: the event they depend on, of another aggregate, on
-- another key or topic, has not arrived). The offset moves on; the consumer
-- re-drives these in the background until they apply or their park window
-- (kafka.consumer.parkWindowMs) expires, then dead-letters them
-- (services/platform/src/events/consumer/parking.ts, docs/events.md).
-- Applied by the kit's migrate() as the owner role; the runtime role gets DML
-- (and the identity column's sequence) through default privileges.
CREATE TABLE IF NOT EXISTS parked_events (
  message_id      text PRIMARY KEY,                  -- as in inbox_processed_messages: parked once, however often redelivered
  seq             bigint GENERATED ALWAYS AS IDENTITY, -- arrival order
  consumer_group  text NOT NULL,
  park_key        text NOT NULL,                     -- what it waits on (e.g. vehicles/<id>); retried in arrival order per key
  topic           text NOT NULL,
  "partition"     int NOT NULL,
  "offset"        bigint NOT NULL,
  event_type      text NOT NULL,
  -- The Kafka message as consumed, to run it again and to dead-letter it unchanged.
  message_key     bytea NULL,
  message_value   bytea NULL,
  headers         jsonb NOT NULL,                    -- {name: [base64 value, ...]}
  reason          text NOT NULL,                     -- the last DeferredEventError's reason and message
  error_message   text NOT NULL,
  attempts        int NOT NULL DEFAULT 1 CHECK (attempts >= 1),  -- handler runs so far
  failures        int NOT NULL DEFAULT 0 CHECK (failures >= 0),  -- transient (non-deferred) failures among them
  parked_at       timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,              -- parked_at + the park window: dead-lettered after
  next_attempt_at timestamptz NOT NULL,
  leased_until    timestamptz NULL                   -- a re-drive worker is running it (another replica skips it)
);

CREATE INDEX IF NOT EXISTS parked_events_due_idx ON parked_events (consumer_group, next_attempt_at);
CREATE INDEX IF NOT EXISTS parked_events_key_idx ON parked_events (consumer_group, park_key, seq);
