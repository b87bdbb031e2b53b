import "server-only";
import { getConfig } from "@/lib/config/service";
import { assertNotSetByEnvironment, updateConfig } from "@/lib/config/edit";
import { recordAudit } from "@/lib/audit/service";
import { withoutStepAudit } from "@/lib/audit/context";
import type { Principal } from "@/lib/auth/scopes";
import { findJobRow } from "@/lib/jobs/service";
import { createSerialQueue } from "@/lib/serial-queue";
import { SCHEDULED_BACKUP_JOB_IDS } from "@/lib/backups/plugin";

/** The config key behind scheduled backups; /health's freshness check reads it too. */
const BACKUP_ENABLED_KEY = "persistence.backup_enabled";

export interface BackupSettings {
  /** persistence.backup_enabled: scheduled backups on, and /health checks their freshness */
  enabled: boolean;
  /** the environment variable that sets `enabled` (then only the environment can change it), or null */
  enabled_by_env: string | null;
  schedule: string;
  prune_schedule: string;
  verify_schedule: string;
  keep_days: number;
  keep_min: number;
  /** whether a passphrase is set (the passphrase itself is never returned) */
  encrypted: boolean;
  folder: string;
}

/** The effective backup settings from the configuration. Reads only. */
export function getBackupSettings(): BackupSettings {
  const config = getConfig();
  const { backups } = config.values;
  const source = config.sources[BACKUP_ENABLED_KEY];
  return {
    enabled: config.values.persistence.backup_enabled,
    enabled_by_env: source?.kind === "env" ? source.variable : null,
    schedule: backups.schedule,
    prune_schedule: backups.prune_schedule,
    verify_schedule: backups.verify_schedule,
    keep_days: backups.keep_days,
    keep_min: backups.keep_min,
    encrypted: config.secrets.backupPassphrase !== null,
    folder: config.paths.backups,
  };
}

export interface ScheduledBackupJob {
  id: string;
  /** the job's name; its id when the job was deleted */
  name: string;
  /** null when a person deleted the job: switching scheduled backups on does not bring it back */
  enabled: boolean | null;
}

export interface ScheduledBackups {
  settings: BackupSettings;
  jobs: ScheduledBackupJob[];
}

/** The backup settings with the state of the three built-in backup jobs. Reads only. */
export async function getScheduledBackups(): Promise<ScheduledBackups> {
  const jobs: ScheduledBackupJob[] = [];
  for (const id of SCHEDULED_BACKUP_JOB_IDS) {
    const row = await findJobRow(id);
    jobs.push({ id, name: row?.name ?? id, enabled: row ? row.enabled : null });
  }
  return { settings: getBackupSettings(), jobs };
}

/**
 * Turns scheduled backups on or off by writing persistence.backup_enabled to config.yaml, and nothing
 * else: the scheduler's config follower (lib/scheduler/builtin-config.ts) enables or disables the
 * built-in backup, prune and verify jobs before the write is answered, as it does for the same change
 * made on the Settings page or by a reloaded file, and /health's freshness check follows the value.
 * Refused with 409 env_override, nothing changed, when an environment variable sets the value.
 * Writes config.yaml (the follower writes up to three job rows) and one audit row.
 */
export function setScheduledBackups(enabled: boolean, principal: Principal | null): Promise<ScheduledBackups> {
  // One switch at a time: the answer of each is the state its own write left.
  return switchesInTurn(() => switchScheduledBackups(enabled, principal));
}

const switchesInTurn = createSerialQueue();

async function switchScheduledBackups(enabled: boolean, principal: Principal | null): Promise<ScheduledBackups> {
  assertNotSetByEnvironment(BACKUP_ENABLED_KEY);
  const action = enabled ? "backup.schedule_on" : "backup.schedule_off";
  try {
    // One change, one audit row (below): the config write and the job switches the follower makes add none.
    await withoutStepAudit(() => updateConfig({ persistence: { backup_enabled: enabled } }));
  } catch (error) {
    await recordAudit({ principal, action, result: "failed", details: { error: (error as Error).message } });
    throw error;
  }
  const scheduled = await getScheduledBackups();
  await recordAudit({ principal, action, result: "ok", details: { jobs: scheduled.jobs.filter((job) => job.enabled !== null).map((job) => job.id) } });
  return scheduled;
}
