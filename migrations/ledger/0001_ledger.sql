-- Ledger: chart of accounts, the double-entry journal, invoices, credit
-- notes, payments, refunds, customer credit, accounting periods, the facts
-- reports read (completed maintenance, rental usage) and report snapshots.
-- docs/ledger.md explains the design; the invariants below are enforced by
-- the database itself, whoever connects.

-- The ledger position. Every fact the ledger records (a journal entry, a
-- usage or maintenance fact) takes the next position by updating this one
-- row, and keeps the row locked until its transaction ends. The next
-- transaction therefore gets its position only after the previous one has
-- committed (or rolled back, freeing the number): positions are handed out
-- in commit order, without gaps, and a reader that sees position P can rely
-- on every lower position being settled for good.
CREATE TABLE ledger_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  position bigint NOT NULL CHECK (position >= 0)
);
INSERT INTO ledger_head (singleton, position) VALUES (true, 0);

CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  code text NOT NULL CONSTRAINT accounts_code_key UNIQUE CHECK (code ~ '^[A-Z][A-Z0-9_]{1,49}$'),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  type text NOT NULL CHECK (type IN ('ASSET', 'LIABILITY', 'EQUITY', 'REVENUE', 'EXPENSE')),
  description text NOT NULL DEFAULT '',
  row_version bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL DEFAULT '',
  updated_by text NOT NULL DEFAULT ''
);

-- The seeded chart of accounts (docs/ledger.md#chart-of-accounts). Fixed ids
-- so that every installation and every test posts to the same accounts.
INSERT INTO accounts (id, code, name, type, description) VALUES
  ('00000000-0000-4000-8000-000000001000', 'CASH', 'Cash', 'ASSET', 'Cash taken at the desk'),
  ('00000000-0000-4000-8000-000000001010', 'BANK', 'Bank', 'ASSET', 'Card and transfer receipts'),
  ('00000000-0000-4000-8000-000000001100', 'ACCOUNTS_RECEIVABLE', 'Accounts receivable', 'ASSET', 'Invoiced and not yet paid'),
  ('00000000-0000-4000-8000-000000001200', 'PARTS_INVENTORY', 'Parts inventory', 'ASSET', 'Spare parts in stock, at cost'),
  ('00000000-0000-4000-8000-000000002000', 'ACCOUNTS_PAYABLE', 'Accounts payable', 'LIABILITY', 'Owed to suppliers and workshops'),
  ('00000000-0000-4000-8000-000000002100', 'CUSTOMER_DEPOSITS', 'Customer deposits', 'LIABILITY', 'Deposits and payments received before the invoice'),
  ('00000000-0000-4000-8000-000000002200', 'CUSTOMER_CREDIT', 'Customer credit', 'LIABILITY', 'Overpayments later invoices can use'),
  ('00000000-0000-4000-8000-000000002300', 'TAX_PAYABLE', 'Tax payable', 'LIABILITY', 'Reserved: taxes are not modelled yet'),
  ('00000000-0000-4000-8000-000000003000', 'OWNER_EQUITY', 'Owner equity', 'EQUITY', 'Capital and retained earnings'),
  ('00000000-0000-4000-8000-000000004000', 'REVENUE_RENTAL', 'Rental revenue', 'REVENUE', 'Base, extra days, distance, fuel, driver'),
  ('00000000-0000-4000-8000-000000004100', 'REVENUE_LATE_FEES', 'Late fees', 'REVENUE', 'Late returns'),
  ('00000000-0000-4000-8000-000000004110', 'REVENUE_EXTRA_KM', 'Extra kilometre fees', 'REVENUE', 'Distance beyond the included kilometres'),
  ('00000000-0000-4000-8000-000000004120', 'REVENUE_CANCELLATION_FEES', 'Cancellation fees', 'REVENUE', 'Late cancellations'),
  ('00000000-0000-4000-8000-000000004130', 'REVENUE_NO_SHOW_FEES', 'No-show fees', 'REVENUE', 'Reservations not picked up'),
  ('00000000-0000-4000-8000-000000004140', 'REVENUE_DAMAGE', 'Damage recovery', 'REVENUE', 'Damage charged to customers'),
  ('00000000-0000-4000-8000-000000004190', 'REVENUE_OTHER', 'Other revenue', 'REVENUE', 'Other charges'),
  ('00000000-0000-4000-8000-000000005000', 'EXP_MAINTENANCE_PARTS', 'Maintenance parts', 'EXPENSE', 'Parts used by maintenance jobs'),
  ('00000000-0000-4000-8000-000000005010', 'EXP_MAINTENANCE_LABOR', 'Maintenance labour', 'EXPENSE', 'Labour of maintenance jobs'),
  ('00000000-0000-4000-8000-000000005100', 'EXP_STAFF', 'Staff cost', 'EXPENSE', 'Drivers and conductors'),
  ('00000000-0000-4000-8000-000000005200', 'EXP_INVENTORY_ADJUSTMENT', 'Inventory adjustments', 'EXPENSE', 'Stock counted short or found');

CREATE TABLE journal_entries (
  id uuid PRIMARY KEY,
  position bigint NOT NULL CONSTRAINT journal_entries_position_key UNIQUE CHECK (position > 0),
  external_ref_type text NOT NULL CHECK (external_ref_type ~ '^[a-z][a-z0-9_]{0,49}$'),
  external_ref_id text NOT NULL CHECK (char_length(external_ref_id) BETWEEN 1 AND 200),
  -- SHA-256 of the entry's canonical content: a repeated post with the same
  -- reference is the same fact only if this matches.
  content_hash text NOT NULL,
  entry_date date NOT NULL,
  fact_date date,
  description text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 500),
  post_time timestamptz NOT NULL DEFAULT now(),
  posted_by text NOT NULL DEFAULT '',
  reverses_entry_id uuid CONSTRAINT journal_entries_reverses_fkey REFERENCES journal_entries (id),
  CONSTRAINT journal_entries_external_ref_key UNIQUE (external_ref_type, external_ref_id),
  -- An entry is reversed at most once.
  CONSTRAINT journal_entries_reverses_key UNIQUE (reverses_entry_id),
  CONSTRAINT journal_entries_line_key UNIQUE (id, position, entry_date)
);
CREATE INDEX journal_entries_date_idx ON journal_entries (entry_date DESC, post_time DESC, id);

