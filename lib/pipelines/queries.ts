import "server-only";
import { asc, count, desc, eq, gt, inArray, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { preparedQuery } from "@/lib/db/dialect";
import { jobExecutions } from "@/lib/db/schema/executions";
import { pipelines, type NewPipelineRow, type PipelineRow } from "@/lib/db/schema/pipelines";
import { scheduledJobs } from "@/lib/db/schema/jobs";

export async function countPipelines(): Promise<number> {
  const [row] = await getDb().select({ n: count() }).from(pipelines);
  return row?.n ?? 0;
}

/** Rows by name, after `afterName` (keyset), `limit` of them. */
export async function selectPipelines(limit: number, afterName?: string | null): Promise<PipelineRow[]> {
  return getDb()
    .select()
    .from(pipelines)
    .where(afterName ? gt(pipelines.name, afterName) : undefined)
    .orderBy(asc(pipelines.name))
    .limit(limit);
}

export async function selectPipeline(name: string): Promise<PipelineRow | undefined> {
  const [row] = await getDb().select().from(pipelines).where(eq(pipelines.name, name)).limit(1);
  return row;
}

export async function selectPipelinesByName(names: string[]): Promise<PipelineRow[]> {
  if (names.length === 0) return [];
  return getDb().select().from(pipelines).where(inArray(pipelines.name, names));
}

export async function insertPipeline(row: NewPipelineRow): Promise<void> {
  await getDb().insert(pipelines).values(row);
}

export async function updatePipelineRow(name: string, set: Partial<NewPipelineRow>): Promise<void> {
  await getDb().update(pipelines).set(set).where(eq(pipelines.name, name));
}

export async function deletePipelineRow(name: string): Promise<void> {
  await getDb().delete(pipelines).where(eq(pipelines.name, name));
}

export async function selectPipelineNames(limit: number): Promise<string[]> {
  const rows = await getDb().select({ name: pipelines.name }).from(pipelines).orderBy(asc(pipelines.name)).limit(limit);
  return rows.map((row) => row.name);
}

// A job and a run name their pipeline, not the other way round: what uses a pipeline and when it last
// ran are read here, from scheduled_jobs.pipeline and job_executions.pipeline, so that pipelines import
// neither jobs nor executions.

/** How many jobs name each of `refs` (a pipeline's name and its file names). */
export async function countJobsByPipelineRef(refs: string[]): Promise<Map<string, number>> {
  if (refs.length === 0) return new Map();
  const rows = await getDb()
    .select({ pipeline: scheduledJobs.pipeline, n: count() })
    .from(scheduledJobs)
    .where(inArray(scheduledJobs.pipeline, refs))
    .groupBy(scheduledJobs.pipeline);
  return new Map(rows.map((row) => [row.pipeline, row.n]));
}

/** The ids and names of the jobs that name one of `refs`, at most `limit`. */
export async function selectJobsByPipelineRef(refs: string[], limit: number): Promise<{ id: string; name: string }[]> {
  return getDb().select({ id: scheduledJobs.id, name: scheduledJobs.name }).from(scheduledJobs).where(inArray(scheduledJobs.pipeline, refs)).limit(limit);
}

/** The newest start_time per pipeline name, one indexed MAX each (idx_executions_pipeline_start). */
export async function selectLastRunByPipeline(names: string[]): Promise<Map<string, { start_time: string; status: string }>> {
  const result = new Map<string, { start_time: string; status: string }>();
  for (const name of names) {
    const [last] = await lastRunOfPipelineQuery().execute({ name });
    if (last) result.set(name, { start_time: last.startTime, status: last.status });
  }
  return result;
}

// One walk down the (pipeline, start_time) index per pipeline on the page: a GROUP BY with max()
// over the listed pipelines read every one of their runs instead (1.25 s for the Pipelines page at
// 1,000,000 runs, bench/pages.ts).
const lastRunOfPipelineQuery = preparedQuery((db) =>
  db
    .select({ startTime: jobExecutions.startTime, status: jobExecutions.status })
    .from(jobExecutions)
    .where(eq(jobExecutions.pipeline, sql.placeholder("name")))
    .orderBy(desc(jobExecutions.startTime))
    .limit(1)
    .prepare(),
);
