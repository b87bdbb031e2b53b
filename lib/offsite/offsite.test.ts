import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { rawSql } from "@/test/helpers/postgres";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { fillDataRoot } from "@/test/helpers/backup-fixtures";
import { startTestSshd, type TestSshd } from "@/test/helpers/sshd";
import { isAppError } from "@/lib/errors";
import { listOperations, waitForOperation } from "@/lib/operations/service";
import { deleteBackup, restoreBackup, startBackup } from "@/lib/backups/service";
import { replacedDataRemoved } from "@/lib/backups/restore-set";
import type { BackupManifest } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";
import { createDestination, getDestination, testDestination, updateDestination } from "@/lib/offsite/destinations";
import { copySetTo, startCopy } from "@/lib/offsite/copy";
import { listBackupsWithCopies, getBackupWithCopies } from "@/lib/offsite/catalog";
import { listRemoteSets, pruneDestination, pullSet } from "@/lib/offsite/remote-sets";
import { offsiteProblems } from "@/lib/offsite/freshness";
import type { CreateDestinationInput } from "@/lib/offsite/inputs";

let root: TestDataRoot;
let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startTestSshd();
});
afterAll(async () => {
  await sshd?.stop();
});
afterEach(async () => {
  await replacedDataRemoved();
  root?.cleanup();
});

async function setUp() {
  root = createTestDataRoot();
  await fillDataRoot(root.config);
}

const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const jobIds = async () => (await rawSql<{ id: string }>("SELECT id FROM scheduled_jobs ORDER BY id")).map((row) => row.id);

/** A backup as Back up now makes it; returns its manifest and the offsite copy operation it started (if any). */
async function backUp(): Promise<BackupManifest> {
  const before = (await listOperations({ limit: 1000, kind: "offsite_copy" })).items.length;
  const op = await waitForOperation((await startBackup(null, "manual")).id);
  expect(op.error).toBeNull();
  const id = (op.result as { backup_id: string }).backup_id;
  // The copy starts in an operation of its own once the set passed its drill: wait for it too.
  const copies = (await listOperations({ limit: 1000, kind: "offsite_copy" })).items;
  if (copies.length > before) await waitForOperation(copies[0]!.id);
  return JSON.parse(fs.readFileSync(path.join(root.config.paths.backups, id, "manifest.json"), "utf8"));
}

function sftpInput(folder: string, extra: Partial<CreateDestinationInput> = {}): CreateDestinationInput {
  return {
    kind: "sftp",
    name: `sftp-${crypto.randomBytes(3).toString("hex")}`,
    enabled: true,
    require_encrypted: false,
    keep_days: null,
    keep_min: 3,
    settings: { host: sshd.host, port: sshd.port, user: sshd.user, folder },
    secrets: { private_key: sshd.privateKey },
    ...extra,
  } as CreateDestinationInput;
}

function remoteFolder(): string {
  return path.join(sshd.folder, crypto.randomBytes(4).toString("hex"));
}

