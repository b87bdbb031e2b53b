/** JSON-safe shapes shared by the API, the pages and the CLI. */
import type { VolumeName } from "@/lib/config/volumes";
import { BACKUP_TRIGGERS, VERIFY_STATUSES } from "@/lib/db/vocabulary";

/** A volume a set holds an archive of: one of the five (lib/config/volumes.ts). */
export type BackupVolume = VolumeName;

export { BACKUP_TRIGGERS, VERIFY_STATUSES };
export type BackupTrigger = (typeof BACKUP_TRIGGERS)[number];
export type VerifyStatus = (typeof VERIFY_STATUSES)[number];

export interface ManifestArchive {
  file: string;
  bytes: number;
  sha256: string;
  files: number;
  tar_bytes: number;
  encrypted: boolean;
}

export interface BackupManifest {
  format: "mimir-backup";
  format_version: 1;
  id: string;
  app_version: string;
  schema_version: string | null;
  created_at: string;
  trigger: BackupTrigger;
  encrypted: boolean;
  archives: Record<BackupVolume, ManifestArchive>;
  /** row counts of each SQLite database in mimir_data, by its path inside the volume */
  databases: Record<string, Record<string, number>>;
  /** row counts of the main database's main tables (the guide's scheduled_jobs, pipelines, job_executions, …) */
  row_counts: Record<string, number>;
  /** on PostgreSQL: the logical dump of the database that the mimir_data archive carries (absent on SQLite) */
  postgres?: ManifestPostgresDump;
}

/** The database of a PostgreSQL deployment, as a set holds it: a plain SQL file that stock `psql -f` loads. */
export interface ManifestPostgresDump {
  /** the dump's path inside the mimir_data archive */
  file: string;
  database: string;
  schema: string;
  server_version: string;
  /** when the snapshot was taken, by the database's clock */
  taken_at: string;
  /** rows per table in the dump (the migrations journal included) */
  row_counts: Record<string, number>;
}

export interface BackupVerification {
  status: VerifyStatus;
  verified_at: string;
  error: string | null;
  /**
   * sha256 of the manifest.json the drill ran against. The manifest names every archive's sha256,
   * so a restore that re-proves those hashes while extracting extracts the very bytes that passed.
   */
  manifest_sha256?: string;
}

export interface BackupDto {
  id: string;
  created_at: string;
  trigger: BackupTrigger;
  bytes: number;
  encrypted: boolean;
  pinned: boolean;
  volumes: { name: BackupVolume; bytes: number; files: number }[];
  row_counts: Record<string, number>;
  verified_at: string | null;
  verify_status: VerifyStatus | null;
  verify_error: string | null;
}

export interface PruneResult {
  dry_run: boolean;
  skipped_reason: string | null;
  deleted: string[];
  kept: { id: string; reason: string }[];
}
