import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { rawSql } from "@/test/helpers/postgres";
import { createUser, principalFromToken, seedCredentialsFromEnvironment } from "@/lib/auth/service";
import { createApiToken, getApiToken } from "@/lib/auth/tokens";
import { deleteUser, updateUser } from "@/lib/auth/users";
import { loadConfig } from "@/lib/config/load";
import type { Principal } from "@/lib/auth/scopes";

let root: TestDataRoot;
let boss: Principal;
let owner: Principal;

beforeEach(async () => {
  root = createTestDataRoot();
  const first = await createUser({ username: "boss", password: "boss-password-long", role: "admin" });
  const second = await createUser({ username: "admin2", password: "admin2-password-long", role: "admin" });
  boss = { kind: "user", id: first.id, name: first.username, role: "admin", scope: "admin" };
  owner = { kind: "user", id: second.id, name: second.username, role: "admin", scope: "admin" };
});
afterEach(() => root.cleanup());

describe("a token belongs to the account that created it", () => {
  test("deleting the user ends the token", async () => {
    const token = await createApiToken({ name: "admin2-script", scope: "admin" }, owner);
    expect(token.owner_user_id).toBe(owner.id);
    expect(await principalFromToken(token.token)).toMatchObject({ scope: "admin" });
    await deleteUser(owner.id, boss);
    expect(await principalFromToken(token.token)).toBeNull();
    expect((await getApiToken(token.id)).status).toBe("revoked");
  });

  test("disabling the user ends the token, and enabling the user again does not bring it back", async () => {
    const token = await createApiToken({ name: "admin2-script", scope: "write" }, owner);
    await updateUser(owner.id, { disabled: true }, boss);
    expect(await principalFromToken(token.token)).toBeNull();
    await updateUser(owner.id, { disabled: false }, boss);
    expect(await principalFromToken(token.token)).toBeNull();
  });

  test("demoting the user narrows the token to the new role's scope, checked at each request", async () => {
    const adminToken = await createApiToken({ name: "admin2-admin", scope: "admin" }, owner);
    const readToken = await createApiToken({ name: "admin2-read", scope: "read" }, owner);
    await updateUser(owner.id, { role: "viewer" }, boss);
    expect(await principalFromToken(adminToken.token)).toMatchObject({ scope: "read" });
    expect(await principalFromToken(readToken.token)).toMatchObject({ scope: "read" });
    await updateUser(owner.id, { role: "admin" }, boss);
    expect(await principalFromToken(adminToken.token)).toMatchObject({ scope: "admin" });
  });

  test("a token made by a token belongs to that token's owner", async () => {
    const parent = await createApiToken({ name: "admin2-parent", scope: "admin" }, owner);
    const child = await createApiToken({ name: "admin2-child", scope: "write" }, (await principalFromToken(parent.token))!);
    expect(child.owner_user_id).toBe(owner.id);
    await deleteUser(owner.id, boss);
    expect(await principalFromToken(child.token)).toBeNull();
  });

  test("a user removed behind the service's back (a database edit) still ends the token: the owner is checked per request", async () => {
    const token = await createApiToken({ name: "admin2-script", scope: "admin" }, owner);
    await rawSql("DELETE FROM users WHERE id = ?", owner.id);
    expect(await principalFromToken(token.token)).toBeNull();
  });

  test("the MIMIR_API_TOKEN token has no owner, keeps its admin scope while the variable is set, and ends once it is unset", async () => {
    const value = "mimir_envtoken0123456789abcdef0123456789abcdef";
    await seedCredentialsFromEnvironment(loadConfig({ MIMIR_HOME: root.home, MIMIR_API_TOKEN: value }, root.home));
    expect(await principalFromToken(value)).toMatchObject({ scope: "admin", ownerUserId: null });
    await seedCredentialsFromEnvironment(loadConfig({ MIMIR_HOME: root.home }, root.home));
    expect(await principalFromToken(value)).toBeNull();
    await seedCredentialsFromEnvironment(loadConfig({ MIMIR_HOME: root.home, MIMIR_API_TOKEN: value }, root.home));
    expect(await principalFromToken(value)).toMatchObject({ scope: "admin" });
  });
});
