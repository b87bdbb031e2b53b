import "server-only";
import crypto from "node:crypto";
import { AppError } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import type { AppConfig } from "@/lib/config/load";
import { getLogger } from "@/lib/log/logger";
import { DUMMY_PASSWORD_HASH, hashPassword, hashSecret, needsRehash, randomSecret, verifyPassword } from "@/lib/auth/passwords";
import { narrowerScope, ROLE_SCOPE, type Principal, type Role, type Scope } from "@/lib/auth/scopes";
import * as queries from "@/lib/auth/queries";
import { createUserInput, type CreateUserInput } from "@/lib/auth/inputs";
import { failuresNeededPerKey, longestWindowMs, signInKeys, signInWaitMs, type SignInThrottleLimits } from "@/lib/auth/rate-limit";
import { recordAudit, recordRefusal } from "@/lib/audit/service";
import { createSerialQueue } from "@/lib/serial-queue";

export const SESSION_COOKIE = "mimir_session";
/**
 * The session cookie's name over https: with the __Host- prefix a browser accepts it only Secure, for
 * path / and without Domain, so a neighbouring subdomain can neither plant nor overwrite it.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/**
 * The session cookie's value: the __Host- one first, else the plain one (served over http, or set
 * before the prefix was used, which keeps working until it expires).
 */
export function readSessionCookie(get: (name: string) => string | null | undefined): string | null {
  return get(SECURE_SESSION_COOKIE) || get(SESSION_COOKIE) || null;
}
/** A browser session lasts a working day at most; signing in again rotates it. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** A session unused this long ends, so a browser left open on a shared desk does not stay signed in. */
export const SESSION_IDLE_MS = 2 * 60 * 60 * 1000;
/** last_seen_at and last_used_at are written at most this often, so page loads do not each cost a write. */
const TOUCH_INTERVAL_MS = 60 * 1000;
/** Wrong passwords allowed per client within the window; the next is refused unchecked, whatever the account. */
export const SIGN_IN_FAILURE_LIMIT = 10;
export const SIGN_IN_WINDOW_MS = 60 * 1000;
/**
 * An account takes this many wrong passwords within ACCOUNT_WINDOW_MS freely; then a client that has
 * failed on it waits 1 s, 2 s, 4 s… (at most ACCOUNT_MAX_DELAY_MS) after the account's last failure.
 */
export const ACCOUNT_FREE_FAILURES = 5;
export const ACCOUNT_WINDOW_MS = 15 * 60 * 1000;
const ACCOUNT_BASE_DELAY_MS = 1000;
export const ACCOUNT_MAX_DELAY_MS = 60 * 1000;
export const API_TOKEN_PREFIX = "mimir_";
/** The token seeded from MIMIR_API_TOKEN keeps this id, so a changed variable replaces it. */
const ENV_TOKEN_ID = "env-mimir-api-token";

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

const THROTTLE_LIMITS: SignInThrottleLimits = {
  clientLimit: SIGN_IN_FAILURE_LIMIT,
  clientWindowMs: SIGN_IN_WINDOW_MS,
  accountFreeFailures: ACCOUNT_FREE_FAILURES,
  accountWindowMs: ACCOUNT_WINDOW_MS,
  accountBaseDelayMs: ACCOUNT_BASE_DELAY_MS,
  accountMaxDelayMs: ACCOUNT_MAX_DELAY_MS,
};
/**
 * The most failure rows kept (three per wrong password): 30,000 wrong passwords within the longest
 * window, far above what the scrypt check lets one deployment answer; past it the oldest go first.
 */
export const SIGN_IN_FAILURE_ROWS_MAX = 90_000;

const accountKey = (username: string) => username.trim().toLowerCase();
const clientKey = (ip: string | null) => ip ?? "unknown";

/**
 * Milliseconds this client must wait before it may try this account, or 0: judged from the failures
 * every instance recorded (one query), on the database's clock. Reads only.
 */
export async function signInWaitFor(account: string, client: string): Promise<number> {
  const keys = signInKeys(account, client);
  const { now, rows } = await queries.selectRecentSignInFailures(
    [keys.client, keys.account, keys.pair],
    longestWindowMs(THROTTLE_LIMITS),
    failuresNeededPerKey(THROTTLE_LIMITS),
  );
  if (now === null) return 0;
  const timesOf = (key: string) =>
    rows
      .filter((row) => row.keyHash === key)
      .map((row) => Date.parse(row.failedAt))
      .sort((a, b) => a - b);
  return signInWaitMs({ client: timesOf(keys.client), account: timesOf(keys.account), pair: timesOf(keys.pair) }, THROTTLE_LIMITS, Date.parse(now));
}

