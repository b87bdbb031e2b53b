import "server-only";
import { z } from "zod";
import { waitForOperation } from "@/lib/operations/service";
import type { AppConfig } from "@/lib/config/load";
import type { BuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import type { BuiltinJob } from "@/lib/plugins/builtin-jobs";
import { checkBackupFreshness } from "@/lib/backups/freshness";
import { pruneBackups, startBackup } from "@/lib/backups/service";
import { verifyAllBackups } from "@/lib/backups/verify";
import { notify } from "@/lib/notify/service";
import { formatCountOf } from "@/lib/format";

/** The guide's "Automated Backup with Cron", run by the scheduler: a set, verified, like Back up now. */
export const backupPlugin: BuiltinPlugin<Record<string, never>> = {
  name: "System.backup",
  scope: "admin",
  description: "Writes a backup set of the five volumes (encrypted when a passphrase is set) and verifies it",
  configSchema: z.object({}).strict(),
  async run(_config, context) {
    const started = await startBackup(null, "schedule");
    context.log(`backup started as operation ${started.id}`);
    const op = await waitForOperation(started.id, 1000);
    if (op.status !== "succeeded") {
      // The backup itself has announced backup.failed; the run fails so the job's history shows it.
      throw new Error(`scheduled backup ${op.status}: ${op.error?.message ?? "no reason recorded"}`);
    }
    context.log(`backup ${JSON.stringify(op.result)}`);
    return { operation_id: op.id, ...(op.result as Record<string, unknown>) };
  },
};

/** The guide's "keep 7 days", with guard rails (see pruneBackups): skipped while the latest backup has failed. */
export const pruneBackupsPlugin: BuiltinPlugin<{ dry_run: boolean }> = {
  name: "System.prune_backups",
  scope: "admin",
  description: "Deletes backup sets older than backups.keep_days, always keeping the newest, the newest verified and pinned sets",
  configSchema: z.object({ dry_run: z.boolean().default(false).describe("list what would be deleted, delete nothing") }).strict(),
  async run(config, context) {
    const result = await pruneBackups({ dryRun: config.dry_run }, null);
    context.log(
      result.skipped_reason
        ? `prune skipped: ${result.skipped_reason}`
        : `pruned ${formatCountOf(result.deleted.length, "set")}: ${result.deleted.join(", ") || "none"}`,
    );
    return { ...result };
  },
};

/** The scheduled restore drill over every stored set; fails (and alerts) when any set fails. */
export const verifyBackupsPlugin: BuiltinPlugin<Record<string, never>> = {
  name: "System.verify_backups",
  scope: "admin",
  description: "Re-runs the restore drill on every backup set: hashes, decryption, extraction, database and pipeline checks",
  configSchema: z.object({}).strict(),
  async run(_config, context) {
    const result = await verifyAllBackups();
    context.log(`verified ${formatCountOf(result.ok.length, "set")}, ${result.failed.length} failed`);
    if (result.failed.length > 0) {
      const message = `backup verification failed for ${result.failed.map((f) => `${f.id} (${f.error})`).join("; ")}`;
      await notify("verify.failed", { failed: result.failed.map((f) => ({ id: f.id, error: f.error })) });
      throw new Error(message);
    }
    return { ...result };
  },
};

/**
 * The "no backup for 26 h" check, hourly: announces backup.stale while scheduled backups are on and
 * the newest set is older than the schedule allows (the notifier sends it once, then a reminder at most
 * every reminder_hours). A stale backup is not a failure of this step.
 */
export const checkBackupFreshnessPlugin: BuiltinPlugin<Record<string, never>> = {
  name: "System.check_backup_freshness",
  scope: "write",
  description: "Announces backup.stale when scheduled backups are on and the newest set is older than the schedule allows",
  configSchema: z.object({}).strict(),
  async run(_config, context) {
    const problem = await checkBackupFreshness();
    context.log(problem ? `backups are overdue: ${problem}` : "backups are fresh (or scheduled backups are off)");
    return { problem };
  },
};

const backupsOn = (config: AppConfig) => config.values.persistence.backup_enabled;

/** The guide's backup recipes as built-in jobs: the three that persistence.backup_enabled switches. */
const SCHEDULED_BACKUP_JOBS: readonly BuiltinJob[] = [
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
];

/** The built-in jobs that make up scheduled backups (backup, prune, verify): the ones persistence.backup_enabled switches. */
export const SCHEDULED_BACKUP_JOB_IDS: readonly string[] = SCHEDULED_BACKUP_JOBS.map((job) => job.id);

/** Every built-in job of backups: the scheduled three, and the hourly freshness check. */
export const BACKUP_JOBS: readonly BuiltinJob[] = [
  ...SCHEDULED_BACKUP_JOBS,
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
];
