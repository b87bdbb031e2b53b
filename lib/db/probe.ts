import "server-only";
import { eq } from "drizzle-orm";
import { getDb, isAppDatabaseOpen } from "@/lib/db/client";
import { systemMetadata } from "@/lib/db/schema/system";

/** Reads one row to prove the database answers; returns the schema version, or throws why it cannot. */
export async function probeDatabase(): Promise<{ schemaVersion: string | null }> {
  if (!isAppDatabaseOpen()) throw new Error("the database is not open");
  const [row] = await getDb()
    .select({ value: systemMetadata.value })
    .from(systemMetadata)
    .where(eq(systemMetadata.key, "schema_version"))
    .limit(1);
  return { schemaVersion: row?.value ?? null };
}

/** All system_metadata as a plain object (instance id, created_at, schema version, adoption). */
export async function readSystemMetadata(): Promise<Record<string, string>> {
  const rows = await getDb().select().from(systemMetadata);
  return Object.fromEntries(rows.map((row) => [row.key, row.value]));
}
