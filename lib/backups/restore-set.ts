import "server-only";
import { processState } from "@/lib/process-state";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { volumeFolders } from "@/lib/config/data-root";
import { closeAppDatabase, closeDatabase, getDb, isAppDatabaseOpen, notifyAppDatabaseReopened, openDatabase, setAppDatabase } from "@/lib/db/client";
import { migrateDatabase } from "@/lib/db/migrate";
import { withAppWritesPaused } from "@/lib/operations/write-gate";
import { captureOperationsFinishedSince, captureRunningOperations, reinstateOperations } from "@/lib/operations/service";
import { getLogger, reopenLogFile } from "@/lib/log/logger";
import { seedCredentialsFromEnvironment } from "@/lib/auth/service";
import { fsyncFolder } from "@/lib/backups/archive";
import { crashPoint, phasePoint } from "@/lib/backups/crash-points";
import { carryAccessTablesInto, saveAccessTablesAside, type CarriedTables } from "@/lib/db/sqlite-kept-tables";
import { isDataRootLockName } from "@/lib/backups/server-lock";
import { copySecretKeyFile } from "@/lib/secrets/sealed";
import { createBackupSet, type Progress } from "@/lib/backups/create-set";
import { backupsFolder, passedVerification, readManifest, setFolder, withSetInUse } from "@/lib/backups/store";
import { extractSet } from "@/lib/backups/verify-set";
import type { BackupVolume } from "@/lib/backups/types";
import type { SqliteCheckDepth } from "@/lib/db/sqlite-snapshot";
import { AppError } from "@/lib/errors";
import { appPostgresPool } from "@/lib/db/engine/postgres/app-pool";
import { clearRestoreCommit, readRestoreCommit, restorePostgresDump } from "@/lib/db/engine/postgres/restore";
import { RESTORE_KEPT_TABLES } from "@/lib/db/sqlite-kept-tables";

/**
 * Inside each volume: the restored content is extracted into STAGING and checked; at the swap the
 * volume's current top-level entries move into PREVIOUS and staging's move up. Both live inside the
 * volume so each rename stays on one filesystem, even when the volume is its own mount (Docker).
 */
const STAGING = ".mimir-restore-staging";
const PREVIOUS = ".mimir-restore-previous";
const DISCARD = ".mimir-restore-discard";
const RESERVED = new Set([STAGING, PREVIOUS, DISCARD]);
const JOURNAL_FILE = ".restore-journal.json";
/** The live tables a restore keeps (RESTORE_KEPT_TABLES), set aside across the swap (beside the journal, private to the owner). */
const KEPT_TABLES_FILE = ".restore-kept-tables.db";
/** On PostgreSQL: the set's dump, moved out of staging so the swap does not put it into the live volume. */
const POSTGRES_DUMP_FILE = ".restore-postgres.sql";
/** Why a cancel is refused once the swap has begun: the operation then finishes and records how it went. */
export const RESTORE_APPLYING = "the restore is being applied";

interface RestoreJournal {
  backup_id: string;
  /** the top-level names each volume held before the swap: what a rollback puts back */
  volumes: { name: BackupVolume; folder: string; original: string[] }[];
  /**
   * On PostgreSQL: the token the restore transaction writes into system_metadata as it commits. A
   * journal found after a kill whose token is in the database means the database has the set's data:
   * the files are finished forward instead of rolled back, so both sides always agree.
   */
  commit_token?: string;
}

export interface RestoreSetOptions {
  volumes: readonly BackupVolume[];
  passphrase: string | null;
  /** take the pre-restore safety backup (default); only the bench turns it off, to time it apart */
  safetyBackup?: boolean;
  progress?: Progress;
  message?: (text: string) => void;
  /** a cancel: honoured until the swap (nothing live has changed by then), never after it */
  signal?: AbortSignal;
  /**
   * Called once, right before the swap: throws if a cancel came first, and from then on the caller
   * refuses cancels (OperationContext.pointOfNoReturn).
   */
  pointOfNoReturn?: (reason: string) => void;
}

export interface RestoreSetResult {
  backup_id: string;
  volumes: BackupVolume[];
  safety_backup_id: string | null;
  row_counts: Record<string, number>;
  /** the page check the restored databases passed (quick_check when the set's drill had already passed integrity_check on the same bytes); null when mimir_data was not restored */
  database_check: SqliteCheckDepth | null;
  /** what a restore of mimir_data kept from the live database (null when mimir_data was not restored) */
  access_and_audit: CarriedTables | null;
}

