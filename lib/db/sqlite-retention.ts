import "server-only";
import { sqliteClient, type Db } from "@/lib/db/client";
import { readSqliteOffThread } from "@/lib/db/off-thread";

/**
 * The SQL of execution-history retention. Deletes go by small rowid batches (the subquery form
 * measured fastest in research/perf-baseline.md §3e) so that each statement holds the write lock
 * and this process's event loop for milliseconds, never for the seconds one big DELETE takes.
 * A run still marked `running` is never deleted, however old.
 */

export interface RetentionScope {
  /** ISO-8601 UTC: runs that started before it go; null for no age bound */
  cutoff: string | null;
  /** only this job's runs; null for all jobs */
  jobId: string | null;
}

function scopeWhere(scope: RetentionScope): { sql: string; params: string[] } {
  const clauses = ["status <> 'running'"];
  const params: string[] = [];
  if (scope.cutoff !== null) {
    clauses.push("start_time < ?");
    params.push(scope.cutoff);
  }
  if (scope.jobId !== null) {
    clauses.push("job_id = ?");
    params.push(scope.jobId);
  }
  return { sql: clauses.join(" AND "), params };
}

/**
 * How many runs an age-bound cleanup would delete. Counted on the start_time (or job_id) index
 * alone, minus the few old runs still marked running, so that it never reads the table's rows:
 * counting a million rows through the table would stall the server for a few hundred milliseconds.
 */
export async function countExpiredExecutions(db: Db, scope: RetentionScope): Promise<number> {
  if (scope.cutoff === null) return 0;
  const job = scope.jobId === null ? "" : " AND job_id = ?";
  const params = scope.jobId === null ? [scope.cutoff] : [scope.cutoff, scope.jobId];
  // Even on the index, 650,000 of 1,000,000 runs take half a second to count: on a worker thread's
  // connection (lib/db/off-thread.ts), both counts from one snapshot, while requests keep being served.
  const [old, running] = await readSqliteOffThread(sqliteClient(db).name, [
    { sql: `SELECT count(*) FROM job_executions WHERE start_time < ?${job}`, params },
    { sql: `SELECT count(*) FROM job_executions WHERE status = 'running' AND start_time < ?${job}`, params },
  ]);
  return Number(old![0]![0]) - Number(running![0]![0]);
}

/** A statement and its values, to run on any connection to the file (lib/db/sqlite-checkpoint-worker.ts). */
export interface BoundStatement {
  sql: string;
  params: unknown[];
}

/** Deletes up to `limit` runs older than the cut-off, returning their ids; null when there is no cut-off. */
export function expiredExecutionsBatch(scope: RetentionScope, limit: number): BoundStatement | null {
  if (scope.cutoff === null) return null;
  const where = scopeWhere(scope);
  return {
    sql: `DELETE FROM job_executions WHERE rowid IN (SELECT rowid FROM job_executions WHERE ${where.sql} LIMIT ?) RETURNING id`,
    params: [...where.params, limit],
  };
}

/** Deletes up to `limit` runs older than the cut-off in one short transaction; returns their ids. */
export function deleteExpiredExecutionsBatch(db: Db, scope: RetentionScope, limit: number): string[] {
  const statement = expiredExecutionsBatch(scope, limit);
  if (statement === null) return [];
  return sqliteClient(db)
    .prepare(statement.sql)
    .pluck()
    .all(...statement.params) as string[];
}

/** Jobs with more than `keep` deletable runs (after any age bound), and how many each has beyond it. */
export function listJobsOverCap(db: Db, scope: RetentionScope, keep: number): { jobId: string; excess: number }[] {
  const where = scopeWhere({ ...scope, cutoff: null });
  return sqliteClient(db)
    .prepare(`SELECT job_id AS jobId, count(*) - ? AS excess FROM job_executions WHERE ${where.sql} GROUP BY job_id HAVING count(*) > ?`)
    .all(keep, ...where.params, keep) as { jobId: string; excess: number }[];
}

/** Deletes up to `limit` of one job's runs beyond its newest `keep`, returning their ids. */
export function runsBeyondCapBatch(jobId: string, keep: number, limit: number): BoundStatement {
  return {
    sql: `DELETE FROM job_executions WHERE rowid IN (
         SELECT rowid FROM job_executions WHERE job_id = ? AND status <> 'running'
         ORDER BY start_time DESC, id DESC LIMIT ? OFFSET ?)
       RETURNING id`,
    params: [jobId, limit, keep],
  };
}

/** Deletes up to `limit` of one job's runs beyond its newest `keep`; returns their ids. */
export function deleteRunsBeyondCapBatch(db: Db, jobId: string, keep: number, limit: number): string[] {
  const statement = runsBeyondCapBatch(jobId, keep, limit);
  return sqliteClient(db)
    .prepare(statement.sql)
    .pluck()
    .all(...statement.params) as string[];
}

/** Sample this many doomed rows to estimate the bytes a cleanup frees, instead of reading them all. */
const SIZE_SAMPLE_ROWS = 500;
/** Per-row cost beyond the text columns: record header, rowid, and an entry in each of four indexes. */
const ROW_OVERHEAD_BYTES = 120;

/** About how many bytes of table and index pages the runs in scope take, from a sample of them. */
export function estimateExecutionBytes(db: Db, scope: RetentionScope, rows: number): number {
  if (rows === 0) return 0;
  const where = scopeWhere(scope);
  const average = sqliteClient(db)
    .prepare(
      `SELECT avg(length(id) * 2 + length(job_id) * 2 + length(pipeline) + length(start_time) * 2 + coalesce(length(end_time), 0)
                  + coalesce(length(error), 0) + coalesce(length(context), 0) + coalesce(length(steps), 0) + length(status) * 2 + length(triggered_by))
       FROM (SELECT * FROM job_executions WHERE ${where.sql} LIMIT ${SIZE_SAMPLE_ROWS})`,
    )
    .pluck()
    .get(...where.params) as number | null;
  return Math.round(rows * ((average ?? 0) + ROW_OVERHEAD_BYTES));
}