CREATE TABLE journal_lines (
  id uuid PRIMARY KEY,
  entry_id uuid NOT NULL,
  line_no smallint NOT NULL CHECK (line_no >= 1),
  -- Copies of the entry's, tied to it by the foreign key below, so that
  -- reports filter lines without a join.
  position bigint NOT NULL,
  entry_date date NOT NULL,
  account_id uuid NOT NULL REFERENCES accounts (id),
  direction char(1) NOT NULL CHECK (direction IN ('D', 'C')),
  amount_minor bigint NOT NULL CONSTRAINT journal_lines_amount_positive CHECK (amount_minor > 0),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  vehicle_id uuid,
  -- Analytic dimension: the invoice a receivable, revenue or credit line
  -- belongs to (receivables aging, rentals per revenue bucket).
  invoice_id uuid,
  memo text NOT NULL DEFAULT '',
  CONSTRAINT journal_lines_entry_fkey FOREIGN KEY (entry_id, position, entry_date)
    REFERENCES journal_entries (id, position, entry_date),
  CONSTRAINT journal_lines_line_no_key UNIQUE (entry_id, line_no)
);
CREATE INDEX journal_lines_account_idx ON journal_lines (account_id, currency, entry_date, position) INCLUDE (direction, amount_minor);
CREATE INDEX journal_lines_position_idx ON journal_lines (position);
CREATE INDEX journal_lines_vehicle_idx ON journal_lines (vehicle_id, entry_date) WHERE vehicle_id IS NOT NULL;
CREATE INDEX journal_lines_invoice_idx ON journal_lines (invoice_id) WHERE invoice_id IS NOT NULL;