// The replaced data is deleted after the restore returns (a large volume takes seconds to delete and
// is garbage once swapped out). Process-wide like the database handle; the CLI awaits it before it
// exits, the next restore before it starts, and boot removes whatever a killed process left.
const memo = processState("restoreDiscard", (): { restoreDiscard?: Promise<void> } => ({}));

/** Resolves when the data a restore replaced has been deleted. */
export function replacedDataRemoved(): Promise<void> {
  return memo.restoreDiscard ?? Promise.resolve();
}

/**
 * Restores volumes of a set. Before anything live changes: extract into staging with the archive
 * checks and check the staged database and pipelines (extractSet: the full restore drill, except that
 * a set whose drill already passed against this manifest gets quick_check instead of integrity_check,
 * since the re-proven archive hashes make its bytes the ones that passed), take a pre-restore safety backup. Then, with app
 * writes paused and the database closed: a journal is written, volumes are swapped by rename, and
 * the database is reopened and migrated (an older set's schema is upgraded). A failure before the
 * swap leaves live data untouched; a failure during or after it rolls back at once, and a kill rolls
 * back at the next boot (recoverInterruptedRestore).
 */
export async function restoreBackupSet(id: string, options: RestoreSetOptions): Promise<RestoreSetResult> {
  const folder = setFolder(id);
  return withSetInUse(id, async () => {
    const manifest = readManifest(folder);
    const config = getConfig();
    const folders = volumeFolders(config);
    const volumes = [...options.volumes];
    await replacedDataRemoved();
    await recoverInterruptedRestore();
    const databaseCheck: SqliteCheckDepth | null = !volumes.includes("mimir_data") ? null : passedVerification(folder) ? "quick_check" : "integrity_check";
    const pool = appPostgresPool();
    const postgresDump = volumes.includes("mimir_data") ? manifest.postgres : undefined;
    if (volumes.includes("mimir_data") && !pool !== !manifest.postgres) {
      throw new AppError(
        "invalid_archive",
        pool
          ? "This set was taken on SQLite and this deployment runs on PostgreSQL: bring the set's database over with `npm run mimir -- migrate-to-postgres`; nothing was changed"
          : "This set was taken on PostgreSQL and this deployment runs on SQLite: restore it on a PostgreSQL deployment, or load its mimir-postgres.sql with psql (docs/recovery.md); nothing was changed",
      );
    }

    for (const volume of volumes) {
      const staging = path.join(folders[volume], STAGING);
      fs.rmSync(staging, { recursive: true, force: true });
      fs.mkdirSync(staging, { recursive: true, mode: 0o700 });
    }
    let safetyBackupId: string | null = null;
    try {
      await extractSet(folder, manifest, volumes, (volume) => path.join(folders[volume], STAGING), {
        ...options,
        databaseCheck: databaseCheck ?? undefined,
        afterVolume: (volume) => phasePoint(`restore.extracted:${volume}`),
      });
      // The dump is loaded into the database below, never swapped into the volume as a file.
      if (postgresDump) fs.renameSync(path.join(folders.mimir_data, STAGING, postgresDump.file), postgresDumpFile());
      await phasePoint("restore.after_extract");
      options.signal?.throwIfAborted();
      if (options.safetyBackup !== false) {
        options.message?.("taking a safety backup of the current state");
        safetyBackupId = (await createBackupSet({ trigger: "pre-restore", passphrase: options.passphrase, message: options.message, signal: options.signal }))
          .id;
      }
      await phasePoint("restore.after_safety_backup");
      // The last moment a cancel is honoured: nothing live has changed yet.
      options.signal?.throwIfAborted();
      options.pointOfNoReturn?.(RESTORE_APPLYING);
    } catch (error) {
      removeStaging(volumes);
      fs.rmSync(postgresDumpFile(), { force: true });
      throw error;
    }

    options.message?.("swapping volumes");
    const keepsAccess = volumes.includes("mimir_data") && !pool;
    let accessAndAudit: CarriedTables | null = null;
    await withAppWritesPaused(async () => {
      const carried = await captureRunningOperations();
      const finishedSinceSnapshot = await captureOperationsFinishedSince(manifest.created_at);
      if (keepsAccess) saveAccessTablesAside(getDb(), keptTablesFile());
      // On PostgreSQL the pool stays open: the database is replaced inside one transaction below.
      if (!pool) closeAppDatabase();
      const journal: RestoreJournal = {
        backup_id: id,
        volumes: volumes.map((name) => ({ name, folder: folders[name], original: topLevelNames(folders[name]) })),
        ...(pool && postgresDump ? { commit_token: crypto.randomUUID() } : {}),
      };
      writeJournal(journal);
      try {
        // Sets leave the key of the sealed channel secrets out; the live one must survive the swap.
        if (volumes.includes("mimir_config")) copySecretKeyFile(folders.mimir_config, path.join(folders.mimir_config, STAGING));
        for (const entry of journal.volumes) {
          swapVolume(entry.folder, entry.original);
          crashPoint(`restore.after_swap:${entry.name}`);
        }
        if (pool && postgresDump) {
          // All or nothing: a failure or a kill before its commit leaves the old rows, and the
          // journal puts the files back. The access and audit tables stay the live ones, as on SQLite.
          options.message?.("loading the database from the set's dump");
          const loaded = await restorePostgresDump(pool, postgresDumpFile(), {
            carry: { tables: RESTORE_KEPT_TABLES, appendTable: "audit_log" },
            // The restore's own operation and those that ended since the set: never missing or "running" to a reader.
            keepRows: { table: "operations", ids: [...carried, ...finishedSinceSnapshot].map((row) => row.id) },
            commitToken: journal.commit_token,
          });
          accessAndAudit = { same_instance: loaded.same_instance, kept: loaded.kept, audit_rows_appended: loaded.appended_rows };
          // Committed, the journal still on disk: the next boot must finish the files forward, not roll them back.
          crashPoint("restore.after_database_commit");
        } else if (!pool) {
          reopenDatabase();
          // Before the commit below: a kill from here on rolls the whole restore back, kept tables included.
          if (keepsAccess) accessAndAudit = carryAccessTablesInto(getDb(), keptTablesFile());
        }
      } catch (error) {
        getLogger().error("restore failed during the swap; rolling back", { backup: id, error });
        if (!pool && isAppDatabaseOpen()) closeAppDatabase();
        rollBack(journal);
        fs.rmSync(postgresDumpFile(), { force: true });
        if (!pool) reopenDatabase();
        await reinstateOperations(carried);
        throw error;
      }
      await phasePoint("restore.after_reopen");
      removeJournal();
      fs.rmSync(keptTablesFile(), { force: true });
      fs.rmSync(postgresDumpFile(), { force: true });
      crashPoint("restore.after_commit");
      // Only once the journal is gone: a token left by a kill here is never read again (no journal names it).
      if (journal.commit_token && pool)
        await clearRestoreCommit(pool).catch((error: unknown) => getLogger().warn("could not clear the restore's commit mark", { error }));
      try {
        for (const entry of journal.volumes) fs.renameSync(path.join(entry.folder, PREVIOUS), path.join(entry.folder, DISCARD));
      } catch (error) {
        // The restore has taken effect; what it replaced is removed at the next start instead.
        getLogger().warn("could not set the replaced data aside for deletion; the next start removes it", { error });
      }
      memo.restoreDiscard = removeDiscarded(journal.volumes.map((entry) => entry.folder));
      await reinstateOperations(carried, finishedSinceSnapshot);
      // The credentials set in the environment (admin password, API token) keep working after the swap.
      await seedCredentialsFromEnvironment(getConfig());
      if (volumes.includes("mimir_logs")) reopenLogFile(getConfig());
    });
    await notifyAppDatabaseReopened();
    return {
      backup_id: id,
      volumes,
      safety_backup_id: safetyBackupId,
      row_counts: manifest.row_counts,
      database_check: databaseCheck,
      access_and_audit: accessAndAudit,
    };
  });
}

