import "server-only";
import { gte, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { jobExecutions } from "@/lib/db/schema";

export async function countExecutions(): Promise<number> {
  const [row] = await getDb().select({ n: sql<number>`count(*)` }).from(jobExecutions);
  return row?.n ?? 0;
}

/** Runs started since `sinceIso`, counted by status in SQL (start_time is indexed). */
export async function countExecutionsByStatusSince(sinceIso: string): Promise<Record<string, number>> {
  const rows = await getDb()
    .select({ status: jobExecutions.status, n: sql<number>`count(*)` })
    .from(jobExecutions)
    .where(gte(jobExecutions.startTime, sinceIso))
    .groupBy(jobExecutions.status);
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}