/** Counts a wrong password against the client, the account and the pair. Inserts three rows; prunes old ones. */
async function recordSignInFailure(account: string, client: string): Promise<void> {
  const keys = signInKeys(account, client);
  await queries.insertSignInFailures([keys.client, keys.account, keys.pair]);
  await queries.pruneSignInFailures(longestWindowMs(THROTTLE_LIMITS), SIGN_IN_FAILURE_ROWS_MAX);
}

/** A right password: the client's and the pair's counts start again; the account's stay (others may still be guessing). Deletes rows. */
async function recordSignInSuccess(account: string, client: string): Promise<void> {
  const keys = signInKeys(account, client);
  await queries.deleteSignInFailures([keys.client, keys.pair]);
}

/**
 * Refuses (429) before any password is checked when the client has used up its wrong passwords, or
 * has failed on this account while the account's delay runs. Keyed on the name typed, not on whether
 * it exists, so the refusal says nothing about which accounts exist.
 */
async function assertNotThrottled(account: string, client: string): Promise<void> {
  const waitMs = await signInWaitFor(account, client);
  if (waitMs > 0) {
    const seconds = Math.ceil(waitMs / 1000);
    throw new AppError("rate_limited", `Too many wrong passwords; try again in ${seconds} s`, { details: { retry_after_seconds: seconds } });
  }
}

/**
 * Checks a user's password again before a destructive action (re-authentication). Wrong passwords
 * count towards the same per-account limit as sign-in. Throws 403 reauth_failed, or 429.
 */
export async function verifyUserPassword(userId: string, password: string, meta: RequestMeta): Promise<void> {
  const user = await queries.findUserById(userId);
  const account = accountKey(user?.username ?? userId);
  const client = clientKey(meta.ip);
  await assertNotThrottled(account, client);
  const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || user.disabledAt) {
    await recordSignInFailure(account, client);
    throw new AppError("reauth_failed", "That password is not right; nothing was changed");
  }
  await rehashIfWeak(user, password);
}

/** A hash made with weaker scrypt parameters is replaced by one of today's, now that the password is known right. Updates one users row. */
async function rehashIfWeak(user: { id: string; passwordHash: string }, password: string): Promise<void> {
  if (!needsRehash(user.passwordHash)) return;
  await queries.setPasswordHash(user.id, await hashPassword(password));
}

export async function hasAnyUser(): Promise<boolean> {
  return (await queries.countUsers()) > 0;
}

/** Creates a user; refuses a taken name (409). Inserts one row into users. */
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

const setupInTurn = createSerialQueue();

/**
 * First-run setup: creates the first admin, and only while there is no user at all. Calls run one
 * after another, so two browsers racing through setup cannot both become the first admin.
 */
export async function createFirstAdmin(input: { username: string; password: string }) {
  return setupInTurn(async () => {
    if (await hasAnyUser()) throw new AppError("conflict", "Setup is already done: sign in instead");
    return createUser({ ...input, role: "admin" });
  });
}

/**
 * Checks a user name and password and opens a session; returns the cookie value (shown to the browser
 * only). Unknown users cost the same scrypt as known ones; a client's 11th wrong password within a
 * minute is refused unchecked, and a client that failed on an account under attack waits out the
 * account's growing delay (lib/auth/rate-limit.ts), counted across instances. A hash of older parameters is replaced. `replacing` is the
 * browser's previous session, ended here so a session id planted before sign-in never becomes an
 * authenticated one. Inserts one row into sessions, deletes the replaced one, and writes an audit row
 * (refusals fold into one row per account tried and address a minute).
 */
export async function signIn(username: string, password: string, meta: RequestMeta, replacing?: string | null) {
  const name = username.trim();
  const account = accountKey(name);
  const client = clientKey(meta.ip);
  try {
    await assertNotThrottled(account, client);
  } catch (error) {
    // Logged, not audited: a refusal costs the caller nothing, so rows for it would let anyone fill the database.
    getLogger().warn("sign-in refused: too many wrong passwords", { username: name.slice(0, 64), ip: meta.ip });
    throw error;
  }
  const user = await queries.findUserByName(name);
  const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
  if (!user || !ok || user.disabledAt) {
    await recordSignInFailure(account, client);
    // Folded per account tried (or "anonymous" for a name that is no account: never free text a stranger
    // chose) and address per minute, so guessing cannot fill the table.
    await recordRefusal({
      principal: null,
      actorName: user?.username,
      action: "session.sign_in",
      target: user?.username ?? null,
      result: "denied",
      ip: meta.ip,
      details: { reason: "wrong_credentials" },
    });
    throw new AppError("unauthorized", "Wrong user name or password");
  }
  await recordSignInSuccess(account, client);
  await rehashIfWeak(user, password);
  if (replacing) await queries.deleteSession(hashSecret(replacing));
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
  const role = user.role as Role;
  await recordAudit({
    principal: { kind: "user", id: user.id, name: user.username, role, scope: ROLE_SCOPE[role] },
    action: "session.sign_in",
    result: "ok",
    ip: meta.ip,
  });
  return { sessionToken: token, expiresAt: new Date(now + SESSION_TTL_MS), user: { id: user.id, username: user.username, role } };
}

