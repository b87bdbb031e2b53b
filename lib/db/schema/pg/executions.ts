import { sql } from "drizzle-orm";
import { pgTable, text, bigint, index, uniqueIndex } from "drizzle-orm/pg-core";
import { scheduledJobs } from "./jobs";
import { isoTimestamp } from "./columns";
import { EXECUTION_STATUSES, TRIGGERS } from "../../vocabulary";

/** PostgreSQL flavour of ../sqlite/executions.ts. `duration` is nanoseconds: bigint (an int4 holds 2.1 s). */
export const jobExecutions = pgTable(
  "job_executions",
  {
    id: text("id").primaryKey(),
    jobId: text("job_id")
      .notNull()
      .references(() => scheduledJobs.id, { onDelete: "cascade" }),
    pipeline: text("pipeline").notNull(),
    startTime: isoTimestamp("start_time").notNull(),
    endTime: isoTimestamp("end_time"),
    duration: bigint("duration", { mode: "number" }),
    status: text("status", { enum: EXECUTION_STATUSES }).notNull(),
    error: text("error"),
    context: text("context"),
    steps: text("steps"),
    triggeredBy: text("triggered_by", { enum: TRIGGERS }).notNull(),
    ownerInstance: text("owner_instance"),
    cancelRequestedAt: isoTimestamp("cancel_requested_at"),
  },
  (t) => [
    index("idx_executions_job_id").on(t.jobId),
    index("idx_executions_start_time").on(t.startTime),
    index("idx_executions_status").on(t.status),
    index("idx_executions_job_start").on(t.jobId, t.startTime),
    index("idx_executions_status_start").on(t.status, t.startTime, t.duration),
    index("idx_executions_pipeline_start").on(t.pipeline, t.startTime),
    index("idx_executions_start_status_duration").on(t.startTime, t.status, t.duration),
    uniqueIndex("one_running_execution_per_job")
      .on(t.jobId)
      .where(sql`status = 'running'`),
    index("idx_executions_owner_running")
      .on(t.ownerInstance)
      .where(sql`status = 'running'`),
  ],
);
