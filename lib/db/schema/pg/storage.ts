import { pgTable, text, integer, bigint, doublePrecision, index } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";

/** PostgreSQL flavour of ../sqlite/storage.ts. Byte counts pass 2 GiB: bigint. */
export const storageSamples = pgTable(
  "storage_samples",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    takenAt: isoTimestamp("taken_at").notNull(),
    volume: text("volume").notNull(),
    bytes: bigint("bytes", { mode: "number" }).notNull(),
    files: integer("files").notNull(),
    fsFreeBytes: bigint("fs_free_bytes", { mode: "number" }),
    fsTotalBytes: bigint("fs_total_bytes", { mode: "number" }),
  },
  (t) => [index("idx_storage_samples_volume_taken_at").on(t.volume, t.takenAt), index("idx_storage_samples_taken_at").on(t.takenAt)],
);

export const storageAlerts = pgTable("storage_alerts", {
  key: text("key").primaryKey(),
  state: text("state").notNull(),
  message: text("message").notNull(),
  value: doublePrecision("value").notNull(),
  raiseAt: doublePrecision("raise_at").notNull(),
  clearAt: doublePrecision("clear_at").notNull(),
  raisedAt: isoTimestamp("raised_at"),
  clearedAt: isoTimestamp("cleared_at"),
  notifiedState: text("notified_state"),
  updatedAt: isoTimestamp("updated_at").notNull(),
});
