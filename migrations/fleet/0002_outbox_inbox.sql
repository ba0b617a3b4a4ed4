-- Events backbone (docs/events.md): the vehicle holds that event-driven status
-- changes need.

-- The outbox and inbox tables were created here until the platform kit took
-- them over: migrations/platform/0001_kit_tables.sql (applied first, IF NOT
-- EXISTS, so databases migrated before that keep the tables made here).

-- What holds a vehicle in RENTED or UNDER_MAINTENANCE when an event put it
-- there: the rental or the maintenance job. The event that ends the rental or
-- job releases the vehicle only if it is still held by the same one.
-- Status changes through the API clear the hold.
ALTER TABLE vehicles
  ADD COLUMN hold_kind text NULL CHECK (hold_kind IN ('rental', 'maintenance_job')),
  ADD COLUMN hold_id   uuid NULL,
  ADD CONSTRAINT vehicles_hold_complete CHECK ((hold_kind IS NULL) = (hold_id IS NULL)),
  ADD CONSTRAINT vehicles_hold_matches_status CHECK (
    hold_kind IS NULL
    OR (hold_kind = 'rental' AND status = 'rented')
    OR (hold_kind = 'maintenance_job' AND status = 'under_maintenance')
  );
