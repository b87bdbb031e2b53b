import { afterEach, beforeEach, expect, test } from "vitest";
import Database from "better-sqlite3";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createApiToken } from "@/lib/auth/tokens";
import { createUser, principalFromToken } from "@/lib/auth/service";
import { getDb } from "@/lib/db/client";
import type { Principal } from "@/lib/auth/scopes";
import { isWriteLockHeldElsewhere } from "@/lib/db/dialect";
import { heartbeat, joinDeployment, leaveDeployment } from "@/lib/scheduler/cluster";
import { currentInstanceId } from "@/lib/instances/service";

const LONGER_THAN_THE_TEST_MS = 600_000;
let root: TestDataRoot;
let admin: Principal;

beforeEach(async () => {
  root = createTestDataRoot();
  const user = await createUser({ username: "boss", password: "boss-password-long", role: "admin" });
  admin = { kind: "user", id: user.id, name: user.username, role: "admin", scope: "admin" };
});
afterEach(() => root.cleanup());

function lastUsedAt(id: string): string | null {
  return (getDb().$client.prepare("SELECT last_used_at FROM api_tokens WHERE id = ?").get(id) as { last_used_at: string | null }).last_used_at;
}

// A VACUUM or a long cleanup batch in another connection holds the write lock for seconds: a request
// must not wait it out with the event loop stopped just to note when a token was last used.
test("a request authenticates at once while another connection holds the write lock, and notes the use once it is free", async () => {
  const token = await createApiToken({ name: "script", scope: "read" }, admin);
  // A wait for the lock would now outlast the test's own timeout: the test fails rather than passes slowly.
  getDb().$client.pragma(`busy_timeout = ${LONGER_THAN_THE_TEST_MS}`);
  const other = new Database(root.config.paths.database);
  other.exec("BEGIN IMMEDIATE");
  try {
    expect(await principalFromToken(token.token)).toMatchObject({ kind: "token", scope: "read" });
    expect(lastUsedAt(token.id)).toBeNull();
  } finally {
    other.exec("ROLLBACK");
    other.close();
  }
  expect(getDb().$client.pragma("busy_timeout", { simple: true })).toBe(LONGER_THAN_THE_TEST_MS);
  await principalFromToken(token.token);
  expect(lastUsedAt(token.id)).not.toBeNull();
});

function leaseUntil(): string {
  return (getDb().$client.prepare("SELECT lease_until FROM instances WHERE id = ?").get(currentInstanceId()) as { lease_until: string }).lease_until;
}

// The heartbeat renews the lease every few seconds: during a VACUUM in its child (which holds the
// write lock for its whole run) a round that waited for the lock froze every request for seconds.
test("the instance heartbeat skips a round while another connection holds the write lock, and renews after", async () => {
  await joinDeployment(null);
  try {
    const before = leaseUntil();
    getDb().$client.pragma(`busy_timeout = ${LONGER_THAN_THE_TEST_MS}`);
    const other = new Database(root.config.paths.database);
    other.exec("BEGIN IMMEDIATE");
    try {
      expect(isWriteLockHeldElsewhere()).toBe(true);
      await heartbeat();
      expect(leaseUntil()).toBe(before);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    expect(getDb().$client.pragma("busy_timeout", { simple: true })).toBe(LONGER_THAN_THE_TEST_MS);
    expect(isWriteLockHeldElsewhere()).toBe(false);
    const clock = Date.now();
    while (Date.now() <= clock + 1) await new Promise((resolve) => setImmediate(resolve));
    await heartbeat();
    expect(leaseUntil() > before).toBe(true);
  } finally {
    await leaveDeployment();
  }
});
