import { pgTable, text, boolean, index } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";

/** PostgreSQL flavour of ../sqlite/jobs.ts: same names, row types, constraints and indexes. */
export const scheduledJobs = pgTable(
  "scheduled_jobs",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    pipeline: text("pipeline").notNull(),
    cronExpr: text("cron_expr").notNull(),
    enabled: boolean("enabled").notNull().default(true),
    nextRun: isoTimestamp("next_run"),
    lastRun: isoTimestamp("last_run"),
    /** JSON the app parses itself: text, like every JSON column here (see ../README.md) */
    lastResult: text("last_result"),
    createdAt: isoTimestamp("created_at").notNull(),
    updatedAt: isoTimestamp("updated_at").notNull(),
    owner: text("owner"),
    ownerScope: text("owner_scope"),
  },
  (t) => [index("idx_jobs_enabled").on(t.enabled), index("idx_jobs_next_run").on(t.nextRun)],
);
