-- Rental service schema v1: locations, pricing plans, quotes, rentals, their
-- charges and payments, maintenance blocks, fleet's vehicles as rental sees
-- them, and the one timeline every claim on a vehicle or a staff member goes
-- through (docs/rentals.md, "The vehicle timeline").
-- Runs as the database owner role; the runtime role gets DML through default
-- privileges. btree_gist comes from provisioning (provisionDatabase).

CREATE TABLE locations (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  type        text NOT NULL CHECK (type IN ('depot', 'city', 'custom')),
  address     text NULL CHECK (length(address) <= 500),
  -- IANA zone; validated by the service against the runtime's zone database.
  time_zone   text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
  row_version bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  created_by  uuid NULL,
  updated_by  uuid NULL
);
CREATE INDEX locations_name_idx ON locations (name, id);

-- Plans are immutable once created (a rental's charges must stay explainable
-- by its plan): only archiving changes a row, enforced by the trigger below.
CREATE TABLE pricing_plans (
  id                       uuid PRIMARY KEY,
  name                     text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  description              text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
  currency                 char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  daily_rate_minor         bigint NOT NULL CHECK (daily_rate_minor > 0),
  per_km_rate_minor        bigint NULL CHECK (per_km_rate_minor >= 0),
  included_km_per_day      int NULL CHECK (included_km_per_day >= 0),
  hourly_rate_minor        bigint NULL CHECK (hourly_rate_minor > 0),
  late_fee_per_hour_minor  bigint NULL CHECK (late_fee_per_hour_minor >= 0),
  late_grace_minutes       int NOT NULL DEFAULT 0 CHECK (late_grace_minutes BETWEEN 0 AND 1440),
  late_fee_cap_minor       bigint NULL CHECK (late_fee_cap_minor >= 0),
  cancellation_free_hours  int NULL CHECK (cancellation_free_hours BETWEEN 0 AND 8760),
  cancellation_fee_minor   bigint NULL CHECK (cancellation_fee_minor >= 0),
  no_show_fee_minor        bigint NULL CHECK (no_show_fee_minor >= 0),
  deposit_minor            bigint NULL CHECK (deposit_minor >= 0),
  archived_at              timestamptz NULL,
  row_version              bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at               timestamptz NOT NULL,
  updated_at               timestamptz NOT NULL,
  created_by               uuid NULL,
  updated_by               uuid NULL,
  CONSTRAINT pricing_plans_cancellation_complete CHECK ((cancellation_free_hours IS NULL) = (cancellation_fee_minor IS NULL))
);
CREATE INDEX pricing_plans_name_idx ON pricing_plans (name, id);

CREATE FUNCTION pricing_plans_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'pricing plans are never deleted (plan %)', OLD.id USING ERRCODE = 'P0001';
  END IF;
  IF (to_jsonb(NEW) - ARRAY['archived_at', 'row_version', 'updated_at', 'updated_by'])
     IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['archived_at', 'row_version', 'updated_at', 'updated_by']) THEN
    RAISE EXCEPTION 'pricing plan % is immutable: create a new plan and archive this one', OLD.id USING ERRCODE = 'P0001';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER pricing_plans_immutable BEFORE UPDATE OR DELETE ON pricing_plans
  FOR EACH ROW EXECUTE FUNCTION pricing_plans_immutable();

-- Fleet's vehicles as rental knows them: kept from fleet.vehicle.v1 events,
-- backfilled from FleetService.ListVehicles. home_location_id is rental's own.
CREATE TABLE vehicles (
  vehicle_id          uuid PRIMARY KEY,
  plate_number        text NOT NULL,
  make                text NOT NULL,
  model               text NOT NULL,
  variant             text NULL,
  passenger_capacity  int NULL,
  load_limit_kg       int NULL,
  status              text NOT NULL CHECK (status IN ('active', 'rented', 'under_maintenance', 'decommissioned')),
  fleet_row_version   bigint NOT NULL,
  home_location_id    uuid NULL REFERENCES locations (id),
  synced_at           timestamptz NOT NULL
);
CREATE INDEX vehicles_plate_idx ON vehicles (plate_number, vehicle_id);

