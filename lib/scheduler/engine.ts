import "server-only";
import { processState } from "@/lib/process-state";
import { Cron } from "croner";
import { getLogger } from "@/lib/log/logger";
import { getConfig } from "@/lib/config/service";
import type { JobDto } from "@/lib/jobs/types";
import { iterateEnabledJobs, recordJobNextRun } from "@/lib/jobs/service";
import { fireJobSlot } from "@/lib/scheduler/run";
import { slotOf } from "@/lib/jobs/cron";
import { runUnlessFrozen, writesRefusedHere } from "@/lib/db/write-freeze";
import { yieldEvery } from "@/lib/event-loop";

/**
 * Missed-fire policy. Fires that fell while the server was down are not replayed one by one: a job
 * whose stored next_run passed while down within MISSED_FIRE_GRACE_MS gets ONE catch-up run at boot
 * (so last night's backup still happens after a short outage); older misses are dropped, and the job
 * simply continues from its next fire time.
 */
export const MISSED_FIRE_GRACE_MS = 60 * 60 * 1000;

/**
 * How long after boot the catch-up runs start (lib/scheduler/boot.ts). A restarted server is probed and
 * scraped at once, and a run starts its steps' processes on the event loop (spawn: 5-10 ms of the main
 * thread each): started with the boot, the catch-ups held the first /metrics scrape up for 66-240 ms
 * (bench:metrics, against 18-32 ms without). Missed fires wait for minutes or hours already.
 */
export const CATCH_UP_AFTER_BOOT_MS = 5_000;

interface SchedulerState {
  started: boolean;
  /** the catch-up fires waiting for their start (startScheduler's catchUpAfterMs) */
  catchUpTimer?: NodeJS.Timeout;
  crons: Map<string, Cron>;
  /** the expression each timer was made from, to tell a changed job from an unchanged one */
  patterns: Map<string, string>;
}

// Process-wide: instrumentation starts the scheduler, route bundles reschedule jobs; one state for all.
const state = () => processState("scheduler", (): SchedulerState => ({ started: false, crons: new Map(), patterns: new Map() }));

/**
 * Starts firing every enabled job. At boot (`catchUp`, the default) applies the missed-fire policy,
 * its catch-up runs starting `catchUpAfterMs` later (boot: CATCH_UP_AFTER_BOOT_MS); a reload in a
 * server that never stopped (after a restore, or jobs written by another process) does not: no fire
 * was missed while it ran, whatever next_run the rows say.
 */
export async function startScheduler(
  now = new Date(),
  { catchUp = true, catchUpAfterMs = 0 }: { catchUp?: boolean; catchUpAfterMs?: number } = {},
): Promise<{ scheduled: number; caughtUp: number }> {
  const current = state();
  current.started = true;
  let scheduled = 0;
  const catchUps: { jobId: string; missed: Date }[] = [];
  // A thousand jobs (a restore reloads them all) took over a second of the main thread in one go.
  const pause = yieldEvery();
  for await (const row of iterateEnabledJobs()) {
    await pause();
    const missed = row.nextRun !== null && Date.parse(row.nextRun) < now.getTime();
    scheduleCron(row.id, row.cronExpr);
    scheduled += 1;
    if (catchUp && missed && now.getTime() - Date.parse(row.nextRun!) <= MISSED_FIRE_GRACE_MS) {
      getLogger().info("catching up a fire missed while the server was down", { jobId: row.id, missed: row.nextRun });
      catchUps.push({ jobId: row.id, missed: new Date(row.nextRun!) });
    } else {
      await recordJobNextRun(row.id, nextRunOf(row.id));
    }
  }
  // Each job's next_run names its missed slot until its catch-up starts: a server stopped before then
  // catches it up at its next start instead of losing it.
  const startCatchUps = async () => {
    current.catchUpTimer = undefined;
    for (const { jobId, missed } of catchUps) {
      await recordJobNextRun(jobId, nextRunOf(jobId));
      // The missed slot is claimed like any fire: of several instances starting together, one catches up.
      void fire(jobId, missed);
    }
  };
  if (catchUps.length > 0 && catchUpAfterMs > 0) {
    current.catchUpTimer = setTimeout(() => {
      startCatchUps().catch((error: unknown) => getLogger().error("the catch-up runs could not start", { error }));
    }, catchUpAfterMs);
    current.catchUpTimer.unref();
  } else {
    await startCatchUps();
  }
  return { scheduled, caughtUp: catchUps.length };
}

/** When a scheduled job's timer fires next (ISO), or null when it has none. */
function nextRunOf(jobId: string): string | null {
  return state().crons.get(jobId)?.nextRun()?.toISOString() ?? null;
}

