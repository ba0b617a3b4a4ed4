-- Fleet service schema v1: vehicles, odometer readings, idempotency keys.
-- Runs as the database owner role; the runtime role gets DML through default privileges.

CREATE TABLE vehicles (
  id                      uuid PRIMARY KEY,
  plate_number            text NOT NULL,
  make                    text NOT NULL CHECK (length(make) BETWEEN 1 AND 120),
  model                   text NOT NULL CHECK (length(model) BETWEEN 1 AND 120),
  variant                 text NULL CHECK (length(variant) <= 120),
  year                    int NULL CHECK (year BETWEEN 1900 AND 2200),
  passenger_capacity      int NULL CHECK (passenger_capacity >= 0),
  load_limit_kg           int NULL CHECK (load_limit_kg >= 0),
  acquisition_price_cents bigint NULL CHECK (acquisition_price_cents >= 0),
  currency                char(3) NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status                  text NOT NULL CHECK (status IN ('active', 'rented', 'under_maintenance', 'decommissioned')),
  odometer_km             int NULL CHECK (odometer_km >= 0),
  row_version             bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at              timestamptz NOT NULL,
  updated_at              timestamptz NOT NULL,
  created_by              uuid NULL,
  updated_by              uuid NULL,
  deleted_at              timestamptz NULL,
  CONSTRAINT vehicles_plate_number_key UNIQUE (plate_number),
  CONSTRAINT vehicles_price_has_currency CHECK ((acquisition_price_cents IS NULL) = (currency IS NULL))
);

CREATE INDEX vehicles_status_idx ON vehicles (status, created_at, id);
CREATE INDEX vehicles_created_idx ON vehicles (created_at, id);

CREATE TABLE vehicle_odometer_readings (
  id          uuid PRIMARY KEY,
  vehicle_id  uuid NOT NULL REFERENCES vehicles (id),
  reading_km  int NOT NULL CHECK (reading_km >= 0),
  recorded_at timestamptz NOT NULL,
  recorded_by uuid NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX vehicle_odometer_readings_vehicle_idx ON vehicle_odometer_readings (vehicle_id, recorded_at DESC, id DESC);

-- Readings are facts: append-only, and never below the latest reading of the
-- same vehicle. The service checks this under a row lock first; the trigger
-- is the backstop for any other writer.
CREATE FUNCTION vehicle_odometer_readings_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  latest record;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'vehicle_odometer_readings is append-only' USING ERRCODE = 'P0001', HINT = 'ODOMETER_APPEND_ONLY';
  END IF;
  SELECT reading_km, recorded_at INTO latest
    FROM vehicle_odometer_readings
   WHERE vehicle_id = NEW.vehicle_id
   ORDER BY recorded_at DESC, id DESC
   LIMIT 1;
  IF FOUND AND (NEW.reading_km < latest.reading_km OR NEW.recorded_at < latest.recorded_at) THEN
    RAISE EXCEPTION 'odometer reading % km is below the latest % km', NEW.reading_km, latest.reading_km
      USING ERRCODE = 'P0001', HINT = 'ODOMETER_DECREASING';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER vehicle_odometer_readings_guard
  BEFORE INSERT OR UPDATE OR DELETE ON vehicle_odometer_readings
  FOR EACH ROW EXECUTE FUNCTION vehicle_odometer_readings_guard();

-- Idempotency keys: a platform kit table (migrations/platform/0001_kit_tables.sql).
