import "server-only";
import fs from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { yieldEvery } from "@/lib/event-loop";
import { collectFullWhenQuiet } from "@/lib/freed-memory";
import { checkSqliteDatabase, type SqliteCheckDepth } from "@/lib/db/sqlite-snapshot";
import { AppError } from "@/lib/errors";
import { extractVolumeArchive } from "@/lib/backups/archive";
import type { DivertedFile } from "@/lib/backups/safe-extract";
import type { Progress } from "@/lib/backups/create-set";
import type { BackupManifest, BackupVolume } from "@/lib/backups/types";
import { appPostgresPool } from "@/lib/db/engine/postgres/app-pool";
import { DumpFormatError } from "@/lib/db/engine/postgres/dump-reader";
import { verifyPostgresDump } from "@/lib/db/engine/postgres/restore";

/** Upper bound on entries per archive: far above any real volume, far below what exhausts inodes. */
const MAX_ENTRIES_PER_ARCHIVE = 5_000_000;

/**
 * What extractSet checks in what it extracted: the databases' page check (integrity_check, or
 * quick_check) with foreign_key_check and the manifest's row counts (a set taken on PostgreSQL: its
 * dump loaded into a scratch schema, with the row counts), and the pipeline files; or "drill":
 * nothing beyond the archives' sha256, because the set's drill ran all of those on these very bytes
 * (see restoreBackupSet).
 */
export type DatabaseCheck = SqliteCheckDepth | "drill";

/**
 * The restore drill on the chosen volumes of a set: each archive is decrypted and extracted into
 * `destFor(volume)` (staging or scratch folders that exist and are empty), checked against the
 * manifest's sha256 and bounded by its recorded size and the free space where it lands; then every
 * database opens and passes integrity_check (or quick_check, `databaseCheck`) and foreign_key_check
 * with the manifest's row counts (unless `databaseCheck` is "drill"), and every pipeline file parses.
 * Reports archive bytes read; throws on the first failure once nothing reads or writes the
 * destination folders any more.
 */
export async function extractSet(
  folder: string,
  manifest: BackupManifest,
  volumes: readonly BackupVolume[],
  destFor: (volume: BackupVolume) => string,
  options: {
    passphrase: string | null;
    databaseCheck?: DatabaseCheck;
    progress?: Progress;
    message?: (text: string) => void;
    /** checked before each archive and once all are extracted: a cancelled restore stops with only staging written */
    signal?: AbortSignal;
    /**
     * A drill beside serving, not a restore the app waits for: the database check at a low CPU priority,
     * once every archive is extracted, so its worker, page cache and SQLite's own never stack on the
     * extraction's buffers (they made the highest point of the verify that follows a restore).
     */
    background?: boolean;
    /**
     * A set taken on PostgreSQL: the caller loads its dump itself with the same checks (a restore loads
     * it into the schema it swaps in), so the drill does not load it into a scratch schema first.
     */
    postgresDumpChecked?: boolean;
    /** called after each volume is extracted ("restore.extracted:mimir_data"), for the crash and phase tests */
    afterVolume?: (volume: BackupVolume) => Promise<void>;
    /** a file of one volume's archive read as it is extracted, never written (a restore's PostgreSQL dump, loaded as it comes) */
    divert?: DivertedFile & { volume: BackupVolume };
  },
): Promise<void> {
  const total = volumes.reduce((sum, volume) => sum + manifest.archives[volume].bytes, 0);
  let done = 0;
  options.progress?.(0, total);
  const extract = async (volume: BackupVolume) => {
    const archive = manifest.archives[volume];
    const dest = destFor(volume);
    const free = freeBytes(dest);
    if (archive.tar_bytes > free) {
      throw new AppError("insufficient_disk", `${archive.file} needs ${archive.tar_bytes} bytes to extract but ${dest} has ${free} free; nothing was replaced`);
    }
    options.message?.(`checking and extracting ${archive.file}`);
    await extractVolumeArchive(path.join(folder, archive.file), archive, dest, {
      passphrase: options.passphrase,
      limits: { maxBytes: Math.min(archive.tar_bytes, free), maxEntries: MAX_ENTRIES_PER_ARCHIVE },
      background: options.background,
      divert: options.divert?.volume === volume ? options.divert : undefined,
      onBytes: (n) => {
        done += n;
        options.progress?.(done, total);
      },
    });
  };
  // One archive at a time, mimir_data (most of the bytes) first: one set of stream buffers keeps
  // memory flat, and extracting is no longer the slow part (it runs faster than `tar xzf`). The
  // database check, CPU-bound in its worker threads, runs on the other core beside the remaining
  // archives (in the background: after them).
  const ordered = [...volumes].sort((a, b) => Number(b === "mimir_data") - Number(a === "mimir_data"));
  let databaseCheck: Promise<void> | null = null;
  let extracted!: () => void;
  const allExtracted = new Promise<void>((resolve) => (extracted = resolve));
  const startDatabaseCheck = (): Promise<void> => {
    const depth = options.databaseCheck ?? "integrity_check";
    const dataFolder = destFor("mimir_data");
    if (depth !== "drill") options.message?.(`checking the databases (${depth})`);
    // A drilled set's dump was loaded by its drill: the archives' sha256 prove these are the same bytes.
    const check =
      depth === "drill"
        ? Promise.resolve()
        : checkDatabases(manifest, dataFolder, depth, options.background ?? false, allExtracted).then(() =>
            options.postgresDumpChecked ? undefined : checkPostgresDump(manifest, dataFolder),
          );
    // Awaited below; a failure must not go unhandled while the other archives are extracted.
    check.catch(() => undefined);
    return check;
  };
  try {
    for (const volume of ordered) {
      options.signal?.throwIfAborted();
      await extract(volume);
      await options.afterVolume?.(volume);
      if (volume === "mimir_data" && !options.background) databaseCheck = startDatabaseCheck();
      if (volume === "mimir_pipelines" && options.databaseCheck !== "drill") await checkPipelines(destFor(volume));
    }
    extracted();
    // In the background the check waits for every archive (see `background`), and the extraction's
    // garbage goes in one full collection once requests leave room for it: it made no forced ones while it ran.
    if (options.background) collectFullWhenQuiet();
    if (ordered.includes("mimir_data")) databaseCheck ??= startDatabaseCheck();
  } catch (error) {
    // Here, not in a finally: the check's keys wait for this (keysAfter), and this block awaits the check.
    extracted();
    // The check's worker reads the staging folder the caller is about to discard: let it finish first.
    await databaseCheck?.catch(() => undefined);
    throw error;
  }
  await databaseCheck;
  options.signal?.throwIfAborted();
}

