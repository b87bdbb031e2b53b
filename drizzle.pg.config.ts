import { defineConfig } from "drizzle-kit";

// The PostgreSQL flavour of the schema (lib/db/schema/pg); drizzle.config.ts is the SQLite one. Each
// schema change generates a migration in both folders with the same name (test: lib/db/journals.test.ts).
export default defineConfig({
  dialect: "postgresql",
  schema: "./lib/db/schema/pg/index.ts",
  out: "./drizzle/pg",
});
