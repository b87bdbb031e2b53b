import { sql } from "drizzle-orm";
import { sqliteTable, text, integer, index, uniqueIndex } from "drizzle-orm/sqlite-core";
import { scheduledJobs } from "./jobs";
import { EXECUTION_STATUSES, TRIGGERS } from "../../vocabulary";

/** Mimir AIP's execution history. `duration` is in nanoseconds (Go's time.Duration), as Mimir wrote it. */
export const jobExecutions = sqliteTable(
  "job_executions",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id")
      .notNull()
      .references(() => scheduledJobs.id, { onDelete: "cascade" }),
    pipeline: text("pipeline").notNull(),
    startTime: text("start_time").notNull(),
    endTime: text("end_time"),
    duration: integer("duration"),
    status: text("status", { enum: EXECUTION_STATUSES }).notNull(),
    error: text("error"),
    context: text("context"),
    /** JSON array of {step_name, plugin, start_time, end_time, duration, status, error, output} */
    steps: text("steps"),
    triggeredBy: text("triggered_by", { enum: TRIGGERS }).notNull(),
    /** the instance (instances.id) running it; a completion lands only while it still owns the row */
    ownerInstance: text("owner_instance"),
    /** "Stop" pressed on any instance; the owner sees it on its next poll and aborts the run */
    cancelRequestedAt: text("cancel_requested_at"),
  },
  (t) => [
    index("idx_executions_job_id").on(t.jobId),
    index("idx_executions_start_time").on(t.startTime),
    index("idx_executions_status").on(t.status),
    // Keyset pages of the history are ordered by (start_time, id); each filter gets an index that
    // leads with it and continues with start_time, so a filtered page is an index range walk, not a
    // sort of every match.
    index("idx_executions_job_start").on(t.jobId, t.startTime),
    // duration last: the per-day duration percentiles (status IN success/failed) read it from the index.
    index("idx_executions_status_start").on(t.status, t.startTime, t.duration),
    index("idx_executions_pipeline_start").on(t.pipeline, t.startTime),
    // Covers the per-day runs by status without touching the table rows.
    index("idx_executions_start_status_duration").on(t.startTime, t.status, t.duration),
    // At most one running run per job across every instance: the database, not a process's memory, refuses the second.
    uniqueIndex("one_running_execution_per_job")
      .on(t.jobId)
      .where(sql`status = 'running'`),
    index("idx_executions_owner_running")
      .on(t.ownerInstance)
      .where(sql`status = 'running'`),
  ],
);

export type JobExecutionRow = typeof jobExecutions.$inferSelect;
export type NewJobExecutionRow = typeof jobExecutions.$inferInsert;
