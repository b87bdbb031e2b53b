import "server-only";
import { and, desc, eq, gt, isNull, lt, or, count, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { preparedQuery, writeUnlessBusy } from "@/lib/db/dialect";
import { apiTokens, sessions, users, type ApiTokenRow, type UserRow } from "@/lib/db/schema/auth";

export async function countUsers(): Promise<number> {
  const [row] = await getDb().select({ n: count() }).from(users);
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

export async function findUserById(id: string): Promise<UserRow | undefined> {
  const [row] = await getDb().select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

/** The live session's user, or undefined when the session is unknown, expired, idle since `idleSince`, or its user disabled. */
export async function findSessionUser(idHash: string, now: string, idleSince: string): Promise<{ user: UserRow; lastSeenAt: string } | undefined> {
  const [row] = await sessionUserQuery().execute({ idHash, now, idleSince });
  return row;
}

// Run on every page and browser request: prepared once (preparedQuery in lib/db/dialect.ts).
const sessionUserQuery = preparedQuery((db) =>
  db
    .select({ user: users, lastSeenAt: sessions.lastSeenAt })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(
      and(
        eq(sessions.idHash, sql.placeholder("idHash")),
        gt(sessions.expiresAt, sql.placeholder("now")),
        gt(sessions.lastSeenAt, sql.placeholder("idleSince")),
        isNull(users.disabledAt),
      ),
    )
    .limit(1)
    .prepare(),
);

/** Skipped while another connection holds the write lock (writeUnlessBusy): the next request tries again. */
export async function touchSession(idHash: string, now: string): Promise<void> {
  await writeUnlessBusy(getDb().update(sessions).set({ lastSeenAt: now }).where(eq(sessions.idHash, idHash)));
}

export async function deleteSession(idHash: string): Promise<void> {
  await getDb().delete(sessions).where(eq(sessions.idHash, idHash));
}

/** Deletes sessions past their absolute end or idle since `idleSince`; returns how many (counted first: no driver-specific result fields). */
export async function deleteExpiredSessions(now: string, idleSince: string): Promise<number> {
  const dead = or(lt(sessions.expiresAt, now), lt(sessions.lastSeenAt, idleSince));
  const [row] = await getDb().select({ n: count() }).from(sessions).where(dead);
  await getDb().delete(sessions).where(dead);
  return row?.n ?? 0;
}

/**
 * The token row when it is neither revoked nor expired, with its owner's row (undefined when the
 * token has no owner, or its owner was deleted: the caller tells the two apart by owner_user_id).
 */
export async function findLiveToken(tokenHash: string, now: string): Promise<{ token: ApiTokenRow; owner: UserRow | null } | undefined> {
  const [row] = await liveTokenQuery().execute({ tokenHash, now });
  return row;
}

// Run on every bearer request: prepared once (preparedQuery in lib/db/dialect.ts).
const liveTokenQuery = preparedQuery((db) =>
  db
    .select({ token: apiTokens, owner: users })
    .from(apiTokens)
    .leftJoin(users, eq(users.id, apiTokens.ownerUserId))
    .where(
      and(
        eq(apiTokens.tokenHash, sql.placeholder("tokenHash")),
        isNull(apiTokens.revokedAt),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql.placeholder("now"))),
      ),
    )
    .limit(1)
    .prepare(),
);

/** Skipped while another connection holds the write lock (writeUnlessBusy): the next request tries again. */
export async function markTokenUsed(id: string, now: string): Promise<void> {
  await writeUnlessBusy(getDb().update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, id)));
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

/** Revokes a token; one already revoked keeps its first revocation time. */
export async function revokeToken(id: string, now: string): Promise<void> {
  await getDb()
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)));
}

/** Revokes every live token a user owns (the user was disabled or deleted); returns how many. */
export async function revokeTokensOwnedBy(userId: string, now: string): Promise<number> {
  const owned = await getDb()
    .select({ id: apiTokens.id })
    .from(apiTokens)
    .where(and(eq(apiTokens.ownerUserId, userId), isNull(apiTokens.revokedAt)));
  if (owned.length > 0)
    await getDb()
      .update(apiTokens)
      .set({ revokedAt: now })
      .where(and(eq(apiTokens.ownerUserId, userId), isNull(apiTokens.revokedAt)));
  return owned.length;
}

/** Users by name, after the cursor's name; `limit + 1` rows so the caller knows whether a next page exists. */
export async function listUserRows(limit: number, afterUsername: string | null): Promise<UserRow[]> {
  return getDb()
    .select()
    .from(users)
    .where(afterUsername === null ? undefined : gt(users.username, afterUsername))
    .orderBy(users.username)
    .limit(limit + 1);
}

/** How many enabled admins exist: the last one may not be disabled, demoted or deleted. */
export async function countActiveAdmins(): Promise<number> {
  const [row] = await getDb()
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, "admin"), isNull(users.disabledAt)));
  return row?.n ?? 0;
}

export async function setPasswordHash(id: string, passwordHash: string): Promise<void> {
  await getDb().update(users).set({ passwordHash }).where(eq(users.id, id));
}

export async function updateUser(id: string, set: Partial<Pick<UserRow, "role" | "disabledAt" | "updatedAt">>): Promise<void> {
  await getDb().update(users).set(set).where(eq(users.id, id));
}

/** Deletes a user; their sessions go with them (ON DELETE CASCADE). */
export async function deleteUser(id: string): Promise<void> {
  await getDb().delete(users).where(eq(users.id, id));
}

/** Ends every session of a user (disabled, demoted or deleted accounts sign out everywhere). */
export async function deleteUserSessions(userId: string): Promise<void> {
  await getDb().delete(sessions).where(eq(sessions.userId, userId));
}

export async function findTokenById(id: string): Promise<ApiTokenRow | undefined> {
  const [row] = await getDb().select().from(apiTokens).where(eq(apiTokens.id, id)).limit(1);
  return row;
}

export async function insertToken(row: typeof apiTokens.$inferInsert): Promise<void> {
  await getDb().insert(apiTokens).values(row);
}

/** Tokens newest first after the cursor (created_at, id), only live ones unless `liveAt` is null; `limit + 1` rows. */
export async function listTokenRows(limit: number, after: { created_at: string; id: string } | null, liveAt: string | null): Promise<ApiTokenRow[]> {
  return getDb()
    .select()
    .from(apiTokens)
    .where(
      and(
        after === null ? undefined : or(lt(apiTokens.createdAt, after.created_at), and(eq(apiTokens.createdAt, after.created_at), lt(apiTokens.id, after.id))),
        liveAt === null ? undefined : and(isNull(apiTokens.revokedAt), or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, liveAt))),
      ),
    )
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id))
    .limit(limit + 1);
}