/**
 * At boot (on SQLite before the database opens; on PostgreSQL once the pool is open) and before any
 * restore: a journal left by a killed restore means a swap was under way. Each volume is put back as it
 * was, unless the PostgreSQL restore transaction had committed (its token is in the database): then
 * the database holds the set's data and the files are finished forward to match. Leftover staging and
 * previous folders are removed. Returns the backup id of the interrupted restore, if any.
 */
export async function recoverInterruptedRestore(): Promise<string | null> {
  const journal = readJournal();
  const pool = appPostgresPool();
  if (journal) {
    if (journal.commit_token && pool && (await readRestoreCommit(pool)) === journal.commit_token) {
      finishForward(journal);
      getLogger().warn("finished a restore that was interrupted after its database commit", { backup: journal.backup_id });
    } else {
      // On PostgreSQL the database was never closed for the swap: only the files are put back.
      if (isAppDatabaseOpen() && !pool) closeAppDatabase();
      rollBack(journal);
      getLogger().warn("rolled back a restore that was interrupted during its swap", { backup: journal.backup_id });
    }
  }
  // A mark left by a kill after the journal went names no journal any more: forget it.
  if (pool) await clearRestoreCommit(pool);
  removeStaging(Object.keys(volumeFolders(getConfig())) as BackupVolume[], true);
  fs.rmSync(keptTablesFile(), { force: true });
  fs.rmSync(postgresDumpFile(), { force: true });
  return journal?.backup_id ?? null;
}

