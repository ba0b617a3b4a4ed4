-- Every hold a rental or maintenance job had on a vehicle: when its event took
-- the vehicle and when it gave it back (by its own event, or cleared by hand
-- through ChangeVehicleStatus / DecommissionVehicle). Events of different
-- rentals and jobs arrive in any order (different keys and topics): this is
-- what tells a release that arrived before its take ("not yet": the event is
-- parked and retried, docs/events.md "Fleet consumer") from one whose hold
-- ended already (nothing to do), and a hold takes a vehicle at most once.
CREATE TABLE vehicle_holds (
  vehicle_id  uuid NOT NULL REFERENCES vehicles (id),
  hold_kind   text NOT NULL CHECK (hold_kind IN ('rental', 'maintenance_job')),
  hold_id     uuid NOT NULL,
  taken_at    timestamptz NOT NULL,             -- the event's time (pickup, start)
  released_at timestamptz NULL,                 -- the event's time (return, completion, cancellation), or when cleared by hand
  ended_by    text NULL CHECK (ended_by IN ('event', 'by_hand')),
  PRIMARY KEY (vehicle_id, hold_kind, hold_id),
  CONSTRAINT vehicle_holds_end_complete CHECK ((released_at IS NULL) = (ended_by IS NULL))
);

-- Holds in place when this table arrived.
INSERT INTO vehicle_holds (vehicle_id, hold_kind, hold_id, taken_at)
SELECT id, hold_kind, hold_id, updated_at FROM vehicles WHERE hold_id IS NOT NULL;
