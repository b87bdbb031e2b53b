import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { rawSql } from "@/test/helpers/postgres";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { fillDataRoot, volumesHashes } from "@/test/helpers/backup-fixtures";
import { cancelOperation, getOperation, waitForOperation } from "@/lib/operations/service";
import { startBackup, startRestore } from "@/lib/backups/service";
import { onPhasePoint, phasePoint } from "@/lib/backups/crash-points";
import { replacedDataRemoved } from "@/lib/backups/restore-set";
import { createUser } from "@/lib/auth/service";
import { createApiToken, revokeApiToken } from "@/lib/auth/tokens";
import { updateUser } from "@/lib/auth/users";
import { authenticate } from "@/lib/auth/request";
import { listAuditLog, recordAudit } from "@/lib/audit/service";
import type { Principal } from "@/lib/auth/scopes";
import type { OperationDto } from "@/lib/operations/types";
import { createChannelInput } from "@/lib/notify/inputs";
import { createChannel, deleteChannel, listChannels, updateChannel } from "@/lib/notify/service";
import { openJson, SECRET_KEY_FILE } from "@/lib/secrets/sealed";

let root: TestDataRoot;
const removeHooks: (() => void)[] = [];

beforeEach(async () => {
  root = createTestDataRoot();
  await fillDataRoot(root.config);
});
afterEach(async () => {
  for (const remove of removeHooks.splice(0)) remove();
  await replacedDataRemoved();
  root.cleanup();
});

async function adminPrincipal(): Promise<Principal> {
  const user = await createUser({ username: "root-admin", password: "correct horse battery", role: "admin" });
  return { kind: "user", id: user.id, name: user.username, role: "admin", scope: "admin" };
}

async function backUp(): Promise<string> {
  const op = await waitForOperation((await startBackup(null, "manual")).id);
  expect(op.status).toBe("succeeded");
  return (op.result as { backup_id: string }).backup_id;
}

const bearer = async (token: string) => (await authenticate({ authorization: `Bearer ${token}`, sessionToken: null }))?.principal ?? null;
const auditIds = async () => (await listAuditLog({ limit: 1000 })).items.map((entry) => entry.id);

