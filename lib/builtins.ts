import "server-only";
import { webhookPlugin } from "@/lib/scheduler/webhook-plugin";
import { registerBuiltinPlugins, type BuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import { registerBuiltinJobs, type BuiltinJob } from "@/lib/plugins/builtin-jobs";
import { followJobEvents } from "@/lib/scheduler/boot";
import { analyzePlugin, integrityCheckPlugin, retentionCleanupJob, retentionCleanupPlugin, vacuumPlugin } from "@/lib/maintenance/plugin";
import { storageSampleJob, storageSamplePlugin } from "@/lib/storage/plugin";
import { onSetVerified } from "@/lib/backups/set-events";
import { checkOffsiteFreshnessPlugin, copyVerifiedSet, OFFSITE_JOBS, pruneOffsitePlugin } from "@/lib/offsite/plugin";
import { BACKUP_JOBS, backupPlugin, checkBackupFreshnessPlugin, pruneBackupsPlugin, verifyBackupsPlugin } from "@/lib/backups/plugin";

/**
 * The composition root of the scheduler's built-ins, as lib/openapi/document.ts is for the API: a
 * capability adds its plugin or job here with one import and one entry. The scheduler only ever sees
 * them through its registries, so it imports no capability and the capabilities may import it.
 */
export const BUILTIN_PLUGINS: readonly BuiltinPlugin[] = [
  webhookPlugin,
  retentionCleanupPlugin,
  vacuumPlugin,
  analyzePlugin,
  integrityCheckPlugin,
  storageSamplePlugin,
  backupPlugin,
  pruneBackupsPlugin,
  verifyBackupsPlugin,
  checkBackupFreshnessPlugin,
  pruneOffsitePlugin,
  checkOffsiteFreshnessPlugin,
];

/** In the order boot creates them. */
export const BUILTIN_JOBS: readonly BuiltinJob[] = [...BACKUP_JOBS, ...OFFSITE_JOBS, storageSampleJob, retentionCleanupJob];

/**
 * Registers the built-in plugins and jobs and makes the scheduler follow job changes. Boot calls it
 * first; calling it again replaces what it registered (tests boot many times in one process).
 */
export function registerBuiltins(): void {
  registerBuiltinPlugins(BUILTIN_PLUGINS);
  registerBuiltinJobs(BUILTIN_JOBS);
  followJobEvents();
  // A new set that passed its drill is copied offsite: backups announces it, offsite listens.
  onSetVerified("offsite", copyVerifiedSet);
}
