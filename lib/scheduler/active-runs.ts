import "server-only";
import { processState } from "@/lib/process-state";

/**
 * The runs in progress in this process. Process-wide (lib/process-state.ts): Next.js bundles instrumentation and each
 * route separately, and all of them must see the same runs (to refuse an overlap, to stop a run).
 */
interface ActiveRun {
  executionId: string;
  jobId: string;
  controller: AbortController;
}

const runs = () => processState("activeRuns", () => new Map<string, ActiveRun>());

/** Claims the job's single run slot; false when it already has a run in progress. */
export function claimRun(jobId: string, executionId: string): AbortController | null {
  if (runs().has(jobId)) return null;
  const controller = new AbortController();
  runs().set(jobId, { executionId, jobId, controller });
  return controller;
}

export function releaseRun(jobId: string, executionId: string): void {
  if (runs().get(jobId)?.executionId === executionId) runs().delete(jobId);
}

export function activeRunOfJob(jobId: string): string | null {
  return runs().get(jobId)?.executionId ?? null;
}

/** Aborts a run in progress; false when no run with that id is in progress in this process. */
export function cancelRun(executionId: string, reason: string): boolean {
  for (const run of runs().values()) {
    if (run.executionId === executionId) {
      run.controller.abort(new Error(reason));
      return true;
    }
  }
  return false;
}

/** Aborts every run in progress (the server is stopping): each plugin's process group is signalled at once. Returns how many. */
export function cancelAllRuns(reason: string): number {
  const all = [...runs().values()];
  for (const run of all) run.controller.abort(new Error(reason));
  return all.length;
}
