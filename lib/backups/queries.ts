import "server-only";
import { and, desc, eq, lt, or, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { preparedQuery, whenWriteLockFree } from "@/lib/db/dialect";
import { backups, type BackupRow, type NewBackupRow } from "@/lib/db/schema/backups";

export async function findBackupRow(id: string): Promise<BackupRow | null> {
  const [row] = await getDb().select().from(backups).where(eq(backups.id, id)).limit(1);
  return row ?? null;
}

/** Newest first, keyset-paged on (created_at, id). */
export async function listBackupRows(limit: number, after: { created_at: string; id: string } | null): Promise<BackupRow[]> {
  const where = after ? or(lt(backups.createdAt, after.created_at), and(eq(backups.createdAt, after.created_at), lt(backups.id, after.id))) : undefined;
  return getDb()
    .select()
    .from(backups)
    .where(where)
    .orderBy(desc(backups.createdAt), desc(backups.id))
    .limit(limit + 1);
}

/** The newest row and how many rows there are, in one statement (a /metrics scrape reads both). */
export async function findNewestBackupRowAndCount(): Promise<{ row: BackupRow | null; count: number }> {
  const [first] = await newestBackupRowAndCountQuery().execute();
  return { row: first?.row ?? null, count: first?.count ?? 0 };
}

// Every scrape runs it: prepared once per connection (preparedQuery).
const newestBackupRowAndCountQuery = preparedQuery((db) =>
  db
    .select({ row: backups, count: sql<number>`count(*) OVER ()`.mapWith(Number) })
    .from(backups)
    .orderBy(desc(backups.createdAt), desc(backups.id))
    .limit(1)
    .prepare(),
);

export async function listAllBackupRows(): Promise<BackupRow[]> {
  return getDb().select().from(backups).orderBy(desc(backups.createdAt), desc(backups.id));
}

export async function upsertBackupRow(row: NewBackupRow): Promise<void> {
  const { id: _id, ...set } = row;
  await whenWriteLockFree(() => getDb().insert(backups).values(row).onConflictDoUpdate({ target: backups.id, set }));
}

export async function updateBackupRow(id: string, set: Partial<NewBackupRow>): Promise<void> {
  await whenWriteLockFree(() => getDb().update(backups).set(set).where(eq(backups.id, id)));
}

export async function deleteBackupRow(id: string): Promise<void> {
  await whenWriteLockFree(() => getDb().delete(backups).where(eq(backups.id, id)));
}
