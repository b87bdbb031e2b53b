import "server-only";
import { desc, isNotNull, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { backups, jobExecutions } from "@/lib/db/schema";

/** Mimir stores run durations in nanoseconds (Go's time.Duration). */
const NS_PER_SECOND = 1e9;

/**
 * Finished runs counted at or under each bound (seconds), with their count and summed seconds: a
 * cumulative histogram computed in one SQL pass, so /metrics reflects all stored history.
 */
export async function histogramOfRunDurations(boundsSeconds: readonly number[]) {
  const result = await getDb()
    .select({
      n: sql<number>`count(*)`,
      total: sql<number>`coalesce(sum(${jobExecutions.duration}), 0)`,
      ...Object.fromEntries(boundsSeconds.map((b, i) => [`b${i}`, sql<number>`coalesce(sum(CASE WHEN ${jobExecutions.duration} <= ${sql.raw(String(b * NS_PER_SECOND))} THEN 1 ELSE 0 END), 0)`])),
    })
    .from(jobExecutions)
    .where(isNotNull(jobExecutions.duration));
  const first = (result[0] ?? {}) as Record<string, number>;
  return {
    count: Number(first.n ?? 0),
    sumSeconds: Number(first.total ?? 0) / NS_PER_SECOND,
    cumulative: boundsSeconds.map((_, i) => Number(first[`b${i}`] ?? 0)),
  };
}

/**
 * The newest backup set in the catalog and how many there are. Reads the backups table directly:
 * the backups capability is built in parallel; until a set exists this returns null.
 */
export async function findLatestBackup() {
  const db = getDb();
  const [latest] = await db
    .select({ id: backups.id, createdAt: backups.createdAt, bytes: backups.bytes, verifyStatus: backups.verifyStatus })
    .from(backups)
    .orderBy(desc(backups.createdAt))
    .limit(1);
  const [count] = await db.select({ n: sql<number>`count(*)` }).from(backups);
  return latest ? { ...latest, count: Number(count?.n ?? 0) } : null;
}
