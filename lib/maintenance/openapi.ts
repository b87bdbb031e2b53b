import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";
import {
  integrityCheckInput,
  migrateToPostgresInput,
  queryInput,
  resetInput,
  retentionCleanupInput,
  swapRecoveredInput,
  tableParams,
} from "@/lib/maintenance/inputs";
import { VOLUMES } from "@/lib/config/volumes";
import { OPERATION_RUNNING, operationOf } from "@/lib/operations/openapi";
import type {
  AnalyzeResult,
  CheckpointReport,
  IntegrityResult,
  MigrateToPostgresResult,
  QueryResult,
  RecoveryResult,
  ResetPreview,
  ResetResult,
  RetentionReport,
  SwapResult,
  VacuumResult,
} from "@/lib/maintenance/types";

const TAG = "Database maintenance";
const EXPORT = "Export";
const FOLLOW = "202 with the operation; follow it at /api/v1/operations/{id}";

const autoVacuum = z.enum(["none", "full", "incremental"]);
const vacuumResult = z
  .object({
    file_bytes_before: z.number(),
    wal_bytes_before: z.number(),
    file_bytes_after: z.number(),
    wal_bytes_after: z.number(),
    reclaimed_bytes: z.number(),
    free_pages_before: z.number(),
    free_pages_after: z.number(),
    auto_vacuum: autoVacuum,
    duration_ms: z.number(),
  })
  .loose() satisfies z.ZodType<VacuumResult>;
const analyzeResult = z.object({ analyzed_at: z.string(), duration_ms: z.number() }).loose() satisfies z.ZodType<AnalyzeResult>;
const checkpointReport = z
  .object({ wal_bytes_before: z.number(), wal_bytes_after: z.number(), frames_checkpointed: z.number(), busy: z.boolean(), duration_ms: z.number() })
  .loose() satisfies z.ZodType<CheckpointReport>;
const integrityResult = z
  .object({ mode: z.enum(["integrity_check", "quick_check"]), ok: z.boolean(), problems: z.array(z.string()), checked_at: z.string(), duration_ms: z.number() })
  .loose() satisfies z.ZodType<IntegrityResult>;
const recoveryResult = z
  .object({
    method: z.enum(["sqlite3 .recover", "table-by-table salvage"]),
    recovered_file: z.string(),
    recovered_bytes: z.number(),
    tables: z.array(z.object({ name: z.string(), recovered: z.number(), original: z.number().nullable() })),
    lost_and_found_rows: z.number(),
    problems: z.array(z.string()),
    recovered_integrity_ok: z.boolean(),
  })
  .loose() satisfies z.ZodType<RecoveryResult>;
const swapResult = z.object({ damaged_copy: z.string(), live: z.string() }).loose() satisfies z.ZodType<SwapResult>;
const queryResult = z
  .object({ columns: z.array(z.string()), rows: z.array(z.array(z.unknown())), truncated: z.boolean(), row_cap: z.number(), duration_ms: z.number() })
  .loose() satisfies z.ZodType<QueryResult>;
const retentionReport = z
  .object({
    dry_run: z.boolean(),
    retention_days: z.number(),
    cutoff: z.string().nullable(),
    keep_per_job: z.number().nullable(),
    job_id: z.string().nullable(),
    expired_rows: z.number(),
    over_cap_rows: z.number(),
    deleted_rows: z.number(),
    log_files_deleted: z.number(),
    log_bytes_deleted: z.number(),
    estimated_row_bytes: z.number(),
    db_bytes_before: z.number(),
    db_bytes_after: z.number(),
    reclaimed_bytes: z.number(),
    space_returned_by: z.enum(["incremental_vacuum", "vacuum", "none"]),
    free_pages_left: z.number(),
    app_logs: z.array(z.object({ file: z.string(), bytes: z.number(), modified_at: z.string() })),
    expired_sessions_deleted: z.number(),
    fire_claims_deleted: z.number(),
    stopped_instances_deleted: z.number(),
    cancelled: z.boolean(),
    duration_ms: z.number(),
  })
  .loose() satisfies z.ZodType<RetentionReport>;
const resetPreview = z
  .object({
    instance_name: z.string(),
    volumes: z.array(z.object({ name: z.enum(VOLUMES), folder: z.string(), files: z.number(), bytes: z.number(), size_bytes: z.number() })),
    measured_at: z.string(),
    rows: z.object({ jobs: z.number(), pipelines: z.number(), executions: z.number() }),
    kept_tables: z.array(z.string()),
  })
  .loose() satisfies z.ZodType<ResetPreview>;
