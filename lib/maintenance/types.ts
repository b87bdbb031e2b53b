/** JSON-safe shapes of the Database page, shared by the API, the server-rendered page and its client leaves. */
import type { BackupVolume } from "@/lib/backups/types";
import type { PgLockReport, PgOverview } from "@/lib/db/engine/postgres/maintenance";

/** The Database page's figures on PostgreSQL (the SQLite page reads MaintenanceOverview). */
export interface PostgresMaintenanceOverview extends PgOverview {
  locks: PgLockReport;
  last_analyze_at: string | null;
  last_vacuum_at: string | null;
  last_integrity: IntegrityResult | null;
}

export interface MaintenanceOverview {
  database: string;
  page_size: number;
  page_count: number;
  /** pages that VACUUM (or incremental_vacuum) would give back to the file system */
  free_pages: number;
  free_bytes: number;
  file_bytes: number;
  wal_bytes: number;
  auto_vacuum: "none" | "full" | "incremental";
  journal_mode: string;
  has_statistics: boolean;
  last_analyze_at: string | null;
  last_vacuum_at: string | null;
  last_integrity: IntegrityResult | null;
  /** VACUUM's free-space requirement and whether the disk meets it now */
  vacuum_disk: DiskRequirement;
}

export interface DiskRequirement {
  ok: boolean;
  /** per filesystem: the folder, bytes needed there, bytes free there */
  filesystems: { path: string; needed_bytes: number; free_bytes: number }[];
  message: string;
}

export interface IntegrityResult {
  mode: "integrity_check" | "quick_check";
  ok: boolean;
  /** every problem SQLite listed (empty when ok) */
  problems: string[];
  checked_at: string;
  duration_ms: number;
}

export interface VacuumResult {
  file_bytes_before: number;
  wal_bytes_before: number;
  file_bytes_after: number;
  wal_bytes_after: number;
  reclaimed_bytes: number;
  free_pages_before: number;
  free_pages_after: number;
  auto_vacuum: "none" | "full" | "incremental";
  duration_ms: number;
}

export interface AnalyzeResult {
  analyzed_at: string;
  duration_ms: number;
}

export interface CheckpointReport {
  wal_bytes_before: number;
  wal_bytes_after: number;
  frames_checkpointed: number;
  busy: boolean;
  duration_ms: number;
}

export interface RetentionReport {
  dry_run: boolean;
  retention_days: number;
  /** runs that started before this went (null: no age bound, retention_days is 0) */
  cutoff: string | null;
  keep_per_job: number | null;
  job_id: string | null;
  /** runs older than the cut-off (what goes, or went) */
  expired_rows: number;
  /** runs beyond the per-job cap after the age bound */
  over_cap_rows: number;
  deleted_rows: number;
  log_files_deleted: number;
  log_bytes_deleted: number;
  /** about how many bytes the rows take (dry run: what deleting them would free) */
  estimated_row_bytes: number;
  db_bytes_before: number;
  db_bytes_after: number;
  /** database and WAL bytes actually given back to the file system, plus execution log bytes */
  reclaimed_bytes: number;
  /** how freed pages were returned: incremental_vacuum, vacuum, or none (they stay reusable inside the file) */
  space_returned_by: "incremental_vacuum" | "vacuum" | "none";
  free_pages_left: number;
  app_logs: { file: string; bytes: number; modified_at: string }[];
  /** sign-in sessions past their end or idle limit whose rows were deleted (0 in a dry run) */
  expired_sessions_deleted: number;
  /** scheduled fires' claims (job_fires) older than the cutoff, deleted (0 in a dry run, or with no cutoff) */
  fire_claims_deleted: number;
  /** rows of instances stopped more than 7 days ago, deleted (0 in a dry run) */
  stopped_instances_deleted: number;
  cancelled: boolean;
  duration_ms: number;
}

export interface RecoveryResult {
  method: "sqlite3 .recover" | "table-by-table salvage";
  /** the new file, beside the live database; never swapped in without a confirmation */
  recovered_file: string;
  recovered_bytes: number;
  tables: { name: string; recovered: number; original: number | null }[];
  lost_and_found_rows: number;
  problems: string[];
  /** the recovered file's own integrity_check */
  recovered_integrity_ok: boolean;
}

export interface SwapResult {
  /** the damaged database, kept as a copy beside the live one */
  damaged_copy: string;
  live: string;
}

export interface TableSummary {
  name: string;
  rows: number;
  columns: { name: string; type: string; not_null: boolean; primary_key: boolean }[];
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** more rows existed beyond the row cap */
  truncated: boolean;
  row_cap: number;
  duration_ms: number;
}

export type CheckStatus = "ok" | "warning" | "problem";

export interface TroubleshootingCheck {
  id: "lock_contention" | "disk_space" | "integrity" | "permissions";
  title: string;
  status: CheckStatus;
  /** what was found, in plain words */
  findings: string[];
  /** what to do about it, in plain words (empty when ok) */
  fix: string[];
}

/** What a reset of one volume would delete, for the confirmation dialog. */
export interface ResetVolumePreview {
  name: BackupVolume;
  folder: string;
  /** files that would be deleted (for mimir_data: every file but the live database, whose rows are emptied instead) */
  files: number;
  bytes: number;
  /** what the volume holds now, the live database included: the size the Storage page shows (du -sb) */
  size_bytes: number;
}

/** Everything the reset dialog names before anyone confirms. Counts are of now. */
export interface ResetPreview {
  /** what must be typed to confirm: mimir- + the first 8 hex digits of the instance id */
  instance_name: string;
  volumes: ResetVolumePreview[];
  /** when size_bytes was measured (a measurement up to 30 s old is reused, as on the Storage page) */
  measured_at: string;
  /** rows of Mimir's data a reset of mimir_data deletes */
  rows: { jobs: number; pipelines: number; executions: number };
  /** tables a reset of mimir_data keeps */
  kept_tables: string[];
}

export interface ResetResult {
  volumes: BackupVolume[];
  /** the pre-reset backup set holding everything that was deleted; restore it to undo the reset */
  safety_backup_id: string;
  deleted_rows: Record<string, number>;
  deleted_files: Partial<Record<BackupVolume, number>>;
  /** the built-in jobs a fresh install has, recreated after the reset */
  builtin_jobs: string[];
  /** things that did not go back to normal by themselves (a config that no longer loads) */
  warnings: string[];
}

/** One table of a SQLite ⇄ PostgreSQL migration: rows and order-independent checksums on each side. */
export interface MigratedTable {
  table: string;
  sourceRows: number;
  targetRows: number;
  sourceChecksum: string;
  targetChecksum: string;
  ok: boolean;
}

export interface BackendMigrationResult {
  tables: MigratedTable[];
  rows: number;
  copySeconds: number;
  verifySeconds: number;
  seconds: number;
  /** "host:port/database" or the SQLite file: never a password */
  target: string;
  /** sha256 of the source SQLite file before and after (CLI, to PostgreSQL): the proof it was left as it was */
  source_sha256_before: string | null;
  source_sha256_after: string | null;
  /** config.yaml now points at the target; the running server switches when it restarts */
  config_written: boolean;
}

export interface MigrateToPostgresResult extends BackendMigrationResult {
  /** always true: the server keeps serving SQLite, with changes refused, until it restarts on PostgreSQL */
  restart_required: true;
}
