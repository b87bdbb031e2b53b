import "server-only";
import { z } from "zod";
import type { BuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import type { BuiltinJob } from "@/lib/plugins/builtin-jobs";
import { analyzeStatistics, runIntegrityCheck, vacuumDatabase } from "@/lib/maintenance/service";
import { runRetentionCleanup } from "@/lib/maintenance/retention";
import { retentionCleanupInput } from "@/lib/maintenance/inputs";

// The database's scheduled work, run by the scheduler as pipeline steps; each returns its report as the step output.

export const retentionCleanupPlugin: BuiltinPlugin<z.infer<typeof retentionCleanupInput>> = {
  name: "System.retention_cleanup",
  scope: "admin",
  description: "Deletes executions (and their log files) older than persistence.retention_days, then gives the freed space back",
  configSchema: retentionCleanupInput,
  async run(config, context) {
    const report = await runRetentionCleanup(config, { signal: context.signal, message: context.log });
    context.log(`deleted ${report.deleted_rows} runs and ${report.log_files_deleted} log files; reclaimed ${report.reclaimed_bytes} bytes`);
    return { ...report };
  },
};

export const vacuumPlugin: BuiltinPlugin<Record<string, never>> = {
  name: "System.vacuum",
  scope: "admin",
  description: "Rebuilds the database file without its free pages (refuses without enough free disk)",
  configSchema: z.object({}).strict(),
  async run(_config, context) {
    return { ...(await vacuumDatabase(context.signal)) };
  },
};

export const analyzePlugin: BuiltinPlugin<Record<string, never>> = {
  name: "System.analyze",
  scope: "write",
  description: "Refreshes the query planner's statistics (ANALYZE, PRAGMA optimize)",
  configSchema: z.object({}).strict(),
  async run() {
    return { ...(await analyzeStatistics()) };
  },
};

export const integrityCheckPlugin: BuiltinPlugin<{ quick: boolean }> = {
  name: "System.integrity_check",
  scope: "write",
  description: "Runs PRAGMA integrity_check (or quick_check) and fails the step when the database is damaged",
  configSchema: z.object({ quick: z.boolean().default(false).describe("quick_check instead of integrity_check: faster, skips index contents") }).strict(),
  async run(config, context) {
    const result = await runIntegrityCheck(config.quick, context.signal);
    if (!result.ok) throw new Error(`database integrity check failed: ${result.problems.slice(0, 5).join("; ")}`);
    return { ...result };
  },
};

/** The guide's execution-history retention as a built-in job. */
export const retentionCleanupJob: BuiltinJob = {
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
};