/** What a swap moves: everything but its own folders and the data root's lock, which the holder keeps open. */
function topLevelNames(folder: string): string[] {
  return fs.readdirSync(folder).filter((name) => !RESERVED.has(name) && !isDataRootLockName(name));
}

function swapVolume(folder: string, original: string[]) {
  const previous = path.join(folder, PREVIOUS);
  const staging = path.join(folder, STAGING);
  fs.mkdirSync(previous, { recursive: true, mode: 0o700 });
  for (const name of original) {
    if (fs.existsSync(path.join(folder, name))) fs.renameSync(path.join(folder, name), path.join(previous, name));
  }
  for (const name of fs.readdirSync(staging)) {
    if (!isDataRootLockName(name)) fs.renameSync(path.join(staging, name), path.join(folder, name));
  }
  fs.rmSync(staging, { recursive: true, force: true });
  fsyncFolder(folder);
}

/**
 * Puts each volume back as the journal recorded it. Idempotent, so a kill during a rollback is
 * finished by the next boot: names that were not there before go to DISCARD, and each original name
 * still in PREVIOUS moves back over whatever took its place.
 */
function rollBack(journal: RestoreJournal) {
  for (const entry of journal.volumes) {
    const previous = path.join(entry.folder, PREVIOUS);
    const discard = path.join(entry.folder, DISCARD);
    fs.mkdirSync(discard, { recursive: true, mode: 0o700 });
    const original = new Set(entry.original);
    for (const name of topLevelNames(entry.folder)) {
      if (!original.has(name)) moveInto(path.join(entry.folder, name), path.join(discard, name));
    }
    for (const name of entry.original) {
      const saved = path.join(previous, name);
      if (!fs.existsSync(saved)) continue;
      if (fs.existsSync(path.join(entry.folder, name))) moveInto(path.join(entry.folder, name), path.join(discard, name));
      fs.renameSync(saved, path.join(entry.folder, name));
    }
    fsyncFolder(entry.folder);
  }
  removeJournal();
  fs.rmSync(keptTablesFile(), { force: true });
  for (const entry of journal.volumes) {
    for (const name of RESERVED) fs.rmSync(path.join(entry.folder, name), { recursive: true, force: true });
  }
}

/**
 * The other way out of a journal, once the database has the set's data: every volume was swapped
 * before the database load began, so only what the swap replaced is left to remove. Idempotent.
 */
function finishForward(journal: RestoreJournal) {
  for (const entry of journal.volumes) {
    for (const name of RESERVED) fs.rmSync(path.join(entry.folder, name), { recursive: true, force: true });
    fsyncFolder(entry.folder);
  }
  removeJournal();
}

async function removeDiscarded(folders: string[]): Promise<void> {
  for (const folder of folders) {
    try {
      await fs.promises.rm(path.join(folder, DISCARD), { recursive: true, force: true });
    } catch (error) {
      getLogger().warn("could not delete the data a restore replaced; the next start removes it", { folder, error });
    }
  }
}

function moveInto(from: string, to: string) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.renameSync(from, to);
}

function removeStaging(volumes: BackupVolume[], all = false) {
  const folders = volumeFolders(getConfig());
  for (const volume of volumes) {
    for (const name of all ? RESERVED : [STAGING]) fs.rmSync(path.join(folders[volume], name), { recursive: true, force: true });
  }
}

function reopenDatabase() {
  const file = getConfig().paths.database;
  const db = openDatabase(file);
  try {
    migrateDatabase(db, file);
  } catch (error) {
    closeDatabase(db);
    throw error;
  }
  setAppDatabase(db, file);
}

function postgresDumpFile() {
  return path.join(backupsFolder(), POSTGRES_DUMP_FILE);
}

function keptTablesFile() {
  return path.join(backupsFolder(), KEPT_TABLES_FILE);
}

function journalFile() {
  return path.join(backupsFolder(), JOURNAL_FILE);
}

function writeJournal(journal: RestoreJournal) {
  const file = journalFile();
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(journal), { mode: 0o600 });
  const fd = fs.openSync(`${file}.tmp`, "r");
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(`${file}.tmp`, file);
  fsyncFolder(path.dirname(file));
}

function readJournal(): RestoreJournal | null {
  try {
    return JSON.parse(fs.readFileSync(journalFile(), "utf8")) as RestoreJournal;
  } catch {
    return null;
  }
}

function removeJournal() {
  fs.rmSync(journalFile(), { force: true });
  fs.rmSync(`${journalFile()}.tmp`, { force: true });
  fsyncFolder(backupsFolder());
}
