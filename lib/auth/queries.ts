import "server-only";
import { and, desc, eq, gt, inArray, isNull, lt, lte, or, count, sql } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { databaseTime, preparedQuery, writeUnlessBusy } from "@/lib/db/dialect";
import { apiTokens, sessions, signInFailures, users, type ApiTokenRow, type UserRow } from "@/lib/db/schema/auth";

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

/** What a request's authentication needs of a live token and of its owner's account. */
export interface LiveToken {
  id: string;
  name: string;
  scope: string;
  ownerUserId: string | null;
  lastUsedAt: string | null;
  /** null when the token has no owner, or its owner was deleted: the caller tells the two apart by ownerUserId */
  owner: { role: string; disabledAt: string | null } | null;
}

/** The token when it is neither revoked nor expired, with its owner's role and state. */
export async function findLiveToken(tokenHash: string, now: string): Promise<LiveToken | undefined> {
  const [row] = await liveTokenQuery().execute({ tokenHash, now });
  if (!row) return undefined;
  const { ownerId, ownerRole, ownerDisabledAt, ...token } = row;
  return { ...token, owner: ownerId === null || ownerRole === null ? null : { role: ownerRole, disabledAt: ownerDisabledAt } };
}

// Run on every bearer request: prepared once (preparedQuery in lib/db/dialect.ts), and only the columns
// authentication reads (mapping whole rows of both tables cost more than the lookup). No LIMIT: the
// hash is unique, and a bound LIMIT makes SQLite's every run slower.
const liveTokenQuery = preparedQuery((db) =>
  db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      scope: apiTokens.scope,
      ownerUserId: apiTokens.ownerUserId,
      lastUsedAt: apiTokens.lastUsedAt,
      ownerId: users.id,
      ownerRole: users.role,
      ownerDisabledAt: users.disabledAt,
    })
    .from(apiTokens)
    .leftJoin(users, eq(users.id, apiTokens.ownerUserId))
    .where(
      and(
        eq(apiTokens.tokenHash, sql.placeholder("tokenHash")),
        isNull(apiTokens.revokedAt),
        or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, sql.placeholder("now"))),
      ),
    )
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

/**
 * The most recent failures (at most `perKey` of each key) of the given keys within `windowMs`, with the
 * database's time now: one statement, whatever the number of keys or of failures an account under
 * attack holds (a window function ranks each key's rows; the (key_hash, failed_at) index finds them).
 * `now` is null when there is no row.
 */
export async function selectRecentSignInFailures(
  keyHashes: string[],
  windowMs: number,
  perKey: number,
): Promise<{ now: string | null; rows: { keyHash: string; failedAt: string }[] }> {
  const ranked = getDb()
    .select({
      keyHash: signInFailures.keyHash,
      failedAt: signInFailures.failedAt,
      rank: sql<number>`row_number() OVER (PARTITION BY ${signInFailures.keyHash} ORDER BY ${signInFailures.failedAt} DESC, ${signInFailures.id} DESC)`.as(
        "rank",
      ),
    })
    .from(signInFailures)
    .where(and(inArray(signInFailures.keyHash, keyHashes), gt(signInFailures.failedAt, databaseTime(-windowMs))))
    .as("ranked");
  const rows = await getDb()
    .select({ keyHash: ranked.keyHash, failedAt: ranked.failedAt, now: sql<string>`${databaseTime()}`.mapWith(signInFailures.failedAt) })
    .from(ranked)
    .where(lte(ranked.rank, perKey));
  return { now: rows[0]?.now ?? null, rows: rows.map(({ keyHash, failedAt }) => ({ keyHash, failedAt })) };
}

/** One failure under each key, at the database's time now (one INSERT of several rows). */
export async function insertSignInFailures(keyHashes: string[]): Promise<void> {
  await getDb()
    .insert(signInFailures)
    .values(keyHashes.map((keyHash) => ({ keyHash, failedAt: databaseTime() })));
}

/**
 * Deletes failures older than `maxAgeMs` and all but the newest `maxRows` (ids grow with time), so a
 * flood of made-up client addresses cannot grow the table without end. Both by index.
 */
export async function pruneSignInFailures(maxAgeMs: number, maxRows: number): Promise<void> {
  await getDb()
    .delete(signInFailures)
    .where(
      or(
        lt(signInFailures.failedAt, databaseTime(-maxAgeMs)),
        lte(signInFailures.id, sql`(SELECT max(${signInFailures.id}) FROM ${signInFailures}) - ${Math.trunc(maxRows)}`),
      ),
    );
}

/** Forgets the failures under these keys (a right password clears the client's and the pair's counts). */
export async function deleteSignInFailures(keyHashes: string[]): Promise<void> {
  await getDb().delete(signInFailures).where(inArray(signInFailures.keyHash, keyHashes));
}
