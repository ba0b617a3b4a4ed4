-- Maintenance service schema v1: jobs and the parts they used, the parts
-- catalog and its stock movements, preventive plans, fleet's vehicles as
-- maintenance sees them (with odometers), and the intents that let a crash
-- between rental's BlockVehicle and the job's insert be reconciled.
-- Runs as the database owner role; the runtime role gets DML through default
-- privileges.

CREATE TABLE vehicles (
  vehicle_id          uuid PRIMARY KEY,
  plate_number        text NOT NULL,
  make                text NOT NULL,
  model               text NOT NULL,
  passenger_capacity  int NULL,
  load_limit_kg       int NULL,
  status              text NOT NULL CHECK (status IN ('active', 'rented', 'under_maintenance', 'decommissioned')),
  fleet_row_version   bigint NOT NULL,
  odometer_km         int NULL CHECK (odometer_km >= 0),
  odometer_at         timestamptz NULL,
  first_odometer_km   int NULL CHECK (first_odometer_km >= 0),
  synced_at           timestamptz NOT NULL
);
CREATE INDEX vehicles_model_idx ON vehicles (lower(make), lower(model));

CREATE TABLE parts (
  id             uuid PRIMARY KEY,
  part_number    text NOT NULL CHECK (length(part_number) BETWEEN 1 AND 100),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  unit_cost_minor bigint NOT NULL CHECK (unit_cost_minor >= 0),
  currency       char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- The database refuses negative stock whatever the application does.
  stock_on_hand  int NOT NULL DEFAULT 0 CHECK (stock_on_hand >= 0),
  reorder_level  int NOT NULL DEFAULT 0 CHECK (reorder_level >= 0),
  row_version    bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  CONSTRAINT parts_part_number_key UNIQUE (part_number)
);

CREATE TABLE maintenance_plans (
  id                uuid PRIMARY KEY,
  name              text NOT NULL,
  vehicle_id        uuid NULL,
  vehicle_make      text NULL,
  vehicle_model     text NULL,
  interval_days     int NULL CHECK (interval_days BETWEEN 1 AND 3650),
  interval_km       int NULL CHECK (interval_km BETWEEN 1 AND 1000000),
  lead_days         int NOT NULL DEFAULT 0 CHECK (lead_days >= 0),
  lead_km           int NOT NULL DEFAULT 0 CHECK (lead_km >= 0),
  planned_hours     int NOT NULL CHECK (planned_hours BETWEEN 1 AND 168),
  job_description   text NOT NULL,
  archived_at       timestamptz NULL,
  row_version       bigint NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL,
  created_by        text NULL,
  CONSTRAINT maintenance_plans_interval CHECK (interval_days IS NOT NULL OR interval_km IS NOT NULL),
  CONSTRAINT maintenance_plans_target CHECK ((vehicle_id IS NULL) <> (vehicle_make IS NULL AND vehicle_model IS NULL))
);

CREATE TABLE maintenance_jobs (
  id                        uuid PRIMARY KEY,
  vehicle_id                uuid NOT NULL,
  kind                      text NOT NULL CHECK (kind IN ('preventive', 'corrective', 'inspection')),
  description               text NOT NULL,
  schedule_time             timestamptz NOT NULL,
  estimated_completion_time timestamptz NOT NULL,
  status                    text NOT NULL CHECK (status IN ('scheduled', 'in_progress', 'completed', 'cancelled')),
  mechanic_id               uuid NULL,
  start_time                timestamptz NULL,
  complete_time             timestamptz NULL,
  odometer_km               int NULL CHECK (odometer_km >= 0),
  currency                  char(3) NULL,
  labor_cost_minor          bigint NULL CHECK (labor_cost_minor >= 0),
  parts_cost_minor          bigint NULL CHECK (parts_cost_minor >= 0),
  notes                     text NOT NULL DEFAULT '',
  cancel_reason             text NULL,
  cancel_time               timestamptz NULL,
  block_reference           text NOT NULL UNIQUE,
  urgent                    boolean NOT NULL DEFAULT false,
  plan_id                   uuid NULL REFERENCES maintenance_plans (id),
  -- One job per plan, vehicle and due point, whatever replica creates it.
  due_key                   text NULL UNIQUE,
  row_version               bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at                timestamptz NOT NULL,
  updated_at                timestamptz NOT NULL,
  created_by                text NULL,
  updated_by                text NULL,
  CONSTRAINT maintenance_jobs_window CHECK (estimated_completion_time > schedule_time)
);
CREATE INDEX maintenance_jobs_schedule_idx ON maintenance_jobs (schedule_time DESC, id DESC);
CREATE INDEX maintenance_jobs_vehicle_idx ON maintenance_jobs (vehicle_id, status);
CREATE INDEX maintenance_jobs_mechanic_idx ON maintenance_jobs (mechanic_id, schedule_time DESC) WHERE mechanic_id IS NOT NULL;
CREATE INDEX maintenance_jobs_plan_idx ON maintenance_jobs (plan_id, vehicle_id, complete_time DESC) WHERE plan_id IS NOT NULL;

CREATE TABLE parts_used (
  id                   uuid PRIMARY KEY,
  job_id               uuid NOT NULL REFERENCES maintenance_jobs (id),
  part_id              uuid NULL REFERENCES parts (id),
  part_name            text NOT NULL,
  part_number          text NOT NULL DEFAULT '',
  quantity             int NOT NULL CHECK (quantity >= 1),
  unit_cost_minor      bigint NULL CHECK (unit_cost_minor >= 0),
  total_cost_minor     bigint NULL CHECK (total_cost_minor >= 0),
  currency             char(3) NULL,
  cost_override_reason text NULL,
  recorded_at          timestamptz NOT NULL,
  recorded_by          text NULL
);
CREATE INDEX parts_used_job_idx ON parts_used (job_id, recorded_at, id);

CREATE TABLE stock_movements (
  id               uuid PRIMARY KEY,
  part_id          uuid NOT NULL REFERENCES parts (id),
  kind             text NOT NULL CHECK (kind IN ('receipt', 'consumption', 'adjustment')),
  quantity_delta   int NOT NULL CHECK (quantity_delta <> 0),
  total_cost_minor bigint NULL CHECK (total_cost_minor >= 0),
  currency         char(3) NULL,
  job_id           uuid NULL REFERENCES maintenance_jobs (id),
  reason           text NOT NULL DEFAULT '',
  stock_after      int NOT NULL CHECK (stock_after >= 0),
  created_at       timestamptz NOT NULL,
  created_by       text NULL
);
CREATE INDEX stock_movements_part_idx ON stock_movements (part_id, created_at DESC, id DESC);

-- Written (and committed) before rental's BlockVehicle is called, removed in
-- the transaction that inserts the job. One left behind older than a few
-- minutes is a block that may have no job: the reconciliation job releases it.
CREATE TABLE block_intents (
  job_id          uuid PRIMARY KEY,
  vehicle_id      uuid NOT NULL,
  block_reference text NOT NULL,
  created_at      timestamptz NOT NULL
);
