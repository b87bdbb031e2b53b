import "server-only";
import { sqliteClient, type Db } from "@/lib/db/client";

/**
 * The SQL of "reset all data". Mimir's own tables and the console's operational tables are emptied;
 * the console's access and its history of who did what are kept on purpose (users, sessions,
 * api_tokens, audit_log, system_metadata with the instance id, the backups catalog), so whoever
 * reset the instance can still sign in, scripts keep their tokens, and the reset itself stays on
 * record; so are the notification channels and their delivery log (settings, not data). The jobs'
 * failure counts and the problems channels were told about go with the jobs and alerts they belong to.
 * Children before parents: job_executions and job_fires reference scheduled_jobs.
 */
export const RESET_EMPTIED_TABLES = [
  "job_executions",
  "job_fires",
  "scheduled_jobs",
  "pipelines",
  "storage_samples",
  "storage_alerts",
  "job_notification_settings",
  "notification_problems",
] as const;
export type ResetEmptiedTable = (typeof RESET_EMPTIED_TABLES)[number] | "operations";

/**
 * The console's access (accounts, their sessions, API tokens with their revocations and expiries) and
 * its record of who did what. Neither a reset nor a restore of mimir_data rolls these back: an older
 * set must not bring back a revoked token or a disabled account, nor cut the audit trail short
 * (lib/db/sqlite-kept-tables.ts carries them across a restore). Parents before children.
 */
export const ACCESS_AND_AUDIT_TABLES = ["users", "sessions", "api_tokens", "audit_log"] as const;

/** Tables a reset of mimir_data keeps, named in the confirmation dialog. */
export const RESET_KEPT_TABLES = [
  ...ACCESS_AND_AUDIT_TABLES,
  "system_metadata",
  "backups",
  "notification_channels",
  "notification_deliveries",
  "offsite_destinations",
  "offsite_copies",
] as const;

/** Row counts of the given tables (a table missing from an adopted database counts 0). */
export function countTableRows(db: Db, tables: readonly string[]): Record<string, number> {
  const present = new Set((sqliteClient(db).prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name));
  return Object.fromEntries(
    tables.map((table) => [
      table,
      present.has(table) ? Number((sqliteClient(db).prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n) : 0,
    ]),
  );
}

/**
 * Empties Mimir's tables and the operational ones in one transaction (all or nothing), keeping the
 * row of the running reset operation so its progress and result can still be written. Returns the
 * rows deleted per table.
 */
export function emptyDataTables(db: Db, options: { keepOperationId: string }): Record<ResetEmptiedTable, number> {
  const client = sqliteClient(db);
  return client.transaction(() => {
    const deleted = {} as Record<ResetEmptiedTable, number>;
    for (const table of RESET_EMPTIED_TABLES) deleted[table] = client.prepare(`DELETE FROM "${table}"`).run().changes;
    deleted.operations = client.prepare("DELETE FROM operations WHERE id <> ?").run(options.keepOperationId).changes;
    return deleted;
  })();
}

/** Deletes every pipeline row (resetting mimir_pipelines alone: otherwise the rows would write the files back). */
export function deletePipelineRows(db: Db): number {
  return sqliteClient(db).prepare("DELETE FROM pipelines").run().changes;
}

/**
 * Gives the emptied pages back to the file system and truncates the WAL. Runs on the live connection:
 * after the delete the file is small, and app writes are paused around it.
 */
export function vacuumAndTruncate(db: Db): void {
  sqliteClient(db).exec("VACUUM");
  sqliteClient(db).pragma("wal_checkpoint(TRUNCATE)");
}
