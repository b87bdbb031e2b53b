import "server-only";
import { processState } from "@/lib/process-state";

/**
 * The runs in progress in this process, with the controller that stops each. Process-wide
 * (lib/process-state.ts): Next.js bundles instrumentation and each route separately, and all of them
 * must see the same runs (to stop a run). Whether a job may start a run is not decided here but by
 * the database (one running row per job, across every instance).
 */
interface ActiveRun {
  executionId: string;
  jobId: string;
  controller: AbortController;
}

const runs = () => processState("activeRuns", () => new Map<string, ActiveRun>());

/** Remembers a run this process has started; returns the controller that stops it. */
export function trackRun(jobId: string, executionId: string): AbortController {
  const controller = new AbortController();
  runs().set(executionId, { executionId, jobId, controller });
  return controller;
}

export function releaseRun(executionId: string): void {
  runs().delete(executionId);
}

/** The run of `jobId` in progress in this process, or null. */
export function activeRunOfJob(jobId: string): string | null {
  for (const run of runs().values()) if (run.jobId === jobId) return run.executionId;
  return null;
}

/** Aborts a run in progress; false when no run with that id is in progress in this process. */
export function cancelRun(executionId: string, reason: string): boolean {
  const run = runs().get(executionId);
  if (!run) return false;
  run.controller.abort(new Error(reason));
  return true;
}

/** The ids of the runs in progress in this process. */
export function activeRunIds(): string[] {
  return [...runs().keys()];
}

/** Aborts every run in progress (the server is stopping): each plugin's process group is signalled at once. Returns how many. */
export function cancelAllRuns(reason: string): number {
  const all = [...runs().values()];
  for (const run of all) run.controller.abort(new Error(reason));
  return all.length;
}
