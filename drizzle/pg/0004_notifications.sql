-- On PostgreSQL the schema starts whole at 0000_mimir_schema (no PostgreSQL database predates it); this step
-- exists so that both dialects count the same migrations and system_metadata.schema_version means
-- the same thing on both (drizzle/0004_notifications.sql is the SQLite step).
SELECT 1;
