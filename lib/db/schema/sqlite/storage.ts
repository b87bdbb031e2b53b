import { sqliteTable, text, integer, real, index } from "drizzle-orm/sqlite-core";

/** One row per volume per sample; thinned as it ages so the table stays small. */
export const storageSamples = sqliteTable(
  "storage_samples",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    takenAt: text("taken_at").notNull(),
    /**
     * mimir_data | mimir_logs | mimir_config | mimir_plugins | mimir_pipelines | backups, and the
     * database files inside mimir_data: database (main file) | database_wal | vector_db
     */
    volume: text("volume").notNull(),
    bytes: integer("bytes").notNull(),
    files: integer("files").notNull(),
    fsFreeBytes: integer("fs_free_bytes"),
    fsTotalBytes: integer("fs_total_bytes"),
  },
  (t) => [index("idx_storage_samples_volume_taken_at").on(t.volume, t.takenAt), index("idx_storage_samples_taken_at").on(t.takenAt)],
);

export type StorageSampleRow = typeof storageSamples.$inferSelect;
export type NewStorageSampleRow = typeof storageSamples.$inferInsert;

/**
 * The current state of each storage alert, one row per rule ("volume:mimir_logs", "disk_free",
 * "disk_full"). Raising and clearing are also written to the audit log, which keeps the history.
 */
export const storageAlerts = sqliteTable("storage_alerts", {
  key: text("key").primaryKey(),
  /** raised | cleared */
  state: text("state").notNull(),
  /** what crossed the line and the knob that fixes it, as shown in the banner */
  message: text("message").notNull(),
  value: real("value").notNull(),
  raiseAt: real("raise_at").notNull(),
  clearAt: real("clear_at").notNull(),
  raisedAt: text("raised_at"),
  clearedAt: text("cleared_at"),
  /** the state the webhook was last told about; differs from `state` until a send succeeds */
  notifiedState: text("notified_state"),
  updatedAt: text("updated_at").notNull(),
});

export type StorageAlertRow = typeof storageAlerts.$inferSelect;
