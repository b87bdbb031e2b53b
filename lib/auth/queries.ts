import "server-only";
import { and, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { apiTokens, sessions, users, type ApiTokenRow, type UserRow } from "@/lib/db/schema";

export async function countUsers(): Promise<number> {
  const [row] = await getDb().select({ n: sql<number>`count(*)` }).from(users);
  return row?.n ?? 0;
}

export async function findUserByName(username: string): Promise<UserRow | undefined> {
  const [row] = await getDb().select().from(users).where(eq(users.username, username)).limit(1);
  return row;
}

export async function insertUser(row: typeof users.$inferInsert): Promise<void> {
  await getDb().insert(users).values(row);
}

export async function insertSession(row: typeof sessions.$inferInsert): Promise<void> {
  await getDb().insert(sessions).values(row);
}

/** The live session's user, or undefined when the session is unknown, expired, or its user disabled. */
export async function findSessionUser(idHash: string, now: string): Promise<UserRow | undefined> {
  const [row] = await getDb()
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.idHash, idHash), gt(sessions.expiresAt, now), isNull(users.disabledAt)))
    .limit(1);
  return row?.user;
}

export async function touchSession(idHash: string, now: string): Promise<void> {
  await getDb().update(sessions).set({ lastSeenAt: now }).where(eq(sessions.idHash, idHash));
}

export async function deleteSession(idHash: string): Promise<void> {
  await getDb().delete(sessions).where(eq(sessions.idHash, idHash));
}

export async function deleteExpiredSessions(now: string): Promise<void> {
  await getDb().delete(sessions).where(lt(sessions.expiresAt, now));
}

/** The token row when it is neither revoked nor expired. */
export async function findLiveToken(tokenHash: string, now: string): Promise<ApiTokenRow | undefined> {
  const [row] = await getDb()
    .select()
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.tokenHash, tokenHash),
        isNull(apiTokens.revokedAt),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, now)),
      ),
    )
    .limit(1);
  return row;
}

export async function markTokenUsed(id: string, now: string): Promise<void> {
  await getDb().update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, id));
}

/** Inserts or replaces a token by id (the environment's seeded token keeps one id across restarts). */
export async function upsertToken(row: typeof apiTokens.$inferInsert): Promise<void> {
  await getDb()
    .insert(apiTokens)
    .values(row)
    .onConflictDoUpdate({
      target: apiTokens.id,
      set: { tokenHash: row.tokenHash, prefix: row.prefix, scope: row.scope, revokedAt: null, name: row.name },
    });
}

export async function revokeToken(id: string, now: string): Promise<void> {
  await getDb().update(apiTokens).set({ revokedAt: now }).where(eq(apiTokens.id, id));
}
