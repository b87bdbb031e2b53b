import { sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Key/value facts about this deployment: schema_version, instance_id, created_at, adopted_from, … */
export const systemMetadata = sqliteTable("system_metadata", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: text("updated_at").notNull(),
});

export type SystemMetadataRow = typeof systemMetadata.$inferSelect;
