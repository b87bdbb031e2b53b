import "server-only";
import type { JobDto } from "@/lib/jobs/types";
import { processState } from "@/lib/process-state";

/**
 * What jobs announce, so that whatever follows them (the scheduler's timers, its run slots, its memory
 * of deleted built-in jobs) does so without jobs importing it: the scheduler sits above jobs.
 */
export type JobEvent =
  /** after a create, update, enable or disable */
  | { type: "saved"; job: Pick<JobDto, "id" | "cron_expr" | "enabled"> }
  /** before the row is deleted */
  | { type: "deleting"; jobId: string };

export type JobListener = (event: JobEvent) => void | Promise<void>;

// Process-wide: boot subscribes from the instrumentation bundle, a route bundle saves the job. Keyed
// by subscriber, so subscribing again (a second boot in one test process) replaces, never doubles.
const listeners = () => processState("jobListeners", () => new Map<string, JobListener>());

/** Subscribes `subscriber` to job changes, replacing its earlier listener; returns the function that unsubscribes. */
export function onJobEvent(subscriber: string, listener: JobListener): () => void {
  listeners().set(subscriber, listener);
  return () => {
    if (listeners().get(subscriber) === listener) listeners().delete(subscriber);
  };
}

/** Runs every listener in turn and waits for each, so a caller's answer follows the change everywhere. */
export async function emitJobEvent(event: JobEvent): Promise<void> {
  for (const listener of [...listeners().values()]) await listener(event);
}
