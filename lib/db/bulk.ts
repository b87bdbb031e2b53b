import "server-only";
import { sqliteClient, type Db } from "@/lib/db/client";
import { jobExecutions, type NewJobExecutionRow } from "@/lib/db/schema/executions";
import { isPostgres } from "@/lib/db/dialect";
import { yieldToEventLoop } from "@/lib/event-loop";

/** Rows per multi-row INSERT on PostgreSQL: 11 parameters each stays far below its 65,535 per statement. */
const PG_INSERT_ROWS = 1000;

/** Rows per transaction: large enough that commits are not the cost, small enough to yield between batches. */
export const BULK_BATCH_ROWS = 20_000;

/**
 * Inserts execution rows through one prepared statement, a transaction per batch: the fast path for
 * seeding and benchmarks (drizzle's builder re-plans each statement). SQLite-specific, hence here.
 */
export async function bulkInsertExecutions(db: Db, rows: Iterable<NewJobExecutionRow>, onBatch?: (inserted: number) => void): Promise<number> {
  if (isPostgres()) return bulkInsertPostgres(db, rows, onBatch);
  const insert = sqliteClient(db).prepare(
    `INSERT INTO job_executions (id, job_id, pipeline, start_time, end_time, duration, status, error, context, steps, triggered_by)
     VALUES (@id, @jobId, @pipeline, @startTime, @endTime, @duration, @status, @error, @context, @steps, @triggeredBy)`,
  );
  const insertBatch = sqliteClient(db).transaction((batch: NewJobExecutionRow[]) => {
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
      await yieldToEventLoop();
    }
  }
  if (batch.length > 0) {
    insertBatch(batch);
    inserted += batch.length;
    onBatch?.(inserted);
  }
  return inserted;
}

/** PostgreSQL: multi-row INSERTs, a transaction per batch as on SQLite. */
async function bulkInsertPostgres(db: Db, rows: Iterable<NewJobExecutionRow>, onBatch?: (inserted: number) => void): Promise<number> {
  const pg = db as unknown as { transaction: (fn: (tx: Db) => Promise<void>) => Promise<void> };
  let batch: NewJobExecutionRow[] = [];
  let inserted = 0;
  const flush = async () => {
    const rowsOfBatch = batch;
    batch = [];
    await pg.transaction(async (tx) => {
      for (let i = 0; i < rowsOfBatch.length; i += PG_INSERT_ROWS) await tx.insert(jobExecutions).values(rowsOfBatch.slice(i, i + PG_INSERT_ROWS));
    });
    inserted += rowsOfBatch.length;
    onBatch?.(inserted);
  };
  for (const row of rows) {
    batch.push(row);
    if (batch.length === BULK_BATCH_ROWS) await flush();
  }
  if (batch.length > 0) await flush();
  return inserted;
}