/**
 * Deletes the rows of sessions that can no longer be used (past their 12 h end or idle for 2 h): the
 * daily retention pass calls it, so the table holds only live sessions. Returns how many went.
 */
export async function purgeExpiredSessions(now = Date.now()): Promise<number> {
  return queries.deleteExpiredSessions(new Date(now).toISOString(), new Date(now - SESSION_IDLE_MS).toISOString());
}

/** Ends a session. Deletes its row. */
export async function signOut(sessionToken: string): Promise<void> {
  await queries.deleteSession(hashSecret(sessionToken));
}

/** The signed-in user behind a session cookie value, or null. */
export async function principalFromSession(sessionToken: string): Promise<Principal | null> {
  const idHash = hashSecret(sessionToken);
  const now = Date.now();
  const found = await queries.findSessionUser(idHash, new Date(now).toISOString(), new Date(now - SESSION_IDLE_MS).toISOString());
  if (!found) return null;
  const { user, lastSeenAt } = found;
  if (now - Date.parse(lastSeenAt) > TOUCH_INTERVAL_MS) {
    await queries.touchSession(idHash, new Date(now).toISOString()).catch(() => undefined);
  }
  const role = user.role as Role;
  return { kind: "user", id: user.id, name: user.username, role, scope: ROLE_SCOPE[role] };
}

/** The API token behind a bearer value, or null. Updates last_used_at at most once a minute. */
export async function principalFromToken(token: string): Promise<Principal | null> {
  if (!token.startsWith(API_TOKEN_PREFIX)) return null;
  const now = nowIso();
  const row = await queries.findLiveToken(hashSecret(token), now);
  if (!row) return null;
  const { owner } = row;
  // Checked at every request, so deleting, disabling or demoting the owner takes effect at once
  // (and also after a restore or a database edit that bypassed the user service).
  if (row.ownerUserId !== null && (!owner || owner.disabledAt)) return null;
  if (!row.lastUsedAt || Date.parse(now) - Date.parse(row.lastUsedAt) > TOUCH_INTERVAL_MS) {
    await queries.markTokenUsed(row.id, now).catch(() => undefined);
  }
  const scope = owner ? narrowerScope(row.scope as Scope, ROLE_SCOPE[owner.role as Role]) : (row.scope as Scope);
  return { kind: "token", id: row.id, name: row.name, scope, ownerUserId: row.ownerUserId };
}

/**
 * Unattended installs: MIMIR_ADMIN_PASSWORD creates the first admin ("admin") when there is no user,
 * and MIMIR_API_TOKEN is stored (hashed) as an admin token owned by no account (it belongs to the
 * deployment and ends when the variable is unset). Writes users/api_tokens rows.
 */
export async function seedCredentialsFromEnvironment(config: AppConfig): Promise<void> {
  const { adminPassword, apiToken } = config.secrets;
  if (adminPassword && !(await hasAnyUser())) {
    await createUser({ username: "admin", password: adminPassword, role: "admin" });
    getLogger().info("created the admin user from MIMIR_ADMIN_PASSWORD");
  }
  if (!apiToken) {
    // The environment's token lives exactly as long as the variable: unsetting it is how it is withdrawn.
    await queries.revokeToken(ENV_TOKEN_ID, nowIso());
  } else {
    if (!apiToken.startsWith(API_TOKEN_PREFIX) || apiToken.length < API_TOKEN_PREFIX.length + 32) {
      throw new AppError("invalid", `MIMIR_API_TOKEN must start with '${API_TOKEN_PREFIX}' and carry at least 32 random characters after it`);
    }
    await queries.upsertToken({
      id: ENV_TOKEN_ID,
      name: "MIMIR_API_TOKEN (environment)",
      tokenHash: hashSecret(apiToken),
      prefix: tokenPrefix(apiToken),
      scope: "admin",
      createdBy: "environment",
      createdAt: nowIso(),
    });
  }
}

/** A new random API token value in the product's format: 256 random bits after the prefix. */
export function newApiTokenValue(): string {
  return API_TOKEN_PREFIX + randomSecret();
}

/** The first characters of a token, stored to recognise it in lists; 4 characters of 43 reveal nothing useful. */
export function tokenPrefix(token: string): string {
  return token.slice(0, API_TOKEN_PREFIX.length + 4);
}
