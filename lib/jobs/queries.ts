import "server-only";
import { and, asc, desc, eq, gt, inArray, or, count } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { atomically, countWhere } from "@/lib/db/dialect";
import { jobNotificationSettings, type JobNotificationSettingsRow } from "@/lib/db/schema/notifications";
import { scheduledJobs, type NewScheduledJobRow, type ScheduledJobRow } from "@/lib/db/schema/jobs";
import { systemMetadata } from "@/lib/db/schema/system";
import { jobExecutions } from "@/lib/db/schema/executions";

export async function countJobs(): Promise<{ total: number; enabled: number }> {
  const [row] = await getDb()
    .select({ total: count(), enabled: countWhere(eq(scheduledJobs.enabled, true)) })
    .from(scheduledJobs);
  return { total: row?.total ?? 0, enabled: row?.enabled ?? 0 };
}

/** A keyset page ordered by (name, id). */
export async function selectJobs(options: { limit: number; after?: { name: string; id: string } | null; pipelineRefs?: string[] }): Promise<ScheduledJobRow[]> {
  const { limit, after, pipelineRefs } = options;
  return getDb()
    .select()
    .from(scheduledJobs)
    .where(
      and(
        pipelineRefs ? inArray(scheduledJobs.pipeline, pipelineRefs) : undefined,
        after ? or(gt(scheduledJobs.name, after.name), and(eq(scheduledJobs.name, after.name), gt(scheduledJobs.id, after.id))) : undefined,
      ),
    )
    .orderBy(asc(scheduledJobs.name), asc(scheduledJobs.id))
    .limit(limit);
}

/** Enabled jobs by id after `afterId`: the scheduler loads them in batches at boot. */
export async function selectEnabledJobs(limit: number, afterId: string | null): Promise<ScheduledJobRow[]> {
  return getDb()
    .select()
    .from(scheduledJobs)
    .where(and(eq(scheduledJobs.enabled, true), afterId ? gt(scheduledJobs.id, afterId) : undefined))
    .orderBy(asc(scheduledJobs.id))
    .limit(limit);
}

export async function selectJob(id: string): Promise<ScheduledJobRow | undefined> {
  const [row] = await getDb().select().from(scheduledJobs).where(eq(scheduledJobs.id, id)).limit(1);
  return row;
}

/** Up to `limit` jobs as (id, name), by name: a picker's choices. */
export async function selectJobChoices(limit: number): Promise<{ id: string; name: string }[]> {
  return getDb()
    .select({ id: scheduledJobs.id, name: scheduledJobs.name })
    .from(scheduledJobs)
    .orderBy(asc(scheduledJobs.name), asc(scheduledJobs.id))
    .limit(limit);
}

/** The names of the given jobs that still exist, by id. */
export async function selectJobNames(ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await getDb().select({ id: scheduledJobs.id, name: scheduledJobs.name }).from(scheduledJobs).where(inArray(scheduledJobs.id, ids));
  return new Map(rows.map((row) => [row.id, row.name]));
}

export async function insertJob(row: NewScheduledJobRow): Promise<void> {
  await getDb().insert(scheduledJobs).values(row);
}

export async function updateJobRow(id: string, set: Partial<NewScheduledJobRow>): Promise<void> {
  await getDb().update(scheduledJobs).set(set).where(eq(scheduledJobs.id, id));
}

/** Deletes the job and its notification threshold, so a job made later under the same id starts afresh. */
export async function deleteJobRow(id: string): Promise<void> {
  await atomically((tx) => [
    tx.delete(jobNotificationSettings).where(eq(jobNotificationSettings.jobId, id)),
    tx.delete(scheduledJobs).where(eq(scheduledJobs.id, id)),
  ]);
}

/** system_metadata key counting job changes made by other processes (the demo seed, scripts on the file). */
const JOBS_REVISION_KEY = "jobs_revision";

export async function selectJobsRevision(): Promise<string | null> {
  const [row] = await getDb().select({ value: systemMetadata.value }).from(systemMetadata).where(eq(systemMetadata.key, JOBS_REVISION_KEY)).limit(1);
  return row?.value ?? null;
}

/** Sets the revision to a new unique value (a counter plus the time, so two writers never agree by chance). */
export async function bumpJobsRevision(value: string): Promise<void> {
  const now = new Date().toISOString();
  await getDb()
    .insert(systemMetadata)
    .values({ key: JOBS_REVISION_KEY, value, updatedAt: now })
    .onConflictDoUpdate({ target: systemMetadata.key, set: { value, updatedAt: now } });
}

export async function findJobSettingsRow(jobId: string): Promise<JobNotificationSettingsRow | null> {
  const [row] = await getDb().select().from(jobNotificationSettings).where(eq(jobNotificationSettings.jobId, jobId));
  return row ?? null;
}

export async function saveJobSettingsRow(row: JobNotificationSettingsRow): Promise<void> {
  await getDb()
    .insert(jobNotificationSettings)
    .values(row)
    .onConflictDoUpdate({
      target: jobNotificationSettings.jobId,
      set: { failureThreshold: row.failureThreshold, consecutiveFailures: row.consecutiveFailures },
    });
}

// A run names its job: the newest run of each is read here from job_executions, so that jobs need not
// load the executions capability for one probe per job.
/** The newest run of each job (by start time), one probe of (job_id, start_time) per job. */
export async function selectLastRunByJob(jobIds: string[]): Promise<Map<string, { id: string; start_time: string; status: string; error: string | null }>> {
  const result = new Map<string, { id: string; start_time: string; status: string; error: string | null }>();
  for (const jobId of new Set(jobIds)) {
    const [row] = await getDb()
      .select({ id: jobExecutions.id, startTime: jobExecutions.startTime, status: jobExecutions.status, error: jobExecutions.error })
      .from(jobExecutions)
      .where(eq(jobExecutions.jobId, jobId))
      .orderBy(desc(jobExecutions.startTime))
      .limit(1);
    if (row) result.set(jobId, { id: row.id, start_time: row.startTime, status: row.status, error: row.error });
  }
  return result;
}
