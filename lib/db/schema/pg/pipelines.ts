import { pgTable, text } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";

/** PostgreSQL flavour of ../sqlite/pipelines.ts. */
export const pipelines = pgTable("pipelines", {
  name: text("name").primaryKey(),
  description: text("description"),
  config: text("config").notNull(),
  createdAt: isoTimestamp("created_at").notNull(),
  updatedAt: isoTimestamp("updated_at").notNull(),
  owner: text("owner"),
  ownerScope: text("owner_scope"),
});
