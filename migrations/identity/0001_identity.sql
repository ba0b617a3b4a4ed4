-- Identity service schema v1: users, roles and permissions (RBAC), staff
-- profiles, service clients (OAuth 2.0 client_credentials), refresh tokens,
-- idempotency keys.
-- Runs as the database owner role; the runtime role gets DML through default privileges.
--
-- Roles, permissions and role_permissions are NOT seeded here: the service
-- upserts services/identity/src/domain/role-catalog.ts at start (and
-- bootstrap-admin does too), so the catalog stays the one source.

CREATE TABLE users (
  id              uuid PRIMARY KEY,
  -- Stored lower case by the service; citext keeps uniqueness case-insensitive anyway.
  email           citext NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  phone_number    text NULL CHECK (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
  -- "scrypt$N=..,r=..,p=..$<salt>$<hash>": the parameters travel with each
  -- hash so they can be raised later. NULL: the user cannot log in yet.
  password_hash   text NULL CHECK (password_hash LIKE 'scrypt$%'),
  status          text NOT NULL CHECK (status IN ('active', 'disabled')),
  disable_time    timestamptz NULL,
  disable_reason  text NULL CHECK (length(disable_reason) <= 500),
  last_login_time timestamptz NULL,
  row_version     bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  created_by      uuid NULL,
  updated_by      uuid NULL,
  CONSTRAINT users_email_key UNIQUE (email),
  CONSTRAINT users_disabled_has_time CHECK ((status = 'disabled') = (disable_time IS NOT NULL))
);

CREATE INDEX users_status_email_idx ON users (status, email, id);
CREATE INDEX users_display_name_idx ON users (display_name, id);

CREATE TABLE roles (
  id          uuid PRIMARY KEY,
  name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT roles_name_key UNIQUE (name)
);

CREATE TABLE permissions (
  id         uuid PRIMARY KEY,
  name       text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT permissions_name_key UNIQUE (name)
);

CREATE TABLE role_permissions (
  role_id       uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  permission_id uuid NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
  PRIMARY KEY (role_id, permission_id)
);

CREATE INDEX role_permissions_permission_idx ON role_permissions (permission_id);

CREATE TABLE user_roles (
  user_id    uuid NOT NULL REFERENCES users (id),
  role_id    uuid NOT NULL REFERENCES roles (id),
  granted_at timestamptz NOT NULL,
  granted_by uuid NULL,
  PRIMARY KEY (user_id, role_id)
);

CREATE INDEX user_roles_role_idx ON user_roles (role_id, user_id);

CREATE TABLE staff_profiles (
  id               uuid PRIMARY KEY,
  user_id          uuid NOT NULL REFERENCES users (id),
  staff_type       text NOT NULL CHECK (staff_type IN ('driver', 'conductor', 'mechanic', 'admin', 'system')),
  daily_rate_cents bigint NULL CHECK (daily_rate_cents >= 0),
  currency         char(3) NULL CHECK (currency ~ '^[A-Z]{3}$'),
  license_number   text NULL CHECK (length(license_number) BETWEEN 1 AND 50),
  row_version      bigint NOT NULL DEFAULT 1 CHECK (row_version >= 1),
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  created_by       uuid NULL,
  updated_by       uuid NULL,
  CONSTRAINT staff_profiles_user_id_key UNIQUE (user_id),
  CONSTRAINT staff_profiles_rate_has_currency CHECK ((daily_rate_cents IS NULL) = (currency IS NULL))
);

CREATE INDEX staff_profiles_type_idx ON staff_profiles (staff_type);

-- OAuth 2.0 clients of the client_credentials grant. The secret is 256 random
-- bits, stored only as its SHA-256 (a slow hash adds nothing against guessing
-- a 256-bit value, and would make every token request cost ~100 ms of CPU).
CREATE TABLE service_clients (
  id            uuid PRIMARY KEY,
  client_id     text NOT NULL CHECK (client_id ~ '^svc_[0-9a-f]{32}$'),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  description   text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
  secret_hash   bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
  secret_hint   text NOT NULL CHECK (length(secret_hint) = 4),
  status        text NOT NULL CHECK (status IN ('active', 'revoked')),
  last_use_time timestamptz NULL,
  revoke_time   timestamptz NULL,
  revoke_reason text NULL CHECK (length(revoke_reason) <= 500),
  created_at    timestamptz NOT NULL,
  created_by    uuid NULL,
  CONSTRAINT service_clients_client_id_key UNIQUE (client_id),
  CONSTRAINT service_clients_revoked_has_time CHECK ((status = 'revoked') = (revoke_time IS NOT NULL))
);

CREATE INDEX service_clients_name_idx ON service_clients (name, id);

CREATE TABLE service_client_roles (
  service_client_id uuid NOT NULL REFERENCES service_clients (id),
  role_id           uuid NOT NULL REFERENCES roles (id),
  PRIMARY KEY (service_client_id, role_id)
);

CREATE INDEX service_client_roles_role_idx ON service_client_roles (role_id);

-- Opaque refresh tokens, single use, rotated within a family (one login
-- session). Only the SHA-256 of the token is stored. A token presented after
-- it was used revokes its whole family (theft detection).
CREATE TABLE refresh_tokens (
  id          uuid PRIMARY KEY,
  family_id   uuid NOT NULL,
  user_id     uuid NOT NULL REFERENCES users (id),
  token_hash  bytea NOT NULL CHECK (octet_length(token_hash) = 32),
  issued_at   timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz NULL,
  revoked_at  timestamptz NULL,
  -- The token this one was rotated into (no foreign key: rows are purged after expiry).
  replaced_by uuid NULL,
  CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
  CONSTRAINT refresh_tokens_expiry_after_issue CHECK (expires_at > issued_at),
  CONSTRAINT refresh_tokens_replaced_when_used CHECK (replaced_by IS NULL OR used_at IS NOT NULL)
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_live_user_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL AND used_at IS NULL;
CREATE INDEX refresh_tokens_expiry_idx ON refresh_tokens (expires_at);

-- Idempotency keys: a platform kit table (migrations/platform/0001_kit_tables.sql).
