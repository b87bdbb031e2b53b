import { afterEach, beforeEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { rawSql } from "@/test/helpers/postgres";
import { hashSecret } from "@/lib/auth/passwords";
import { createUser, principalFromSession, signIn } from "@/lib/auth/service";
import { runRetentionCleanup } from "@/lib/maintenance/retention";

let root: TestDataRoot;
beforeEach(() => {
  root = createTestDataRoot();
});
afterEach(() => root.cleanup());

const sessionCount = async () => (await rawSql<{ n: number }>("SELECT CAST(count(*) AS INTEGER) AS n FROM sessions"))[0]!.n;

test("the retention pass deletes the rows of sessions past their end or idle limit, keeps live ones, and a dry run deletes none", async () => {
  await createUser({ username: "alice", password: "alice-password-long", role: "admin" });
  const meta = { ip: "192.0.2.1", userAgent: null };
  const expired = await signIn("alice", "alice-password-long", meta);
  const idle = await signIn("alice", "alice-password-long", meta);
  const live = await signIn("alice", "alice-password-long", meta);
  await rawSql("UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id_hash = ?", hashSecret(expired.sessionToken));
  await rawSql("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", new Date(Date.now() - 3 * 3_600_000).toISOString(), hashSecret(idle.sessionToken));
  expect(await sessionCount()).toBe(3);

  expect((await runRetentionCleanup({ dry_run: true, retention_days: 30 })).expired_sessions_deleted).toBe(0);
  expect(await sessionCount()).toBe(3);

  const report = await runRetentionCleanup({ dry_run: false, retention_days: 30 });
  expect(report.expired_sessions_deleted).toBe(2);
  expect(await sessionCount()).toBe(1);
  expect(await principalFromSession(live.sessionToken)).toMatchObject({ name: "alice" });
  expect(await principalFromSession(expired.sessionToken)).toBeNull();
  expect(await principalFromSession(idle.sessionToken)).toBeNull();
});
