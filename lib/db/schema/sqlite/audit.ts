import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/** Who did what, when, from where, with what result: one row per state-changing action. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull(),
    /** user name, token name, or "system" */
    actor: text("actor").notNull(),
    /** user | token | system */
    actorType: text("actor_type").notNull(),
    action: text("action").notNull(),
    target: text("target"),
    /** ok | denied | failed */
    result: text("result").notNull(),
    ip: text("ip"),
    details: text("details"),
  },
  (t) => [index("idx_audit_log_at").on(t.at)],
);

export type AuditLogRow = typeof auditLog.$inferSelect;