/** Stops every timer (shutdown, tests), the catch-ups' too. Runs in progress continue to their end. */
export function stopScheduler(): void {
  const current = state();
  clearTimeout(current.catchUpTimer);
  current.catchUpTimer = undefined;
  for (const cron of current.crons.values()) cron.stop();
  current.crons.clear();
  current.patterns.clear();
  current.started = false;
}

/**
 * Brings the timers in line with the jobs table (another instance created, edited, enabled, disabled
 * or deleted jobs): only jobs whose expression changed, appeared or went are touched (and their
 * next_run written). Returns how many changed, and how many jobs are scheduled now.
 */
export async function syncScheduledJobs(): Promise<{ changed: number; scheduled: number }> {
  const current = state();
  if (!current.started) return { changed: 0, scheduled: 0 };
  let changed = 0;
  const enabled = new Set<string>();
  const pause = yieldEvery();
  for await (const row of iterateEnabledJobs()) {
    await pause();
    enabled.add(row.id);
    if (current.patterns.get(row.id) === row.cronExpr) continue;
    scheduleCron(row.id, row.cronExpr);
    await recordJobNextRun(row.id, nextRunOf(row.id));
    changed += 1;
  }
  for (const jobId of [...current.crons.keys()]) {
    if (enabled.has(jobId)) continue;
    unscheduleJob(jobId);
    changed += 1;
  }
  return { changed, scheduled: current.crons.size };
}

/** (Re)schedules a job after a create, update, enable or disable; a disabled job is unscheduled. No-op before boot. */
export function scheduleJob(job: Pick<JobDto, "id" | "cron_expr" | "enabled">): void {
  if (!state().started) return;
  if (!job.enabled) return unscheduleJob(job.id);
  scheduleCron(job.id, job.cron_expr);
}

/** Stops firing a job (deleted or disabled). */
export function unscheduleJob(jobId: string): void {
  const current = state();
  current.crons.get(jobId)?.stop();
  current.crons.delete(jobId);
  current.patterns.delete(jobId);
}

function scheduleCron(jobId: string, cronExpr: string): void {
  unscheduleJob(jobId);
  try {
    // croner's own overlap protection is off: an overlapping fire must reach startJobRun to be recorded as skipped.
    // `interval` holds every job to scheduler.min_interval_seconds, also one saved before the floor existed or by the console itself.
    const cron = new Cron(
      cronExpr,
      { interval: getConfig().values.scheduler.min_interval_seconds, catch: (error) => getLogger().error("scheduled fire failed", { jobId, error }) },
      () => fireLate(jobId, slotOf(cronExpr, new Date())),
    );
    shareYearTable(cron);
    state().crons.set(jobId, cron);
    state().patterns.set(jobId, cronExpr);
  } catch (error) {
    getLogger().error("cannot schedule job: its cron expression is invalid", { jobId, cronExpr, error });
  }
}

/**
 * croner 11 gives every pattern its own table of the years 0–9999 (an array of 10,000 numbers, 80 KB):
 * with 1,000 jobs, 80 MB of the server's idle heap (bench/RESULTS-restore-memory.md). The table of a
 * pattern whose year is "*" (every expression a job can be saved with: five or six fields) is all ones
 * and croner only reads it after parsing, so every such job shares one. Another croner version without
 * this field leaves each its own (a test checks the field is there).
 */
export const EVERY_YEAR: readonly number[] = Object.freeze(new Array<number>(10_000).fill(1));

export function shareYearTable(cron: Cron): void {
  const pattern = (cron as unknown as { _states?: { pattern?: { starYear?: boolean; year?: unknown } } })._states?.pattern;
  if (pattern?.starYear === true && Array.isArray(pattern.year) && pattern.year.length === EVERY_YEAR.length) pattern.year = EVERY_YEAR;
}

/** The one seam of the clock-skew test: an instance whose clock runs behind claims each slot that much later. */
async function fireLate(jobId: string, slot: Date | null): Promise<void> {
  const skew = getConfig().clockSkewMs;
  if (skew > 0) await new Promise((resolve) => setTimeout(resolve, skew));
  return fire(jobId, slot);
}

/** A fire of `slot`: every instance's timer goes off, the one whose claim succeeds runs it. */
async function fire(jobId: string, slot: Date | null): Promise<void> {
  if (!slot) return;
  const frozen = writesRefusedHere();
  if (frozen !== null) {
    // Its claim and run would be written to a SQLite file that is being left behind (the migration stops the timers; this is a fire already due).
    getLogger().warn("scheduled fire skipped: writes are frozen for the switch to PostgreSQL", { jobId, slot: slot.toISOString(), reason: frozen });
    return;
  }
  try {
    // Counted as a write until its run is recorded: a freeze starting meanwhile waits, then sees the run and refuses.
    await runUnlessFrozen(() => fireJobSlot(jobId, slot));
  } catch (error) {
    getLogger().error("scheduled run could not start", { jobId, error });
  }
}
