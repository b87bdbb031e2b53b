import { execFileSync, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { rawSql, testBackend } from "@/test/helpers/postgres";
import { craftTarGz, fillDataRoot, sqlite, volumesHashes } from "@/test/helpers/backup-fixtures";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { getDb } from "@/lib/db/client";
import { listOperations, waitForOperation } from "@/lib/operations/service";
import { isAppError } from "@/lib/errors";
import { deleteBackup, pruneBackups, restoreBackup, setBackupPinned, startBackup, startRestore } from "@/lib/backups/service";
import { getBackup, listBackups } from "@/lib/backups/catalog";
import { openBackupDownload, newImportFolder, startImport } from "@/lib/backups/transfer";
import { verifyBackupSet } from "@/lib/backups/verify";
import type { BackupManifest } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";
import { replacedDataRemoved } from "@/lib/backups/restore-set";

let root: TestDataRoot;

async function setUp(env: Record<string, string> = {}) {
  root = createTestDataRoot(env);
  await fillDataRoot(root.config);
}

afterEach(async () => {
  await replacedDataRemoved();
  root?.cleanup();
});

async function backUp(): Promise<BackupManifest> {
  const op = await waitForOperation((await startBackup(null, "manual")).id);
  expect(op.error).toBeNull();
  expect(op.status).toBe("succeeded");
  const id = (op.result as { backup_id: string }).backup_id;
  return JSON.parse(fs.readFileSync(path.join(root.config.paths.backups, id, "manifest.json"), "utf8"));
}

async function jobIds(): Promise<string[]> {
  return (await rawSql<{ id: string }>("SELECT id FROM scheduled_jobs ORDER BY id")).map((row) => row.id);
}

/** About the SQLite file itself (stock sqlite3 opens it, its locks, another process writing it): PostgreSQL's sets are tested in postgres-sets.test.ts. */
const sqliteOnly = test.skipIf(testBackend() === "postgres");

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

describe("backup", () => {
  beforeEach(() => setUp());

  sqliteOnly("writes a verified set of five archives that stock tar and sqlite3 open", async () => {
    const manifest = await backUp();
    const folder = path.join(root.config.paths.backups, manifest.id);
    expect(manifest.id).toMatch(/^\d{8}-\d{6}$/);
    expect(fs.readdirSync(folder).sort()).toEqual([...VOLUMES.map((v) => `${v}.tar.gz`), "manifest.json", "verification.json"].sort());
    expect(manifest.row_counts).toMatchObject({ scheduled_jobs: 2, job_executions: 2 });
    expect(manifest.archives.mimir_pipelines.files).toBe(2);

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-tar-"));
    try {
      for (const volume of VOLUMES) {
        fs.mkdirSync(path.join(scratch, volume));
        execFileSync("tar", ["xzf", path.join(folder, `${volume}.tar.gz`), "-C", path.join(scratch, volume)]);
        const archive = manifest.archives[volume];
        const sha = crypto
          .createHash("sha256")
          .update(fs.readFileSync(path.join(folder, archive.file)))
          .digest("hex");
        expect(sha).toBe(archive.sha256);
      }
      const db = path.join(scratch, "mimir_data", "mimir.db");
      expect(sqlite(db, "PRAGMA integrity_check")).toBe("ok");
      expect(Number(sqlite(db, "SELECT count(*) FROM scheduled_jobs"))).toBe(2);
      expect(fs.existsSync(`${db}-wal`)).toBe(false);
      const live = volumesHashes(root.config);
      const { treeHashes } = await import("@/test/helpers/backup-fixtures");
      expect(treeHashes(path.join(scratch, "mimir_pipelines"))).toEqual(live.pipelines);
      expect(treeHashes(path.join(scratch, "mimir_plugins"))).toEqual(live.plugins);
      expect(treeHashes(path.join(scratch, "mimir_data"))).toEqual(live.data);
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }

    const listed = await listBackups({ limit: 50 });
    expect(listed.items.map((b) => b.id)).toEqual([manifest.id]);
    expect(listed.items[0]).toMatchObject({ verify_status: "ok", encrypted: false, trigger: "manual" });
  });

  sqliteOnly("refuses, rather than silently leaving out, a database kept outside the data volume", async () => {
    root.cleanup();
    root = createTestDataRoot({ MIMIR_DATABASE_PATH: "elsewhere/mimir.db" });
    const op = await waitForOperation((await startBackup(null, "manual")).id);
    expect(op.status).toBe("failed");
    expect(op.error?.message).toMatch(/outside the data volume/);
    expect(fs.readdirSync(root.config.paths.backups)).toEqual([]);
  });

  sqliteOnly("never drops this process's SQLite locks: another process writing and closing afterwards leaves the live connection working", async () => {
    await backUp();
    // Were the backup to open and close the live file itself, its POSIX locks would be gone, and
    // this CLI, believing itself the last connection, would checkpoint and delete the WAL under us.
    sqlite(root.config.paths.database, "PRAGMA busy_timeout = 5000; DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
    expect(fs.existsSync(`${root.config.paths.database}-shm`)).toBe(true);
    expect(await jobIds()).toEqual(["job-nightly"]);
    const second = await backUp();
    expect(second.row_counts.scheduled_jobs).toBe(1);
  });

  sqliteOnly("a backup taken while another process inserts as fast as it can restores to a consistent database", async () => {
    const writer = spawn(
      process.execPath,
      [
        "-e",
        `const db = new (require("better-sqlite3"))(process.argv[1]); db.pragma("busy_timeout = 5000");
         const insert = db.prepare("INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES (?, 'job-nightly', 'nightly-sync', ?, 'success', 'scheduler')");
         let n = 0; const t = Date.now();
         for (;;) { db.exec("BEGIN IMMEDIATE"); insert.run("w-" + n++, new Date().toISOString()); db.exec("COMMIT"); if (n % 500 === 0 && Date.now() - t > 60000) break; }`,
        root.config.paths.database,
      ],
      { cwd: process.cwd(), stdio: "ignore" },
    );
    try {
      // Start the backup only once the writer is inserting (spawning node takes a while on a loaded machine).
      const written = () => getDb().get<{ n: number }>(sql`SELECT count(*) AS n FROM job_executions WHERE id LIKE 'w-%'`).n;
      await expect.poll(written, { timeout: 30_000, interval: 50 }).toBeGreaterThan(100);
      const manifest = await backUp();
      expect(manifest.row_counts.job_executions).toBeGreaterThan(2);
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-tar-"));
      try {
        execFileSync("tar", ["xzf", path.join(root.config.paths.backups, manifest.id, "mimir_data.tar.gz"), "-C", scratch]);
        const db = path.join(scratch, "mimir.db");
        expect(sqlite(db, "PRAGMA integrity_check")).toBe("ok");
        expect(Number(sqlite(db, "SELECT count(*) FROM job_executions"))).toBe(manifest.row_counts.job_executions);
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    } finally {
      writer.kill("SIGKILL");
    }
  });
});

describe("encryption", () => {
  const passphrase = "correct horse battery staple";
  beforeEach(() => setUp({ MIMIR_BACKUP_PASSPHRASE: passphrase }));

  test("archives are OpenPGP that gpg --decrypt opens; a wrong passphrase is a clear error that leaves the set verified", async () => {
    const manifest = await backUp();
    expect(manifest.encrypted).toBe(true);
    const folder = path.join(root.config.paths.backups, manifest.id);
    expect(fs.readFileSync(path.join(folder, "manifest.json"), "utf8")).not.toContain(passphrase);
    const gnupgHome = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-gpg-"));
    try {
      const plain = execFileSync(
        "gpg",
        [
          "--homedir",
          gnupgHome,
          "--batch",
          "--pinentry-mode",
          "loopback",
          "--passphrase",
          passphrase,
          "--decrypt",
          path.join(folder, "mimir_pipelines.tar.gz.gpg"),
        ],
        {
          stdio: ["ignore", "pipe", "ignore"],
        },
      );
      const listing = execFileSync("tar", ["tz"], { input: plain, encoding: "utf8" });
      expect(listing).toContain("nightly-sync.yaml");
    } finally {
      fs.rmSync(gnupgHome, { recursive: true, force: true });
    }

    setConfig(loadConfig({ MIMIR_HOME: root.home, MIMIR_BACKUP_PASSPHRASE: "wrong" }, root.home));
    const message = await expectAppError(verifyBackupSet(manifest.id), "wrong_passphrase");
    expect(message).toMatch(/passphrase/);
    expect((await getBackup(manifest.id)).verify_status).toBe("ok");
    const before = volumesHashes(root.config);
    await expectAppError(restoreBackup(manifest.id, VOLUMES), "wrong_passphrase");
    expect(volumesHashes(root.config)).toEqual(before);
    expect(await jobIds()).toEqual(["job-nightly", "job-weekly"]);
  });
});

describe("restore", () => {
  beforeEach(() => setUp());

  test("a restore run as an operation verifies its safety set afterwards, as every new set is", async () => {
    const manifest = await backUp();
    const op = await waitForOperation((await startRestore(manifest.id, { confirm: manifest.id }, null)).id);
    expect(op.status).toBe("succeeded");
    const safetyId = (op.result as { safety_backup_id: string }).safety_backup_id;
    let verify;
    for (let i = 0; i < 200 && !verify; i += 1) {
      verify = (await listOperations({ limit: 10, kind: "verify" })).items.find((item) => (item.params as { backup_id?: string }).backup_id === safetyId);
      if (!verify) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(verify).toBeDefined();
    expect((await waitForOperation(verify!.id)).status).toBe("succeeded");
    expect((await getBackup(safetyId)).verify_status).toBe("ok");
  });

  test("after a restore, the backup that wrote the set is on record as succeeded, not as interrupted: prune and /health are not held up", async () => {
    const manifest = await backUp();
    const backupOperation = (await listOperations({ limit: 1, kind: "backup" })).items[0]!;
    expect(backupOperation.status).toBe("succeeded");
    // The set's snapshot was taken while that operation ran, so the database it restores records it as running.
    await restoreBackup(manifest.id, VOLUMES);
    const [latest] = (await listOperations({ limit: 5, kind: "backup" })).items.filter((op) => op.id === backupOperation.id);
    expect(latest).toMatchObject({ status: "succeeded", error: null });
    expect((await pruneBackups({ dryRun: true }, null)).skipped_reason).toBeNull();
  });

  // A drill runs beside serving and nobody waits on it: its database check starts once every archive is
  // extracted, so the check's worker and caches never stack on the extraction's buffers.
  test("a drill checks the databases after every archive is extracted, not beside them", async () => {
    const manifest = await backUp();
    const messages: string[] = [];
    await verifyBackupSet(manifest.id, { message: (text) => messages.push(text) });
    const check = messages.findIndex((text) => text.startsWith("checking the databases"));
    expect(check).toBeGreaterThan(-1);
    expect(messages.filter((text) => text.startsWith("checking and extracting")).length).toBe(VOLUMES.length);
    expect(messages.slice(check + 1).filter((text) => text.startsWith("checking and extracting"))).toEqual([]);
  });

  test("a set whose drill passed against its manifest as it stands is not checked again (its bytes are proven the drilled ones); one never verified, or changed since, gets the full integrity_check", async () => {
    const manifest = await backUp();
    const folder = path.join(root.config.paths.backups, manifest.id);
    expect((await restoreBackup(manifest.id, VOLUMES)).database_check).toBe("drill");

    // Same content, other bytes: the drill's result was bound to the manifest it ran against.
    fs.writeFileSync(path.join(folder, "manifest.json"), JSON.stringify(manifest));
    expect((await restoreBackup(manifest.id, VOLUMES)).database_check).toBe("integrity_check");

    await verifyBackupSet(manifest.id);
    expect((await restoreBackup(manifest.id, VOLUMES)).database_check).toBe("drill");
    fs.rmSync(path.join(folder, "verification.json"));
    expect((await restoreBackup(manifest.id, VOLUMES)).database_check).toBe("integrity_check");
    await replacedDataRemoved();
  });

  test("brings back a deleted job and changed files, and keeps a safety backup of the state it replaced", async () => {
    const manifest = await backUp();
    const before = volumesHashes(root.config);
    await rawSql("DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
    fs.writeFileSync(path.join(root.config.paths.pipelines, "nightly-sync.yaml"), "name: changed\n");
    fs.writeFileSync(path.join(root.config.paths.pipelines, "new.yaml"), "name: new\n");
    expect(await jobIds()).toEqual(["job-nightly"]);

    const result = await restoreBackup(manifest.id, VOLUMES);
    expect(await jobIds()).toEqual(["job-nightly", "job-weekly"]);
    // The replaced data is deleted after the restore returns; until then it sits in a reserved dot-folder.
    await replacedDataRemoved();
    expect(volumesHashes(root.config)).toEqual(before);
    for (const volume of Object.values(root.config.paths).slice(1, 6)) {
      expect(fs.readdirSync(volume).filter((name) => name.startsWith(".mimir-restore"))).toEqual([]);
    }
    expect(result.safety_backup_id).not.toBeNull();
    const safety = await getBackup(result.safety_backup_id!);
    expect(safety.trigger).toBe("pre-restore");
    expect(safety.row_counts.scheduled_jobs).toBe(1);
    if (testBackend() === "sqlite") expect(sqlite(root.config.paths.database, "PRAGMA integrity_check")).toBe("ok");
  });

  test("restores only the chosen volumes", async () => {
    const manifest = await backUp();
    await rawSql("DELETE FROM scheduled_jobs WHERE id = 'job-weekly'");
    fs.writeFileSync(path.join(root.config.paths.pipelines, "new.yaml"), "name: new\n");
    await restoreBackup(manifest.id, ["mimir_pipelines"]);
    expect(fs.existsSync(path.join(root.config.paths.pipelines, "new.yaml"))).toBe(false);
    expect(await jobIds()).toEqual(["job-nightly"]);
  });
});

describe("damaged and hostile archives change nothing", () => {
  beforeEach(() => setUp());

  /** Puts `file` in a set in place of a volume's archive; with `patchManifest` the manifest is made to match it. */
  function replaceArchive(id: string, volume: (typeof VOLUMES)[number], file: string, patchManifest: { files: number; tarBytes?: number } | null) {
    const folder = path.join(root.config.paths.backups, id);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, "manifest.json"), "utf8")) as BackupManifest;
    const target = path.join(folder, manifest.archives[volume].file);
    fs.copyFileSync(file, target);
    if (patchManifest) {
      const bytes = fs.readFileSync(target);
      manifest.archives[volume] = {
        ...manifest.archives[volume],
        bytes: bytes.length,
        sha256: crypto.createHash("sha256").update(bytes).digest("hex"),
        files: patchManifest.files,
        tar_bytes: patchManifest.tarBytes ?? 10 * 1024 * 1024,
      };
      fs.writeFileSync(path.join(folder, "manifest.json"), JSON.stringify(manifest));
    }
  }

  async function expectRefusedWithoutChange(id: string, code: string, pattern: RegExp) {
    const canary = path.join(root.home, "canary.txt");
    fs.writeFileSync(canary, "untouched");
    const before = volumesHashes(root.config);
    const jobs = await jobIds();
    const message = await expectAppError(restoreBackup(id, VOLUMES), code);
    expect(message).toMatch(pattern);
    expect(volumesHashes(root.config)).toEqual(before);
    expect(await jobIds()).toEqual(jobs);
    expect(fs.readFileSync(canary, "utf8")).toBe("untouched");
    expect(fs.existsSync(path.join(root.home, "escaped.txt"))).toBe(false);
    expect(fs.existsSync("/tmp/mimir-escaped.txt")).toBe(false);
    for (const volume of [root.config.paths.data, root.config.paths.pipelines, root.config.paths.logs]) {
      expect(fs.readdirSync(volume).filter((name) => name.startsWith(".mimir-restore"))).toEqual([]);
    }
    expect((await listBackups({ limit: 50 })).items.filter((b) => b.trigger === "pre-restore")).toEqual([]);
  }

  const hostile: [string, string, RegExp][] = [
    ["a ../ path", `info = tarfile.TarInfo("../escaped.txt"); data = b"x"; info.size = 1; tf.addfile(info, io.BytesIO(data))`, /\.\.|escap|extract/i],
    ["an absolute path", `info = tarfile.TarInfo("/tmp/mimir-escaped.txt"); info.size = 1; tf.addfile(info, io.BytesIO(b"x"))`, /absolute|extract/i],
    [
      "a symlink leading out, then a file through it",
      `l = tarfile.TarInfo("link"); l.type = tarfile.SYMTYPE; l.linkname = ".."; tf.addfile(l)\ninfo = tarfile.TarInfo("link/escaped.txt"); info.size = 1; tf.addfile(info, io.BytesIO(b"x"))`,
      /SymbolicLink/,
    ],
    [
      "a hard link",
      `info = tarfile.TarInfo("a.yaml"); info.size = 1; tf.addfile(info, io.BytesIO(b"x"))\nl = tarfile.TarInfo("b.yaml"); l.type = tarfile.LNKTYPE; l.linkname = "a.yaml"; tf.addfile(l)`,
      /Link/,
    ],
    ["a device file", `d = tarfile.TarInfo("dev"); d.type = tarfile.CHRTYPE; d.devmajor = 1; d.devminor = 3; tf.addfile(d)`, /CharacterDevice/],
    ["a FIFO", `d = tarfile.TarInfo("fifo"); d.type = tarfile.FIFOTYPE; tf.addfile(d)`, /FIFO/],
  ];

  test.each(hostile)("refuses %s", async (_name, script, pattern) => {
    const manifest = await backUp();
    const file = path.join(root.home, "hostile.tar.gz");
    craftTarGz(file, script);
    replaceArchive(manifest.id, "mimir_pipelines", file, { files: 1 });
    await expectRefusedWithoutChange(manifest.id, "invalid_archive", pattern);
  });

  test("refuses a gzip bomb at the size the manifest allows", async () => {
    const manifest = await backUp();
    const file = path.join(root.home, "bomb.tar.gz");
    // 3 × 40 MB of zeros compress to ~120 KB (≈1000:1); each entry is legal on its own.
    craftTarGz(
      file,
      `for i in range(3):\n    info = tarfile.TarInfo(f"zero{i}.yaml"); info.size = 40 * 1024 * 1024; tf.addfile(info, io.BytesIO(bytes(info.size)))`,
    );
    replaceArchive(manifest.id, "mimir_pipelines", file, { files: 3, tarBytes: 64 * 1024 });
    await expectRefusedWithoutChange(manifest.id, "invalid_archive", /expands past|ratio/);
  });

  test("a flipped bit fails the checksum, with a clear message, and changes nothing", async () => {
    const manifest = await backUp();
    const target = path.join(root.config.paths.backups, manifest.id, "mimir_logs.tar.gz");
    const bytes = fs.readFileSync(target);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    fs.writeFileSync(target, bytes);
    await expectRefusedWithoutChange(manifest.id, "verification_failed", /does not match its manifest/);
    await expectAppError(verifyBackupSet(manifest.id), "verification_failed");
    expect((await getBackup(manifest.id)).verify_status).toBe("failed");
  });

  test("a truncated archive whose manifest was made to match is still refused as damaged", async () => {
    const manifest = await backUp();
    const source = path.join(root.config.paths.backups, manifest.id, "mimir_logs.tar.gz");
    const cut = path.join(root.home, "cut.tar.gz");
    fs.writeFileSync(cut, fs.readFileSync(source).subarray(0, Math.floor(fs.statSync(source).size / 2)));
    replaceArchive(manifest.id, "mimir_logs", cut, { files: manifest.archives.mimir_logs.files, tarBytes: manifest.archives.mimir_logs.tar_bytes });
    await expectRefusedWithoutChange(manifest.id, "invalid_archive", /damaged|unexpected end|incomplete/i);
  });
});

describe("prune", () => {
  beforeEach(() => setUp({ MIMIR_BACKUP_KEEP_MIN: "2", MIMIR_BACKUP_KEEP_DAYS: "7" }));

  function age(id: string, days: number) {
    const file = path.join(root.config.paths.backups, id, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(file, "utf8")) as BackupManifest;
    manifest.created_at = new Date(Date.now() - days * 86_400_000).toISOString();
    fs.writeFileSync(file, JSON.stringify(manifest));
  }

  test("deletes old sets but keeps the newest, the newest verified, pinned ones and anything not ours", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) ids.push((await backUp()).id);
    // oldest first: ids[0] is 40 days old … ids[3] 10 days old; all past keep_days
    ids.forEach((id, index) => age(id, 40 - index * 10));
    const foreign = path.join(root.config.paths.backups, "20200101-000000");
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, "important.txt"), "not a set");
    fs.writeFileSync(path.join(root.config.paths.backups, "notes.txt"), "foreign file");
    await setBackupPinned(ids[0]!, true, null);

    const dry = await pruneBackups({ dryRun: true }, null);
    expect(dry.deleted).toEqual([ids[1]]);
    expect(fs.existsSync(path.join(root.config.paths.backups, ids[1]!))).toBe(true);

    const result = await pruneBackups({ dryRun: false }, null);
    expect(result.deleted).toEqual([ids[1]]);
    expect(result.kept.map((k) => k.reason)).toEqual(["one of the newest 2", "one of the newest 2", "pinned"]);
    expect((await listBackups({ limit: 50 })).items.map((b) => b.id).sort()).toEqual([ids[0], ids[2], ids[3]].sort());
    expect(fs.readFileSync(path.join(foreign, "important.txt"), "utf8")).toBe("not a set");
    expect(fs.existsSync(path.join(root.config.paths.backups, "notes.txt"))).toBe(true);
  });
});