const resetResult = z
  .object({
    volumes: z.array(z.enum(VOLUMES)),
    safety_backup_id: z.string(),
    deleted_rows: z.record(z.string(), z.number()),
    deleted_files: z.partialRecord(z.enum(VOLUMES), z.number()),
    builtin_jobs: z.array(z.string()),
    warnings: z.array(z.string()),
  })
  .loose() satisfies z.ZodType<ResetResult>;

const migrateToPostgresResult = z
  .object({
    tables: z.array(
      z.object({ table: z.string(), sourceRows: z.number(), targetRows: z.number(), sourceChecksum: z.string(), targetChecksum: z.string(), ok: z.boolean() }),
    ),
    rows: z.number(),
    copySeconds: z.number(),
    verifySeconds: z.number(),
    seconds: z.number(),
    target: z.string(),
    source_sha256_before: z.string().nullable(),
    source_sha256_after: z.string().nullable(),
    config_written: z.boolean(),
    restart_required: z.literal(true),
  })
  .loose() satisfies z.ZodType<MigrateToPostgresResult>;

/** The database maintenance, console, export, retention and reset routes, for the OpenAPI document. */
export const MAINTENANCE_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/maintenance",
    summary:
      "The Database page's figures, tagged with the backend in use: on SQLite the file, pages, free pages and WAL; on PostgreSQL the database size, " +
      "per-table rows, dead rows, bytes and bloat, amcheck's status (with how to install it), long transactions and lock waits with the fix",
    tag: TAG,
    access: "read",
    responses: {
      200: {
        description: "backend is sqlite or postgres; the other fields follow it",
        schema: z.object({ backend: z.enum(["sqlite", "postgres"]) }).loose(),
      },
    },
  },
  {
    method: "post",
    path: "/api/v1/maintenance/vacuum",
    summary: `VACUUM: rebuild the database file without its free pages (in a child process; reads go on) and turn on incremental auto-vacuum; ${FOLLOW}`,
    tag: TAG,
    access: "write",
    responses: {
      202: { description: "The vacuum operation; its result is the before/after report", schema: operationOf(vacuumResult) },
      ...OPERATION_RUNNING,
      422: { description: "Not enough free disk for VACUUM on the database's or the temp folder's filesystem (code insufficient_disk; details list them)" },
    },
  },
  {
    method: "post",
    path: "/api/v1/maintenance/analyze",
    summary: `Refresh the query planner's statistics (ANALYZE, then PRAGMA optimize); ${FOLLOW}`,
    tag: TAG,
    access: "write",
    responses: { 202: { description: "The analyze operation", schema: operationOf(analyzeResult) }, ...OPERATION_RUNNING },
  },
  {
    method: "post",
    path: "/api/v1/maintenance/checkpoint",
    summary: `Checkpoint the WAL into the database and truncate it (busy is true when readers kept some frames); ${FOLLOW}`,
    tag: TAG,
    access: "write",
    responses: { 202: { description: "The checkpoint operation", schema: operationOf(checkpointReport) }, ...OPERATION_RUNNING },
  },
  {
    method: "post",
    path: "/api/v1/maintenance/integrity-check",
    summary: `PRAGMA integrity_check of the live database, or quick_check with {"quick": true} (body optional, at most 1 KB); the result also feeds /health; ${FOLLOW}`,
    tag: TAG,
    access: "write",
    body: integrityCheckInput,
    bodyOptional: true,
    responses: {
      202: { description: "The check operation; its result lists every problem (up to 100)", schema: operationOf(integrityResult) },
      ...OPERATION_RUNNING,
    },
  },
  {
    method: "post",
    path: "/api/v1/maintenance/recover",
    summary: `Write a recovered copy of a damaged database beside the live one (sqlite3 .recover, else a table-by-table salvage) and check it; the live file is not touched. ${FOLLOW}, then swap it in with /api/v1/maintenance/recover/swap`,
    tag: TAG,
    access: "admin",
    responses: {
      202: { description: "The recover operation; its result names the new file and what each table kept", schema: operationOf(recoveryResult) },
      ...OPERATION_RUNNING,
    },
  },
  {
    method: "post",
    path: "/api/v1/maintenance/recover/swap",
    summary:
      'Swap the file of a finished recover operation in place of the live database (`confirm` is the word "swap"): the damaged file is kept beside it, app writes pause for the swap, then a quick_check runs',
    tag: TAG,
    access: "admin",
    reauth: true,
    body: swapRecoveredInput,
    responses: {
      200: { description: "Where the damaged copy was kept", schema: swapResult },
      400: { description: "The operation is not a finished recovery, or names a file outside the database folder" },
      404: { description: "No such operation, or its recovered file is gone (already swapped in?)" },
      409: { description: "Other operations are running (code operation_running): wait for them" },
    },
  },
  {
    method: "post",
    path: "/api/v1/query",
    summary:
      "Run one read-only SQL statement (SELECT or a reading PRAGMA) on a read-only connection: stopped after 5 s, at most 1000 rows (truncated says when there were more); a statement reading the credential tables is refused",
    tag: TAG,
    access: "admin",
    body: queryInput,
    responses: {
      200: { description: "Columns and rows", schema: queryResult },
      400: { description: "Not valid SQL (code invalid_sql), several statements or a statement returning no rows (code invalid_input)" },
      403: {
        description:
          "The caller's scope does not allow this, or the statement reads users, sessions or api_tokens (credentials) or sqlite_stat4 (copies of their index keys), directly or through a view, join, subquery or CTE: refused before it runs (code forbidden)",
      },
      413: { description: "The body is too large, or the rows are too large to return (code query_too_large)" },
      422: { description: "A write was refused (code read_only), or the query ran past the time limit (code query_timeout)" },
    },
  },
  {
    method: "post",
    path: "/api/v1/retention/cleanup",
    summary:
      "Delete runs older than retention_days (default persistence.retention_days; 0 = no age bound) and, with keep_per_job, beyond each job's newest N, with their log files; then give the space back and remove rotated application logs past logging.retention_days. dry_run answers at once with what would go; a real cleanup is an operation (202)",
    tag: TAG,
    access: "write",
    body: retentionCleanupInput,
    responses: {
      200: { description: "The dry run's report (nothing changed)", schema: retentionReport },
      202: { description: "The cleanup operation; its result is the same report, of what went", schema: operationOf(retentionReport) },
      ...OPERATION_RUNNING,
    },
  },
  {
    method: "post",
    path: "/api/v1/maintenance/migrate-to-postgres",
    summary:
      "Copy this SQLite database into an empty PostgreSQL database (exclusive operation): preflight listing every problem, the PostgreSQL schema, every table by COPY in one transaction, row counts and checksums compared before the commit, then persistence.backend: postgres and the connection string written to config.yaml. The scheduler, storage sampler, notifier and heartbeat pause and every change, sign-in included, is refused (503 migrating) from the start until the restart that switches; changes under way are finished first and are in the copy; the operation's success and its audit row are committed with the copy. On failure or cancel nothing is kept in PostgreSQL and the console carries on. The SQLite file is not written: it is the way back (npm run mimir -- migrate-to-sqlite for data written on PostgreSQL since)",
    tag: TAG,
    access: "admin",
    reauth: true,
    body: migrateToPostgresInput,
    responses: {
      202: { description: "The migration operation; its result lists rows and checksums per table", schema: operationOf(migrateToPostgresResult) },
      409: { description: "Already on PostgreSQL, a setting is fixed by the environment (env_override), or another operation is running (operation_running)" },
    },
  },
  {
    method: "get",
    path: "/api/v1/reset",
    summary: "What a reset would delete per volume and the rows of Mimir's data, and the instance name to confirm with",
    tag: TAG,
    access: "admin",
    responses: { 200: { description: "Preview", schema: resetPreview } },
  },
  {
    method: "post",
    path: "/api/v1/reset",
    summary:
      "Reset all data (exclusive operation): stop the scheduler, take a pre-reset backup of every volume, empty the chosen volumes (users, API tokens and the audit log are kept), rebuild with a fresh install's built-in jobs. `confirm` is the instance name from GET; a job run in progress makes the operation fail",
    tag: TAG,
    access: "admin",
    reauth: true,
    body: resetInput,
    responses: {
      202: { description: "The reset operation; its result names the safety backup that undoes it", schema: operationOf(resetResult) },
      409: { description: "Another operation is running (code operation_running)" },
    },
  },
  {
    method: "get",
    path: "/api/v1/export/sql",
    summary:
      "The whole database as SQL text in the sqlite3 shell's .dump layout (`sqlite3 new.db < dump.sql` rebuilds it), streamed from one consistent snapshot; it includes the credential tables (password and token hashes, session ids)",
    tag: EXPORT,
    access: "admin",
    responses: { 200: { description: "The dump, as an attachment mimir-<time>.sql", contentType: "application/sql" } },
  },
  {
    method: "get",
    path: "/api/v1/export/csv/{table}",
    summary: "One table as CSV (header row first), streamed from one consistent snapshot; users, sessions and api_tokens are not exported",
    tag: EXPORT,
    access: "admin",
    params: tableParams,
    responses: {
      200: { description: "The CSV, as an attachment <table>-<time>.csv", contentType: "text/csv" },
      403: { description: "The table holds credentials and is not exported as CSV" },
      404: { description: "No such table (details.tables lists them)" },
    },
  },
];
