import { pgTable, text, bigint, index, uniqueIndex } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";

/** PostgreSQL flavour of ../sqlite/auth.ts. */
export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    username: text("username").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: text("role").notNull(),
    createdAt: isoTimestamp("created_at").notNull(),
    updatedAt: isoTimestamp("updated_at").notNull(),
    disabledAt: isoTimestamp("disabled_at"),
  },
  (t) => [uniqueIndex("idx_users_username").on(t.username)],
);

export const sessions = pgTable(
  "sessions",
  {
    idHash: text("id_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: isoTimestamp("created_at").notNull(),
    expiresAt: isoTimestamp("expires_at").notNull(),
    lastSeenAt: isoTimestamp("last_seen_at").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("idx_sessions_user_id").on(t.userId), index("idx_sessions_expires_at").on(t.expiresAt)],
);

export const apiTokens = pgTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    tokenHash: text("token_hash").notNull(),
    prefix: text("prefix").notNull(),
    scope: text("scope").notNull(),
    createdBy: text("created_by"),
    ownerUserId: text("owner_user_id"),
    createdAt: isoTimestamp("created_at").notNull(),
    expiresAt: isoTimestamp("expires_at"),
    lastUsedAt: isoTimestamp("last_used_at"),
    revokedAt: isoTimestamp("revoked_at"),
  },
  (t) => [uniqueIndex("idx_api_tokens_token_hash").on(t.tokenHash), index("idx_api_tokens_owner_user_id").on(t.ownerUserId)],
);

export const signInFailures = pgTable(
  "sign_in_failures",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    keyHash: text("key_hash").notNull(),
    failedAt: isoTimestamp("failed_at").notNull(),
  },
  (t) => [index("idx_sign_in_failures_key").on(t.keyHash, t.failedAt), index("idx_sign_in_failures_failed_at").on(t.failedAt)],
);