CREATE TABLE quotes (
  id                      uuid PRIMARY KEY,
  customer_id             uuid NOT NULL,
  vehicle_id              uuid NOT NULL,
  period                  tstzrange NOT NULL,
  origin_location_id      uuid NOT NULL REFERENCES locations (id),
  destination_location_id uuid NOT NULL REFERENCES locations (id),
  pricing_plan_id         uuid NOT NULL REFERENCES pricing_plans (id),
  estimated_distance_km   int NULL,
  driver_id               uuid NULL,
  conductor_id            uuid NULL,
  currency                char(3) NOT NULL,
  lines                   jsonb NOT NULL,
  total_minor             bigint NOT NULL,
  deposit_minor           bigint NULL,
  hourly                  boolean NOT NULL,
  rental_days             int NOT NULL,
  expires_at              timestamptz NOT NULL,
  created_at              timestamptz NOT NULL,
  created_by              text NULL,
  -- Set once, by the reservation that used it.
  used_by_rental_id       uuid NULL UNIQUE
);
CREATE INDEX quotes_expiry_idx ON quotes (expires_at) WHERE used_by_rental_id IS NULL;

CREATE TABLE rentals (
  id                      uuid PRIMARY KEY,
  vehicle_id              uuid NOT NULL,
  customer_id             uuid NOT NULL,
  driver_id               uuid NULL,
  conductor_id            uuid NULL,
  period                  tstzrange NOT NULL CHECK (lower(period) < upper(period) AND lower_inc(period) AND NOT upper_inc(period)),
  origin_location_id      uuid NOT NULL REFERENCES locations (id),
  destination_location_id uuid NOT NULL REFERENCES locations (id),
  pricing_plan_id         uuid NOT NULL REFERENCES pricing_plans (id),
  quote_id                uuid NULL REFERENCES quotes (id),
  status                  text NOT NULL CHECK (status IN ('reserved', 'active', 'completed', 'cancelled', 'no_show')),
  currency                char(3) NOT NULL,
  time_zone               text NOT NULL,
  charges_total_minor     bigint NOT NULL DEFAULT 0,
  paid_total_minor        bigint NOT NULL DEFAULT 0,
  deposit_minor           bigint NULL,
  pickup_time             timestamptz NULL,
  pickup_odometer_km      int NULL CHECK (pickup_odometer_km >= 0),
  return_time             timestamptz NULL,
  return_odometer_km      int NULL CHECK (return_odometer_km >= 0),
  return_location_id      uuid NULL REFERENCES locations (id),
  notes                   text NOT NULL DEFAULT '',
  cancel_reason           text NULL,
  cancel_time             timestamptz NULL,
  no_show_time            timestamptz NULL,
  at_risk                 boolean NOT NULL DEFAULT false,
  at_risk_reason          text NULL,
  overdue_notified_at     timestamptz NULL,
  -- The staff members' daily rates as priced at assignment (identity may change them later).
  driver_rate_minor       bigint NULL CHECK (driver_rate_minor >= 0),
  conductor_rate_minor    bigint NULL CHECK (conductor_rate_minor >= 0),
  row_version             bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at              timestamptz NOT NULL,
  updated_at              timestamptz NOT NULL,
  -- A user id or a service client id (partners read what they created).
  created_by              text NULL,
  updated_by              text NULL,
  CONSTRAINT rentals_return_not_below_pickup CHECK (return_odometer_km IS NULL OR pickup_odometer_km IS NULL OR return_odometer_km >= pickup_odometer_km)
);
CREATE INDEX rentals_start_idx ON rentals (lower(period) DESC, id DESC);
CREATE INDEX rentals_customer_idx ON rentals (customer_id, lower(period) DESC, id DESC);
CREATE INDEX rentals_driver_idx ON rentals (driver_id, lower(period) DESC) WHERE driver_id IS NOT NULL;
CREATE INDEX rentals_conductor_idx ON rentals (conductor_id, lower(period) DESC) WHERE conductor_id IS NOT NULL;
CREATE INDEX rentals_creator_idx ON rentals (created_by, lower(period) DESC);
CREATE INDEX rentals_vehicle_idx ON rentals (vehicle_id, upper(period));
CREATE INDEX rentals_reserved_start_idx ON rentals (lower(period)) WHERE status = 'reserved';
CREATE INDEX rentals_active_end_idx ON rentals (upper(period)) WHERE status = 'active' AND overdue_notified_at IS NULL;

