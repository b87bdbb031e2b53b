import "server-only";
import { and, desc, eq, lt, type SQL, count } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { startsWithIgnoringCase, whenWriteLockFree } from "@/lib/db/dialect";
import { auditLog, type AuditLogRow } from "@/lib/db/schema/audit";
import type { AuditEntryDto } from "@/lib/audit/types";

/** Inserts one row; returns its id. */
export async function insertAuditRow(row: typeof auditLog.$inferInsert): Promise<number> {
  const [inserted] = await whenWriteLockFree(() => getDb().insert(auditLog).values(row).returning({ id: auditLog.id }));
  return inserted!.id;
}

export async function updateAuditDetails(id: number, details: string): Promise<void> {
  await whenWriteLockFree(() => getDb().update(auditLog).set({ details }).where(eq(auditLog.id, id)));
}

/** Deletes rows older than `at`; returns how many there were (counted first: no driver-specific result fields). */
export async function deleteAuditRowsBefore(at: string): Promise<number> {
  const [row] = await whenWriteLockFree(() => getDb().select({ n: count() }).from(auditLog).where(lt(auditLog.at, at)));
  await getDb().delete(auditLog).where(lt(auditLog.at, at));
  return row?.n ?? 0;
}

/** Rows newest first (by id, which follows time) below `beforeId`; `limit + 1` rows. */
export async function listAuditRows(
  limit: number,
  beforeId: number | null,
  filter: { actor?: string; action?: string; result?: string },
): Promise<AuditLogRow[]> {
  const conditions: SQL[] = [];
  if (beforeId !== null) conditions.push(lt(auditLog.id, beforeId));
  if (filter.actor) conditions.push(eq(auditLog.actor, filter.actor));
  if (filter.action) conditions.push(startsWithIgnoringCase(auditLog.action, filter.action));
  if (filter.result) conditions.push(eq(auditLog.result, filter.result));
  return getDb()
    .select()
    .from(auditLog)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(limit + 1);
}

export function toAuditEntryDto(row: AuditLogRow): AuditEntryDto {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    actor_type: row.actorType,
    action: row.action,
    target: row.target,
    result: row.result as AuditEntryDto["result"],
    ip: row.ip,
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
  };
}
