import "server-only";
import { processState } from "@/lib/process-state";
import YAML from "yaml";
import type { AppConfig } from "@/lib/config/load";
import { getConfig } from "@/lib/config/service";
import { getLogger } from "@/lib/log/logger";
import { isAppError } from "@/lib/errors";
import { announceJobsChangedElsewhere, createJob, findJobRow, readJobsRevision } from "@/lib/jobs/service";
import { onJobEvent } from "@/lib/jobs/events";
import { createPipeline, getPipeline } from "@/lib/pipelines/service";
import { syncPipelinesWithVolume, watchPipelinesVolume } from "@/lib/pipelines/volume-sync";
import { builtinJobs, isBuiltinJob } from "@/lib/plugins/builtin-jobs";
import { applyConfigToBuiltinJobs, followConfigInBuiltinJobs } from "@/lib/scheduler/builtin-config";
import { CATCH_UP_AFTER_BOOT_MS, scheduleJob, startScheduler, stopScheduler, syncScheduledJobs, unscheduleJob } from "@/lib/scheduler/engine";
import { activeRunOfJob, cancelRun } from "@/lib/scheduler/active-runs";
import { onAppDatabaseReopened } from "@/lib/db/client";
import { forgetRemovedBuiltinJobs, isBuiltinJobRemoved, markBuiltinJobRemoved } from "@/lib/scheduler/queries";

/**
 * Makes the scheduler follow job changes: a saved job is (re)scheduled (a no-op before the scheduler
 * started), a job being deleted is unscheduled and its run in progress stopped, and a deleted built-in
 * job is remembered so that boot does not bring it back. Every change is announced to the other
 * instances too (they poll the jobs revision). Called by the composition root (lib/builtins.ts);
 * returns the function that unsubscribes.
 */
export function followJobEvents(): () => void {
  return onJobEvent("scheduler", async (event) => {
    if (event.type === "saved") {
      scheduleJob(event.job);
    } else {
      unscheduleJob(event.jobId);
      const running = activeRunOfJob(event.jobId);
      if (running) cancelRun(running, "The job was deleted");
      if (isBuiltinJob(event.jobId)) await markBuiltinJobRemoved(event.jobId);
    }
    if (schedulerFollowsOthers()) await announceJobsChangedElsewhere();
  });
}

/**
 * The scheduler's part of boot: close runs the last process left running, bring pipelines and the
 * volume into agreement (and watch it), create missing built-in pipelines and jobs, start firing jobs.
 */
export async function bootScheduler(config: AppConfig): Promise<void> {
  const log = getLogger();
  await syncPipelinesWithVolume();
  watchPipelinesVolume();
  await ensureBuiltinJobs(config);
  followConfigInBuiltinJobs();
  const { scheduled, caughtUp } = await startScheduler(new Date(), { catchUpAfterMs: CATCH_UP_AFTER_BOOT_MS });
  log.info("scheduler started", { scheduled, caughtUp });
  await followJobChangesFromOtherProcesses();
  // The configuration in effect then, not at boot: it may have been changed from the console since.
  onAppDatabaseReopened(() => reloadScheduler(getConfig()));
}

/**
 * After a restore swapped the database and the volumes: the timers are rebuilt from the restored
 * jobs, and the restored pipeline files and rows are brought into agreement again.
 */
export async function reloadScheduler(config: AppConfig): Promise<void> {
  stopScheduler();
  await syncPipelinesWithVolume();
  await ensureBuiltinJobs(config);
  const { scheduled } = await startScheduler(new Date(), { catchUp: false });
  getLogger().info("scheduler reloaded after the database was reopened", { scheduled });
}

/** How often a running server looks for job changes written by another instance or process (the demo seed). */
export const JOB_CHANGES_POLL_MS = 1_000;

const memo = processState("jobChangesTimer", (): { timer?: NodeJS.Timeout } => ({}));

function schedulerFollowsOthers(): boolean {
  return memo.timer !== undefined;
}

/**
 * Another instance (or `npm run seed`, another process) writes jobs where this process's timers cannot
 * see them: each such write bumps a revision in system_metadata, and this poll (one indexed read a
 * second) brings the timers in line with the table when the revision changed, touching only the jobs
 * that changed (a timer left alone cannot miss its fire).
 */
async function followJobChangesFromOtherProcesses(): Promise<void> {
  if (memo.timer) clearInterval(memo.timer);
  let seen = await readJobsRevision();
  let checking = false;
  memo.timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void (async () => {
      const current = await readJobsRevision();
      if (current === seen) return;
      seen = current;
      const { changed, scheduled } = await syncScheduledJobs();
      if (changed > 0) getLogger().info("scheduler reloaded: jobs were changed by another process", { scheduled, changed });
    })()
      .catch((error) => getLogger().warn("could not check for job changes made by another process", { error }))
      .finally(() => (checking = false));
  }, JOB_CHANGES_POLL_MS);
  memo.timer.unref();
}

/**
 * After a reset emptied the jobs: forgets which built-in jobs a person had deleted, then reloads, so
 * the built-in jobs of a fresh install come back. Returns the ids of the built-in jobs that exist after.
 */
export async function rebuildSchedulerAfterReset(config: AppConfig): Promise<string[]> {
  await forgetRemovedBuiltinJobs();
  await reloadScheduler(config);
  const present: string[] = [];
  for (const builtin of builtinJobs()) if (await findJobRow(builtin.id)) present.push(builtin.id);
  return present;
}

/**
 * Creates each built-in pipeline and job that does not exist yet. They are ordinary rows from then
 * on: a person's edits (cron, enabled, steps) are kept across restarts, because an existing job or
 * pipeline is never overwritten, except by a configuration value that changed since it was last
 * applied (applyConfigToBuiltinJobs); a deleted built-in job is remembered (system_metadata) and not
 * brought back; a deleted built-in pipeline is recreated only together with its job.
 */
export async function ensureBuiltinJobs(config: AppConfig): Promise<void> {
  for (const builtin of builtinJobs()) {
    if ((await findJobRow(builtin.id)) || (await isBuiltinJobRemoved(builtin.id))) continue;
    try {
      await getPipeline(builtin.pipeline.name);
    } catch (error) {
      if (!isAppError(error) || error.code !== "not_found") throw error;
      const text = YAML.stringify({ name: builtin.pipeline.name, description: builtin.pipeline.description, steps: builtin.pipeline.steps });
      await createPipeline(text, null);
    }
    await createJob(
      { id: builtin.id, name: builtin.name, pipeline: builtin.pipeline.name, cron_expr: builtin.cron(config), enabled: builtin.enabledByDefault(config) },
      null,
    );
    getLogger().info("created built-in job", { id: builtin.id });
  }
  await applyConfigToBuiltinJobs(config);
}
