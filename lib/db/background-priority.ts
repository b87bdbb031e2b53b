import "server-only";
import os from "node:os";

/**
 * The CPU priority (niceness) of maintenance that runs beside a serving event loop: the verify
 * drill's database check, the retention cleanup's worker, a VACUUM's child. On Linux the scheduler
 * weighs a thread at nice 10 about a tenth of one at nice 0, so when the event loop wakes for a
 * request it gets a core at once instead of sharing it turn about with seconds-long CPU work in
 * this process (on two cores, three such threads made the reader's p99 several times its idle
 * value in bench/beside-maintenance.ts). The work still gets every idle cycle. Never used for work
 * the app waits on with its writes paused or its data offline (a backup's snapshot, a restore).
 */
export const BACKGROUND_NICENESS = 10;

/**
 * A line for an eval'd worker script: lowers that thread's priority. On Linux niceness belongs to a
 * thread, not the process (setpriority(2), NOTES), so the event loop keeps its own; where the call
 * is refused the work simply runs at the usual priority.
 */
export const LOWER_THIS_THREAD_SOURCE = `try { require("node:os").setPriority(${BACKGROUND_NICENESS}); } catch {}`;

/** Lowers a child process's priority (its main thread, and the threads it starts after this). */
export function lowerChildPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, BACKGROUND_NICENESS);
  } catch {
    // Refused (a platform without niceness, or the child already gone): it runs at the usual priority.
  }
}
