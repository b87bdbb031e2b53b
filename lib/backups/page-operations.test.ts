import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { cancelRunningOperationsForShutdown, shutdownReason, startOperation, waitForOperation } from "@/lib/operations/service";
import { AppError } from "@/lib/errors";
import { findFailedLatestBackup, listBackupPageOperations } from "@/lib/backups/page-operations";
import type { Principal } from "@/lib/auth/scopes";

/** What the Backups page shows besides the sets: B5 (a stale restore message) and B3 (a failed or interrupted backup). */
let root: TestDataRoot;
const alice: Principal = { kind: "user", id: "u-alice", name: "alice", scope: "admin", role: "admin" };
const bob: Principal = { kind: "user", id: "u-bob", name: "bob", scope: "read", role: "viewer" };
const MINUTE_MS = 60_000;

beforeAll(() => {
  root = createTestDataRoot();
});
afterAll(() => root.cleanup());

describe("a finished restore's outcome on the Backups page (B5)", () => {
  test("is shown to the person who restored, for a few minutes, and to nobody else", async () => {
    const restore = await startOperation({ kind: "restore", principal: alice, exclusive: true }, async () => ({
      backup_id: "20260101-000000",
      safety_backup_id: "20260101-000100",
    }));
    await waitForOperation(restore.id);
    expect((await listBackupPageOperations(alice)).map((op) => op.id)).toEqual([restore.id]);
    // Another user, a viewer, does not get someone else's restore message.
    expect(await listBackupPageOperations(bob)).toEqual([]);
    // Nor does its author once the moment has passed (a restart does not bring it back either: it is read from the row's time).
    expect(await listBackupPageOperations(alice, Date.now() + 20 * MINUTE_MS)).toEqual([]);
  });
});

describe("the latest backup attempt when it did not succeed (B3)", () => {
  test("is found while it is the latest, and forgotten once a backup succeeds", async () => {
    const failed = await startOperation({ kind: "backup", principal: alice, singleton: true }, async () => {
      throw new AppError("insufficient_disk", "No space left on the backup disk");
    });
    await waitForOperation(failed.id);
    expect(await findFailedLatestBackup()).toMatchObject({ id: failed.id, status: "failed", error: { code: "insufficient_disk" } });

    const good = await startOperation({ kind: "backup", principal: alice, singleton: true }, async () => ({ backup_id: "20260101-000200" }));
    await waitForOperation(good.id);
    expect(await findFailedLatestBackup()).toBeNull();
  });

  test("a backup cancelled by a server stop is recorded with the stop as its reason", async () => {
    const held = await startOperation(
      { kind: "backup", principal: alice, singleton: true },
      (ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))),
    );
    expect(cancelRunningOperationsForShutdown(shutdownReason("SIGTERM"))).toContain(held.id);
    const ended = await waitForOperation(held.id);
    expect(ended).toMatchObject({ status: "cancelled", error: { code: "interrupted", message: expect.stringContaining("SIGTERM") } });
    expect(await findFailedLatestBackup()).toMatchObject({ id: held.id });
  });
});
