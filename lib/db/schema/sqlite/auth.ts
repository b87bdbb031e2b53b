import { sqliteTable, text, integer, index, uniqueIndex } from "drizzle-orm/sqlite-core";

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    /** scrypt$N$r$p$salt$hash: never the password */
    passwordHash: text("password_hash").notNull(),
    /** admin | viewer */
    role: text("role").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    disabledAt: text("disabled_at"),
  },
  (t) => [uniqueIndex("idx_users_username").on(t.username)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    /** sha256 of the cookie value: a stolen database does not yield live sessions */
    idHash: text("id_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    lastSeenAt: text("last_seen_at").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("idx_sessions_user_id").on(t.userId), index("idx_sessions_expires_at").on(t.expiresAt)],
);

export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** sha256 of the token: the token itself is shown once and never stored */
    tokenHash: text("token_hash").notNull(),
    /** first characters, to recognise a token in the list */
    prefix: text("prefix").notNull(),
    /** read | write | admin */
    scope: text("scope").notNull(),
    /** the creator's name as it was, for the list */
    createdBy: text("created_by"),
    /**
     * The account the token acts for (users.id): it works only while that user exists and is enabled,
     * with at most the user's role's scope. Null for the MIMIR_API_TOKEN token and for tokens whose
     * creator was gone before owners were recorded; those have only their own scope.
     */
    ownerUserId: text("owner_user_id"),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at"),
    lastUsedAt: text("last_used_at"),
    revokedAt: text("revoked_at"),
  },
  (t) => [uniqueIndex("idx_api_tokens_token_hash").on(t.tokenHash), index("idx_api_tokens_owner_user_id").on(t.ownerUserId)],
);

/**
 * One row per wrong password, under each key it counts against (the client, the account, the pair):
 * sign-in throttling lives here, not in one process's memory, so several instances behind a load
 * balancer share one count. Keys are hashes (fixed length; no name a stranger typed is kept). Rows
 * older than the longest window, and the oldest beyond a cap, are deleted as failures come in.
 */
export const signInFailures = sqliteTable(
  "sign_in_failures",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** sha256 of "client:<address>", "account:<name>" or "pair:<name>\0<address>" */
    keyHash: text("key_hash").notNull(),
    /** on the database's clock, so instances whose clocks disagree judge one window */
    failedAt: text("failed_at").notNull(),
  },
  (t) => [index("idx_sign_in_failures_key").on(t.keyHash, t.failedAt), index("idx_sign_in_failures_failed_at").on(t.failedAt)],
);

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type SignInFailureRow = typeof signInFailures.$inferSelect;
