import "server-only";
import { AppError } from "@/lib/errors";
import { recordAudit } from "@/lib/audit/service";
import type { Principal } from "@/lib/auth/scopes";
import { closeOrphanedExecution, findRunningExecutionOfJob, getExecution, requestExecutionCancel } from "@/lib/executions/service";
import { currentInstanceId, isInstanceLive } from "@/lib/instances/service";
import type { ExecutionDto, Trigger } from "@/lib/executions/types";
import { cancelRun } from "@/lib/scheduler/active-runs";
import { startJobRun, type RunStarted } from "@/lib/scheduler/run";

// A person's hand on the runner: start a run now, stop one in progress. These live with the runner
// (which owns the run slots) rather than in jobs or executions, which sit below it.

/**
 * Runs a job now, beside its schedule ("api" from a script, "manual" from the page). Returns once the
 * execution row exists; skipped when the job is already running; 403 when its steps need more than
 * the caller may do. Writes one audit row.
 */
export async function runJobNow(
  jobId: string,
  trigger: Extract<Trigger, "api" | "manual">,
  principal: Principal | null,
): Promise<Omit<RunStarted, "finished">> {
  const { finished: _finished, ...run } = await startJobRun(jobId, trigger, principal);
  await recordAudit({ principal, action: "job.run", target: jobId, result: "ok", details: { execution_id: run.execution_id, status: run.status } });
  return run;
}

/**
 * Asks a running run to stop: its current step is aborted (plugin process group killed) and the run
 * ends as cancelled. A run on another live instance is asked through its row (that instance polls for
 * it every second); a row left running by a process that is gone is closed as cancelled directly.
 * Writes one audit row.
 */
export async function stopExecution(id: string, principal: Principal | null): Promise<ExecutionDto> {
  const execution = await getExecution(id);
  if (execution.status !== "running") {
    throw new AppError("conflict", `Execution '${id}' is not running (it is ${execution.status})`, { details: { status: execution.status } });
  }
  const reason = `Stopped by ${principal?.name ?? "system"}`;
  if (!cancelRun(id, reason)) {
    const running = await findRunningExecutionOfJob(execution.job_id);
    const owner = running?.id === id ? running.ownerInstance : null;
    if (owner && owner !== currentInstanceId() && (await isInstanceLive(owner))) await requestExecutionCancel(id);
    else await closeOrphanedExecution(execution, reason);
  }
  await recordAudit({ principal, action: "execution.stop", target: id, result: "ok" });
  return getExecution(id);
}
