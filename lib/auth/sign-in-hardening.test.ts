import crypto from "node:crypto";
import { afterEach, beforeEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { rawSql } from "@/test/helpers/postgres";
import { ACCOUNT_FREE_FAILURES, createUser, principalFromSession, SECURE_SESSION_COOKIE, SESSION_COOKIE, signIn, signInWaitFor } from "@/lib/auth/service";
import { insertSignInFailures, pruneSignInFailures } from "@/lib/auth/queries";
import { sessionTokenFromCookieHeader } from "@/lib/auth/request";
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from "@/lib/auth/passwords";

let root: TestDataRoot;
beforeEach(() => {
  root = createTestDataRoot();
});
afterEach(() => root.cleanup());

const storedHash = async (username: string) =>
  (await rawSql<{ password_hash: string }>("SELECT password_hash FROM users WHERE username = ?", username))[0]!.password_hash;

test("strangers guessing the well-known admin account from several addresses do not lock the real admin out", async () => {
  await createUser({ username: "admin", password: "the-real-admin-password", role: "admin" });
  // More failures than the old per-account lock allowed (10), spread so no one address hits its own limit.
  for (let i = 0; i < 12; i++) {
    await expect(signIn("admin", `guess-${i}`, { ip: `203.0.113.${i % 3}`, userAgent: null })).rejects.toMatchObject({
      code: expect.stringMatching(/unauthorized|rate_limited/),
    });
  }
  const session = await signIn("admin", "the-real-admin-password", { ip: "198.51.100.20", userAgent: null });
  expect(await principalFromSession(session.sessionToken)).toMatchObject({ name: "admin" });
});

test("an address that failed on an account under attack must wait before its next try there", async () => {
  await createUser({ username: "admin", password: "the-real-admin-password", role: "admin" });
  for (let i = 0; i < ACCOUNT_FREE_FAILURES; i++) await signIn("admin", `guess-${i}`, { ip: `203.0.113.${i}`, userAgent: null }).catch(() => undefined);
  await expect(signIn("admin", "the-real-admin-password", { ip: "203.0.113.0", userAgent: null })).rejects.toMatchObject({
    code: "rate_limited",
    details: { retry_after_seconds: expect.any(Number) },
  });
});

test("scrypt runs at OWASP's floor (N=2^17, r=8, p=1), and so does the unknown-user check", async () => {
  expect((await hashPassword("a-password-long-enough")).split("$").slice(0, 4)).toEqual(["scrypt", "131072", "8", "1"]);
  expect(DUMMY_PASSWORD_HASH.split("$").slice(0, 4)).toEqual(["scrypt", "131072", "8", "1"]);
});

test("a hash made with the older parameters still signs in, and is replaced by one at today's", async () => {
  await createUser({ username: "veteran", password: "placeholder-password", role: "viewer" });
  const salt = crypto.randomBytes(16);
  const key = crypto.scryptSync("veteran-password-1", salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  const old = ["scrypt", 2 ** 15, 8, 1, salt.toString("base64url"), key.toString("base64url")].join("$");
  await rawSql("UPDATE users SET password_hash = ? WHERE username = 'veteran'", old);

  await signIn("veteran", "veteran-password-1", { ip: "192.0.2.9", userAgent: null });
  const renewed = await storedHash("veteran");
  expect(renewed.startsWith("scrypt$131072$8$1$")).toBe(true);
  expect(await verifyPassword("veteran-password-1", renewed)).toBe(true);
  await signIn("veteran", "veteran-password-1", { ip: "192.0.2.9", userAgent: null });
  expect(await storedHash("veteran")).toBe(renewed);
});

test("the session is read from the __Host- cookie (https) or the plain one, the prefixed one first", () => {
  expect(SECURE_SESSION_COOKIE).toBe(`__Host-${SESSION_COOKIE}`);
  expect(sessionTokenFromCookieHeader("__Host-mimir_session=abc; theme=dark")).toBe("abc");
  expect(sessionTokenFromCookieHeader("mimir_session=plain")).toBe("plain");
  expect(sessionTokenFromCookieHeader("mimir_session=plain; __Host-mimir_session=prefixed")).toBe("prefixed");
  expect(sessionTokenFromCookieHeader("other=1")).toBeNull();
});

test("wrong passwords are kept in the database: old ones are pruned, and a flood of made-up addresses stays under the cap", async () => {
  await createUser({ username: "admin", password: "the-real-admin-password", role: "admin" });
  const count = async () => Number((await rawSql<{ n: number | string }>("SELECT count(*) AS n FROM sign_in_failures"))[0]!.n);
  // A failure from before the longest window (15 min): read by no check, deleted by the next failure.
  await rawSql("INSERT INTO sign_in_failures (key_hash, failed_at) VALUES ('stale', ?)", new Date(Date.now() - 16 * 60_000).toISOString());
  await signIn("admin", "wrong-1", { ip: "203.0.113.50", userAgent: null }).catch(() => undefined);
  expect(await rawSql("SELECT 1 FROM sign_in_failures WHERE key_hash = 'stale'")).toHaveLength(0);
  // One wrong password: one row each for the client, the account and the pair; the name typed is not stored.
  expect(await count()).toBe(3);
  expect(JSON.stringify(await rawSql("SELECT * FROM sign_in_failures"))).not.toMatch(/admin|203\.0\.113/);

  for (let i = 0; i < 40; i++) await insertSignInFailures([`flood-${i}-a`, `flood-${i}-b`, `flood-${i}-c`]);
  expect(await count()).toBe(123);
  await pruneSignInFailures(15 * 60_000, 30);
  expect(await count()).toBe(30);
  // The newest stay: the last flood rows are still there, the real failure's rows went with the oldest.
  expect(await rawSql("SELECT 1 FROM sign_in_failures WHERE key_hash = 'flood-39-c'")).toHaveLength(1);
});

test("a right password clears the client's count, not the account's", async () => {
  await createUser({ username: "admin", password: "the-real-admin-password", role: "admin" });
  for (let i = 0; i < ACCOUNT_FREE_FAILURES + 1; i++)
    await signIn("admin", `guess-${i}`, { ip: `203.0.113.${60 + i}`, userAgent: null }).catch(() => undefined);
  await signIn("admin", "the-real-admin-password", { ip: "198.51.100.7", userAgent: null });
  expect(await signInWaitFor("admin", "203.0.113.60")).toBeGreaterThan(0);
  expect(await signInWaitFor("admin", "198.51.100.7")).toBe(0);
});
