import { pgTable, text, bigint, boolean, index } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";
import { BACKUP_TRIGGERS, VERIFY_STATUSES } from "../../vocabulary";

/** PostgreSQL flavour of ../sqlite/backups.ts. `manifest` stays text: its bytes are what the set's checksums cover. */
export const backups = pgTable(
  "backups",
  {
    id: text("id").primaryKey(),
    createdAt: isoTimestamp("created_at").notNull(),
    trigger: text("trigger", { enum: BACKUP_TRIGGERS }).notNull(),
    bytes: bigint("bytes", { mode: "number" }).notNull(),
    encrypted: boolean("encrypted").notNull().default(false),
    pinned: boolean("pinned").notNull().default(false),
    manifest: text("manifest").notNull(),
    verifiedAt: isoTimestamp("verified_at"),
    verifyStatus: text("verify_status", { enum: VERIFY_STATUSES }),
    verifyError: text("verify_error"),
  },
  (t) => [index("idx_backups_created_at").on(t.createdAt)],
);