-- Append-only facts; a correction is a further charge.
CREATE TABLE rental_charges (
  id               uuid PRIMARY KEY,
  rental_id        uuid NOT NULL REFERENCES rentals (id),
  type             text NOT NULL,
  description      text NOT NULL,
  quantity         int NOT NULL CHECK (quantity >= 1),
  unit_price_minor bigint NOT NULL,
  amount_minor     bigint NOT NULL,
  currency         char(3) NOT NULL,
  created_at       timestamptz NOT NULL,
  created_by       text NULL,
  CONSTRAINT rental_charges_amount CHECK (amount_minor = quantity * unit_price_minor),
  CONSTRAINT rental_charges_sign CHECK (type = 'discount' OR amount_minor >= 0)
);
CREATE INDEX rental_charges_rental_idx ON rental_charges (rental_id, created_at, id);

CREATE TABLE rental_payments (
  id                 uuid PRIMARY KEY,
  rental_id          uuid NOT NULL REFERENCES rentals (id),
  kind               text NOT NULL CHECK (kind IN ('payment', 'deposit')),
  provider           text NOT NULL CHECK (provider IN ('cash', 'card', 'transfer')),
  amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
  currency           char(3) NOT NULL,
  status             text NOT NULL CHECK (status IN ('pending', 'captured', 'failed', 'refunded', 'held', 'released', 'settled')),
  refunded_minor     bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
  applied_minor      bigint NOT NULL DEFAULT 0 CHECK (applied_minor >= 0),
  external_reference text NOT NULL DEFAULT '',
  status_reason      text NOT NULL DEFAULT '',
  row_version        bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  created_by         text NULL,
  updated_by         text NULL,
  -- Never more refunded or applied than was taken.
  CONSTRAINT rental_payments_refund_within_capture CHECK (refunded_minor + applied_minor <= amount_minor)
);
CREATE INDEX rental_payments_rental_idx ON rental_payments (rental_id, created_at, id);

CREATE TABLE vehicle_blocks (
  reference   text PRIMARY KEY CHECK (length(reference) BETWEEN 1 AND 200),
  vehicle_id  uuid NOT NULL,
  period      tstzrange NOT NULL CHECK (lower(period) < upper(period) AND lower_inc(period) AND NOT upper_inc(period)),
  reason      text NOT NULL,
  urgent      boolean NOT NULL,
  released_at timestamptz NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  created_by  text NULL
);
CREATE INDEX vehicle_blocks_vehicle_idx ON vehicle_blocks (vehicle_id, lower(period));

-- THE timeline: every current claim on a vehicle's time, one row per claim.
-- A RESERVED or ACTIVE rental holds one row; an unreleased block holds one.
-- Rows leave when the claim ends (completion, cancellation, no-show,
-- release), or when an urgent block displaces a reservation, which is then
-- marked at risk. The exclusion constraint is the single booking authority:
-- whatever the application checked before, two overlapping claims of one
-- vehicle cannot both commit.
CREATE TABLE vehicle_claims (
  vehicle_id      uuid NOT NULL,
  period          tstzrange NOT NULL CHECK (lower(period) < upper(period) AND lower_inc(period) AND NOT upper_inc(period)),
  rental_id       uuid NULL UNIQUE REFERENCES rentals (id),
  block_reference text NULL UNIQUE REFERENCES vehicle_blocks (reference),
  CONSTRAINT vehicle_claims_one_owner CHECK ((rental_id IS NULL) <> (block_reference IS NULL)),
  CONSTRAINT vehicle_claims_no_overlap EXCLUDE USING gist (vehicle_id WITH =, period WITH &&)
);

-- The same for people: a driver or conductor is in at most one RESERVED or
-- ACTIVE rental at any instant.
CREATE TABLE staff_claims (
  staff_id  uuid NOT NULL,
  rental_id uuid NOT NULL REFERENCES rentals (id),
  role      text NOT NULL CHECK (role IN ('driver', 'conductor')),
  period    tstzrange NOT NULL CHECK (lower(period) < upper(period) AND lower_inc(period) AND NOT upper_inc(period)),
  PRIMARY KEY (rental_id, role),
  CONSTRAINT staff_claims_no_overlap EXCLUDE USING gist (staff_id WITH =, period WITH &&)
);
