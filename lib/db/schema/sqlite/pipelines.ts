import { sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Mimir AIP's table: `config` holds the pipeline definition as YAML or JSON text. */
export const pipelines = sqliteTable("pipelines", {
  name: text("name").primaryKey(),
  description: text("description"),
  config: text("config").notNull(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
  /** who created or last changed the pipeline ("token:ci", "user:alice"); null for built-ins, files edited in the volume and older rows */
  owner: text("owner"),
  /** that caller's scope then (null counts as admin, see lib/plugins/access.ts) */
  ownerScope: text("owner_scope"),
});

export type PipelineRow = typeof pipelines.$inferSelect;
export type NewPipelineRow = typeof pipelines.$inferInsert;
