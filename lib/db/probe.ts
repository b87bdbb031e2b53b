import "server-only";
import { eq } from "drizzle-orm";
import { getDb, isAppDatabaseOpen } from "@/lib/db/client";
import { systemMetadata } from "@/lib/db/schema/system";

/** Reads one row to prove the database answers; returns the schema version, or throws why it cannot. */
export async function probeDatabase(): Promise<{ schemaVersion: string | null }> {
  if (!isAppDatabaseOpen()) throw new Error("the database is not open");
  const [row] = await getDb().select({ value: systemMetadata.value }).from(systemMetadata).where(eq(systemMetadata.key, "schema_version")).limit(1);
  return { schemaVersion: row?.value ?? null };
}
