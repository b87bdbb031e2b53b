import "server-only";
import fs from "node:fs";
import path from "node:path";
import packageJson from "@/package.json";
import { getConfig } from "@/lib/config/service";
import { volumeFolders } from "@/lib/config/data-root";
import {
  assertSqliteFileUnchanged,
  countClosedSqliteDatabase,
  isSqliteFile,
  isSqliteSidecar,
  snapshotSqliteDatabase,
  type ClosedSqliteFile,
  type RowCounts,
} from "@/lib/db/sqlite-snapshot";
import { probeDatabase } from "@/lib/db/probe";
import { withAppWritesPaused } from "@/lib/operations/write-gate";
import { AppError, isAppError } from "@/lib/errors";
import { getLogger } from "@/lib/log/logger";
import { collectFullSoon, collectFullWhenQuiet } from "@/lib/freed-memory";
import { writeVolumeArchive, type ArchiveFacts } from "@/lib/backups/archive";
import { fsyncFile } from "@/lib/files";
import { GzipThreads } from "@/lib/backups/parallel-gzip";
import { crashPoint, holdPoint, phasePoint } from "@/lib/backups/crash-points";
import { isDataRootLockName } from "@/lib/backups/server-lock";
import { activeTempFolders, backupsFolder, cleanLeftovers, MANIFEST_FILE, newBackupId } from "@/lib/backups/store";
import { planFolder, type TarEntryPlan } from "@/lib/backups/tar-writer";
import type { BackupManifest, BackupTrigger, BackupVolume, ManifestArchive, ManifestPostgresDump } from "@/lib/backups/types";
import { appPostgresPool } from "@/lib/db/engine/postgres/app-pool";
import { openPostgresSnapshot, writeSnapshotToFile, type DumpFacts, type PostgresSnapshot } from "@/lib/db/engine/postgres/dump";
import { COUNTED_TABLES } from "@/lib/db/sqlite-snapshot";
import { VOLUMES } from "@/lib/config/volumes";
import { SECRET_KEY_FILE } from "@/lib/secrets/sealed";

export interface Progress {
  (done: number, total: number): void;
}

export interface CreateSetOptions {
  trigger: BackupTrigger;
  passphrase: string | null;
  progress?: Progress;
  message?: (text: string) => void;
  signal?: AbortSignal;
  /** the id a restore reserved for its safety set (default: a new one from the clock) */
  id?: string;
  /** when the state the set holds was fixed, when that was before the set is written (a restore's swap) */
  createdAt?: string;
  /** folders archived instead of live volumes: what a restore set aside at its swap, frozen since */
  sources?: Partial<Record<BackupVolume, string>>;
  /** on PostgreSQL, a dump already taken (a restore's, before its swap) instead of one of the live database */
  postgresDump?: { file: string; facts: DumpFacts };
  /** beside a serving app: compression at the background niceness (lib/db/background-priority.ts) */
  background?: boolean;
  /**
   * Nobody waits for this set (a restore's safety set, written after the restore returned): one step
   * at a time on one gzip thread, so the threads, isolates and buffers of its steps never stack on the
   * server's memory; the time that costs is time nobody waits for.
   */
  unattended?: boolean;
}

/** On PostgreSQL, the database's dump inside the mimir_data archive (and so in the volume after `tar xzf`). */
export const POSTGRES_DUMP_FILE = "mimir-postgres.sql";

/** Folders inside a volume this product uses for a restore in progress: never archived. */
export const RESTORE_RESERVED = /^\.mimir-restore-/;

/**
 * Writes one complete backup set: every SQLite file of mimir_data snapshotted with VACUUM INTO (a
 * restore's kept-aside database, closed and whole, is archived as it is; on
 * PostgreSQL, the database dumped from one REPEATABLE READ snapshot opened at the same moment, into
 * POSTGRES_DUMP_FILE in the mimir_data archive) and
 * the small, app-written volumes (pipelines, config) archived while the app's writes are paused, so
 * database and files agree; then the other volumes streamed; then the manifest; then the folder is
 * fsynced and renamed from `.partial-<id>` to `<id>`. A crash at any point leaves only a dot-folder,
 * removed by the next backup. Creates backups/<id>/; returns its manifest.
 */
