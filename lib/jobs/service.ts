import "server-only";
import crypto from "node:crypto";
import { z } from "zod";
import { AppError, notFound } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import { decodeCursor, toPage, type Page } from "@/lib/pagination";
import { recordAudit } from "@/lib/audit/service";
import type { Principal } from "@/lib/auth/scopes";
import type { ScheduledJobRow } from "@/lib/db/schema/jobs";
import { assertCronInterval, describeCron, nextRunOf, validateCron } from "@/lib/jobs/cron";
import { getConfig } from "@/lib/config/service";
import type { CreateJobInput, ListJobsQuery, UpdateJobInput } from "@/lib/jobs/inputs";
import * as queries from "@/lib/jobs/queries";
import type { JobDto, JobLastResult } from "@/lib/jobs/types";
import { emitJobEvent } from "@/lib/jobs/events";
import { pipelineRefs, pipelineRefsExist, resolvePipelineForRun } from "@/lib/pipelines/resolve";
import { assertMayChangeBuiltin, assertStepsAllowed, describePrincipal, ownerOf } from "@/lib/plugins/access";

const jobKey = z.object({ name: z.string(), id: z.string() });

function parseLastResult(text: string | null): JobLastResult | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as JobLastResult;
    return typeof value === "object" && value !== null && typeof value.success === "boolean" ? value : null;
  } catch {
    return null;
  }
}

type LastRun = Awaited<ReturnType<typeof queries.selectLastRunByJob>> extends Map<string, infer V> ? V : never;

/**
 * last_run and last_result come from the history (the newest run), not only from the columns the
 * scheduler writes: runs recorded any other way (an import, the seed, an adopted Mimir database)
 * count too, so the Jobs list and the Pipelines page agree. The stored result keeps its detail
 * when it is of that same run.
 */
function lastRunOf(row: ScheduledJobRow, newest: LastRun | undefined): Pick<JobDto, "last_run" | "last_result"> {
  const stored = parseLastResult(row.lastResult);
  if (!newest || (row.lastRun && row.lastRun >= newest.start_time && stored)) return { last_run: row.lastRun, last_result: stored };
  if (stored?.execution_id === newest.id) return { last_run: newest.start_time, last_result: stored };
  return {
    last_run: newest.start_time,
    last_result: {
      success: newest.status === "success",
      status: newest.status,
      execution_id: newest.id,
      executed_at: newest.start_time,
      ...(newest.error ? { error: newest.error } : {}),
    },
  };
}

function toDto(row: ScheduledJobRow, pipelineExists: boolean, newest?: LastRun): JobDto {
  return {
    id: row.id,
    name: row.name,
    pipeline: row.pipeline,
    cron_expr: row.cronExpr,
    enabled: row.enabled,
    next_run: row.nextRun,
    ...lastRunOf(row, newest),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    cron_description: describeCron(row.cronExpr),
    pipeline_exists: pipelineExists,
  };
}

async function toDtos(rows: ScheduledJobRow[]): Promise<JobDto[]> {
  const [exists, newest] = await Promise.all([pipelineRefsExist(rows.map((row) => row.pipeline)), queries.selectLastRunByJob(rows.map((row) => row.id))]);
  return rows.map((row) => toDto(row, exists.get(row.pipeline) ?? false, newest.get(row.id)));
}

/** A page of jobs by name. Reads only. */
export async function listJobs(query: ListJobsQuery): Promise<Page<JobDto>> {
  const after = decodeCursor(query.cursor, jobKey);
  const rows = await queries.selectJobs({
    limit: query.limit + 1,
    after,
    pipelineRefs: query.pipeline ? pipelineRefs(query.pipeline.replace(/\.ya?ml$/i, "")) : undefined,
  });
  const page = toPage(rows, query.limit, (row) => ({ name: row.name, id: row.id }));
  return { items: await toDtos(page.items), next_cursor: page.next_cursor };
}

/** One job, or not_found. */
export async function getJob(id: string): Promise<JobDto> {
  const row = await queries.selectJob(id);
  if (!row) throw notFound("Job", id);
  return (await toDtos([row]))[0]!;
}