async function expectAppError(promise: Promise<unknown>, code: string): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(isAppError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    return (error as Error).message;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

describe("SFTP destination (real sshd on loopback)", () => {
  test("a new set is copied once it passed its drill, appears with the manifest's sha256s, and a pulled-back copy restores a deleted job", async () => {
    await setUp();
    const folder = remoteFolder();
    const destination = await createDestination(sftpInput(folder));
    // Credentials are never returned, only named.
    expect(JSON.stringify(destination)).not.toContain("PRIVATE KEY");
    expect(destination.secrets_set).toEqual(["private_key"]);
    const [stored] = await rawSql<{ secrets: string }>("SELECT secrets FROM offsite_destinations");
    expect(stored!.secrets).not.toContain("PRIVATE");

    const tested = await testDestination(destination.id);
    expect(tested).toMatchObject({ ok: true, error: null, pinned_identity: sshd.hostKeyFingerprint });
    expect(tested.steps.map((s) => s.step)).toEqual(["connect", "write", "read-back", "delete"]);
    expect(fs.readdirSync(folder)).toEqual([]);

    const manifest = await backUp();
    for (const volume of VOLUMES) {
      const archive = manifest.archives[volume];
      expect(sha256(path.join(folder, manifest.id, archive.file))).toBe(archive.sha256);
    }
    expect(fs.readFileSync(path.join(folder, manifest.id, "manifest.json"))).toEqual(
      fs.readFileSync(path.join(root.config.paths.backups, manifest.id, "manifest.json")),
    );
    const [listed] = (await listBackupsWithCopies({ limit: 10 })).items;
    // This sshd allows exec: the server hashed each file on its disk, nothing was read back over the link.
    expect(listed!.copies).toMatchObject([{ destination: destination.id, status: "verified", verified_by: "server-sha256", error: null }]);
    expect(listed!.copies[0]!.bytes).toBe(listed!.copies[0]!.total_bytes);
    expect((await getDestination(destination.id)).last_success_at).not.toBeNull();
    expect(await offsiteProblems()).toEqual([]);

    await rawSql("DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
    await deleteBackup(manifest.id, null);
    expect((await listRemoteSets(destination.id)).map((set) => [set.id, set.complete, set.local])).toEqual([[manifest.id, true, false]]);
    const pulled = await pullSet(destination.id, manifest.id);
    expect(pulled.verify_status).toBe("ok");
    await restoreBackup(manifest.id, VOLUMES);
    expect(await jobIds()).toEqual(["job-nightly", "job-weekly"]);
  }, 120_000);

  test("a fresh data root pointed at the same destination lists its sets and restores one", async () => {
    await setUp();
    const folder = remoteFolder();
    const first = await createDestination(sftpInput(folder));
    const manifest = await backUp();
    expect((await getBackupWithCopies(manifest.id)).copies[0]?.status).toBe("verified");
    root.cleanup();

    // The disaster case: a new host, an empty backups folder, the destination entered again.
    root = createTestDataRoot();
    expect(fs.readdirSync(root.config.paths.backups)).toEqual([]);
    const again = await createDestination(sftpInput(folder, { name: "offsite-again" }));
    expect(again.id).not.toBe(first.id);
    const sets = await listRemoteSets(again.id);
    expect(sets.map((set) => set.id)).toEqual([manifest.id]);
    await pullSet(again.id, manifest.id);
    await restoreBackup(manifest.id, VOLUMES);
    expect(await jobIds()).toEqual(["job-nightly", "job-weekly"]);
  }, 120_000);

  test("a wrong key fails the test at connect (auth) and the copy, writing nothing", async () => {
    await setUp();
    const folder = remoteFolder();
    const destination = await createDestination(sftpInput(folder, { secrets: { private_key: sshd.wrongKey } } as Partial<CreateDestinationInput>));
    const tested = await testDestination(destination.id);
    expect(tested).toMatchObject({ ok: false, reason: "auth", pinned_identity: null });
    expect(tested.steps).toEqual([{ step: "connect", ok: false, error: expect.stringContaining("refused the user name, password or key") }]);
    const manifest = await backUp();
    const copy = (await getBackupWithCopies(manifest.id)).copies[0]!;
    expect(copy.status).toBe("failed");
    expect(copy.error).toMatch(/refused the credentials/);
    expect(fs.existsSync(folder)).toBe(false);
    expect((await offsiteProblems()).map((p) => p.kind)).toEqual(["failed"]);
  }, 120_000);

  test("a changed host key is refused before anything is written; repin accepts the new one", async () => {
    await setUp();
    const folder = remoteFolder();
    const destination = await createDestination(sftpInput(folder));
    expect((await testDestination(destination.id)).pinned_identity).toBe(sshd.hostKeyFingerprint);
    const oldKey = sshd.hostKeyFingerprint;
    await sshd.restart({ newHostKey: true });
    try {
      const tested = await testDestination(destination.id);
      expect(tested).toMatchObject({ ok: false, reason: "host-key-changed", pinned_identity: oldKey });
      expect(tested.error).toContain(sshd.hostKeyFingerprint);
      const manifest = await backUp();
      const copy = (await getBackupWithCopies(manifest.id)).copies[0]!;
      expect(copy.status).toBe("failed");
      expect(copy.error).toMatch(/different host key/);
      expect(fs.existsSync(path.join(folder, manifest.id))).toBe(false);

      await updateDestination(destination.id, { repin: true });
      expect((await testDestination(destination.id)).pinned_identity).toBe(sshd.hostKeyFingerprint);
      await copySetTo(manifest.id, destination.id);
      expect((await getBackupWithCopies(manifest.id)).copies[0]!.status).toBe("verified");
    } finally {
      // Later tests pin the key on their own; the server keeps its new key.
    }
  }, 120_000);

  test("the server killed mid-upload leaves no remote set; a retry resumes and skips what was proven", async () => {
    await setUp();
    // Enough incompressible data that the upload is still running when the server dies.
    fs.writeFileSync(path.join(root.config.paths.data, "big.bin"), crypto.randomBytes(24 * 1024 * 1024));
    const folder = remoteFolder();
    const destination = await createDestination(sftpInput(folder, { enabled: false }));
    const manifest = await backUp();
    let killed = false;
    const failure = copySetTo(manifest.id, destination.id, {
      backoffMs: 20,
      progress: (done) => {
        if (!killed && done > 4 * 1024 * 1024) {
          killed = true;
          sshd.kill();
        }
      },
    });
    const message = await expectAppError(failure, "offsite_failed");
    expect(killed).toBe(true);
    expect(message).toMatch(/unreachable/);
    await sshd.restart();
    // Whatever reached the disk, no manifest did: the destination lists no set.
    expect(fs.existsSync(path.join(folder, manifest.id, "manifest.json"))).toBe(false);
    expect(await listRemoteSets(destination.id)).toEqual([]);
    const failed = (await getBackupWithCopies(manifest.id)).copies[0]!;
    expect(failed.status).toBe("failed");

    const done = await copySetTo(manifest.id, destination.id);
    expect(done.status).toBe("verified");
    const names = fs.readdirSync(path.join(folder, manifest.id)).sort();
    expect(names).toEqual([...VOLUMES.map((volume) => manifest.archives[volume].file), "manifest.json"].sort());
    for (const volume of VOLUMES) expect(sha256(path.join(folder, manifest.id, manifest.archives[volume].file))).toBe(manifest.archives[volume].sha256);
  }, 180_000);

  test("a corrupted remote object is detected at pull and nothing is added to the backups folder", async () => {
    await setUp();
    const folder = remoteFolder();
    const destination = await createDestination(sftpInput(folder));
    const manifest = await backUp();
    await deleteBackup(manifest.id, null);
    const remote = path.join(folder, manifest.id, manifest.archives.mimir_data.file);
    const bytes = fs.readFileSync(remote);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    fs.writeFileSync(remote, bytes);
    const message = await expectAppError(pullSet(destination.id, manifest.id), "verification_failed");
    expect(message).toContain("is damaged");
    expect(fs.readdirSync(root.config.paths.backups).filter((name) => !name.startsWith(".deleting"))).toEqual([]);
  }, 120_000);
});

describe("SFTP destination on a full remote disk", () => {
  let small: TestSshd;
  beforeAll(async () => {
    small = await startTestSshd({ diskBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await small?.stop();
  });

  test("the copy fails as full, naming it, and leaves no object that counts as a copy", async () => {
    await setUp();
    fs.writeFileSync(path.join(root.config.paths.data, "big.bin"), crypto.randomBytes(3 * 1024 * 1024));
    const destination = await createDestination({
      ...sftpInput(small.folder),
      settings: { host: small.host, port: small.port, user: small.user, folder: small.folder },
      secrets: { private_key: small.privateKey },
    } as CreateDestinationInput);
    const manifest = await backUp();
    const copy = (await getBackupWithCopies(manifest.id)).copies[0]!;
    expect(copy.status).toBe("failed");
    expect(copy.error).toMatch(/is full/);
    expect(await listRemoteSets(destination.id)).toEqual([]);
    // The partial upload was removed: the tmpfs is empty of our files again.
    const left = fs.existsSync(path.join(small.folder, manifest.id)) ? fs.readdirSync(path.join(small.folder, manifest.id)) : [];
    expect(left.filter((name) => name.includes(".mimir-partial-"))).toEqual([]);
  }, 120_000);
});

describe("SFTP destination whose server runs no commands (ForceCommand internal-sftp)", () => {
  let sftpOnly: TestSshd;
  beforeAll(async () => {
    sftpOnly = await startTestSshd({ sftpOnly: true });
  });
  afterAll(async () => {
    await sftpOnly?.stop();
  });

  test("the copy falls back to reading every file back, proves it, and says so", async () => {
    await setUp();
    const folder = path.join(sftpOnly.folder, crypto.randomBytes(4).toString("hex"));
    const destination = await createDestination({
      ...sftpInput(folder),
      settings: { host: sftpOnly.host, port: sftpOnly.port, user: sftpOnly.user, folder },
      secrets: { private_key: sftpOnly.privateKey },
    } as CreateDestinationInput);
    const manifest = await backUp();
    const copy = (await getBackupWithCopies(manifest.id)).copies[0]!;
    expect(copy).toMatchObject({ destination: destination.id, status: "verified", verified_by: "read-back", error: null });
    for (const volume of VOLUMES) expect(sha256(path.join(folder, manifest.id, manifest.archives[volume].file))).toBe(manifest.archives[volume].sha256);
  }, 120_000);
});

describe("folder destination", () => {
  let mount: string;
  beforeAll(() => {
    mount = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-offsite-folder-"));
  });
  afterAll(() => fs.rmSync(mount, { recursive: true, force: true }));

  const folderInput = (extra: Partial<CreateDestinationInput> = {}) =>
    ({
      kind: "folder",
      name: `usb-${crypto.randomBytes(3).toString("hex")}`,
      enabled: true,
      require_encrypted: false,
      keep_days: 30,
      keep_min: 1,
      settings: { path: mount },
      secrets: {},
      ...extra,
    }) as CreateDestinationInput;

  test("a destination that requires encryption refuses an unencrypted set", async () => {
    await setUp();
    const destination = await createDestination(folderInput({ require_encrypted: true, enabled: false }));
    const manifest = await backUp();
    await expectAppError(copySetTo(manifest.id, destination.id), "encryption_required");
    expect(fs.existsSync(path.join(mount, manifest.id))).toBe(false);
    expect((await getBackupWithCopies(manifest.id)).copies[0]).toMatchObject({ status: "failed", error: expect.stringContaining("encrypted sets only") });
  }, 120_000);

  test("remote retention deletes only old copies we wrote, keeps the newest and anything not ours; dry run deletes nothing", async () => {
    await setUp();
    const destination = await createDestination(folderInput({ enabled: false }));
    const manifest = await backUp();
    const op = await waitForOperation((await startCopy(manifest.id, destination.id, null)).id);
    expect(op.status).toBe("succeeded");
    // Two old copies of ours (as a set of 2020 would be), and a folder that only looks like one.
    for (const old of ["20200101-000000", "20200102-000000"]) {
      fs.cpSync(path.join(mount, manifest.id), path.join(mount, old), { recursive: true });
      const text = fs.readFileSync(path.join(mount, old, "manifest.json"), "utf8");
      fs.writeFileSync(
        path.join(mount, old, "manifest.json"),
        text
          .replace(`"id": "${manifest.id}"`, `"id": "${old}"`)
          .replace(/"created_at": "[^"]+"/, `"created_at": "${old.slice(0, 4)}-01-0${old[7]}T00:00:00.000Z"`),
      );
    }
    fs.mkdirSync(path.join(mount, "20190101-000000"));
    fs.writeFileSync(path.join(mount, "20190101-000000", "manifest.json"), '{"not": "ours"}');
    fs.writeFileSync(path.join(mount, "20200101-000000", "notes.txt"), "someone else's file");
    fs.writeFileSync(path.join(mount, "README"), "not ours");

    const dry = await pruneDestination(destination.id, { dryRun: true });
    expect(dry.deleted.sort()).toEqual(["20200101-000000", "20200102-000000"]);
    expect(fs.existsSync(path.join(mount, "20200101-000000", "manifest.json"))).toBe(true);

    const real = await pruneDestination(destination.id, { dryRun: false });
    expect(real.kept).toEqual([{ id: manifest.id, reason: "one of the newest 1" }]);
    expect(fs.existsSync(path.join(mount, "20200102-000000"))).toBe(false);
    expect(fs.readdirSync(path.join(mount, "20200101-000000"))).toEqual(["notes.txt"]);
    expect(fs.readFileSync(path.join(mount, "20190101-000000", "manifest.json"), "utf8")).toBe('{"not": "ours"}');
    expect(fs.existsSync(path.join(mount, "README"))).toBe(true);
    expect((await listRemoteSets(destination.id)).map((set) => set.id)).toEqual([manifest.id]);
  }, 120_000);
});
