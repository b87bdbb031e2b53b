import "server-only";
import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, lt, lte, notExists, or, sql, type Placeholder, type SQL, count } from "drizzle-orm";
import { getDb, type Db } from "@/lib/db/client";
import {
  atomicallyWhen,
  JOB_STARTS_LOCK,
  countWhere,
  executePlainRows,
  notFromIndex,
  num,
  preparedQuery,
  timeBucket,
  whenWriteLockFree,
} from "@/lib/db/dialect";
import { readOffThread } from "@/lib/db/off-thread";
import { jobExecutions, type JobExecutionRow, type NewJobExecutionRow } from "@/lib/db/schema/executions";
import { jobFires } from "@/lib/db/schema/instances";
import { operations } from "@/lib/db/schema/operations";
import type { HistoryFilters } from "@/lib/executions/inputs";
import type { ExecutionStatus, ExecutionSummary } from "@/lib/executions/types";

export async function countExecutions(): Promise<number> {
  const [row] = await getDb().select({ n: count() }).from(jobExecutions);
  return row?.n ?? 0;
}

/** Runs started since `sinceIso`, counted by status in SQL (start_time is indexed). */
export async function countExecutionsByStatusSince(sinceIso: string): Promise<Record<string, number>> {
  const rows = await getDb()
    .select({ status: jobExecutions.status, n: count() })
    .from(jobExecutions)
    // "" means every run: no bound at all, as PostgreSQL's timestamptz refuses '' (SQLite compared it as text)
    .where(sinceIso === "" ? undefined : gte(jobExecutions.startTime, sinceIso))
    .groupBy(sinceIso === "" ? jobExecutions.status : notFromIndex(jobExecutions.status));
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/**
 * Runs started since `sinceIso` per time bucket by status, oldest bucket first. A bucket is the first
 * `prefixLength` characters of the ISO start time, so grouping needs no date functions and uses the
 * start_time index.
 */
export async function countExecutionsPerTimePrefix(sinceIso: string, prefixLength: number) {
  const t = timeBucket(jobExecutions.startTime, prefixLength);
  return getDb()
    .select({ t, status: jobExecutions.status, n: count() })
    .from(jobExecutions)
    .where(gte(jobExecutions.startTime, sinceIso))
    .groupBy(t, jobExecutions.status)
    .orderBy(asc(t));
}

/**
 * Every stored run counted by status, and per status the finished ones (duration set) at or under
 * each bound (in the stored unit, nanoseconds) with their summed duration: the run counts and the
 * duration histogram of /metrics in one SQL pass over the history.
 */
export async function tallyRunsByStatus(
  boundsNs: readonly number[],
): Promise<{ status: string; runs: number; finished: number; sum: number; cumulative: number[] }[]> {
  const fields = {
    status: jobExecutions.status,
    runs: count(),
    finished: count(jobExecutions.duration),
    total: num(sql`coalesce(sum(${jobExecutions.duration}), 0)`),
    ...Object.fromEntries(boundsNs.map((b, i) => [`b${i}`, countWhere(sql`${jobExecutions.duration} <= ${sql.raw(String(b))}`)])),
  };
  // A pass over every run: off the event loop (lib/db/off-thread.ts), so no request waits behind it.
  const rows = await readOffThread<Record<string, unknown>>(fields, getDb().select(fields).from(jobExecutions).groupBy(jobExecutions.status));
  return rows.map((row) => ({
    status: String(row.status),
    runs: Number(row.runs),
    finished: Number(row.finished),
    sum: Number(row.total),
    cumulative: boundsNs.map((_, i) => Number(row[`b${i}`] ?? 0)),
  }));
}

/**
 * The columns of a history list (the large context and steps stay out of lists), each under its own
 * SQL name, which is also its name in the API: so a row as the driver reads it is the list's item
 * (executePlainRows).
 */
const summaryColumns = {
  id: jobExecutions.id,
  job_id: jobExecutions.jobId,
  pipeline: jobExecutions.pipeline,
  start_time: jobExecutions.startTime,
  end_time: jobExecutions.endTime,
  duration: jobExecutions.duration,
  status: jobExecutions.status,
  error: jobExecutions.error,
  triggered_by: jobExecutions.triggeredBy,
};
export type ExecutionSummaryRow = ExecutionSummary;

export interface HistoryKey {
  start_time: string;
  id: string;
}

/** A filter's value, or the placeholder a prepared statement takes it through. */
type Bound<T> = { [K in keyof T]: T[K] | Placeholder };
const HISTORY_FILTER_KEYS = ["job_id", "pipeline", "status", "triggered_by", "from", "to"] as const;

function filterConditions(filters: Bound<HistoryFilters>): (SQL | undefined)[] {
  return [
    filters.job_id ? eq(jobExecutions.jobId, filters.job_id) : undefined,
    filters.pipeline ? eq(jobExecutions.pipeline, filters.pipeline) : undefined,
    filters.status ? eq(jobExecutions.status, filters.status) : undefined,
    filters.triggered_by ? eq(jobExecutions.triggeredBy, filters.triggered_by) : undefined,
    filters.from ? gte(jobExecutions.startTime, filters.from) : undefined,
    filters.to ? lt(jobExecutions.startTime, filters.to) : undefined,
  ];
}

/**
 * One keyset page of the history, newest first, `limit` rows after `after`. Exported as a query
 * builder so the benchmark can run the very same SQL through the raw driver.
 */
export function historyPageQuery(filters: Bound<HistoryFilters>, limit: number | Placeholder, after: Bound<HistoryKey> | null) {
  return getDb()
    .select(summaryColumns)
    .from(jobExecutions)
    .where(
      and(
        ...filterConditions(filters),
        // (start_time, id) < (after): the first half is an index range, the second breaks ties.
        after
          ? and(lte(jobExecutions.startTime, after.start_time), or(lt(jobExecutions.startTime, after.start_time), lt(jobExecutions.id, after.id)))
          : undefined,
      ),
    )
    .orderBy(desc(jobExecutions.startTime), desc(jobExecutions.id))
    .limit(limit);
}

type HistoryPageStatement = ReturnType<ReturnType<typeof historyPageQuery>["prepare"]>;
// One statement per combination of filters given (and cursor or not), prepared on first use: at most
// 2^7 of them, and in practice the few that scripts and the Executions page send.
const historyPageStatements = preparedQuery(() => new Map<string, HistoryPageStatement>());

/** A keyset page of the history (historyPageQuery) through a statement prepared once per filter combination. */
export async function selectHistoryPage(filters: HistoryFilters, limit: number, after: HistoryKey | null): Promise<ExecutionSummaryRow[]> {
  const given = HISTORY_FILTER_KEYS.filter((key) => filters[key]);
  const shape = `${given.join(",")}${after ? ";after" : ""}`;
  const statements = historyPageStatements();
  let statement = statements.get(shape);
  if (!statement) {
    const placeholders = Object.fromEntries(given.map((key) => [key, sql.placeholder(key)])) as Bound<HistoryFilters>;
    const afterPlaceholders = after ? { start_time: sql.placeholder("after_start_time"), id: sql.placeholder("after_id") } : null;
    statement = historyPageQuery(placeholders, sql.placeholder("limit"), afterPlaceholders).prepare();
    statements.set(shape, statement);
  }
  const values: Record<string, unknown> = { limit };
  for (const key of given) values[key] = filters[key];
  if (after) Object.assign(values, { after_start_time: after.start_time, after_id: after.id });
  return executePlainRows(statement, values);
}

export async function selectExecution(id: string): Promise<JobExecutionRow | undefined> {
  const [row] = await getDb().select().from(jobExecutions).where(eq(jobExecutions.id, id)).limit(1);
  return row;
}

export async function selectRunningExecutions(limit: number): Promise<ExecutionSummaryRow[]> {
  return getDb().select(summaryColumns).from(jobExecutions).where(eq(jobExecutions.status, "running")).orderBy(desc(jobExecutions.startTime)).limit(limit);
}

/**
 * A row's start is refused while a restore, a reset or a move to PostgreSQL runs anywhere: the
 * operation's row is the pause every instance's jobs honour. Checked inside the start's own
 * transaction, under the lock such an operation's admission holds (JOB_STARTS_LOCK), so no run starts
 * after the operation has been admitted.
 */
function noExclusiveOperationRunning(tx: Db) {
  return tx
    .select({ one: sql<number>`1` })
    .from(sql`(SELECT 1) AS start_allowed`)
    .where(
      notExists(
        tx
          .select({ id: operations.id })
          .from(operations)
          .where(and(eq(operations.status, "running"), eq(operations.exclusive, true))),
      ),
    );
}

/** Why a start wrote nothing: an exclusive operation pauses the jobs, or (a scheduled fire) another instance claimed its slot. */
export type StartRefusal = "paused" | "claimed_elsewhere";

/** Inserts a run's row unless the jobs are paused (see noExclusiveOperationRunning): null when it was inserted. */
export async function insertExecution(row: NewJobExecutionRow): Promise<StartRefusal | null> {
  return atomicallyWhen({ paused: noExclusiveOperationRunning }, (tx) => [tx.insert(jobExecutions).values(row)], { sharedClusterLock: JOB_STARTS_LOCK });
}

/**
 * Claims the scheduled fire (job, slot) for the row's owner and inserts the row, in one transaction,
 * unless the jobs are paused: null when both were written, else why nothing was (another instance
 * holds the claim, or an exclusive operation runs). A unique violation of the row (the job already
 * runs) rolls the claim back with it.
 */
export async function insertClaimedExecution(
  row: NewJobExecutionRow & { jobId: string; ownerInstance: string },
  scheduledFor: string,
): Promise<StartRefusal | null> {
  return atomicallyWhen(
    {
      paused: noExclusiveOperationRunning,
      claimed_elsewhere: (tx) =>
        tx
          .insert(jobFires)
          .values({ jobId: row.jobId, scheduledFor, claimedBy: row.ownerInstance, claimedAt: row.startTime, executionId: row.id })
          .onConflictDoNothing()
          .returning({ jobId: jobFires.jobId }),
    },
    (tx) => [tx.insert(jobExecutions).values(row)],
    { sharedClusterLock: JOB_STARTS_LOCK },
  );
}

export async function updateExecutionRow(id: string, set: Partial<NewJobExecutionRow>): Promise<void> {
  await whenWriteLockFree(() => getDb().update(jobExecutions).set(set).where(eq(jobExecutions.id, id)));
}

/**
 * Updates a run only while `owner` still owns it and it is running: a run that another instance
 * failed meanwhile (its owner was paused or cut off past its lease) keeps what that instance wrote.
 * Returns whether the write landed.
 */
export async function updateOwnedExecutionRow(id: string, owner: string, set: Partial<NewJobExecutionRow>): Promise<boolean> {
  const rows = await whenWriteLockFree(() =>
    getDb()
      .update(jobExecutions)
      .set(set)
      .where(and(eq(jobExecutions.id, id), eq(jobExecutions.ownerInstance, owner), eq(jobExecutions.status, "running")))
      .returning({ id: jobExecutions.id }),
  );
  return rows.length > 0;
}

/** Closes the running runs of the given owners (and, with `unowned`, those from before owners were recorded); returns them. */
export async function failRunningExecutionsOf(
  owners: string[],
  unowned: boolean,
  error: string,
  endTime: string,
): Promise<{ id: string; jobId: string; startTime: string }[]> {
  const whose = [
    owners.length > 0 ? inArray(jobExecutions.ownerInstance, owners) : undefined,
    unowned ? isNull(jobExecutions.ownerInstance) : undefined,
  ].filter((condition): condition is SQL => condition !== undefined);
  if (whose.length === 0) return [];
  return getDb()
    .update(jobExecutions)
    .set({ status: "failed", error, endTime })
    .where(and(eq(jobExecutions.status, "running"), or(...whose)))
    .returning({ id: jobExecutions.id, jobId: jobExecutions.jobId, startTime: jobExecutions.startTime });
}

/** Asks the owner of a running run to stop it (it polls for this); false when the run is no longer running. */
export async function markExecutionCancelRequested(id: string, at: string): Promise<boolean> {
  const rows = await whenWriteLockFree(() =>
    getDb()
      .update(jobExecutions)
      .set({ cancelRequestedAt: at })
      .where(and(eq(jobExecutions.id, id), eq(jobExecutions.status, "running")))
      .returning({ id: jobExecutions.id }),
  );
  return rows.length > 0;
}

/** The running runs of `owner` that someone asked to stop. */
export async function selectCancelRequestedExecutions(owner: string): Promise<string[]> {
  const rows = await getDb()
    .select({ id: jobExecutions.id })
    .from(jobExecutions)
    .where(and(eq(jobExecutions.ownerInstance, owner), eq(jobExecutions.status, "running"), isNotNull(jobExecutions.cancelRequestedAt)));
  return rows.map((row) => row.id);
}

/** The running run of a job (at most one: a unique index says so), with its owner. */
export async function selectRunningExecutionOfJob(jobId: string): Promise<{ id: string; ownerInstance: string | null } | undefined> {
  const [row] = await getDb()
    .select({ id: jobExecutions.id, ownerInstance: jobExecutions.ownerInstance })
    .from(jobExecutions)
    .where(and(eq(jobExecutions.jobId, jobId), eq(jobExecutions.status, "running")))
    .limit(1);
  return row;
}

export interface StatisticsFilters {
  from: string;
  to: string;
  job_id?: string;
  pipeline?: string;
  status?: HistoryFilters["status"];
}

/**
 * Runs by status in [from, to) (one day of the statistics), with how many have a duration and their
 * sum (what tells the service a day's remembered percentiles still hold). The covering (status,
 * start_time, duration) index answers it as one short range per status.
 */
export function statusCountsQuery(filters: StatisticsFilters) {
  return getDb()
    .select({
      status: jobExecutions.status,
      n: count(),
      timed: count(jobExecutions.duration),
      durations: num(sql`coalesce(sum(${jobExecutions.duration}), 0)`),
    })
    .from(jobExecutions)
    .where(and(...filterConditions(filters)))
    .groupBy(jobExecutions.status);
}

/** The open database, as an identity: what the service keys its memos by (a restore or a backend switch opens another). */
export function historyDatabase(): object {
  return getDb();
}

/** The statuses whose durations the percentiles describe: finished runs that did work. */
export const TIMED_STATUSES: readonly ExecutionStatus[] = ["success", "failed"];

/**
 * The duration at 0-based rank `offset` among one window's finished runs, by duration: a nearest-rank
 * percentile is this at offset ceil(n·p) − 1. One day's rows come from a covering index (status,
 * start_time, duration), and LIMIT 1 OFFSET k lets SQLite keep a (k+1)-row heap instead of sorting
 * all; a rank in the upper half is counted from the top, so the heap stays under n/2 rows.
 */
export function durationAtRankQuery(filters: StatisticsFilters, offset: number, of: number) {
  const fromTop = offset > of / 2;
  return getDb()
    .select({ duration: jobExecutions.duration })
    .from(jobExecutions)
    .where(and(...filterConditions(filters), inArray(jobExecutions.status, TIMED_STATUSES), sql`${jobExecutions.duration} IS NOT NULL`))
    .orderBy(fromTop ? desc(jobExecutions.duration) : asc(jobExecutions.duration))
    .limit(1)
    .offset(fromTop ? of - 1 - offset : offset);
}

export async function countExecutionsOfJob(jobId: string): Promise<number> {
  const [row] = await getDb().select({ n: count() }).from(jobExecutions).where(eq(jobExecutions.jobId, jobId));
  return row?.n ?? 0;
}

/** Closes one run as cancelled only if it is still marked running (it may have just finished). */
export async function cancelRunningExecutionRow(id: string, set: { error: string; endTime: string; duration: number }): Promise<void> {
  await whenWriteLockFree(() =>
    getDb()
      .update(jobExecutions)
      .set({ status: "cancelled", ...set })
      .where(and(eq(jobExecutions.id, id), eq(jobExecutions.status, "running"))),
  );
}
