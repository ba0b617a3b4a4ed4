-- Readings recorded in the same instant tie on recorded_at; the guard must
-- compare with the highest of them, not with whichever has the larger id
-- (ids are random), or a lower reading could slip in between.
CREATE OR REPLACE FUNCTION vehicle_odometer_readings_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  latest record;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'vehicle_odometer_readings is append-only' USING ERRCODE = 'P0001', HINT = 'ODOMETER_APPEND_ONLY';
  END IF;
  SELECT reading_km, recorded_at INTO latest
    FROM vehicle_odometer_readings
   WHERE vehicle_id = NEW.vehicle_id
   ORDER BY recorded_at DESC, reading_km DESC
   LIMIT 1;
  IF FOUND AND (NEW.reading_km < latest.reading_km OR NEW.recorded_at < latest.recorded_at) THEN
    RAISE EXCEPTION 'odometer reading % km is below the latest % km', NEW.reading_km, latest.reading_km
      USING ERRCODE = 'P0001', HINT = 'ODOMETER_DECREASING';
  END IF;
  RETURN NEW;
END;
$$;
