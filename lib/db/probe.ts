import "server-only";
import { eq, sql } from "drizzle-orm";
import { isAppDatabaseOpen } from "@/lib/db/client";
import { preparedQuery } from "@/lib/db/dialect";
import { systemMetadata } from "@/lib/db/schema/system";

/** Reads one row to prove the database answers; returns the schema version, or throws why it cannot. */
export async function probeDatabase(): Promise<{ schemaVersion: string | null }> {
  if (!isAppDatabaseOpen()) throw new Error("the database is not open");
  const [row] = await schemaVersionQuery().execute({ key: "schema_version" });
  return { schemaVersion: row?.value ?? null };
}

// Every /health answer runs it: prepared once per connection. No LIMIT: the key is the primary key,
// and a bound LIMIT costs SQLite more per run than the row lookup itself.
const schemaVersionQuery = preparedQuery((db) =>
  db
    .select({ value: systemMetadata.value })
    .from(systemMetadata)
    .where(eq(systemMetadata.key, sql.placeholder("key")))
    .prepare(),
);
