import "server-only";
import type { AppConfig } from "@/lib/config/load";
import { storageSampleJob } from "@/lib/storage/plugin";

/**
 * The guide's cron recipes, shipped as ordinary pipelines and jobs ("backup daily at 2 AM", "keep 7
 * days", retention cleanup, storage samples): visible and editable like any other. Each capability
 * that owns such work adds its entry to BUILTIN_JOBS; the scheduler creates missing ones at boot.
 */
export interface BuiltinJob {
  /** stable id, e.g. "system-backup" */
  id: string;
  name: string;
  pipeline: {
    name: string;
    description: string;
    steps: { name: string; plugin: `System.${string}`; config?: Record<string, unknown> }[];
  };
  /** the cron expression at creation, from config (e.g. backups.schedule) */
  cron: (config: AppConfig) => string;
  /** whether the job starts enabled when first created (e.g. persistence.backup_enabled) */
  enabledByDefault: (config: AppConfig) => boolean;
}

const backupsOn = (config: AppConfig) => config.values.persistence.backup_enabled;

export const BUILTIN_JOBS: BuiltinJob[] = [
  {
    id: "system-backup",
    name: "Backup (daily)",
    pipeline: {
      name: "system-backup",
      description: "The guide's daily backup: all five volumes, verified after writing",
      steps: [{ name: "backup", plugin: "System.backup" }],
    },
    cron: (config) => config.values.backups.schedule,
    enabledByDefault: backupsOn,
  },
  {
    id: "system-prune-backups",
    name: "Prune backups (keep days)",
    pipeline: {
      name: "system-prune-backups",
      description: "The guide's 'keep 7 days', keeping the newest, the newest verified and pinned sets",
      steps: [{ name: "prune", plugin: "System.prune_backups" }],
    },
    cron: (config) => config.values.backups.prune_schedule,
    enabledByDefault: backupsOn,
  },
  {
    id: "system-verify-backups",
    name: "Verify backups (restore drill)",
    pipeline: {
      name: "system-verify-backups",
      description: "Re-runs the restore drill on every stored backup set",
      steps: [{ name: "verify", plugin: "System.verify_backups" }],
    },
    cron: (config) => config.values.backups.verify_schedule,
    enabledByDefault: backupsOn,
  },
  {
    id: "system-backup-freshness",
    name: "Backup freshness check",
    pipeline: {
      name: "system-backup-freshness",
      description: "Announces backup.stale to the notification channels when scheduled backups are overdue",
      steps: [{ name: "check", plugin: "System.check_backup_freshness" }],
    },
    cron: () => "17 * * * *",
    // On always: the check itself does nothing while scheduled backups are off.
    enabledByDefault: () => true,
  },
  storageSampleJob,
  {
    id: "system-retention-cleanup",
    name: "Retention cleanup",
    pipeline: {
      name: "system-retention-cleanup",
      description: "Deletes execution history and log files older than persistence.retention_days, and rotated app logs older than logging.retention_days",
      steps: [{ name: "cleanup", plugin: "System.retention_cleanup", config: {} }],
    },
    // Daily, after the guide's 2 AM backup and 3 AM prune, so a cleanup never races a snapshot.
    cron: () => "30 3 * * *",
    enabledByDefault: (config) => config.values.persistence.retention_days > 0,
  },
];

/** The built-in jobs that make up scheduled backups (backup, prune, verify): the ones persistence.backup_enabled switches. */
export const SCHEDULED_BACKUP_JOB_IDS: readonly string[] = BUILTIN_JOBS.filter((job) => job.enabledByDefault === backupsOn).map((job) => job.id);
