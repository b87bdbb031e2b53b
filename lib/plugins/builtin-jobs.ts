import "server-only";
import type { AppConfig } from "@/lib/config/load";
import { processState } from "@/lib/process-state";

/**
 * The guide's cron recipes, shipped as ordinary pipelines and jobs ("backup daily at 2 AM", "keep 7
 * days", retention cleanup, storage samples): visible and editable like any other. Each capability
 * that owns such work defines its jobs beside its plugins (lib/<capability>/plugin.ts) and adds them to
 * BUILTIN_JOBS in lib/builtins.ts; boot registers them here and the scheduler creates missing ones.
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

// Filled by boot (lib/builtins.ts) in registration order, which is the order boot creates them in.
const registry = () => processState("builtinJobs", () => new Map<string, BuiltinJob>());

/** Adds built-in jobs (a job of the same id is replaced). */
export function registerBuiltinJobs(jobs: readonly BuiltinJob[]): void {
  for (const job of jobs) registry().set(job.id, job);
}

/** Removes a registered built-in job (tests that add one of their own). */
export function unregisterBuiltinJob(id: string): void {
  registry().delete(id);
}

/** The registered built-in jobs, in registration order. */
export function builtinJobs(): BuiltinJob[] {
  return [...registry().values()];
}

export function isBuiltinJob(id: string): boolean {
  return registry().has(id);
}
