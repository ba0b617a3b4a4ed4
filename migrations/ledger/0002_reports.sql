-- Reports: checkpoints (summaries of the immutable journal for the balance
-- reports) and stored report snapshots with their canonical CSV.
-- docs/ledger-reports.md explains the design. Everything here is append-only
-- (privileges.yaml, and the refuse_change() triggers of 0001 for every role).

-- A checkpoint summarises every journal line with position <= position. It
-- is built from the previous checkpoint plus the lines after it, never by
-- rescanning the journal: its summary rows (report_checkpoint_balances) hold
-- only the lines of (previous_position, position]; the balances as of a
-- checkpoint are the sum of the summary rows of it and of every earlier one.
CREATE TABLE report_checkpoints (
  position bigint PRIMARY KEY CHECK (position > 0),
  previous_position bigint NOT NULL CHECK (previous_position >= 0 AND previous_position < position),
  -- Journal lines of (previous_position, position].
  line_count bigint NOT NULL CHECK (line_count >= 0),
  -- Latest post_time of any entry up to position: a report with a cutoff_time
  -- before it cannot use this checkpoint (nor a later one).
  max_post_time timestamptz,
  create_time timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT report_checkpoints_previous_key UNIQUE (previous_position)
);

-- Net movement per (account, currency, entry date) of the lines of one
-- checkpoint's segment. numeric: a sum of bigint amounts may exceed bigint.
CREATE TABLE report_checkpoint_balances (
  checkpoint_position bigint NOT NULL REFERENCES report_checkpoints (position),
  account_id uuid NOT NULL,
  currency char(3) NOT NULL,
  entry_date date NOT NULL,
  debit_minor numeric(38, 0) NOT NULL,
  credit_minor numeric(38, 0) NOT NULL,
  line_count bigint NOT NULL,
  PRIMARY KEY (checkpoint_position, account_id, currency, entry_date)
);
CREATE INDEX report_checkpoint_balances_date_idx ON report_checkpoint_balances (entry_date, checkpoint_position)
  INCLUDE (account_id, currency, debit_minor, credit_minor);

CREATE TRIGGER report_checkpoints_append_only BEFORE UPDATE OR DELETE ON report_checkpoints
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER report_checkpoints_no_truncate BEFORE TRUNCATE ON report_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER report_checkpoint_balances_append_only BEFORE UPDATE OR DELETE ON report_checkpoint_balances
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER report_checkpoint_balances_no_truncate BEFORE TRUNCATE ON report_checkpoint_balances
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- A stored report result. Never updated: generating again is a new row.
CREATE TABLE report_snapshots (
  id uuid PRIMARY KEY,
  report_type text NOT NULL CHECK (report_type IN ('TRIAL_BALANCE', 'INCOME_STATEMENT', 'REVENUE', 'MAINTENANCE_COST',
    'BALANCE_SHEET', 'FLEET_UTILIZATION', 'RECEIVABLES_AGING')),
  -- The parameters with the resolved cutoff_time and ledger position.
  parameters jsonb NOT NULL,
  generate_time timestamptz NOT NULL,
  cutoff_time timestamptz,
  generated_by text NOT NULL,
  ledger_position bigint NOT NULL CHECK (ledger_position >= 0),
  content_sha256 text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
  row_count bigint NOT NULL CHECK (row_count >= 0),
  byte_count bigint NOT NULL CHECK (byte_count > 0),
  chunk_count integer NOT NULL CHECK (chunk_count > 0),
  -- The typed result (JSON, amounts as strings) when small enough to return
  -- in one message; NULL beyond (REPORT_TOO_LARGE: export the CSV).
  result jsonb,
  create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_snapshots_list_idx ON report_snapshots (generate_time DESC, id DESC);
CREATE INDEX report_snapshots_type_idx ON report_snapshots (report_type, generate_time DESC, id DESC);

-- The canonical CSV of a snapshot in chunks of whole lines (header first),
-- in order; their concatenation hashes to content_sha256.
CREATE TABLE report_snapshot_chunks (
  snapshot_id uuid NOT NULL REFERENCES report_snapshots (id) DEFERRABLE INITIALLY DEFERRED,
  chunk_no integer NOT NULL CHECK (chunk_no >= 0),
  content text NOT NULL,
  byte_count integer NOT NULL CHECK (byte_count > 0),
  PRIMARY KEY (snapshot_id, chunk_no)
);

CREATE TRIGGER report_snapshots_append_only BEFORE UPDATE OR DELETE ON report_snapshots
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER report_snapshots_no_truncate BEFORE TRUNCATE ON report_snapshots
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER report_snapshot_chunks_append_only BEFORE UPDATE OR DELETE ON report_snapshot_chunks
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER report_snapshot_chunks_no_truncate BEFORE TRUNCATE ON report_snapshot_chunks
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
