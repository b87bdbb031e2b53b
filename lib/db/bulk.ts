import "server-only";
import type { Db } from "@/lib/db/client";
import type { NewJobExecutionRow } from "@/lib/db/schema/executions";

/** Rows per transaction: large enough that commits are not the cost, small enough to yield between batches. */
export const BULK_BATCH_ROWS = 20_000;

/**
 * Inserts execution rows through one prepared statement, a transaction per batch: the fast path for
 * seeding and benchmarks (drizzle's builder re-plans each statement). SQLite-specific, hence here.
 */
export async function bulkInsertExecutions(db: Db, rows: Iterable<NewJobExecutionRow>, onBatch?: (inserted: number) => void): Promise<number> {
  const insert = db.$client.prepare(
    `INSERT INTO job_executions (id, job_id, pipeline, start_time, end_time, duration, status, error, context, steps, triggered_by)
     VALUES (@id, @jobId, @pipeline, @startTime, @endTime, @duration, @status, @error, @context, @steps, @triggeredBy)`,
  );
  const insertBatch = db.$client.transaction((batch: NewJobExecutionRow[]) => {
    for (const row of batch) {
      insert.run({ endTime: null, duration: null, error: null, context: null, steps: null, ...row });
    }
  });
  let batch: NewJobExecutionRow[] = [];
  let inserted = 0;
  for (const row of rows) {
    batch.push(row);
    if (batch.length === BULK_BATCH_ROWS) {
      insertBatch(batch);
      inserted += batch.length;
      batch = [];
      onBatch?.(inserted);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  if (batch.length > 0) {
    insertBatch(batch);
    inserted += batch.length;
    onBatch?.(inserted);
  }
  return inserted;
}