/** The raw row for the scheduler (no pipeline lookup). */
export async function findJobRow(id: string): Promise<ScheduledJobRow | null> {
  return (await queries.selectJob(id)) ?? null;
}

/**
 * A cron expression as a caller gives it: valid, and (from a caller, not the console's own built-ins
 * following the configuration) not firing more often than scheduler.min_interval_seconds. The
 * scheduler holds every job to that floor when it fires, whatever its expression.
 */
function checkedCron(expr: string, principal: Principal | null): string {
  const cronExpr = validateCron(expr);
  if (principal) assertCronInterval(cronExpr, getConfig().values.scheduler.min_interval_seconds);
  return cronExpr;
}

/**
 * Refuses (403) a save by `principal` of a job whose pipeline has steps beyond the principal's scope:
 * the job would run them on the principal's behalf. A pipeline that does not exist (yet) or is not
 * valid is let through; its runs are checked again when they start.
 */
async function assertPrincipalMayRunPipeline(pipelineRef: string, principal: Principal | null): Promise<void> {
  if (!principal) return;
  const pipeline = await resolvePipelineForRun(pipelineRef).catch(() => null);
  if (pipeline) assertStepsAllowed(pipeline.definition, principal.scope, describePrincipal(principal));
}

/**
 * Creates a job and schedules it at once. A pipeline that does not exist is accepted (as Mimir AIP
 * did) and flagged; its runs fail with the reason. The caller becomes the job's owner: its runs may
 * do no more than the caller may. Inserts one row, writes one audit row.
 */
export async function createJob(input: CreateJobInput, principal: Principal | null): Promise<JobDto> {
  const cronExpr = checkedCron(input.cron_expr, principal);
  const id = input.id ?? crypto.randomUUID();
  assertMayChangeBuiltin("job", id, principal);
  if (await queries.selectJob(id)) throw new AppError("already_exists", `A job with id '${id}' already exists`);
  await assertPrincipalMayRunPipeline(input.pipeline, principal);
  const now = nowIso();
  await queries.insertJob({
    id,
    name: input.name,
    pipeline: input.pipeline,
    cronExpr,
    enabled: input.enabled,
    nextRun: input.enabled ? nextRunOf(cronExpr) : null,
    createdAt: now,
    updatedAt: now,
    ...ownerOf(principal),
  });
  const job = await getJob(id);
  await emitJobEvent({ type: "saved", job });
  await recordAudit({ principal, action: "job.create", target: id, result: "ok", details: { pipeline: job.pipeline, cron_expr: cronExpr } });
  return job;
}

/**
 * What a script should know about a job it just created or changed, though the request succeeded:
 * a pipeline that does not exist (accepted, as Mimir AIP did, but each run fails until it exists).
 */
export function jobWarnings(job: JobDto): string[] {
  return job.pipeline_exists
    ? []
    : [`Pipeline '${job.pipeline}' does not exist (no stored pipeline, no such file in the pipelines volume): runs of this job fail until it is created`];
}

/**
 * Changes a job's fields and reschedules it; the caller becomes its owner. Refused (403) for a
 * built-in job below admin, and when the job's pipeline needs more than the caller's scope.
 */
async function changeJob(id: string, input: UpdateJobInput, principal: Principal | null): Promise<JobDto> {
  assertMayChangeBuiltin("job", id, principal);
  const current = await getJob(id);
  const cronExpr = input.cron_expr === undefined ? current.cron_expr : checkedCron(input.cron_expr, principal);
  const enabled = input.enabled ?? current.enabled;
  await assertPrincipalMayRunPipeline(input.pipeline ?? current.pipeline, principal);
  await queries.updateJobRow(id, {
    ...(input.name === undefined ? {} : { name: input.name }),
    ...(input.pipeline === undefined ? {} : { pipeline: input.pipeline }),
    cronExpr,
    enabled,
    nextRun: enabled ? nextRunOf(cronExpr) : null,
    updatedAt: nowIso(),
    // The console's own changes (a built-in following the configuration) leave the owner as it was.
    ...(principal ? ownerOf(principal) : {}),
  });
  const job = await getJob(id);
  await emitJobEvent({ type: "saved", job });
  return job;
}

