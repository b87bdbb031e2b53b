import { pgTable, text, bigint, boolean, index } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";
import { OPERATION_KINDS, OPERATION_STATUSES } from "../../vocabulary";

/** PostgreSQL flavour of ../sqlite/operations.ts. Progress may count bytes: bigint. */
export const operations = pgTable(
  "operations",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: OPERATION_KINDS }).notNull(),
    status: text("status", { enum: OPERATION_STATUSES }).notNull(),
    exclusive: boolean("exclusive").notNull().default(false),
    progressDone: bigint("progress_done", { mode: "number" }).notNull().default(0),
    progressTotal: bigint("progress_total", { mode: "number" }),
    progressUnit: text("progress_unit"),
    message: text("message"),
    params: text("params"),
    result: text("result"),
    error: text("error"),
    createdBy: text("created_by"),
    createdAt: isoTimestamp("created_at").notNull(),
    startedAt: isoTimestamp("started_at"),
    finishedAt: isoTimestamp("finished_at"),
    /** the instance (instances.id) doing the work; its outcome lands only while it still owns the row */
    ownerInstance: text("owner_instance"),
    /** "Cancel" pressed on an instance that is not the owner; the owner sees it on its next poll */
    cancelRequestedAt: isoTimestamp("cancel_requested_at"),
  },
  (t) => [index("idx_operations_status").on(t.status), index("idx_operations_created_at").on(t.createdAt)],
);
