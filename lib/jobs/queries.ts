import "server-only";
import { sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { scheduledJobs } from "@/lib/db/schema";

export async function countJobs(): Promise<{ total: number; enabled: number }> {
  const [row] = await getDb()
    .select({ total: sql<number>`count(*)`, enabled: sql<number>`coalesce(sum(${scheduledJobs.enabled} = 1), 0)` })
    .from(scheduledJobs);
  return { total: row?.total ?? 0, enabled: row?.enabled ?? 0 };
}
