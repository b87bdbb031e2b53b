import "server-only";
import { eq, like } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { systemMetadata } from "@/lib/db/schema/system";
import { nowIso } from "@/lib/db/timestamps";

const REMOVED_PREFIX = "builtin_job_removed:";

/** Whether a person deleted this built-in job (so boot must not bring it back). */
export async function isBuiltinJobRemoved(id: string): Promise<boolean> {
  const [row] = await getDb()
    .select({ key: systemMetadata.key })
    .from(systemMetadata)
    .where(eq(systemMetadata.key, REMOVED_PREFIX + id))
    .limit(1);
  return row !== undefined;
}

export async function markBuiltinJobRemoved(id: string): Promise<void> {
  const now = nowIso();
  await getDb()
    .insert(systemMetadata)
    .values({ key: REMOVED_PREFIX + id, value: now, updatedAt: now })
    .onConflictDoUpdate({ target: systemMetadata.key, set: { value: now, updatedAt: now } });
}

/** Forgets every deleted built-in job (a reset: a fresh install has no such memory). Returns how many. */
export async function forgetRemovedBuiltinJobs(): Promise<number> {
  const result = await getDb()
    .delete(systemMetadata)
    .where(like(systemMetadata.key, `${REMOVED_PREFIX}%`))
    .returning({ key: systemMetadata.key });
  return result.length;
}

const APPLIED_PREFIX = "builtin_job_config:";

/** The configuration-derived settings last applied to a built-in job (cron, enabled). */
export interface AppliedBuiltinConfig {
  cron_expr: string;
  enabled: boolean;
}

export async function readAppliedBuiltinConfig(id: string): Promise<AppliedBuiltinConfig | null> {
  const [row] = await getDb()
    .select({ value: systemMetadata.value })
    .from(systemMetadata)
    .where(eq(systemMetadata.key, APPLIED_PREFIX + id))
    .limit(1);
  if (!row) return null;
  try {
    return JSON.parse(row.value) as AppliedBuiltinConfig;
  } catch {
    return null;
  }
}

export async function writeAppliedBuiltinConfig(id: string, applied: AppliedBuiltinConfig): Promise<void> {
  const now = nowIso();
  const value = JSON.stringify(applied);
  await getDb()
    .insert(systemMetadata)
    .values({ key: APPLIED_PREFIX + id, value, updatedAt: now })
    .onConflictDoUpdate({ target: systemMetadata.key, set: { value, updatedAt: now } });
}
