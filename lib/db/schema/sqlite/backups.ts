import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";
import { BACKUP_TRIGGERS, VERIFY_STATUSES } from "../../vocabulary";

/** Catalog mirror of the backup folder: the folder and its manifest.json are the truth, this row is an index. */
export const backups = sqliteTable(
  "backups",
  {
    id: text("id").primaryKey(),
    createdAt: text("created_at").notNull(),
    trigger: text("trigger", { enum: BACKUP_TRIGGERS }).notNull(),
    bytes: integer("bytes").notNull(),
    encrypted: integer("encrypted", { mode: "boolean" }).notNull().default(false),
    pinned: integer("pinned", { mode: "boolean" }).notNull().default(false),
    manifest: text("manifest").notNull(),
    verifiedAt: text("verified_at"),
    verifyStatus: text("verify_status", { enum: VERIFY_STATUSES }),
    verifyError: text("verify_error"),
  },
  (t) => [index("idx_backups_created_at").on(t.createdAt)],
);

export type BackupRow = typeof backups.$inferSelect;
export type NewBackupRow = typeof backups.$inferInsert;