-- Nothing written to the journal (or another append-only table) changes.
-- The app role also lacks the privileges (privileges.yaml); this trigger
-- holds for every other role, the owner included.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege', HINT = 'correct with a new row (a reversing entry, a credit note)';
END $$;

CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER journal_lines_no_truncate BEFORE TRUNCATE ON journal_lines
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- At commit, every entry touched has at least two lines and, in every
-- currency, debits equal to credits: an unbalanced entry cannot commit,
-- whatever inserted it. Deferred, so that the entry and its lines can be
-- inserted in any order within the transaction.
CREATE FUNCTION check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  entry uuid;
  line_count integer;
  unbalanced text;
BEGIN
  IF TG_TABLE_NAME = 'journal_entries' THEN entry := NEW.id; ELSE entry := NEW.entry_id; END IF;
  SELECT count(*) INTO line_count FROM journal_lines WHERE entry_id = entry;
  IF line_count < 2 THEN
    RAISE EXCEPTION 'journal entry % has % line(s); at least two are required', entry, line_count
      USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entry_balanced';
  END IF;
  SELECT string_agg(currency, ', ') INTO unbalanced FROM (
    SELECT currency FROM journal_lines WHERE entry_id = entry GROUP BY currency
     HAVING sum(CASE direction WHEN 'D' THEN amount_minor::numeric ELSE -amount_minor::numeric END) <> 0
  ) u;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % is unbalanced in %', entry, unbalanced
      USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entry_balanced';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_entry_balanced();
CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_entry_balanced();

-- A reversing entry reverses an entry that is not itself a reversal.
CREATE FUNCTION check_reversal_target() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.reverses_entry_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM journal_entries WHERE id = NEW.reverses_entry_id AND reverses_entry_id IS NOT NULL) THEN
    RAISE EXCEPTION 'entry % is a reversal and cannot be reversed', NEW.reverses_entry_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entries_reversal_of_reversal';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER journal_entries_reversal_target BEFORE INSERT ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION check_reversal_target();

-- Accounting months ever closed. A month without a row is open.
CREATE TABLE accounting_periods (
  period_start date PRIMARY KEY CHECK (extract(day FROM period_start) = 1),
  status text NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
  row_version bigint NOT NULL DEFAULT 1
);

-- Who closed and reopened which month, when and why. Append-only.
CREATE TABLE period_status_changes (
  id uuid PRIMARY KEY,
  period_start date NOT NULL REFERENCES accounting_periods (period_start),
  status text NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
  changed_by text NOT NULL,
  reason text NOT NULL DEFAULT '',
  change_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX period_status_changes_period_idx ON period_status_changes (period_start, change_time);
CREATE TRIGGER period_status_changes_append_only BEFORE UPDATE OR DELETE ON period_status_changes
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- A closed month refuses entries dated in it. Closing takes the ledger head
-- lock before it commits, and a posting takes it before it inserts, so a
-- posting either commits before the close or sees it here.
CREATE FUNCTION check_period_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM accounting_periods
              WHERE period_start = date_trunc('month', NEW.entry_date)::date AND status = 'CLOSED') THEN
    RAISE EXCEPTION 'accounting period % is closed', to_char(NEW.entry_date, 'YYYY-MM')
      USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entries_period_open';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER journal_entries_period_open BEFORE INSERT ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION check_period_open();

-- Gapless number series ("INV" and "CN" per year): the counter row is
-- updated in the issuing transaction, so a rollback returns its number.
CREATE TABLE number_series (
  series text NOT NULL,
  year integer NOT NULL,
  last_number bigint NOT NULL CHECK (last_number >= 0),
  PRIMARY KEY (series, year)
);

