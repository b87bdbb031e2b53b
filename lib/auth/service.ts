import "server-only";
import crypto from "node:crypto";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import type { AppConfig } from "@/lib/config/load";
import { getLogger } from "@/lib/log/logger";
import { DUMMY_PASSWORD_HASH, hashPassword, hashSecret, randomSecret, verifyPassword } from "@/lib/auth/passwords";
import { ROLE_SCOPE, type Principal, type Role } from "@/lib/auth/scopes";
import * as queries from "@/lib/auth/queries";

export const SESSION_COOKIE = "mimir_session";
/** A browser session lasts a working day; signing in again rotates it. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** last_seen_at is written at most this often, so page loads do not each cost a write. */
const TOUCH_INTERVAL_MS = 60 * 1000;
export const API_TOKEN_PREFIX = "mimir_";
/** The token seeded from MIMIR_API_TOKEN keeps this id, so a changed variable replaces it. */
const ENV_TOKEN_ID = "env-mimir-api-token";

export const usernameInput = z
  .string()
  .trim()
  .regex(/^[a-zA-Z0-9._-]{1,64}$/, "1 to 64 letters, digits, '.', '_' or '-'");
export const passwordInput = z.string().min(12, "at least 12 characters").max(1024, "at most 1024 characters");

export const createUserInput = z.object({
  username: usernameInput,
  password: passwordInput,
  role: z.enum(["admin", "viewer"]),
});
export type CreateUserInput = z.infer<typeof createUserInput>;

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

export async function hasAnyUser(): Promise<boolean> {
  return (await queries.countUsers()) > 0;
}

/** Creates a user; refuses a taken name. Inserts one row into users. */
export async function createUser(input: CreateUserInput): Promise<{ id: string; username: string; role: Role }> {
  const parsed = createUserInput.parse(input);
  if (await queries.findUserByName(parsed.username)) {
    throw new AppError("already_exists", `A user named '${parsed.username}' already exists`);
  }
  const now = nowIso();
  const id = crypto.randomUUID();
  await queries.insertUser({
    id,
    username: parsed.username,
    passwordHash: await hashPassword(parsed.password),
    role: parsed.role,
    createdAt: now,
    updatedAt: now,
  });
  return { id, username: parsed.username, role: parsed.role };
}

/** First-run setup: creates the first admin, and only while there is no user at all. */
export async function createFirstAdmin(input: { username: string; password: string }) {
  if (await hasAnyUser()) throw new AppError("conflict", "Setup is already done: sign in instead");
  return createUser({ ...input, role: "admin" });
}

/**
 * Checks a user name and password and opens a session; returns the cookie value (shown to the browser
 * only). Unknown users cost the same scrypt as known ones. Inserts one row into sessions.
 */
export async function signIn(username: string, password: string, meta: RequestMeta) {
  const user = await queries.findUserByName(username.trim());
  const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || user.disabledAt) throw new AppError("unauthorized", "Wrong user name or password");
  const token = randomSecret();
  const now = Date.now();
  await queries.insertSession({
    idHash: hashSecret(token),
    userId: user.id,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + SESSION_TTL_MS).toISOString(),
    lastSeenAt: new Date(now).toISOString(),
    ip: meta.ip,
    userAgent: meta.userAgent?.slice(0, 256) ?? null,
  });
  return { sessionToken: token, expiresAt: new Date(now + SESSION_TTL_MS), user: { id: user.id, username: user.username, role: user.role as Role } };
}

/** Ends a session. Deletes its row. */
export async function signOut(sessionToken: string): Promise<void> {
  await queries.deleteSession(hashSecret(sessionToken));
}

/** The signed-in user behind a session cookie value, or null. */
export async function principalFromSession(sessionToken: string): Promise<Principal | null> {
  const idHash = hashSecret(sessionToken);
  const now = nowIso();
  const user = await queries.findSessionUser(idHash, now);
  if (!user) return null;
  await queries.touchSession(idHash, now).catch(() => undefined);
  const role = user.role as Role;
  return { kind: "user", id: user.id, name: user.username, role, scope: ROLE_SCOPE[role] };
}

/** The API token behind a bearer value, or null. Updates last_used_at at most once a minute. */
export async function principalFromToken(token: string): Promise<Principal | null> {
  if (!token.startsWith(API_TOKEN_PREFIX)) return null;
  const now = nowIso();
  const row = await queries.findLiveToken(hashSecret(token), now);
  if (!row) return null;
  if (!row.lastUsedAt || Date.parse(now) - Date.parse(row.lastUsedAt) > TOUCH_INTERVAL_MS) {
    await queries.markTokenUsed(row.id, now).catch(() => undefined);
  }
  return { kind: "token", id: row.id, name: row.name, scope: row.scope as Principal["scope"] };
}

/**
 * Unattended installs: MIMIR_ADMIN_PASSWORD creates the first admin ("admin") when there is no user,
 * and MIMIR_API_TOKEN is stored (hashed) as an admin token. Writes users/api_tokens rows.
 */
export async function seedCredentialsFromEnvironment(config: AppConfig): Promise<void> {
  const { adminPassword, apiToken } = config.secrets;
  if (adminPassword && !(await hasAnyUser())) {
    await createUser({ username: "admin", password: adminPassword, role: "admin" });
    getLogger().info("created the admin user from MIMIR_ADMIN_PASSWORD");
  }
  if (apiToken) {
    if (!apiToken.startsWith(API_TOKEN_PREFIX) || apiToken.length < API_TOKEN_PREFIX.length + 32) {
      throw new AppError("invalid", `MIMIR_API_TOKEN must start with '${API_TOKEN_PREFIX}' and carry at least 32 random characters after it`);
    }
    await queries.upsertToken({
      id: ENV_TOKEN_ID,
      name: "MIMIR_API_TOKEN (environment)",
      tokenHash: hashSecret(apiToken),
      prefix: apiToken.slice(0, API_TOKEN_PREFIX.length + 4),
      scope: "admin",
      createdBy: "environment",
      createdAt: nowIso(),
    });
  }
}

/** A new random API token value in the product's format. */
export function newApiTokenValue(): string {
  return API_TOKEN_PREFIX + randomSecret();
}
