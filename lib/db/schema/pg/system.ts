import { pgTable, text } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";

/** PostgreSQL flavour of ../sqlite/system.ts. */
export const systemMetadata = pgTable("system_metadata", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: isoTimestamp("updated_at").notNull(),
});