export async function createBackupSet(options: CreateSetOptions): Promise<BackupManifest> {
  const config = getConfig();
  const folders = { ...volumeFolders(config), ...options.sources };
  const pool = appPostgresPool();
  const mainDb = path.relative(volumeFolders(config).mimir_data, config.paths.database);
  if (!pool && (mainDb.startsWith("..") || path.isAbsolute(mainDb))) {
    // A set holds the five volumes; a database kept elsewhere would silently be missing from it.
    throw new AppError(
      "invalid_input",
      `The database (${config.paths.database}) is outside the data volume (${folders.mimir_data}), so a backup set would not contain it; ` +
        "keep it under the data volume (unset MIMIR_DATABASE_PATH / persistence.database_path) to back it up",
    );
  }
  const root = backupsFolder();
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const removed = cleanLeftovers();
  if (removed.length > 0) getLogger().info("removed leftovers of interrupted backup work", { removed });

  const id = options.id ?? newBackupId();
  const partial = path.join(root, `.partial-${id}`);
  const snapshots = path.join(partial, ".snapshots");
  activeTempFolders.add(partial);
  // A reserved id's folder may hold what a killed attempt wrote: archives are created new, never over it.
  if (options.id) fs.rmSync(partial, { recursive: true, force: true });
  // Only live volumes need the app's writes paused for their consistency point; folders set aside are frozen.
  const livePaused = (["mimir_data", "mimir_pipelines", "mimir_config"] as const).every((volume) => options.sources?.[volume])
    ? <T>(work: () => Promise<T>) => work()
    : withAppWritesPaused;
  // One pool of gzip threads for the set's archives, two of which are written side by side (logs and
  // plugins beside the database): a thread per core either way, without a second set of idle
  // isolates (~10 MB each) in the server while both run (bench/RESULTS-restore-memory.md). Unattended:
  // one thread, one archive at a time.
  const gzipThreads = new GzipThreads(options.background ?? false, options.unattended ? 1 : undefined);
  try {
    fs.mkdirSync(snapshots, { recursive: true, mode: 0o700 });
    const suffix = options.passphrase ? ".tar.gz.gpg" : ".tar.gz";
    const archives = {} as Record<BackupVolume, ManifestArchive>;
    const databases: Record<string, RowCounts> = {};
    const plans = {} as Record<BackupVolume, TarEntryPlan>;
    let snapshot: PostgresSnapshot | null = null;
    const closedFiles: ClosedSqliteFile[] = [];
    let postgres: ManifestPostgresDump | undefined;
    let done = 0;
    let total = 0;
    const onBytes = (n: number) => {
      done += n;
      options.progress?.(done, total);
    };
    const skipFor = (volume: BackupVolume) => excludeFromVolume(folders[volume], root);
    const archive = async (volume: BackupVolume) => {
      options.signal?.throwIfAborted();
      options.message?.(`archiving ${volume}`);
      const file = path.join(partial, `${volume}${suffix}`);
      const facts: Omit<ArchiveFacts, "file"> = await writeVolumeArchive(plans[volume], file, {
        passphrase: options.passphrase,
        onBytes,
        signal: options.signal,
        background: options.background,
        gzipThreads,
      });
      archives[volume] = { file: path.basename(file), ...facts };
      // What this archive's streams left in V8's old generation goes before the next one's buffers
      // stack on it: at once when unattended (memory first); otherwise when no request would meet the
      // pause (30-80 ms beside serving, bench/RESULTS-backup-beside.md).
      if (options.unattended) collectFullSoon();
      else collectFullWhenQuiet();
      await phasePoint(`backup.after_archive:${volume}`);
      await holdPoint(`backup.after_archive:${volume}`, options.signal);
    };

    // Logs and plugins are not part of the consistency point (logs are appended all the time), so
    // they are archived beside the database snapshot, which runs on the other core (unattended: after it).
    const independent: BackupVolume[] = ["mimir_logs", "mimir_plugins"];
    for (const volume of independent) plans[volume] = planFolder(folders[volume], { skip: skipFor(volume) });
    total = plans.mimir_logs.bytes + plans.mimir_plugins.bytes;
    const archiveIndependent = async () => {
      for (const volume of independent) await archive(volume);
    };
    const independentDone = options.unattended ? Promise.resolve() : archiveIndependent();
    independentDone.catch(() => undefined);
    try {
      // The one consistency point: pipeline files and the database are taken at the same moment.
      await livePaused(async () => {
        options.message?.("snapshotting databases");
        // The snapshot is fixed here, inside the pause; the dump itself is written after it (below).
        if (pool && !options.postgresDump) snapshot = await openPostgresSnapshot(pool);
        const substitute = new Map<string, string>();
        for (const relative of findSqliteFiles(folders.mimir_data, skipFor("mimir_data"), path.join(folders.mimir_data, mainDb))) {
          // A restore's kept-aside database was closed before its swap and nobody writes it since: when
          // no WAL or journal holds part of it, the file itself is archived. Its VACUUM INTO copy (1M
          // runs: ~1.6 GB rewritten, seconds of CPU, tens of MB of the server's memory) added nothing.
          const kept = options.sources?.mimir_data
            ? await countClosedSqliteDatabase(path.join(folders.mimir_data, relative), { background: options.background })
            : null;
          if (kept) {
            databases[relative] = kept.rowCounts;
            closedFiles.push(kept.closed);
            continue;
          }
          const snapshot = path.join(snapshots, relative.replaceAll("/", "__"));
          databases[relative] = await snapshotSqliteDatabase(path.join(folders.mimir_data, relative), snapshot);
          substitute.set(relative, snapshot);
        }
        crashPoint("backup.after_snapshot");
        const skipData = skipFor("mimir_data");
        plans.mimir_data = planFolder(folders.mimir_data, { substitute, skip: (name) => skipData(name) || isSqliteSidecar(name) });
        plans.mimir_pipelines = planFolder(folders.mimir_pipelines, { skip: skipFor("mimir_pipelines") });
        const skipConfig = skipFor("mimir_config");
        // The key that opens the channel secrets sealed in mimir_data never goes beside them into a set.
        plans.mimir_config = planFolder(folders.mimir_config, { skip: (name) => skipConfig(name) || name === SECRET_KEY_FILE });
        total += plans.mimir_data.bytes + plans.mimir_pipelines.bytes + plans.mimir_config.bytes;
        options.progress?.(done, total);
        await archive("mimir_pipelines");
        await archive("mimir_config");
      });
      if (snapshot || options.postgresDump) {
        let file: string;
        let facts: DumpFacts;
        if (options.postgresDump) {
          ({ file, facts } = options.postgresDump);
        } else {
          const current = snapshot as unknown as PostgresSnapshot;
          snapshot = null;
          options.message?.("dumping the PostgreSQL database");
          file = path.join(snapshots, POSTGRES_DUMP_FILE);
          facts = await writeSnapshotToFile(current, file, options.signal);
        }
        postgres = { file: POSTGRES_DUMP_FILE, ...facts };
        const stat = fs.statSync(/*turbopackIgnore: true*/ file);
        // A file of the volume by that name is replaced by the dump, never archived beside it.
        plans.mimir_data.files = plans.mimir_data.files.filter((entry) => entry.name !== POSTGRES_DUMP_FILE);
        plans.mimir_data.files.push({ name: POSTGRES_DUMP_FILE, source: file, stat });
        plans.mimir_data.bytes = plans.mimir_data.files.reduce((sum, entry) => sum + entry.stat.size, 0);
        total += stat.size;
      }
      await Promise.all([archive("mimir_data"), independentDone]);
      if (options.unattended) await archiveIndependent();
      // The archive holds what the counts were taken from only if nothing wrote the file meanwhile.
      for (const closed of closedFiles) assertSqliteFileUnchanged(closed);
    } catch (error) {
      await (snapshot as PostgresSnapshot | null)?.close(error as Error).catch(() => undefined);
      await independentDone.catch(() => undefined);
      throw error;
    }

    const manifest: BackupManifest = {
      format: "mimir-backup",
      format_version: 1,
      id,
      app_version: packageJson.version,
      schema_version: await readSchemaVersion(),
      created_at: options.createdAt ?? new Date().toISOString(),
      trigger: options.trigger,
      encrypted: options.passphrase !== null,
      archives: Object.fromEntries(VOLUMES.map((volume) => [volume, archives[volume]])) as Record<BackupVolume, ManifestArchive>,
      databases,
      row_counts: postgres ? Object.fromEntries(COUNTED_TABLES.map((table) => [table, postgres?.row_counts[table] ?? 0])) : (databases[mainDb] ?? {}),
      ...(postgres ? { postgres } : {}),
    };
    // Off the event loop: unlinking the snapshot of a 1M-run database held it for ~190 ms.
    await fs.promises.rm(snapshots, { recursive: true, force: true });
    const manifestFile = path.join(partial, MANIFEST_FILE);
    fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2), { mode: 0o600 });
    // The flushes on the thread pool: right after gigabytes of archives, each can wait tens of ms for the journal.
    await fsyncFile(manifestFile);
    await fsyncFile(partial);
    crashPoint("backup.before_rename");
    fs.renameSync(partial, path.join(root, id));
    await fsyncFile(root);
    crashPoint("backup.after_rename");
    return manifest;
  } catch (error) {
    await fs.promises.rm(partial, { recursive: true, force: true });
    throw describeWriteError(error);
  } finally {
    activeTempFolders.delete(partial);
    await gzipThreads.close();
  }
}

