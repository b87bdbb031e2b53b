import "server-only";
import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, lt, or, type SQL } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { runBeforeExit, whenWriteLockFree } from "@/lib/db/dialect";
import { operations, type OperationRow } from "@/lib/db/schema/operations";
import type { OperationDto, OperationKind } from "@/lib/operations/types";

export function toOperationDto(row: OperationRow): OperationDto {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    exclusive: row.exclusive,
    progress: { done: row.progressDone, total: row.progressTotal, unit: row.progressUnit },
    message: row.message,
    params: row.params ? JSON.parse(row.params) : null,
    result: row.result ? JSON.parse(row.result) : null,
    error: row.error ? JSON.parse(row.error) : null,
    created_by: row.createdBy,
    created_at: row.createdAt,
    started_at: row.startedAt,
    finished_at: row.finishedAt,
    instance: row.ownerInstance,
  };
}

export async function insertOperation(row: typeof operations.$inferInsert): Promise<void> {
  await whenWriteLockFree(() => getDb().insert(operations).values(row));
}

export async function updateOperation(id: string, set: Partial<typeof operations.$inferInsert>): Promise<void> {
  await whenWriteLockFree(() => getDb().update(operations).set(set).where(eq(operations.id, id)));
}

/** Updates an operation only while `owner` still owns it and it is running; returns whether the write landed. */
export async function updateOwnedOperation(id: string, owner: string, set: Partial<typeof operations.$inferInsert>): Promise<boolean> {
  const rows = await whenWriteLockFree(() =>
    getDb()
      .update(operations)
      .set(set)
      .where(and(eq(operations.id, id), eq(operations.ownerInstance, owner), eq(operations.status, "running")))
      .returning({ id: operations.id }),
  );
  return rows.length > 0;
}

/** Ends the running operations of the given owners (and, with `unowned`, those from before owners were recorded); returns them. */
export async function failRunningOperationsOf(
  owners: string[],
  unowned: boolean,
  set: Partial<typeof operations.$inferInsert>,
): Promise<{ id: string; kind: string }[]> {
  const whose = [owners.length > 0 ? inArray(operations.ownerInstance, owners) : undefined, unowned ? isNull(operations.ownerInstance) : undefined].filter(
    (condition): condition is SQL => condition !== undefined,
  );
  if (whose.length === 0) return [];
  const rows = await whenWriteLockFree(() =>
    getDb()
      .update(operations)
      .set(set)
      .where(and(eq(operations.status, "running"), or(...whose)))
      .returning({ id: operations.id, kind: operations.kind }),
  );
  return rows;
}

/** Asks the owner of a running operation to cancel it; false when it is no longer running. */
export async function markOperationCancelRequested(id: string, at: string): Promise<boolean> {
  const rows = await whenWriteLockFree(() =>
    getDb()
      .update(operations)
      .set({ cancelRequestedAt: at })
      .where(and(eq(operations.id, id), eq(operations.status, "running")))
      .returning({ id: operations.id }),
  );
  return rows.length > 0;
}

export async function selectCancelRequestedOperations(owner: string): Promise<string[]> {
  const rows = await getDb()
    .select({ id: operations.id })
    .from(operations)
    .where(and(eq(operations.ownerInstance, owner), eq(operations.status, "running"), isNotNull(operations.cancelRequestedAt)));
  return rows.map((row) => row.id);
}

/**
 * The same update, done before returning: for a signal handler, which runs just before the process
 * exits and cannot wait for a promise. Only while the row still reads running.
 */
export function recordOperationEndSync(id: string, set: Partial<typeof operations.$inferInsert>): void {
  runBeforeExit(
    getDb()
      .update(operations)
      .set(set)
      .where(and(eq(operations.id, id), eq(operations.status, "running"))),
  );
}

export async function findOperation(id: string): Promise<OperationRow | undefined> {
  const [row] = await getDb().select().from(operations).where(eq(operations.id, id)).limit(1);
  return row;
}

/** The oldest running exclusive operation (a restore, a reset, a move to PostgreSQL), or undefined. */
export async function findRunningExclusiveOperation(): Promise<OperationRow | undefined> {
  const [row] = await getDb()
    .select()
    .from(operations)
    .where(and(eq(operations.status, "running"), eq(operations.exclusive, true)))
    .orderBy(asc(operations.startedAt))
    .limit(1);
  return row;
}

export async function listRunningOperations(): Promise<OperationRow[]> {
  return getDb().select().from(operations).where(eq(operations.status, "running"));
}

/** Operations that finished at or after `since` (an ISO time). */
export async function listOperationsFinishedSince(since: string): Promise<OperationRow[]> {
  return getDb().select().from(operations).where(gte(operations.finishedAt, since));
}

/** Newest first, keyset-paged on (created_at, id). */
export async function listOperationRows(limit: number, after: { created_at: string; id: string } | null, kind?: OperationKind) {
  const conditions = [
    kind ? eq(operations.kind, kind) : undefined,
    after ? or(lt(operations.createdAt, after.created_at), and(eq(operations.createdAt, after.created_at), lt(operations.id, after.id))) : undefined,
  ].filter(Boolean);
  return getDb()
    .select()
    .from(operations)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(operations.createdAt), desc(operations.id))
    .limit(limit + 1);
}