describe("a restore of mimir_data keeps the live access decisions and the audit trail", () => {
  test("a token revoked, a token expired, a user disabled and audit rows written after the set stay so; the restore adds one audit row", async () => {
    const admin = await adminPrincipal();
    const revoked = await createApiToken({ name: "to-revoke", scope: "admin" }, admin);
    const expiring = await createApiToken({ name: "to-expire", scope: "admin" }, admin);
    const offboarded = await createUser({ username: "leaver", password: "long enough password", role: "admin" });
    const setId = await backUp();

    await revokeApiToken(revoked.id);
    await rawSql("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?", expiring.id);
    await updateUser(offboarded.id, { disabled: true }, admin);
    for (let i = 0; i < 5; i++) await recordAudit({ principal: admin, action: "storage.measure", target: String(i), result: "ok" });
    const idsBefore = await auditIds();
    expect(await bearer(revoked.token)).toBeNull();
    expect(await bearer(expiring.token)).toBeNull();

    const op = await waitForOperation((await startRestore(setId, { confirm: setId, volumes: ["mimir_data"] }, admin)).id);
    expect(op.status).toBe("succeeded");
    expect((op.result as { access_and_audit: unknown }).access_and_audit).toMatchObject({
      same_instance: true,
      kept: ["users", "sessions", "api_tokens", "audit_log", "notification_channels", "offsite_destinations", "offsite_copies"],
    });

    expect(await bearer(revoked.token)).toBeNull();
    expect(await bearer(expiring.token)).toBeNull();
    const [leaver] = await rawSql<{ disabled_at: unknown }>("SELECT disabled_at FROM users WHERE id = ?", offboarded.id);
    expect(leaver!.disabled_at).not.toBeNull();

    const after = (await listAuditLog({ limit: 1000 })).items;
    expect(after.map((entry) => entry.id)).toEqual(expect.arrayContaining(idsBefore));
    const restoreRows = after.filter((entry) => entry.action === "backup.restore");
    expect(restoreRows).toHaveLength(1);
    expect(restoreRows[0]).toMatchObject({ actor: "root-admin", actor_type: "user", target: setId, result: "ok", details: { volumes: ["mimir_data"] } });
    expect(fs.existsSync(path.join(root.config.paths.backups, ".restore-kept-tables.db"))).toBe(false);
  });

  test("the live notification channels are kept: one deleted after the set stays deleted, one disabled stays disabled with its new credentials, one added stays", async () => {
    const admin = await adminPrincipal();
    const webhook = (name: string, url: string) => createChannel(createChannelInput.parse({ kind: "webhook", name, secrets: { url } }));
    const deleted = await webhook("deleted-after-the-set", "https://hooks.example.com/old-credential");
    const rotated = await webhook("rotated-after-the-set", "https://hooks.example.com/old-credential");
    const setId = await backUp();

    await deleteChannel(deleted.id);
    await updateChannel(rotated.id, { enabled: false, secrets: { url: "https://hooks.example.com/new-credential" } });
    const added = await webhook("added-after-the-set", "https://hooks.example.com/added");
    const sealedBefore = await rawSql("SELECT id, secrets FROM notification_channels ORDER BY id");

    const op = await waitForOperation((await startRestore(setId, { confirm: setId, volumes: ["mimir_data"] }, admin)).id);
    expect(op.status).toBe("succeeded");

    const channels = (await listChannels()).filter((channel) => !channel.from_config);
    expect(channels.map((channel) => channel.name).sort()).toEqual([added.name, rotated.name]);
    expect(channels.find((channel) => channel.id === rotated.id)?.enabled).toBe(false);
    expect(await rawSql("SELECT id, secrets FROM notification_channels ORDER BY id")).toEqual(sealedBefore);
  });

  test("a set from another deployment (moving to a new host) brings its own accounts, and the live audit rows are appended, not lost", async () => {
    const admin = await adminPrincipal();
    const setId = await backUp();
    await createUser({ username: "only-on-new-host", password: "long enough password", role: "viewer" });
    await recordAudit({ principal: admin, action: "storage.measure", result: "ok" });
    await rawSql("UPDATE system_metadata SET value = 'another-deployment' WHERE key = 'instance_id'");

    const op = await waitForOperation((await startRestore(setId, { confirm: setId, volumes: ["mimir_data"] }, admin)).id);
    expect(op.status).toBe("succeeded");
    expect((op.result as { access_and_audit: { same_instance: boolean } }).access_and_audit.same_instance).toBe(false);
    expect(await rawSql("SELECT CAST(count(*) AS INTEGER) AS n FROM users WHERE username = 'only-on-new-host'")).toEqual([{ n: 0 }]);
    expect((await listAuditLog({ limit: 1000, action: "storage.measure" })).items).toHaveLength(1);
  });
});