/**
 * Relative paths of the SQLite databases in a folder, recognised by their header. The app's own
 * database is never opened here: closing any descriptor of a file drops every POSIX lock this
 * process holds on it (sqlite.org/howtocorrupt.html §2.2), and another process could then
 * checkpoint and delete the WAL under our open connection.
 */
function findSqliteFiles(folder: string, skip: (name: string) => boolean, appDatabase: string): string[] {
  const plan = planFolder(folder, { skip: (name) => skip(name) || isSqliteSidecar(name) });
  return plan.files.filter((file) => path.resolve(file.source) === path.resolve(appDatabase) || isSqliteFile(file.source)).map((file) => file.name);
}

/** Never archive the backups folder into itself, nor a restore's staging folders. */
function excludeFromVolume(volumeFolder: string, backups: string): (name: string) => boolean {
  const inside = path.relative(volumeFolder, backups);
  const backupsName = inside && !inside.startsWith("..") && !path.isAbsolute(inside) ? inside.split(path.sep).join("/") : null;
  return (name) => {
    const top = name.split("/")[0] ?? "";
    return (
      RESTORE_RESERVED.test(top) ||
      (!name.includes("/") && isDataRootLockName(name)) ||
      (backupsName !== null && (name === backupsName || name.startsWith(`${backupsName}/`)))
    );
  };
}

async function readSchemaVersion(): Promise<string | null> {
  try {
    return (await probeDatabase()).schemaVersion;
  } catch {
    return null;
  }
}

function describeWriteError(error: unknown): unknown {
  if (isAppError(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EFBIG" || code === "EDQUOT" || code === "SQLITE_FULL") {
    return new AppError("insufficient_disk", `No space left on the backup disk (${backupsFolder()}); the partial set was removed and nothing else changed`, {
      cause: error,
    });
  }
  return error;
}