describe("moving to a new host", () => {
  beforeEach(() => setUp());

  test("a downloaded set imports back after its checks; a tampered one is refused", async () => {
    const manifest = await backUp();
    const { stream } = await openBackupDownload(manifest.id);
    const file = path.join(root.home, "download.tar");
    await new Promise<void>((resolve, reject) =>
      stream
        .pipe(fs.createWriteStream(file))
        .on("finish", () => resolve())
        .on("error", reject),
    );
    expect(execFileSync("tar", ["tf", file], { encoding: "utf8" })).toContain(`${manifest.id}/manifest.json`);
    await deleteBackup(manifest.id, null);

    const folder = newImportFolder();
    fs.copyFileSync(file, path.join(folder, "upload.tar"));
    const op = await waitForOperation((await startImport(folder, null)).id);
    expect(op.error).toBeNull();
    expect((await getBackup(manifest.id)).verify_status).toBe("ok");

    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 4096]! ^= 0xff;
    const tampered = newImportFolder();
    fs.writeFileSync(path.join(tampered, "upload.tar"), bytes);
    await deleteBackup(manifest.id, null);
    const failed = await waitForOperation((await startImport(tampered, null)).id);
    expect(failed.status).toBe("failed");
    expect((await listBackups({ limit: 50 })).items).toEqual([]);
    expect(fs.readdirSync(root.config.paths.backups).filter((name) => name.startsWith("."))).toEqual([]);
  });
});
