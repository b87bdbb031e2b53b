import { pgTable, text, bigint, index } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";

/** PostgreSQL flavour of ../sqlite/audit.ts; the id is an identity (BY DEFAULT, so a migration can copy ids). */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    at: isoTimestamp("at").notNull(),
    actor: text("actor").notNull(),
    actorType: text("actor_type").notNull(),
    action: text("action").notNull(),
    target: text("target"),
    result: text("result").notNull(),
    ip: text("ip"),
    details: text("details"),
  },
  (t) => [index("idx_audit_log_at").on(t.at)],
);
