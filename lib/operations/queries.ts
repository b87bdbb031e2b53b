import "server-only";
import { and, desc, eq, gte, lt, or } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { runBeforeExit } from "@/lib/db/dialect";
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
  };
}

export async function insertOperation(row: typeof operations.$inferInsert): Promise<void> {
  await getDb().insert(operations).values(row);
}

export async function updateOperation(id: string, set: Partial<typeof operations.$inferInsert>): Promise<void> {
  await getDb().update(operations).set(set).where(eq(operations.id, id));
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
