import "server-only";
import { recordAudit } from "@/lib/audit/service";
import type { Principal } from "@/lib/auth/scopes";
import type { Page, PageQuery } from "@/lib/pagination";
import { listExecutions } from "@/lib/executions/service";
import type { ExecutionSummary, Trigger } from "@/lib/executions/types";
import { getJob } from "@/lib/jobs/service";
import { startJobRun, type RunStarted } from "@/lib/scheduler/run";

/** A job's runs, newest first (not_found for an unknown job). Reads only. */
export async function listJobHistory(jobId: string, query: PageQuery): Promise<Page<ExecutionSummary>> {
  await getJob(jobId);
  return listExecutions({ ...query, job_id: jobId });
}

/**
 * Runs a job now, beside its schedule ("api" from a script, "manual" from the page). Returns once the
 * execution row exists; skipped when the job is already running; 403 when its steps need more than
 * the caller may do. Writes one audit row.
 */
export async function runJobNow(jobId: string, trigger: Extract<Trigger, "api" | "manual">, principal: Principal | null): Promise<Omit<RunStarted, "finished">> {
  const { finished: _finished, ...run } = await startJobRun(jobId, trigger, principal);
  await recordAudit({ principal, action: "job.run", target: jobId, result: "ok", details: { execution_id: run.execution_id, status: run.status } });
  return run;
}
