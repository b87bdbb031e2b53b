import "server-only";
import { notify } from "@/lib/notify/service";
import { findJobSettingsRow, saveJobSettingsRow } from "@/lib/jobs/queries";
import type { JobNotificationSettingsDto } from "@/lib/notify/types";
import { getJob } from "@/lib/jobs/service";
import { assertMayChangeBuiltin } from "@/lib/plugins/access";
import type { Principal } from "@/lib/auth/scopes";

/** A job without a row of its own notifies on its first failure. */
export const DEFAULT_FAILURE_THRESHOLD = 1;

/** The job's failure threshold and its current run of failures; 404 for an unknown job. Reads only. */
export async function getJobNotificationSettings(jobId: string): Promise<JobNotificationSettingsDto> {
  await getJob(jobId);
  const row = await findJobSettingsRow(jobId);
  return { job_id: jobId, failure_threshold: row?.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD, consecutive_failures: row?.consecutiveFailures ?? 0 };
}

/**
 * Sets how many failed runs in a row it takes to send job.failed. Refused (403) for a built-in job below
 * admin, like any other change to one (a raised threshold silences its failures). Writes one
 * job_notification_settings row.
 */
export async function setJobFailureThreshold(jobId: string, failureThreshold: number, principal: Principal | null): Promise<JobNotificationSettingsDto> {
  assertMayChangeBuiltin("job", jobId, principal);
  const current = await getJobNotificationSettings(jobId);
  await saveJobSettingsRow({ jobId, failureThreshold, consecutiveFailures: current.consecutive_failures });
  return { ...current, failure_threshold: failureThreshold };
}

/**
 * Counts a finished run: a failure extends the job's run of failures and, from the threshold on,
 * announces job.failed (the notifier throttles the repeats); a success after an announced run of
 * failures announces job.recovered. Cancelled and skipped runs change nothing. Never throws.
 */
export async function countRunForAlerts(job: { id: string; name: string }, run: { executionId: string; status: string; error: string | null }): Promise<void> {
  if (run.status !== "failed" && run.status !== "success") return;
  try {
    const row = await findJobSettingsRow(job.id);
    const threshold = row?.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;
    const previous = row?.consecutiveFailures ?? 0;
    const consecutive = run.status === "failed" ? previous + 1 : 0;
    if (row || consecutive > 0) await saveJobSettingsRow({ jobId: job.id, failureThreshold: threshold, consecutiveFailures: consecutive });
    if (run.status === "failed" && consecutive >= threshold) {
      await notify("job.failed", {
        job_id: job.id,
        job_name: job.name,
        execution_id: run.executionId,
        consecutive_failures: consecutive,
        threshold,
        reason: run.error ?? "no reason recorded",
      });
    } else if (run.status === "success" && previous >= threshold) {
      await notify("job.recovered", { job_id: job.id, job_name: job.name, execution_id: run.executionId });
    }
  } catch {
    // Counting is bookkeeping for notifications; the run itself is recorded already.
  }
}