describe("the key that opens the sealed channel secrets stays out of backup sets", () => {
  const keyFile = () => path.join(root.config.paths.config, SECRET_KEY_FILE);
  const webhook = (name: string) => createChannel(createChannelInput.parse({ kind: "webhook", name, secrets: { url: `https://hooks.example.com/${name}` } }));

  test("a set's mimir_config archive, listed with stock tar, holds the rest of the config folder but not the key", async () => {
    await webhook("sealed-before-the-set");
    expect(fs.existsSync(keyFile())).toBe(true);
    const setId = await backUp();
    const listing = execFileSync("tar", ["tzf", path.join(root.config.paths.backups, setId, "mimir_config.tar.gz")], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    expect(listing.map((name) => name.replace(/^\.\//, ""))).toContain("notes.txt");
    expect(listing.filter((name) => path.basename(name) === SECRET_KEY_FILE)).toEqual([]);
  });

  test("a restore of every volume keeps the live key file (same bytes, 0600), so a channel sealed after the set still opens", async () => {
    const admin = await adminPrincipal();
    const setId = await backUp();
    const channel = await webhook("sealed-after-the-set");
    const key = fs.readFileSync(keyFile());

    const op = await waitForOperation((await startRestore(setId, { confirm: setId }, admin)).id);
    expect(op.status).toBe("succeeded");

    expect(fs.readFileSync(keyFile())).toEqual(key);
    expect(fs.statSync(keyFile()).mode & 0o777).toBe(0o600);
    const [row] = await rawSql<{ secrets: string }>("SELECT secrets FROM notification_channels WHERE id = ?", channel.id);
    expect(openJson(row!.secrets)).toEqual({ url: "https://hooks.example.com/sealed-after-the-set" });
    expect(fs.readFileSync(path.join(root.config.paths.config, "notes.txt"), "utf8")).toBe("kept beside config.yaml\n");
  });
});

describe("cancelling a restore", () => {
  async function restoreWithHook(phase: string, onPhase: (op: OperationDto) => Promise<void>) {
    const admin = await adminPrincipal();
    const setId = await backUp();
    fs.writeFileSync(path.join(root.config.paths.pipelines, "made-after-the-set.yaml"), "name: later\n");
    await rawSql("DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
    const before = volumesHashes(root.config);
    let started: OperationDto | null = null;
    let hookResult: Promise<void> | null = null;
    removeHooks.push(
      onPhasePoint(phase, () => {
        hookResult = onPhase(started!);
        return hookResult;
      }),
    );
    started = await startRestore(setId, { confirm: setId }, admin);
    const done = await waitForOperation(started.id);
    await hookResult;
    return { done, before, admin };
  }

  test("a cancel during extraction stops the restore with nothing changed on disk, and it is recorded as cancelled", async () => {
    const { done, before } = await restoreWithHook("restore.extracted:mimir_data", async (op) => {
      await cancelOperation(op.id, null);
    });
    expect(done.status).toBe("cancelled");
    expect(volumesHashes(root.config)).toEqual(before);
    expect(fs.existsSync(path.join(root.config.paths.pipelines, "made-after-the-set.yaml"))).toBe(true);
    expect(await rawSql("SELECT CAST(count(*) AS INTEGER) AS n FROM scheduled_jobs WHERE id = 'job-weekly'")).toEqual([{ n: 0 }]);
    for (const folder of [root.config.paths.data, root.config.paths.pipelines]) {
      expect(fs.readdirSync(folder).filter((name) => name.startsWith(".mimir-restore"))).toEqual([]);
    }
  });

  test("a cancel after the swap is refused with 409 too_late, and the restore is recorded as succeeded", async () => {
    let refusal: unknown = null;
    const { done } = await restoreWithHook("restore.after_reopen", async (op) => {
      refusal = await cancelOperation(op.id, null).catch((error: unknown) => error);
    });
    expect(refusal).toMatchObject({ code: "too_late", status: 409, message: expect.stringContaining("the restore is being applied") });
    expect(done.status).toBe("succeeded");
    expect(fs.existsSync(path.join(root.config.paths.pipelines, "made-after-the-set.yaml"))).toBe(false);
    expect(await rawSql("SELECT CAST(count(*) AS INTEGER) AS n FROM scheduled_jobs WHERE id = 'job-weekly'")).toEqual([{ n: 1 }]);
  });

  test("a write token cannot cancel a restore (403), which runs on", async () => {
    const writer: Principal = { kind: "token", id: "t-write", name: "ci-write", scope: "write" };
    let refusal: unknown = null;
    const { done } = await restoreWithHook("restore.after_extract", async (op) => {
      refusal = await cancelOperation(op.id, writer).catch((error: unknown) => error);
      expect((await getOperation(op.id)).status).toBe("running");
    });
    expect(refusal).toMatchObject({ code: "forbidden", status: 403 });
    expect(done.status).toBe("succeeded");
  });
});

test("phase points run the hook a test set, and only while it is set", async () => {
  const seen: string[] = [];
  const remove = onPhasePoint("test.phase", () => void seen.push("hook"));
  await phasePoint("test.phase");
  remove();
  await phasePoint("test.phase");
  expect(seen).toEqual(["hook"]);
});
