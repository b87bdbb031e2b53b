import "server-only";
import { z } from "zod";
import { AppError, notFound } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import { decodeCursor, toPage, type Page } from "@/lib/pagination";
import type { JobExecutionRow, NewJobExecutionRow } from "@/lib/db/schema/executions";
import * as queries from "@/lib/executions/queries";
import { readExecutionLogChunk } from "@/lib/executions/log-files";
import { DEFAULT_STATISTICS_DAYS, MAX_STATISTICS_DAYS, type HistoryFilters, type ListExecutionsQuery, type StatisticsQuery } from "@/lib/executions/inputs";
import { outputSummary, type ExecutionDto, type ExecutionLog, type ExecutionStatistics, type ExecutionSummary, type StepRecord } from "@/lib/executions/types";
import { DAY_MS, NS_PER_MS } from "@/lib/time";
import { yieldToEventLoop } from "@/lib/event-loop";

/** Rows per batch of a CSV export: small enough that each batch blocks the event loop only briefly. */
const EXPORT_BATCH_ROWS = 1000;
const historyKey = z.object({ start_time: z.string(), id: z.string() });

function toSummary(row: JobExecutionRow): ExecutionSummary {
  return {
    id: row.id,
    job_id: row.jobId,
    pipeline: row.pipeline,
    start_time: row.startTime,
    end_time: row.endTime,
    duration: row.duration,
    status: row.status,
    error: row.error,
    triggered_by: row.triggeredBy,
  };
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** A string as it is; anything else (a number, an object) as its JSON text; null and absent as null. */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * One entry of the `steps` JSON as the API documents it. The column is Mimir AIP's, and what wrote it
 * (Mimir AIP, an adopted database, a script) may have stored other shapes: an object as the output,
 * a number as a name. Each field is read as the type the API promises, so such a row is shown, not
 * a 500 on the run's page or a response that breaks its own schema. null for an entry that is no object.
 */
function toStep(raw: unknown): StepRecord | null {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return null;
  const step = raw as Record<string, unknown>;
  return {
    step_name: asText(step.step_name) ?? "",
    plugin: asText(step.plugin) ?? "",
    start_time: asText(step.start_time),
    end_time: asText(step.end_time),
    duration: typeof step.duration === "number" && Number.isFinite(step.duration) ? step.duration : null,
    status: asText(step.status) ?? "",
    error: asText(step.error),
    output: typeof step.output === "string" ? step.output : outputSummary(step.output),
  };
}

function toDto(row: JobExecutionRow): ExecutionDto {
  const steps = parseJson<unknown>(row.steps, []);
  const context = parseJson<unknown>(row.context, null);
  return {
    ...toSummary(row),
    context: context && typeof context === "object" && !Array.isArray(context) ? (context as Record<string, unknown>) : null,
    steps: Array.isArray(steps) ? steps.map(toStep).filter((step) => step !== null) : [],
  };
}

/** A keyset page of the history, newest first. Reads only; one indexed range walk. */
export async function listExecutions(query: ListExecutionsQuery): Promise<Page<ExecutionSummary>> {
  const after = decodeCursor(query.cursor, historyKey);
  const rows = await queries.selectHistoryPage(query, query.limit + 1, after);
  return toPage(rows, query.limit, (row) => ({ start_time: row.start_time, id: row.id }));
}

/** One run with its steps and context, or not_found. */
export async function getExecution(id: string): Promise<ExecutionDto> {
  const row = await queries.selectExecution(id);
  if (!row) throw notFound("Execution", id);
  return toDto(row);
}

export async function listRunningExecutions(): Promise<ExecutionSummary[]> {
  return queries.selectRunningExecutions(1000);
}

export async function listRecentExecutions(limit: number): Promise<ExecutionSummary[]> {
  return queries.selectHistoryPage({}, limit, null);
}

/** Statistics over a window (30 days by default): totals, runs per day by status, duration p50/p95 per day, all aggregated in SQL. */
export async function getExecutionStatistics(query: StatisticsQuery): Promise<ExecutionStatistics> {
  const to = query.to ?? new Date(Date.now() + 1000).toISOString();
  const from = query.from ?? new Date(Date.parse(to) - DEFAULT_STATISTICS_DAYS * DAY_MS).toISOString();
  if (Date.parse(from) >= Date.parse(to))
    throw new AppError("invalid_input", "from must be before to", { details: [{ path: "from", message: "must be before to" }] });
  if (Date.parse(to) - Date.parse(from) > MAX_STATISTICS_DAYS * DAY_MS) {
    throw new AppError("invalid_input", `The window may span at most ${MAX_STATISTICS_DAYS} days`, { details: [{ path: "from", message: "window too long" }] });
  }
  const byStatus: Record<string, number> = {};
  const perDay: ExecutionStatistics["per_day"] = [];
  const durationPerDay: ExecutionStatistics["duration_per_day"] = [];
  // Day by day (UTC), yielding between days: each step is a few short index ranges, so a 30-day window
  // over a million rows never holds the event loop for long.
  for (let dayStart = Date.parse(from.slice(0, 10)); dayStart < Date.parse(to); dayStart += DAY_MS) {
    const day = new Date(dayStart).toISOString().slice(0, 10);
    const window = {
      from: maxIso(from, new Date(dayStart).toISOString()),
      to: minIso(to, new Date(dayStart + DAY_MS).toISOString()),
      job_id: query.job_id,
      pipeline: query.pipeline,
      status: query.status,
    };
    const counts = await queries.statusCountsQuery(window);
    if (counts.length > 0) {
      const entry = { day, total: 0, by_status: {} as Record<string, number> };
      let timed = 0;
      for (const row of counts) {
        byStatus[row.status] = (byStatus[row.status] ?? 0) + row.n;
        entry.total += row.n;
        entry.by_status[row.status] = row.n;
        if (queries.TIMED_STATUSES.includes(row.status)) timed += row.timed;
      }
      perDay.push(entry);
      if (timed > 0) {
        const [p50 = null, p95 = null] = await dayPercentiles(window, counts, timed);
        durationPerDay.push({ day, runs: timed, p50_ms: p50 === null ? null : p50 / NS_PER_MS, p95_ms: p95 === null ? null : p95 / NS_PER_MS });
      }
    }
    await yieldToEventLoop();
  }
  const total = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
  const finished = (byStatus.success ?? 0) + (byStatus.failed ?? 0) + (byStatus.cancelled ?? 0);
  return {
    from,
    to,
    total_executions: total,
    by_status: byStatus,
    success_rate: finished > 0 ? (byStatus.success ?? 0) / finished : null,
    per_day: perDay,
    duration_per_day: durationPerDay,
  };
}

/** p50 and p95, as fractions. */
const PERCENTILES = [0.5, 0.95];
/** Days of percentiles kept (a 30-day page under a few dozen filters); the oldest go first. */
const MAX_REMEMBERED_DAYS = 2000;

/**
 * Each day's p50/p95, with the day's counts by status they were read beside, per open database. The
 * counts are read on every load anyway (a short index range); the percentiles cost a sort of the day's
 * durations each (most of the page's time at 1,000,000 runs). A day's durations change only when a
 * run is added, deleted or finishes, and each of these changes its counts by status or the sum of its
 * durations (a run deleted and another added with the same status leaves the counts as they were, not
 * the sum), so unchanged counts and sums mean unchanged percentiles: a closed day is read once, not on
 * every load.
 */
const rememberedPercentiles = new WeakMap<object, Map<string, { counts: string; values: (number | null)[] }>>();

async function dayPercentiles(
  window: queries.StatisticsFilters,
  counts: { status: string; n: number; timed: number; durations: number }[],
  timed: number,
): Promise<(number | null)[]> {
  let remembered = rememberedPercentiles.get(queries.historyDatabase());
  if (!remembered) rememberedPercentiles.set(queries.historyDatabase(), (remembered = new Map()));
  const key = JSON.stringify(window);
  const signature = JSON.stringify(counts.map((row) => [row.status, row.n, row.timed, row.durations]).sort());
  const known = remembered.get(key);
  if (known && known.counts === signature) return known.values;
  const values = await Promise.all(
    PERCENTILES.map(async (p) => (await queries.durationAtRankQuery(window, nearestRankOffset(timed, p), timed))[0]?.duration ?? null),
  );
  remembered.delete(key);
  remembered.set(key, { counts: signature, values });
  if (remembered.size > MAX_REMEMBERED_DAYS) remembered.delete(remembered.keys().next().value!);
  return values;
}

/** Nearest rank: the smallest value with at least p·n values at or below it, as a 0-based offset. */
export function nearestRankOffset(n: number, p: number): number {
  return Math.max(0, Math.ceil(n * p - 1e-9) - 1);
}

const maxIso = (a: string, b: string) => (a > b ? a : b);
const minIso = (a: string, b: string) => (a < b ? a : b);

const CSV_COLUMNS = ["id", "job_id", "pipeline", "start_time", "end_time", "duration", "status", "error", "triggered_by"] as const;

function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The filtered history as CSV, newest first, produced in keyset batches that yield between them. */
export async function* exportExecutionsCsv(filters: HistoryFilters): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(",")}\r\n`;
  let after: queries.HistoryKey | null = null;
  for (;;) {
    const rows: ExecutionSummary[] = await queries.selectHistoryPage(filters, EXPORT_BATCH_ROWS, after);
    if (rows.length === 0) return;
    yield rows.map((row) => CSV_COLUMNS.map((column) => csvField(row[column])).join(",")).join("\r\n") + "\r\n";
    const last: ExecutionSummary = rows.at(-1)!;
    after = { start_time: last.start_time, id: last.id };
    if (rows.length < EXPORT_BATCH_ROWS) return;
    await yieldToEventLoop();
  }
}

/** A chunk of the run's log file from `offset`; `complete` once the run is over and all was read. */
export async function getExecutionLog(id: string, offset: number): Promise<ExecutionLog> {
  const execution = await getExecution(id);
  const chunk = readExecutionLogChunk(id, offset);
  return {
    execution_id: id,
    status: execution.status,
    offset: Math.min(offset, chunk.size),
    next_offset: chunk.nextOffset,
    content: chunk.content,
    complete: execution.status !== "running" && chunk.nextOffset >= chunk.size,
  };
}

/**
 * Closes a run that no process holds any more (its process is gone) as cancelled, with the reason
 * and its duration until now. Updates one row, only while it is still running.
 */
export async function closeOrphanedExecution(execution: Pick<ExecutionDto, "id" | "start_time">, reason: string): Promise<void> {
  const end = nowIso();
  await queries.cancelRunningExecutionRow(execution.id, {
    error: reason,
    endTime: end,
    duration: (Date.parse(end) - Date.parse(execution.start_time)) * NS_PER_MS,
  });
}

/**
 * Inserts a run's row (the scheduler's dispatch), unless an exclusive operation (restore, reset, move
 * to PostgreSQL) runs anywhere. With `scheduledFor`, a scheduled fire: the row goes in together with
 * its claim of (job, slot), all or nothing, and another instance may have claimed that slot first.
 * Returns null when the row was written, else why nothing was. One transaction: a pause check, a
 * job_fires row (fires only) and one job_executions row.
 */
export async function recordExecutionStart(row: NewJobExecutionRow, scheduledFor: string | null): Promise<queries.StartRefusal | null> {
  if (scheduledFor === null) return queries.insertExecution(row);
  const { jobId, ownerInstance } = row;
  if (!jobId || !ownerInstance) throw new Error("a scheduled fire's row names its job and the instance that claims it");
  return queries.insertClaimedExecution({ ...row, jobId, ownerInstance }, scheduledFor);
}

/**
 * Updates one execution row (steps as they finish, then the outcome), only while `owner` still owns
 * the running row. Returns false when the write was refused: another instance declared the owner dead
 * and failed the run meanwhile, and that record stands.
 */
export async function recordOwnedExecutionProgress(id: string, owner: string, set: Partial<NewJobExecutionRow>): Promise<boolean> {
  return queries.updateOwnedExecutionRow(id, owner, set);
}

/**
 * Marks the running runs of the given (dead) owners failed, with the reason and their duration until
 * now; `unowned` also closes rows written before runs had owners. Returns them.
 */
export async function failExecutionsOf(
  owners: string[],
  reason: string,
  { unowned = false }: { unowned?: boolean } = {},
): Promise<{ id: string; jobId: string; startTime: string; endTime: string }[]> {
  const endTime = nowIso();
  const runs = await queries.failRunningExecutionsOf(owners, unowned, reason, endTime);
  for (const run of runs) {
    const duration = Date.parse(endTime) - Date.parse(run.startTime);
    if (Number.isFinite(duration)) await queries.updateExecutionRow(run.id, { duration: duration * NS_PER_MS });
  }
  return runs.map((run) => ({ ...run, endTime }));
}

/** Asks the instance running `id` to stop it; false when it is no longer running. Updates one row. */
export async function requestExecutionCancel(id: string): Promise<boolean> {
  return queries.markExecutionCancelRequested(id, nowIso());
}

/** The runs of `owner` that someone asked (on any instance) to stop. Reads only. */
export async function listCancelRequestedExecutions(owner: string): Promise<string[]> {
  return queries.selectCancelRequestedExecutions(owner);
}

/** Whether run `id` still reads running and owned by `owner`. Reads only. */
export async function isExecutionRunningFor(id: string, owner: string): Promise<boolean> {
  const row = await queries.selectExecution(id);
  return row?.status === "running" && row.ownerInstance === owner;
}

/** The job's running run and the instance that owns it, or null. Reads only. */
export async function findRunningExecutionOfJob(jobId: string): Promise<{ id: string; ownerInstance: string | null } | null> {
  return (await queries.selectRunningExecutionOfJob(jobId)) ?? null;
}

/** How many runs a job has in the history (what deleting the job deletes with it). */
export async function countJobExecutions(jobId: string): Promise<number> {
  return queries.countExecutionsOfJob(jobId);
}

/** How many runs the history holds. Reads only. */
export async function countExecutions(): Promise<number> {
  return queries.countExecutions();
}

/** Runs started since `sinceIso` (all runs for ""), counted by status. Reads only. */
export async function countExecutionsByStatusSince(sinceIso: string): Promise<Record<string, number>> {
  return queries.countExecutionsByStatusSince(sinceIso);
}

/** Runs started since `sinceIso` per bucket (the first `prefixLength` characters of the ISO start time) by status, oldest first. Reads only. */
export async function countExecutionsPerTimePrefix(sinceIso: string, prefixLength: number): Promise<{ t: string; status: string; n: number }[]> {
  return queries.countExecutionsPerTimePrefix(sinceIso, prefixLength);
}

/** Mimir stores run durations in nanoseconds (Go's time.Duration). */
const NS_PER_SECOND = 1e9;

/** Stored runs by status, and the finished ones' durations against `boundsSeconds`: /metrics' run families. */
export interface RunTallies {
  byStatus: Record<string, number>;
  /** finished runs (a duration recorded): how many, their summed seconds, and how many at or under each bound */
  durations: { count: number; sumSeconds: number; cumulative: number[] };
}

/**
 * Runs by status and the histogram of finished runs' durations (seconds), over all stored history,
 * in one pass (what /metrics reports). Reads only.
 */
export async function tallyRuns(boundsSeconds: readonly number[]): Promise<RunTallies> {
  const rows = await queries.tallyRunsByStatus(boundsSeconds.map((b) => b * NS_PER_SECOND));
  return {
    byStatus: Object.fromEntries(rows.map((row) => [row.status, row.runs])),
    durations: {
      count: rows.reduce((sum, row) => sum + row.finished, 0),
      sumSeconds: rows.reduce((sum, row) => sum + row.sum, 0) / NS_PER_SECOND,
      cumulative: boundsSeconds.map((_, i) => rows.reduce((sum, row) => sum + row.cumulative[i]!, 0)),
    },
  };
}
