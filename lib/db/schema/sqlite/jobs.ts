import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/** Mimir AIP's table, column names and indexes kept as they are so existing databases and scripts keep working. */
export const scheduledJobs = sqliteTable(
  "scheduled_jobs",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    pipeline: text("pipeline").notNull(),
    cronExpr: text("cron_expr").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    nextRun: text("next_run"),
    lastRun: text("last_run"),
    /** JSON: {"success":bool,"error":"…","context":{…},"executed_at":"…"} */
    lastResult: text("last_result"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** who created or last changed the job ("token:ci", "user:alice"); null for built-ins and rows from before owners were kept */
    owner: text("owner"),
    /** that caller's scope then: the most the job's runs may do (null counts as admin, see lib/plugins/access.ts) */
    ownerScope: text("owner_scope"),
  },
  (t) => [index("idx_jobs_enabled").on(t.enabled), index("idx_jobs_next_run").on(t.nextRun)],
);

export type ScheduledJobRow = typeof scheduledJobs.$inferSelect;
export type NewScheduledJobRow = typeof scheduledJobs.$inferInsert;