/** Every database of the manifest opens and passes the page check and foreign_key_check with its row counts. */
async function checkDatabases(
  manifest: BackupManifest,
  dataFolder: string,
  depth: SqliteCheckDepth,
  background: boolean,
  keysAfter: Promise<void>,
): Promise<void> {
  for (const [relative, expected] of Object.entries(manifest.databases)) {
    const file = path.join(dataFolder, relative);
    if (!path.resolve(file).startsWith(path.resolve(dataFolder) + path.sep))
      throw new AppError("invalid_archive", `The manifest names a database outside mimir_data: ${relative}`);
    if (!fs.existsSync(file)) throw new AppError("verification_failed", `The set's mimir_data has no ${relative}, which its manifest lists`);
    let check;
    try {
      check = await checkSqliteDatabase(file, depth, { background, keysAfter });
    } catch (error) {
      throw new AppError("verification_failed", `${relative} from the set does not open as an SQLite database: ${(error as Error).message}`, { cause: error });
    }
    if (check.integrity.length !== 1 || check.integrity[0] !== "ok") {
      throw new AppError("verification_failed", `${relative} fails ${depth}: ${check.integrity.slice(0, 3).join("; ")}`);
    }
    if (check.foreignKeyViolations > 0) throw new AppError("verification_failed", `${relative} has ${check.foreignKeyViolations} foreign key violations`);
    for (const [table, count] of Object.entries(expected)) {
      if (check.rowCounts[table] !== count) {
        throw new AppError("verification_failed", `${relative}: table ${table} has ${check.rowCounts[table] ?? "no"} rows, the manifest says ${count}`);
      }
    }
  }
}

/**
 * A set taken on PostgreSQL: its dump loads into a scratch schema of the live database (keys, indexes
 * and foreign keys built on the rows, then rolled back) with the manifest's row counts. Such a set
 * can only be checked (and restored) by a deployment on PostgreSQL.
 */
async function checkPostgresDump(manifest: BackupManifest, dataFolder: string): Promise<void> {
  const dump = manifest.postgres;
  if (!dump) return;
  const file = path.join(dataFolder, dump.file);
  if (path.dirname(path.resolve(file)) !== path.resolve(dataFolder))
    throw new AppError("invalid_archive", `The manifest names a dump outside mimir_data: ${dump.file}`);
  if (!fs.existsSync(file)) throw new AppError("verification_failed", `The set's mimir_data has no ${dump.file}, which its manifest lists`);
  const pool = appPostgresPool();
  if (!pool) {
    throw new AppError(
      "verification_failed",
      `The set was taken on PostgreSQL (database ${dump.database}): its ${dump.file} can only be checked on a deployment running on PostgreSQL; ` +
        "to load it by hand, see docs/recovery.md (psql -f)",
    );
  }
  let result;
  try {
    result = await verifyPostgresDump(pool, file, dump.row_counts);
  } catch (error) {
    const why = error instanceof DumpFormatError ? error.message : `it does not load: ${(error as Error).message}`;
    throw new AppError("verification_failed", `${dump.file} from the set: ${why}`, { cause: error });
  }
  const first = result.mismatches[0];
  if (first) throw new AppError("verification_failed", `${dump.file}: table ${first.table} has ${first.found} rows, the manifest says ${first.expected}`);
}

/** Every pipeline file parses as YAML (on the main thread, beside requests: it yields between files). */
async function checkPipelines(pipelinesFolder: string): Promise<void> {
  const pause = yieldEvery();
  for (const file of listFiles(pipelinesFolder)) {
    if (!/\.ya?ml$/i.test(file)) continue;
    await pause();
    const doc = parseDocument(fs.readFileSync(path.join(pipelinesFolder, file), "utf8"));
    if (doc.errors.length > 0) throw new AppError("verification_failed", `Pipeline file ${file} does not parse: ${doc.errors[0]?.message.split("\n")[0]}`);
  }
}

function listFiles(root: string, relative = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
    const name = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(root, name));
    else if (entry.isFile()) out.push(name);
  }
  return out;
}

/** Free bytes on the filesystem holding `folder`: extraction may never fill a disk. */
export function freeBytes(folder: string): number {
  const stats = fs.statfsSync(folder);
  return stats.bavail * stats.bsize;
}
