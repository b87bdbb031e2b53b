import { pgTable, text, integer, index, primaryKey } from "drizzle-orm/pg-core";
import { scheduledJobs } from "./jobs";
import { isoTimestamp } from "./columns";

/** PostgreSQL flavour of ../sqlite/instances.ts. */
export const instances = pgTable(
  "instances",
  {
    id: text("id").primaryKey(),
    host: text("host").notNull(),
    pid: integer("pid").notNull(),
    version: text("version").notNull(),
    dataRootId: text("data_root_id"),
    startedAt: isoTimestamp("started_at").notNull(),
    lastSeen: isoTimestamp("last_seen").notNull(),
    leaseUntil: isoTimestamp("lease_until").notNull(),
    stoppedAt: isoTimestamp("stopped_at"),
    stopReason: text("stop_reason"),
  },
  (t) => [index("idx_instances_lease").on(t.stoppedAt, t.leaseUntil)],
);

export const jobFires = pgTable(
  "job_fires",
  {
    jobId: text("job_id")
      .notNull()
      .references(() => scheduledJobs.id, { onDelete: "cascade" }),
    scheduledFor: isoTimestamp("scheduled_for").notNull(),
    claimedBy: text("claimed_by").notNull(),
    claimedAt: isoTimestamp("claimed_at").notNull(),
    executionId: text("execution_id"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.scheduledFor] }), index("idx_job_fires_claimed_at").on(t.claimedAt)],
);
