import { sqliteTable, text, integer, index, primaryKey } from "drizzle-orm/sqlite-core";
import { scheduledJobs } from "./jobs";

/**
 * The server processes sharing this database, each for one life (a restart is a new row). An instance
 * renews `lease_until` on every heartbeat; one whose lease passed is dead to the others, which fail its
 * runs and operations and set `stopped_at`.
 */
export const instances = sqliteTable(
  "instances",
  {
    id: text("id").primaryKey(),
    host: text("host").notNull(),
    pid: integer("pid").notNull(),
    version: text("version").notNull(),
    /** the data root's marker id this instance found (all instances of one deployment must agree) */
    dataRootId: text("data_root_id"),
    startedAt: text("started_at").notNull(),
    lastSeen: text("last_seen").notNull(),
    leaseUntil: text("lease_until").notNull(),
    stoppedAt: text("stopped_at"),
    /** why it stopped: "shut down", "stopped answering (lease expired)", … */
    stopReason: text("stop_reason"),
  },
  (t) => [index("idx_instances_lease").on(t.stoppedAt, t.leaseUntil)],
);

/**
 * One row per scheduled fire of a job (the cron slot, never the wall clock of the instance that fired
 * it): the instance whose INSERT … ON CONFLICT DO NOTHING returned the row runs the fire, every other
 * instance does nothing. Study §4.2: exactly once under a six-instance race with clock skew.
 */
export const jobFires = sqliteTable(
  "job_fires",
  {
    jobId: text("job_id")
      .notNull()
      .references(() => scheduledJobs.id, { onDelete: "cascade" }),
    scheduledFor: text("scheduled_for").notNull(),
    claimedBy: text("claimed_by").notNull(),
    claimedAt: text("claimed_at").notNull(),
    executionId: text("execution_id"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.scheduledFor] }), index("idx_job_fires_claimed_at").on(t.claimedAt)],
);

export type InstanceRow = typeof instances.$inferSelect;
export type JobFireRow = typeof jobFires.$inferSelect;
