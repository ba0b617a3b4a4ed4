-- identity's outbox and inbox tables were created here until the platform kit
-- took them over: migrations/platform/0001_kit_tables.sql, applied before every
-- service's own migrations (IF NOT EXISTS, so databases migrated before that
-- keep the tables made here). The file stays because its name is recorded in
-- schema_migrations of databases that applied it.
SELECT 1;