/** Changes a job's fields and reschedules it at once (see changeJob). Writes one audit row. */
export async function updateJob(id: string, input: UpdateJobInput, principal: Principal | null): Promise<JobDto> {
  const job = await changeJob(id, input, principal);
  await recordAudit({ principal, action: "job.update", target: id, result: "ok", details: { ...input } });
  return job;
}

/** Enables or disables a job; the scheduler starts or stops firing it at once. Refused as updateJob. Writes one audit row. */
export async function setJobEnabled(id: string, enabled: boolean, principal: Principal | null): Promise<JobDto> {
  const job = await changeJob(id, { enabled }, principal);
  await recordAudit({ principal, action: enabled ? "job.enable" : "job.disable", target: id, result: "ok" });
  return job;
}

/**
 * Deletes a job and its execution history with it (ON DELETE CASCADE, as in Mimir AIP); the scheduler,
 * told first, unschedules it, stops its run in progress and remembers a deleted built-in job.
 * Writes one audit row.
 */
export async function deleteJob(id: string, principal: Principal | null): Promise<void> {
  assertMayChangeBuiltin("job", id, principal);
  await getJob(id);
  await emitJobEvent({ type: "deleting", jobId: id });
  await queries.deleteJobRow(id);
  await recordAudit({ principal, action: "job.delete", target: id, result: "ok" });
}

/** Records a finished run on the job: last_run, last_result and the next fire time. */
export async function recordJobRun(id: string, result: { lastRun: string; lastResult: JobLastResult; nextRun: string | null }): Promise<void> {
  await queries.updateJobRow(id, { lastRun: result.lastRun, lastResult: JSON.stringify(result.lastResult), nextRun: result.nextRun });
}

/** Stores the next fire time the scheduler computed. */
export async function recordJobNextRun(id: string, nextRun: string | null): Promise<void> {
  await queries.updateJobRow(id, { nextRun });
}

/** Enabled jobs in batches, for the scheduler at boot. */
export async function* iterateEnabledJobs(batch = 500): AsyncGenerator<ScheduledJobRow> {
  let after: string | null = null;
  for (;;) {
    const rows = await queries.selectEnabledJobs(batch, after);
    yield* rows;
    if (rows.length < batch) return;
    after = rows.at(-1)!.id;
  }
}

/** A job picker lists at most this many jobs; beyond it the history filter still takes an id. */
export const MAX_JOB_CHOICES = 500;

/** Jobs by name for a picker: `more` says the list was cut at MAX_JOB_CHOICES. Reads only. */
export async function listJobChoices(): Promise<{ jobs: { id: string; name: string }[]; more: boolean }> {
  const rows = await queries.selectJobChoices(MAX_JOB_CHOICES + 1);
  return { jobs: rows.slice(0, MAX_JOB_CHOICES), more: rows.length > MAX_JOB_CHOICES };
}

/** The names of the jobs behind some runs, by id: history shows names, since console-made ids are UUIDs. A deleted job has none. */
export async function jobNamesOf(runs: { job_id: string }[]): Promise<Map<string, string>> {
  return queries.selectJobNames([...new Set(runs.map((run) => run.job_id))]);
}

/** How many jobs exist, and how many of them are enabled. Reads only. */
export async function countJobs(): Promise<{ total: number; enabled: number }> {
  return queries.countJobs();
}

/**
 * Tells a running server that jobs were written by another process (the demo seed writes the
 * database directly): its scheduler polls this revision and reschedules from the table when it
 * changes. Writes one system_metadata row.
 */
export async function announceJobsChangedElsewhere(): Promise<void> {
  await queries.bumpJobsRevision(`${Date.now()}-${crypto.randomUUID()}`);
}

/** The revision announceJobsChangedElsewhere last wrote, or null before any. Reads only. */
export async function readJobsRevision(): Promise<string | null> {
  return queries.selectJobsRevision();
}
