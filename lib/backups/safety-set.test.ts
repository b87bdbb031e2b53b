import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { fillDataRoot, sqlite } from "@/test/helpers/backup-fixtures";
import { testBackend } from "@/test/helpers/postgres";
import { waitForOperation } from "@/lib/operations/service";
import { startBackup, restoreBackup } from "@/lib/backups/service";
import { createBackupSet } from "@/lib/backups/create-set";
import { onPhasePoint } from "@/lib/backups/crash-points";
import { readManifest } from "@/lib/backups/store";
import { replacedDataRemoved } from "@/lib/backups/restore-set";
import { verifyBackupSet } from "@/lib/backups/verify";
import { backgroundThreads } from "@/test/helpers/threads";
import { VOLUMES } from "@/lib/config/volumes";

// The safety set archives a restore's kept-aside database as it is when nothing of it waits in a WAL:
// about the SQLite file itself, so SQLite only.
const describeSqlite = describe.skipIf(testBackend() === "postgres");

let root: TestDataRoot;
let scratch: string;

beforeEach(async () => {
  root = createTestDataRoot();
  await fillDataRoot(root.config);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-safety-"));
});

afterEach(async () => {
  await replacedDataRemoved();
  root?.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** The database file of a set's mimir_data archive, extracted by stock tar into the scratch folder. */
function extractedDatabase(setId: string): string {
  const into = path.join(scratch, `extract-${setId}`);
  fs.mkdirSync(into);
  execFileSync("tar", ["xzf", path.join(root.config.paths.backups, setId, "mimir_data.tar.gz"), "-C", into]);
  return path.join(into, path.basename(root.config.paths.database));
}

/** A copy of the app's database, WAL mode, with `rows` more executions committed in its WAL only (the file left as it was before them). */
function frozenDatabaseWithWalContent(folder: string, rows: number): void {
  fs.mkdirSync(folder, { recursive: true });
  const work = path.join(scratch, "work.db");
  sqlite(root.config.paths.database, `VACUUM INTO '${work}'`);
  const db = new Database(work);
  db.pragma("journal_mode = WAL");
  db.pragma("wal_autocheckpoint = 0");
  const insert = db.prepare(
    "INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES (?, 'job-nightly', 'nightly-sync', ?, 'success', 'manual')",
  );
  db.transaction(() => {
    for (let i = 0; i < rows; i += 1) insert.run(`wal-${i}`, new Date().toISOString());
  })();
  // Copied while the connection is open: the file lacks the rows, its WAL holds them (a close would checkpoint them in).
  fs.copyFileSync(work, path.join(folder, path.basename(root.config.paths.database)));
  fs.copyFileSync(`${work}-wal`, path.join(folder, `${path.basename(root.config.paths.database)}-wal`));
  db.close();
}

describeSqlite("safety set of a restore", () => {
  test("archives the kept-aside database file itself, byte for byte, and the set verifies", async () => {
    const op = await waitForOperation((await startBackup(null, "manual")).id);
    const setId = (op.result as { backup_id: string }).backup_id;
    sqlite(root.config.paths.database, "DELETE FROM job_executions WHERE id = 'exec-2'");
    // Right after the swap the replaced database sits closed in the data volume's kept-aside folder.
    let keptAside = null as { hash: string; wal: boolean } | null;
    const off = onPhasePoint("restore.after_reopen", () => {
      const folder = fs.readdirSync(root.config.paths.data).find((name) => name === ".mimir-restore-previous")!;
      const file = path.join(root.config.paths.data, folder, path.basename(root.config.paths.database));
      keptAside = { hash: sha256(file), wal: fs.existsSync(`${file}-wal`) && fs.statSync(`${file}-wal`).size > 0 };
    });
    try {
      const result = await restoreBackup(setId, VOLUMES);
      await replacedDataRemoved();
      expect(keptAside).toEqual({ hash: expect.any(String), wal: false });
      const safety = readManifest(path.join(root.config.paths.backups, result.safety_backup_id!));
      expect(safety.row_counts.job_executions).toBe(1);
      expect(safety.databases[path.basename(root.config.paths.database)]?.job_executions).toBe(1);
      const restored = extractedDatabase(safety.id);
      expect(sha256(restored)).toBe(keptAside!.hash);
      expect(sqlite(restored, "PRAGMA integrity_check")).toBe("ok");
      expect((await verifyBackupSet(safety.id)).status).toBe("ok");
    } finally {
      off();
    }
  });

  // Written after the restore is done, beside serving, with nobody waiting for it: its threads must give the
  // event loop a core at once, as a backup's do (bench:beside-maintenance, the safety set's row).
  test.skipIf(process.platform !== "linux")("writes its archives on threads at the background niceness", async () => {
    const op = await waitForOperation((await startBackup(null, "manual")).id);
    const setId = (op.result as { backup_id: string }).backup_id;
    let beforeSet = new Set<string>();
    let whileArchiving = new Set<string>();
    // The swap is the last moment before the safety set starts; mimir_data's archive is written on the set's threads, which live until the set ends.
    const offReopen = onPhasePoint("restore.after_reopen", () => void (beforeSet = backgroundThreads()));
    const offArchive = onPhasePoint("backup.after_archive:mimir_data", () => void (whileArchiving = backgroundThreads()));
    try {
      await restoreBackup(setId, VOLUMES);
      await replacedDataRemoved();
    } finally {
      offReopen();
      offArchive();
    }
    expect([...whileArchiving].filter((tid) => !beforeSet.has(tid)).length).toBeGreaterThanOrEqual(1);
  });

  // Nobody waits for it: logs and plugins are archived after the database, not beside it, so the two never stack on the server's memory.
  test("writes its archives one at a time: logs and plugins after mimir_data", async () => {
    const op = await waitForOperation((await startBackup(null, "manual")).id);
    const setId = (op.result as { backup_id: string }).backup_id;
    let besideData: string[] | null = null;
    const offArchive = onPhasePoint("backup.after_archive:mimir_data", () => {
      const partial = fs.readdirSync(root.config.paths.backups).find((name) => name.startsWith(".partial-"));
      besideData = partial ? fs.readdirSync(path.join(root.config.paths.backups, partial)).filter((name) => name.endsWith(".tar.gz")) : [];
    });
    let safetyId: string | null;
    try {
      safetyId = (await restoreBackup(setId, VOLUMES)).safety_backup_id;
      await replacedDataRemoved();
    } finally {
      offArchive();
    }
    expect([...(besideData ?? [])].sort()).toEqual(["mimir_config.tar.gz", "mimir_data.tar.gz", "mimir_pipelines.tar.gz"]);
    expect(Object.keys(readManifest(path.join(root.config.paths.backups, safetyId!)).archives).sort()).toEqual([...VOLUMES].sort());
  });

  test("a kept-aside database with WAL content is snapshotted instead: none of its rows is lost", async () => {
    const frozen = path.join(scratch, "kept-aside-data");
    frozenDatabaseWithWalContent(frozen, 3);
    const manifest = await createBackupSet({ trigger: "pre-restore", passphrase: null, sources: { mimir_data: frozen } });
    expect(manifest.row_counts.job_executions).toBe(5);
    const restored = extractedDatabase(manifest.id);
    expect(fs.existsSync(`${restored}-wal`)).toBe(false);
    expect(sqlite(restored, "SELECT count(*) FROM job_executions WHERE id LIKE 'wal-%'")).toBe("3");
    expect((await verifyBackupSet(manifest.id)).status).toBe("ok");
  });

  test("a kept-aside database written while it is archived fails the set, and leaves no set behind", async () => {
    const frozen = path.join(scratch, "kept-aside-data");
    // A closed copy that holds everything: archived as it is.
    fs.mkdirSync(frozen);
    const file = path.join(frozen, path.basename(root.config.paths.database));
    sqlite(root.config.paths.database, `VACUUM INTO '${file}'`);
    let writer = null as Database.Database | null;
    const before = fs.readdirSync(root.config.paths.backups);
    try {
      await expect(
        createBackupSet({
          trigger: "pre-restore",
          passphrase: null,
          sources: { mimir_data: frozen },
          message: (text) => {
            // A connection nobody closed writes the file while its archive is being written.
            if (text === "archiving mimir_data" && !writer) {
              writer = new Database(file);
              writer.prepare("DELETE FROM job_executions WHERE id = 'exec-1'").run();
            }
          },
        }),
      ).rejects.toThrow(/changed while it was archived/);
    } finally {
      writer?.close();
    }
    expect(fs.readdirSync(root.config.paths.backups)).toEqual(before);
  });
});
