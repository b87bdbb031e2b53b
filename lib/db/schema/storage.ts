import { sqliteTable, text, integer, index } from "drizzle-orm/sqlite-core";

/** One row per volume per sample; thinned as it ages so the table stays small. */
export const storageSamples = sqliteTable(
  "storage_samples",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    takenAt: text("taken_at").notNull(),
    /** mimir_data | mimir_logs | mimir_config | mimir_plugins | mimir_pipelines | backups | database */
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
