import "server-only";
import { and, asc, eq, gte, isNotNull, isNull, lt, ne, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { databaseTime } from "@/lib/db/dialect";
import { instances, jobFires, type InstanceRow } from "@/lib/db/schema/instances";
import { jobExecutions } from "@/lib/db/schema/executions";
import { operations } from "@/lib/db/schema/operations";
import { systemMetadata } from "@/lib/db/schema/system";
import { nowIso } from "@/lib/db/timestamps";

export async function insertInstance(row: Omit<InstanceRow, "lastSeen" | "leaseUntil" | "stoppedAt" | "stopReason">, leaseMs: number): Promise<void> {
  // An upsert: a second boot in one process (tests), or a row lost to a restore of an older database, enters the same id again.
  await getDb()
    .insert(instances)
    .values({ ...row, lastSeen: databaseTime(), leaseUntil: databaseTime(leaseMs) })
    .onConflictDoUpdate({ target: instances.id, set: { lastSeen: databaseTime(), leaseUntil: databaseTime(leaseMs), stoppedAt: null, stopReason: null } });
}

/** Renews the lease of a live instance; false when it is gone or was declared stopped (reaped). */
export async function renewLease(id: string, leaseMs: number): Promise<boolean> {
  const rows = await getDb()
    .update(instances)
    .set({ lastSeen: databaseTime(), leaseUntil: databaseTime(leaseMs) })
    .where(and(eq(instances.id, id), isNull(instances.stoppedAt)))
    .returning({ id: instances.id });
  return rows.length > 0;
}

/** Brings an instance declared stopped back under the same id, with a fresh lease; false when it has no row. */
export async function reviveInstance(id: string, leaseMs: number): Promise<boolean> {
  const rows = await getDb()
    .update(instances)
    .set({ lastSeen: databaseTime(), leaseUntil: databaseTime(leaseMs), stoppedAt: null, stopReason: null })
    .where(eq(instances.id, id))
    .returning({ id: instances.id });
  return rows.length > 0;
}

/**
 * Declares stopped every live instance (not `self`) whose lease has passed, and returns those this call
 * stopped. One UPDATE … RETURNING: when several survivors look at once, each dead instance is returned
 * to exactly one of them, which then fails its work.
 */
export async function stopExpiredInstances(self: string, reason: string): Promise<InstanceRow[]> {
  return getDb()
    .update(instances)
    .set({ stoppedAt: databaseTime(), stopReason: reason })
    .where(and(isNull(instances.stoppedAt), ne(instances.id, self), lt(instances.leaseUntil, databaseTime())))
    .returning();
}

/** Declares the given live instances stopped (a previous life of this process's host and pid, or any other on SQLite). */
export async function stopInstance(id: string, reason: string): Promise<InstanceRow | null> {
  const [row] = await getDb()
    .update(instances)
    .set({ stoppedAt: databaseTime(), stopReason: reason })
    .where(and(eq(instances.id, id), isNull(instances.stoppedAt)))
    .returning();
  return row ?? null;
}

export async function selectLiveInstances(): Promise<InstanceRow[]> {
  return getDb().select().from(instances).where(isNull(instances.stoppedAt)).orderBy(asc(instances.startedAt));
}

export async function countLiveInstancesExcept(self: string): Promise<number> {
  const rows = await getDb()
    .select({ id: instances.id })
    .from(instances)
    .where(and(isNull(instances.stoppedAt), ne(instances.id, self), gte(instances.leaseUntil, databaseTime())));
  return rows.length;
}

export async function isLive(id: string): Promise<boolean> {
  const rows = await getDb()
    .select({ id: instances.id })
    .from(instances)
    .where(and(eq(instances.id, id), isNull(instances.stoppedAt), gte(instances.leaseUntil, databaseTime())))
    .limit(1);
  return rows.length > 0;
}

/** Instances declared stopped that still own running runs or operations (rows a zombie wrote after it was declared dead). */
export async function selectStoppedOwnersOfRunningWork(): Promise<InstanceRow[]> {
  const owners = sql`(SELECT ${jobExecutions.ownerInstance} FROM ${jobExecutions} WHERE ${jobExecutions.status} = 'running' UNION SELECT ${operations.ownerInstance} FROM ${operations} WHERE ${operations.status} = 'running')`;
  return getDb()
    .select()
    .from(instances)
    .where(and(isNotNull(instances.stoppedAt), sql`${instances.id} IN ${owners}`));
}

/** Live instances first (oldest start first), then the most recently stopped, up to `limit` rows. */
export async function selectInstances(limit: number): Promise<InstanceRow[]> {
  return getDb()
    .select()
    .from(instances)
    .orderBy(sql`CASE WHEN ${instances.stoppedAt} IS NULL THEN 0 ELSE 1 END`, sql`${instances.stoppedAt} DESC`, asc(instances.startedAt))
    .limit(limit);
}

/** What each instance runs now: its running job runs and operations. */
export async function selectRunningWork(): Promise<{ owner: string | null; kind: "run" | "operation"; id: string; label: string }[]> {
  const runs = await getDb()
    .select({ owner: jobExecutions.ownerInstance, id: jobExecutions.id, label: jobExecutions.jobId })
    .from(jobExecutions)
    .where(eq(jobExecutions.status, "running"));
  const ops = await getDb()
    .select({ owner: operations.ownerInstance, id: operations.id, label: operations.kind })
    .from(operations)
    .where(eq(operations.status, "running"));
  return [...runs.map((run) => ({ ...run, kind: "run" as const })), ...ops.map((op) => ({ ...op, kind: "operation" as const }))];
}

const DATA_ROOT_KEY = "data_root_id";

/** The data root marker id the deployment's instances share, as the first of them recorded it. */
export async function selectRecordedDataRootId(): Promise<string | null> {
  const [row] = await getDb().select({ value: systemMetadata.value }).from(systemMetadata).where(eq(systemMetadata.key, DATA_ROOT_KEY)).limit(1);
  return row?.value ?? null;
}

export async function recordDataRootId(id: string): Promise<void> {
  const now = nowIso();
  await getDb()
    .insert(systemMetadata)
    .values({ key: DATA_ROOT_KEY, value: id, updatedAt: now })
    .onConflictDoUpdate({ target: systemMetadata.key, set: { value: id, updatedAt: now } });
}

/**
 * Takes the turn `key` when the last turn was taken before `before` (ISO): one conditional UPDATE, so of
 * several instances asking together exactly one gets it (pg-boss's cron gate). Creates the row first.
 */
export async function takeTurn(key: string, at: string, before: string): Promise<boolean> {
  await getDb().insert(systemMetadata).values({ key, value: "", updatedAt: at }).onConflictDoNothing();
  const rows = await getDb()
    .update(systemMetadata)
    .set({ value: at, updatedAt: at })
    .where(and(eq(systemMetadata.key, key), lt(systemMetadata.value, before)))
    .returning({ key: systemMetadata.key });
  return rows.length > 0;
}

/** Deletes up to `limit` fire claims made before `before` (ISO); returns how many went. */
export async function deleteFireClaimsBefore(before: string, limit: number): Promise<number> {
  const batch = getDb()
    .select({ jobId: jobFires.jobId, scheduledFor: jobFires.scheduledFor })
    .from(jobFires)
    .where(lt(jobFires.claimedAt, before))
    .limit(limit);
  const rows = await getDb()
    .delete(jobFires)
    .where(sql`(${jobFires.jobId}, ${jobFires.scheduledFor}) IN ${batch}`)
    .returning({ jobId: jobFires.jobId });
  return rows.length;
}

/** Deletes the rows of instances stopped before `before` (ISO); returns how many went. */
export async function deleteInstancesStoppedBefore(before: string): Promise<number> {
  const rows = await getDb()
    .delete(instances)
    .where(and(isNotNull(instances.stoppedAt), lt(instances.stoppedAt, before)))
    .returning({ id: instances.id });
  return rows.length;
}