CREATE TABLE invoices (
  id uuid PRIMARY KEY,
  number text NOT NULL CONSTRAINT invoices_number_key UNIQUE,
  customer_id uuid NOT NULL,
  rental_id uuid,
  external_ref_type text,
  external_ref_id text,
  content_hash text NOT NULL,
  status text NOT NULL CHECK (status IN ('ISSUED', 'PARTIALLY_PAID', 'PAID', 'VOID', 'CREDITED')),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  total_minor bigint NOT NULL CHECK (total_minor >= 0),
  paid_minor bigint NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
  credited_minor bigint NOT NULL DEFAULT 0 CHECK (credited_minor >= 0),
  credit_applied_minor bigint NOT NULL DEFAULT 0 CHECK (credit_applied_minor >= 0),
  issue_date date NOT NULL,
  due_date date,
  notes text NOT NULL DEFAULT '',
  journal_entry_id uuid NOT NULL REFERENCES journal_entries (id),
  void_reason text,
  void_time timestamptz,
  row_version bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL DEFAULT '',
  updated_by text NOT NULL DEFAULT '',
  CONSTRAINT invoices_external_ref_key UNIQUE (external_ref_type, external_ref_id),
  CONSTRAINT invoices_settled_within_total CHECK (paid_minor + credited_minor <= total_minor),
  CONSTRAINT invoices_credit_applied_within_paid CHECK (credit_applied_minor <= paid_minor),
  CONSTRAINT invoices_due_after_issue CHECK (due_date IS NULL OR due_date >= issue_date)
);
CREATE INDEX invoices_customer_idx ON invoices (customer_id, issue_date DESC, id);
CREATE INDEX invoices_rental_idx ON invoices (rental_id) WHERE rental_id IS NOT NULL;
CREATE INDEX invoices_issue_idx ON invoices (issue_date DESC, create_time DESC, id);

CREATE TABLE invoice_lines (
  id uuid PRIMARY KEY,
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  line_no smallint NOT NULL,
  description text NOT NULL,
  quantity integer NOT NULL CHECK (quantity >= 1),
  unit_price_minor bigint NOT NULL,
  amount_minor bigint NOT NULL,
  revenue_account_id uuid NOT NULL REFERENCES accounts (id),
  vehicle_id uuid,
  rental_charge_id uuid,
  CONSTRAINT invoice_lines_line_no_key UNIQUE (invoice_id, line_no)
);
CREATE TRIGGER invoice_lines_append_only BEFORE UPDATE OR DELETE ON invoice_lines
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE credit_notes (
  id uuid PRIMARY KEY,
  number text NOT NULL CONSTRAINT credit_notes_number_key UNIQUE,
  invoice_id uuid NOT NULL REFERENCES invoices (id),
  customer_id uuid NOT NULL,
  currency char(3) NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  reason text NOT NULL,
  issue_date date NOT NULL,
  journal_entry_id uuid NOT NULL REFERENCES journal_entries (id),
  external_ref_type text,
  external_ref_id text,
  content_hash text NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL DEFAULT '',
  CONSTRAINT credit_notes_external_ref_key UNIQUE (external_ref_type, external_ref_id)
);
CREATE INDEX credit_notes_invoice_idx ON credit_notes (invoice_id, create_time);
CREATE TRIGGER credit_notes_append_only BEFORE UPDATE OR DELETE ON credit_notes
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE payments (
  id uuid PRIMARY KEY,
  invoice_id uuid REFERENCES invoices (id),
  customer_id uuid NOT NULL,
  rental_id uuid,
  -- Set for payments mirrored from rental; unique, so mirroring is idempotent.
  rental_payment_id uuid CONSTRAINT payments_rental_payment_key UNIQUE,
  -- PAYMENT, or DEPOSIT for rental deposits (held on CUSTOMER_DEPOSITS until applied or returned).
  kind text NOT NULL DEFAULT 'PAYMENT' CHECK (kind IN ('PAYMENT', 'DEPOSIT')),
  provider text NOT NULL CHECK (provider IN ('CASH', 'CARD', 'TRANSFER')),
  currency char(3) NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  -- Part applied to the invoice; the rest (an overpayment) became customer credit.
  applied_minor bigint NOT NULL DEFAULT 0 CHECK (applied_minor >= 0),
  refunded_minor bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
  status text NOT NULL CHECK (status IN ('CAPTURED', 'PARTIALLY_REFUNDED', 'REFUNDED')),
  external_reference text NOT NULL DEFAULT '',
  capture_time timestamptz NOT NULL,
  journal_entry_id uuid NOT NULL REFERENCES journal_entries (id),
  row_version bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL DEFAULT '',
  CONSTRAINT payments_refund_within_amount CHECK (refunded_minor <= amount_minor),
  CONSTRAINT payments_applied_within_amount CHECK (applied_minor <= amount_minor)
);
CREATE INDEX payments_invoice_idx ON payments (invoice_id, capture_time) WHERE invoice_id IS NOT NULL;
CREATE INDEX payments_rental_idx ON payments (rental_id, capture_time) WHERE rental_id IS NOT NULL;
CREATE INDEX payments_capture_idx ON payments (capture_time DESC, id);

