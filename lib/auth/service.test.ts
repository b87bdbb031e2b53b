import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { rawSql } from "@/test/helpers/postgres";
import { createUser, principalFromSession, principalFromToken, signIn, signOut, verifyUserPassword } from "@/lib/auth/service";
import { createApiToken, listApiTokens, revokeApiToken } from "@/lib/auth/tokens";
import { deleteUser, listUsers, updateUser } from "@/lib/auth/users";
import { listAuditLog } from "@/lib/audit/service";
import type { Principal } from "@/lib/auth/scopes";

let root: TestDataRoot;
const meta = { ip: "192.0.2.1", userAgent: "vitest" };
const system: Principal = { kind: "token", id: "t", name: "test", scope: "admin" };

beforeEach(() => {
  root = createTestDataRoot();
});
afterEach(() => root.cleanup());

describe("sign-in", () => {
  test("rotates the session: signing in again ends the session the browser held before", async () => {
    await createUser({ username: "alice", password: "alice-password-1", role: "admin" });
    const first = await signIn("alice", "alice-password-1", meta);
    expect(await principalFromSession(first.sessionToken)).toMatchObject({ name: "alice", scope: "admin" });
    const second = await signIn("alice", "alice-password-1", meta, first.sessionToken);
    expect(await principalFromSession(first.sessionToken)).toBeNull();
    expect(await principalFromSession(second.sessionToken)).not.toBeNull();
    await signOut(second.sessionToken);
    expect(await principalFromSession(second.sessionToken)).toBeNull();
  });

  test("an unknown user costs about as long as a wrong password for a known one", async () => {
    await createUser({ username: "alice", password: "alice-password-1", role: "admin" });
    const time = async (username: string) => {
      const started = performance.now();
      await signIn(username, "wrong-password", { ip: `198.51.100.${Math.random()}`, userAgent: null }).catch(() => undefined);
      return performance.now() - started;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time("alice"));
      unknown.push(await time(`ghost-${i}`));
    }
    // Both run one scrypt; a lookup-only path would be two orders of magnitude faster.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  }, 90_000); // scrypt-bound: dozens of hashes, slow on a loaded 2-core runner running both backends

  test("sign-ins are audited, wrong ones as denied under the name typed", async () => {
    await createUser({ username: "alice", password: "alice-password-1", role: "admin" });
    await expect(signIn("alice", "nope-nope-nope", meta)).rejects.toMatchObject({ code: "unauthorized" });
    await signIn("alice", "alice-password-1", meta);
    const { items } = await listAuditLog({ limit: 10 });
    expect(items.map((e) => [e.action, e.actor, e.result, e.ip])).toEqual([
      ["session.sign_in", "alice", "ok", "192.0.2.1"],
      ["session.sign_in", "alice", "denied", "192.0.2.1"],
    ]);
  });

  test("re-authentication accepts the right password and refuses a wrong one", async () => {
    const alice = await createUser({ username: "alice", password: "alice-password-1", role: "admin" });
    await expect(verifyUserPassword(alice.id, "alice-password-1", meta)).resolves.toBeUndefined();
    await expect(verifyUserPassword(alice.id, "wrong", meta)).rejects.toMatchObject({ code: "reauth_failed", status: 403 });
  });
});

describe("API tokens", () => {
  test("are stored as a hash only, work until revoked, and expire", async () => {
    const created = await createApiToken({ name: "script", scope: "write" }, system);
    expect(created.token).toMatch(/^mimir_[A-Za-z0-9_-]{43}$/);
    const stored = JSON.stringify(await rawSql("SELECT * FROM api_tokens"));
    expect(stored).not.toContain(created.token);
    expect(await principalFromToken(created.token)).toMatchObject({ kind: "token", name: "script", scope: "write" });
    const listed = await listApiTokens({ limit: 10, include_inactive: false });
    expect(listed.items.map((t) => t.name)).toEqual(["script"]);
    expect(JSON.stringify(listed)).not.toContain(created.token);
    await revokeApiToken(created.id);
    expect(await principalFromToken(created.token)).toBeNull();
    expect((await listApiTokens({ limit: 10, include_inactive: false })).items).toEqual([]);
    expect((await listApiTokens({ limit: 10, include_inactive: true })).items[0]!.status).toBe("revoked");

    const expiring = await createApiToken({ name: "short", scope: "read", expires_in_days: 1 }, system);
    await rawSql("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?", expiring.id);
    expect(await principalFromToken(expiring.token)).toBeNull();
  });

  test("pages through active tokens with full pages even when revoked ones sit between", async () => {
    for (let i = 0; i < 7; i++) {
      const token = await createApiToken({ name: `t${i}`, scope: "read" }, system);
      if (i % 2 === 1) await revokeApiToken(token.id);
    }
    const first = await listApiTokens({ limit: 2, include_inactive: false });
    expect(first.items).toHaveLength(2);
    const second = await listApiTokens({ limit: 2, include_inactive: false, cursor: first.next_cursor! });
    expect(second.items).toHaveLength(2);
    expect(second.next_cursor).toBeNull();
    expect(new Set([...first.items, ...second.items].map((t) => t.name))).toEqual(new Set(["t0", "t2", "t4", "t6"]));
  });
});

describe("users", () => {
  test("the last enabled admin can be neither disabled, demoted nor deleted, and nobody changes their own account", async () => {
    const alice = await createUser({ username: "alice", password: "alice-password-1", role: "admin" });
    const bob = await createUser({ username: "bob", password: "bob-password-12", role: "viewer" });
    const actor: Principal = { kind: "user", id: bob.id, name: "bob", scope: "admin" };
    await expect(updateUser(alice.id, { disabled: true }, actor)).rejects.toMatchObject({ code: "last_admin", status: 409 });
    await expect(updateUser(alice.id, { role: "viewer" }, actor)).rejects.toMatchObject({ code: "last_admin" });
    await expect(deleteUser(alice.id, actor)).rejects.toMatchObject({ code: "last_admin" });
    const self: Principal = { kind: "user", id: alice.id, name: "alice", scope: "admin" };
    await expect(updateUser(alice.id, { role: "viewer" }, self)).rejects.toMatchObject({ code: "self_change" });
    await expect(createUser({ username: "alice", password: "another-password", role: "viewer" })).rejects.toMatchObject({
      code: "already_exists",
      status: 409,
    });
  });

  test("disabling a user ends their sessions at once; deleting removes them", async () => {
    await createUser({ username: "alice", password: "alice-password-1", role: "admin" });
    const bob = await createUser({ username: "bob", password: "bob-password-12", role: "viewer" });
    const session = await signIn("bob", "bob-password-12", meta);
    const actor: Principal = { kind: "token", id: "t", name: "ops", scope: "admin" };
    await updateUser(bob.id, { disabled: true }, actor);
    expect(await principalFromSession(session.sessionToken)).toBeNull();
    await expect(signIn("bob", "bob-password-12", meta)).rejects.toMatchObject({ code: "unauthorized" });
    await updateUser(bob.id, { disabled: false }, actor);
    await signIn("bob", "bob-password-12", meta);
    await deleteUser(bob.id, actor);
    expect((await listUsers({ limit: 10 })).items.map((u) => u.username)).toEqual(["alice"]);
  });
});
