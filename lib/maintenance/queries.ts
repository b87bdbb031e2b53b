import "server-only";
import { eq, count } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { whenWriteLockFree } from "@/lib/db/dialect";
import { jobExecutions } from "@/lib/db/schema/executions";
import { operations } from "@/lib/db/schema/operations";
import { scheduledJobs } from "@/lib/db/schema/jobs";
import { systemMetadata } from "@/lib/db/schema/system";
import { nowIso } from "@/lib/db/timestamps";
import type { OperationDto } from "@/lib/operations/types";

/** system_metadata keys where maintenance remembers when it last ran (SQLite itself does not record it). */
export const MAINTENANCE_KEYS = {
  lastAnalyzeAt: "maintenance.last_analyze_at",
  lastVacuumAt: "maintenance.last_vacuum_at",
  lastIntegrity: "maintenance.last_integrity",
} as const;

export async function readMetadata(key: string): Promise<string | null> {
  const [row] = await getDb().select({ value: systemMetadata.value }).from(systemMetadata).where(eq(systemMetadata.key, key)).limit(1);
  return row?.value ?? null;
}

export async function writeMetadata(key: string, value: string): Promise<void> {
  const now = nowIso();
  await whenWriteLockFree(() =>
    getDb()
      .insert(systemMetadata)
      .values({ key, value, updatedAt: now })
      .onConflictDoUpdate({ target: systemMetadata.key, set: { value, updatedAt: now } }),
  );
}

/**
 * A recovered database was read while its own recover operation was still running, so after the
 * swap that row would say "running" forever: write the operation's final state into the new file.
 */
export async function restoreOperationRow(operation: Pick<OperationDto, "id" | "status" | "result" | "finished_at">): Promise<void> {
  await whenWriteLockFree(() =>
    getDb()
      .update(operations)
      .set({ status: operation.status, result: JSON.stringify(operation.result), finishedAt: operation.finished_at })
      .where(eq(operations.id, operation.id)),
  );
}

/**
 * Jobs that have history, with their run counts: the retention form's "only this job" choices. The
 * runs are counted per job on the job_id index first and only then joined with the jobs: grouped after
 * the join, each of 1,000,000 runs looked its job up (1 s, on every Database page load; now 60 ms).
 */
export async function listJobsWithHistory(): Promise<{ id: string; name: string | null; runs: number }[]> {
  const history = getDb()
    .select({ jobId: jobExecutions.jobId, runs: count().as("runs") })
    .from(jobExecutions)
    .groupBy(jobExecutions.jobId)
    .as("history");
  const rows = await getDb()
    .select({ id: history.jobId, name: scheduledJobs.name, runs: history.runs })
    .from(history)
    .leftJoin(scheduledJobs, eq(scheduledJobs.id, history.jobId))
    .orderBy(history.jobId);
  return rows.map((row) => ({ id: row.id, name: row.name, runs: Number(row.runs) }));
}
