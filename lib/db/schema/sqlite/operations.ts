import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";
import { OPERATION_KINDS, OPERATION_STATUSES } from "../../vocabulary";

/**
 * Long-running work (backup, restore, verify, vacuum, cleanup, export): progress, result and error
 * are persisted so a page reload or a script polling /api/v1/operations/{id} sees the same state.
 */
export const operations = sqliteTable(
  "operations",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: OPERATION_KINDS }).notNull(),
    status: text("status", { enum: OPERATION_STATUSES }).notNull(),
    exclusive: integer("exclusive", { mode: "boolean" }).notNull().default(false),
    progressDone: integer("progress_done").notNull().default(0),
    progressTotal: integer("progress_total"),
    /** what progress counts: bytes | rows | files | steps */
    progressUnit: text("progress_unit"),
    message: text("message"),
    params: text("params"),
    result: text("result"),
    error: text("error"),
    createdBy: text("created_by"),
    createdAt: text("created_at").notNull(),
    startedAt: text("started_at"),
    finishedAt: text("finished_at"),
    /** the instance (instances.id) doing the work; its outcome lands only while it still owns the row */
    ownerInstance: text("owner_instance"),
    /** "Cancel" pressed on an instance that is not the owner; the owner sees it on its next poll */
    cancelRequestedAt: text("cancel_requested_at"),
  },
  (t) => [index("idx_operations_status").on(t.status), index("idx_operations_created_at").on(t.createdAt)],
);

export type OperationRow = typeof operations.$inferSelect;
export type NewOperationRow = typeof operations.$inferInsert;
