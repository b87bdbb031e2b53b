import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { rawSql } from "@/test/helpers/postgres";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { fillDataRoot } from "@/test/helpers/backup-fixtures";
import { startTestS3Server, startTestWebDavServer, type TestServer } from "@/test/helpers/offsite-servers";
import { sha256Of } from "@/test/helpers/remote-store-checks";
import { listOperations, waitForOperation } from "@/lib/operations/service";
import { deleteBackup, restoreBackup, startBackup } from "@/lib/backups/service";
import { replacedDataRemoved } from "@/lib/backups/restore-set";
import type { BackupManifest } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";
import { createDestination, testDestination } from "@/lib/offsite/destinations";
import { listBackupsWithCopies } from "@/lib/offsite/catalog";
import { listRemoteSets, pullSet } from "@/lib/offsite/remote-sets";
import { PARTIAL_MARK } from "@/lib/offsite/stores/folder";
import { createS3Store, type S3Settings } from "@/lib/offsite/stores/s3";
import type { WebDavSettings } from "@/lib/offsite/stores/webdav";
import type { CreateDestinationInput } from "@/lib/offsite/inputs";

// The S3 and WebDAV kinds end to end, through the registry, the copy engine and the pull, against
// the real servers of test/helpers/offsite-servers.ts (s3rver; Apache mod_dav_fs) on loopback.

let root: TestDataRoot;
let s3: TestServer<S3Settings>;
let dav: TestServer<WebDavSettings>;

beforeAll(async () => {
  [s3, dav] = await Promise.all([startTestS3Server(), startTestWebDavServer()]);
});
afterAll(async () => {
  await Promise.all([s3?.stop(), dav?.stop()]);
});
afterEach(async () => {
  await replacedDataRemoved();
  root?.cleanup();
});

async function setUp() {
  // Loopback is refused by the outbound guard unless the operator allows it (README: Outbound connections).
  root = createTestDataRoot({ MIMIR_ALLOWED_DESTINATIONS: `${s3.allow}, ${dav.allow}` });
  await fillDataRoot(root.config);
}

const jobIds = async () => (await rawSql<{ id: string }>("SELECT id FROM scheduled_jobs ORDER BY id")).map((row) => row.id);

async function backUp(): Promise<BackupManifest> {
  const before = (await listOperations({ limit: 1000, kind: "offsite_copy" })).items.length;
  const op = await waitForOperation((await startBackup(null, "manual")).id);
  expect(op.error).toBeNull();
  const id = (op.result as { backup_id: string }).backup_id;
  const copies = (await listOperations({ limit: 1000, kind: "offsite_copy" })).items;
  if (copies.length > before) await waitForOperation(copies[0]!.id);
  return JSON.parse(fs.readFileSync(path.join(root.config.paths.backups, id, "manifest.json"), "utf8"));
}

function common(kind: "s3" | "webdav"): Omit<CreateDestinationInput, "settings" | "secrets"> {
  return {
    kind,
    name: `${kind}-${crypto.randomBytes(3).toString("hex")}`,
    enabled: true,
    require_encrypted: false,
    keep_days: null,
    keep_min: 3,
  } as Omit<CreateDestinationInput, "settings" | "secrets">;
}

/** Deletes the local set and a job, pulls the set back and restores: the job is there again. */
async function pullBackAndRestore(destinationId: string, manifest: BackupManifest): Promise<void> {
  await rawSql("DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
  await deleteBackup(manifest.id, null);
  expect((await listRemoteSets(destinationId)).map((set) => [set.id, set.complete, set.local])).toEqual([[manifest.id, true, false]]);
  const pulled = await pullSet(destinationId, manifest.id);
  expect(pulled.verify_status).toBe("ok");
  await restoreBackup(manifest.id, VOLUMES);
  expect(await jobIds()).toEqual(["job-nightly", "job-weekly"]);
}

describe("S3 destination (s3rver on loopback)", () => {
  test("a set made with an S3 destination appears on the S3 server with the manifest's sha256s; delete the local set, pull it back, restore", async () => {
    await setUp();
    const prefix = `mimir/${crypto.randomBytes(3).toString("hex")}`;
    const destination = await createDestination({
      ...common("s3"),
      settings: { endpoint: s3.settings.endpoint, region: s3.settings.region, bucket: s3.settings.bucket, prefix, path_style: true, access_key_id: "S3RVER" },
      secrets: { secret_access_key: "S3RVER" },
    } as CreateDestinationInput);
    expect(JSON.stringify(destination)).not.toMatch(/"secret_access_key":/);
    expect(destination.secrets_set).toEqual(["secret_access_key"]);
    const tested = await testDestination(destination.id);
    expect(tested).toMatchObject({ ok: true, error: null });

    const manifest = await backUp();
    // Read straight from the server, under the prefix, with a store of its own (not the destination's).
    const server = createS3Store({ ...s3.settings, prefix });
    for (const volume of VOLUMES) {
      const archive = manifest.archives[volume];
      expect(await sha256Of(await server.get(`${manifest.id}/${archive.file}`))).toEqual({ sha256: archive.sha256, size: archive.bytes });
    }
    const manifestBytes = fs.readFileSync(path.join(root.config.paths.backups, manifest.id, "manifest.json"));
    expect(await sha256Of(await server.get(`${manifest.id}/manifest.json`))).toEqual({
      sha256: crypto.createHash("sha256").update(manifestBytes).digest("hex"),
      size: manifestBytes.length,
    });
    const [listed] = (await listBackupsWithCopies({ limit: 10 })).items;
    expect(listed!.copies).toMatchObject([{ destination: destination.id, status: "verified", error: null }]);

    await pullBackAndRestore(destination.id, manifest);
  }, 120_000);
});

describe("WebDAV destination (Apache mod_dav_fs on loopback)", () => {
  test("a set made with a WebDAV destination appears on the server's disk with the manifest's sha256s and no temporary names; pull it back, restore", async () => {
    await setUp();
    const destination = await createDestination({
      ...common("webdav"),
      settings: { url: dav.settings.url, user: dav.settings.username },
      secrets: { password: dav.settings.password },
    } as CreateDestinationInput);
    expect(JSON.stringify(destination)).not.toContain(dav.settings.password!);
    expect((await testDestination(destination.id)).ok).toBe(true);

    const manifest = await backUp();
    for (const volume of VOLUMES) {
      const archive = manifest.archives[volume];
      const file = path.join(dav.dataDir, manifest.id, archive.file);
      expect(crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex")).toBe(archive.sha256);
    }
    expect(fs.readFileSync(path.join(dav.dataDir, manifest.id, "manifest.json"))).toEqual(
      fs.readFileSync(path.join(root.config.paths.backups, manifest.id, "manifest.json")),
    );
    expect(fs.readdirSync(path.join(dav.dataDir, manifest.id), { recursive: true }).filter((name) => String(name).includes(PARTIAL_MARK))).toEqual([]);
    const [listed] = (await listBackupsWithCopies({ limit: 10 })).items;
    expect(listed!.copies).toMatchObject([{ destination: destination.id, status: "verified", error: null }]);

    await pullBackAndRestore(destination.id, manifest);
  }, 120_000);
});
