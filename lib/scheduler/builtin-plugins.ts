import "server-only";
import type { ZodType } from "zod";
import type { Scope } from "@/lib/auth/scopes";
import { webhookPlugin } from "@/lib/scheduler/webhook-plugin";
import { analyzePlugin, integrityCheckPlugin, retentionCleanupPlugin, vacuumPlugin } from "@/lib/maintenance/plugin";
import { storageSamplePlugin } from "@/lib/storage/plugin";
import { backupPlugin, checkBackupFreshnessPlugin, pruneBackupsPlugin, verifyBackupsPlugin } from "@/lib/backups/plugin";

/** What a step of a running pipeline hands to a plugin. */
export interface PluginRunContext {
  executionId: string;
  jobId: string;
  pipeline: string;
  stepName: string;
  /** aborted when the run is cancelled or the step times out */
  signal: AbortSignal;
  /** appends a line to this run's log file under logs/ */
  log: (line: string) => void;
}

/**
 * A `System.*` plugin: work the console itself does on a schedule (backup, prune, retention
 * cleanup, vacuum, storage sample, webhook). Each capability defines its plugin beside its service
 * (lib/<capability>/plugin.ts) and adds one line to BUILTIN_PLUGINS below.
 */
export interface BuiltinPlugin<C = unknown> {
  name: `System.${string}`;
  description: string;
  /**
   * The scope a caller needs to put this step in a pipeline and to run it (lib/scheduler/plugin-access.ts):
   * the same as the REST route that does the same work, or admin for work that deletes or can fill the disk.
   */
  scope: Scope;
  /** validates the step's `config:` before the run starts; a bad config fails the step, each problem in plain words (lib/issue-text.ts) */
  configSchema: ZodType<C>;
  /** returns the step's JSON output (summarised into job_executions.steps) */
  run(config: C, context: PluginRunContext): Promise<Record<string, unknown>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry carries its own config type
export const BUILTIN_PLUGINS: Record<string, BuiltinPlugin<any>> = {
  [webhookPlugin.name]: webhookPlugin,
  [retentionCleanupPlugin.name]: retentionCleanupPlugin,
  [vacuumPlugin.name]: vacuumPlugin,
  [analyzePlugin.name]: analyzePlugin,
  [integrityCheckPlugin.name]: integrityCheckPlugin,
  [storageSamplePlugin.name]: storageSamplePlugin,
  [backupPlugin.name]: backupPlugin,
  [pruneBackupsPlugin.name]: pruneBackupsPlugin,
  [verifyBackupsPlugin.name]: verifyBackupsPlugin,
  [checkBackupFreshnessPlugin.name]: checkBackupFreshnessPlugin,
};