CREATE TABLE refunds (
  id uuid PRIMARY KEY,
  payment_id uuid NOT NULL REFERENCES payments (id),
  currency char(3) NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor > 0),
  reason text NOT NULL,
  external_reference text NOT NULL DEFAULT '',
  refund_time timestamptz NOT NULL DEFAULT now(),
  journal_entry_id uuid NOT NULL REFERENCES journal_entries (id),
  created_by text NOT NULL DEFAULT ''
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, refund_time);
CREATE TRIGGER refunds_append_only BEFORE UPDATE OR DELETE ON refunds
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Customer credit: overpayments (+) and their use on later invoices (-).
-- Append-only; the available credit is the sum, never below zero because
-- every use locks the customer first (an advisory lock) and checks it.
CREATE TABLE customer_credit_movements (
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL,
  currency char(3) NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor <> 0),
  source_type text NOT NULL,
  source_id text NOT NULL,
  journal_entry_id uuid NOT NULL REFERENCES journal_entries (id),
  create_time timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT customer_credit_movements_source_key UNIQUE (source_type, source_id, customer_id, currency)
);
CREATE INDEX customer_credit_movements_customer_idx ON customer_credit_movements (customer_id, currency);
CREATE TRIGGER customer_credit_movements_append_only BEFORE UPDATE OR DELETE ON customer_credit_movements
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Facts from other services that reports read besides the journal, each
-- with its ledger position (taken like an entry's) and append-only.
-- Rental usage: one row per rental that ran (pickup to return), from RentalCompleted.
CREATE TABLE rental_usage_facts (
  rental_id uuid PRIMARY KEY,
  vehicle_id uuid NOT NULL,
  customer_id uuid NOT NULL,
  pickup_time timestamptz NOT NULL,
  return_time timestamptz NOT NULL CHECK (return_time >= pickup_time),
  position bigint NOT NULL,
  record_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rental_usage_facts_vehicle_idx ON rental_usage_facts (vehicle_id, pickup_time);
CREATE TRIGGER rental_usage_facts_append_only BEFORE UPDATE OR DELETE ON rental_usage_facts
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Completed maintenance jobs, from MaintenanceCompleted: the maintenance
-- cost report's rows and the utilization report's downtime.
CREATE TABLE maintenance_facts (
  maintenance_job_id uuid PRIMARY KEY,
  vehicle_id uuid NOT NULL,
  start_time timestamptz,
  complete_time timestamptz NOT NULL,
  complete_date date NOT NULL,
  currency char(3) NOT NULL,
  labor_minor bigint NOT NULL CHECK (labor_minor >= 0),
  parts_minor bigint NOT NULL CHECK (parts_minor >= 0),
  odometer_km integer,
  position bigint NOT NULL,
  record_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX maintenance_facts_vehicle_idx ON maintenance_facts (vehicle_id, complete_date);
CREATE INDEX maintenance_facts_date_idx ON maintenance_facts (complete_date);
CREATE TRIGGER maintenance_facts_append_only BEFORE UPDATE OR DELETE ON maintenance_facts
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
