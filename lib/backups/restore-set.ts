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
import { fsyncFile, fsyncFolder, fsyncTree, writeFileAtomic } from "@/lib/files";
import { crashPoint, holdPoint, phasePoint } from "@/lib/backups/crash-points";
import { carryAccessTablesInto, saveAccessTablesAside, type CarriedTables } from "@/lib/db/sqlite-kept-tables";
import { isDataRootLockName } from "@/lib/backups/server-lock";
import { copySecretKeyFile } from "@/lib/secrets/sealed";
import { createBackupSet, type Progress } from "@/lib/backups/create-set";
import {
  activeTempFolders,
  backupPassphrase,
  backupsFolder,
  MANIFEST_FILE,
  newBackupId,
  passedVerification,
  readManifest,
  removeOffTheLoop,
  setFolder,
  withSetInUse,
} from "@/lib/backups/store";
import { syncBackupCatalog } from "@/lib/backups/catalog";
import { extractSet, type DatabaseCheck } from "@/lib/backups/verify-set";
import type { BackupManifest, BackupVolume } from "@/lib/backups/types";
import { AppError } from "@/lib/errors";
import { appPostgresPool } from "@/lib/db/engine/postgres/app-pool";
import { clearRestoreCommit, JOURNAL_TABLE, readRestoreCommit, restorePostgresDump } from "@/lib/db/engine/postgres/restore";
import {
  dropSchema,
  dropLeftoverSchemas,
  newReplacedSchemaName,
  stageDump,
  swapBlocker,
  swapInStagedDump,
  type StagedDump,
} from "@/lib/db/engine/postgres/staged-restore";
import { DumpFormatError } from "@/lib/db/engine/postgres/dump-reader";
import { openPostgresSnapshot, writeSnapshotToFile, type DumpFacts } from "@/lib/db/engine/postgres/dump";
import { RESTORE_KEPT_TABLES } from "@/lib/db/sqlite-kept-tables";

/**
 * Inside each volume: the restored content is extracted into STAGING and checked; at the swap the
 * volume's current top-level entries move into PREVIOUS and staging's move up. Both live inside the
 * volume so each rename stays on one filesystem, even when the volume is its own mount (Docker).
 * PREVIOUS is the way back from the moment of the swap: it stays until the safety set has been
 * written from it (after the restore has returned), then goes to DISCARD and is deleted.
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
/** On PostgreSQL: the live database dumped right before the swap, the way back for what the restore replaces (its PREVIOUS). */
const REPLACED_POSTGRES_FILE = ".restore-replaced-postgres.sql";
/** Why a cancel is refused once the swap has begun: the operation then finishes and records how it went. */
export const RESTORE_APPLYING = "the restore is being applied";

interface RestoreJournal {
  backup_id: string;
  /**
   * "swapping" (or absent, a journal of an older version): a kill rolls the restore back.
   * "swapped": the restore took effect (its commit is this rewrite); what it replaced waits in each
   * volume's PREVIOUS (and REPLACED_POSTGRES_FILE) until the safety set is written from it.
   */
  phase?: "swapping" | "swapped";
  /** the id the safety set of the replaced state is written under (reserved as backups/.partial-<id>) */
  safety_backup_id: string;
  /** when the replaced state was set aside: the safety set's created_at */
  taken_at: string;
  /** the top-level names each volume held before the swap: what a rollback puts back */
  volumes: { name: BackupVolume; folder: string; original: string[] }[];
  /**
   * On PostgreSQL: the token the restore transaction writes into system_metadata as it commits. A
   * journal found after a kill whose token is in the database means the database has the set's data:
   * the restore counts as swapped instead of being rolled back, so both sides always agree.
   */
  commit_token?: string;
  /** on PostgreSQL, a restore that loaded in place: what the dump of the replaced database holds (REPLACED_POSTGRES_FILE) */
  replaced_postgres?: DumpFacts;
  /**
   * On PostgreSQL, a restore that swapped schemas (staged-restore.ts): where the set's dump was loaded
   * (dropped by a rollback; gone once the swap commits), and where the swap moves the replaced tables
   * (the way back, as a volume's PREVIOUS: the safety set is dumped from it, then it is dropped).
   */
  staged_schema?: string;
  replaced_schema?: string;
}

export interface RestoreSetOptions {
  volumes: readonly BackupVolume[];
  passphrase: string | null;
  /** write the pre-restore safety set from the replaced data (default); off, the replaced data is deleted (tests that restore a set they just took) */
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
  /** the set the replaced state is written to: being written when the restore returns (writeSafetySet) */
  safety_backup_id: string | null;
  row_counts: Record<string, number>;
  /**
   * the check the restored databases passed: integrity_check (with foreign_key_check and the row
   * counts) for a set never drilled against its manifest; "drill" when the set's drill had passed
   * those on the same bytes; null when mimir_data was not restored
   */
  database_check: DatabaseCheck | null;
  /** what a restore of mimir_data kept from the live database (null when mimir_data was not restored) */
  access_and_audit: CarriedTables | null;
}

// What a restore replaced is archived into the safety set and deleted after the restore returns (a
// large volume takes seconds to compress, and the user waits for none of it: the replaced data kept
// aside as it was is the way back meanwhile). Process-wide like the database handle; the CLI awaits
// it before it exits, the next restore and a reset before they start, and boot finishes whatever a
// killed process left.
interface SafetySetWork {
  promise: Promise<string | null>;
  progress: Set<Progress>;
  message: Set<(text: string) => void>;
  last: { done: number; total: number; text: string | null };
}
const memo = processState("restoreDiscard", (): { restoreDiscard?: Promise<void>; safetySet?: SafetySetWork; removals: Set<Promise<void>> } => ({
  removals: new Set(),
}));

/** Resolves when the data a restore replaced has been archived into its safety set (or failed to be) and deleted. */
export async function replacedDataRemoved(): Promise<void> {
  await memo.safetySet?.promise.catch(() => undefined);
  await memo.restoreDiscard;
  await Promise.all(memo.removals);
}

/** A scratch dump of gigabytes goes without holding the event loop (removeOffTheLoop); replacedDataRemoved waits for it. */
function removeInBackground(file: string): void {
  const removal = removeOffTheLoop(file).catch((error: unknown) => {
    getLogger().warn("could not delete a restore's scratch file; the next start removes it", { file, error });
  });
  memo.removals.add(removal);
  void removal.finally(() => memo.removals.delete(removal));
}

/** True while a restore's replaced data waits to be archived (a killed process left it, or it is being written). */
export function isSafetySetPending(): boolean {
  return memo.safetySet !== undefined || readJournal()?.phase === "swapped";
}

/**
 * Restores volumes of a set. Before anything live changes: extract into staging with the archive
 * checks and check the staged database and pipelines (extractSet: the full restore drill, except that
 * a set whose drill already passed against this manifest skips the database checks, see below). Then, with app writes
 * paused and the database closed: a journal is written, each volume's entries move aside into
 * PREVIOUS (a rename: the replaced state is kept whole, as it was, from the moment of the swap),
 * staging's move in, and the database is reopened and migrated (an older set's schema is upgraded);
 * the journal's rewrite to "swapped" is the commit. A failure before the swap leaves live data
 * untouched; a failure during it rolls back at once, and a kill rolls back at the next boot
 * (recoverInterruptedRestore). After the commit the restore returns, and the safety set is written
 * from what was kept aside, in the background (writeSafetySet; boot finishes it after a kill).
 */
export async function restoreBackupSet(id: string, options: RestoreSetOptions): Promise<RestoreSetResult> {
  const folder = setFolder(id);
  return withSetInUse(id, async () => {
    const manifest = readManifest(folder);
    const config = getConfig();
    const folders = volumeFolders(config);
    const volumes = [...options.volumes];
    // The previous restore's way back becomes a set before this restore sets anything aside.
    await replacedDataRemoved();
    await writeSafetySet().catch((error: unknown) => {
      throw new AppError("conflict", `The safety set of the previous restore could not be written (${(error as Error).message}); nothing was changed`, {
        cause: error,
      });
    });
    await recoverInterruptedRestore();
    const pool = appPostgresPool();
    // No restore is under way and none waits to be archived: a staged or replaced schema is a leftover.
    if (pool && readJournal() === null) {
      const dropped = await dropLeftoverSchemas(pool);
      if (dropped.length > 0) getLogger().warn("dropped schemas an earlier restore left behind", { schemas: dropped });
    }
    // A set whose drill passed against this manifest (verification.json names the manifest's digest) had
    // integrity_check, foreign_key_check and the row counts run on its extracted databases (on
    // PostgreSQL: its dump loaded into a scratch schema, ~17 s for 1M runs, and counted). The
    // extraction below proves each archive's sha256 equal to the manifest's before anything is swapped,
    // and extracting the same bytes writes the same files: a second check (quick_check and the keys:
    // ~4 s of CPU for 1M runs, on the critical path) could only find what the drill already ruled out.
    const databaseCheck: DatabaseCheck | null = !volumes.includes("mimir_data") ? null : passedVerification(folder) ? "drill" : "integrity_check";
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
    // Each volume goes to disk (files and folders) while the next archives are extracted and checked,
    // and all of it before the swap: the journal's commit below must never point at restored files a
    // power cut could leave empty. It also keeps the flush out of the swap, where the app's writes wait:
    // the reopened database's first write (its switch to WAL) fsyncs the file, and with the 1.6 GB just
    // extracted still dirty that took 0.7 s (bench/RESULTS-restore-memory.md).
    const flushes: Promise<unknown>[] = [];
    // On PostgreSQL the set's dump is loaded into a schema of its own as it is extracted (never written
    // to disk: the archive is read as fast as the load takes it), beside the other archives and the
    // serving app, and swapped in during the pause (staged-restore.ts); a database where that cannot
    // be done is loaded in place from the extracted file, inside the pause (restorePostgresDump).
    const blocker = pool && postgresDump ? await swapBlocker(pool) : null;
    if (pool && postgresDump && blocker) getLogger().info("restoring the database in place, not by a schema swap", { reason: blocker });
    const swapsSchemas = pool !== null && postgresDump !== undefined && blocker === null;
    let staging: Promise<StagedDump> | null = null;
    let stagedDump: StagedDump | null = null;
    // While the archives are extracted their progress is shown (the load sets its pace); then the load's last step's.
    const load = { extracting: true, message: "loading the set's database into a schema beside the live one", built: 0, total: 0 };
    try {
      await extractSet(folder, manifest, volumes, (volume) => path.join(folders[volume], STAGING), {
        ...options,
        databaseCheck: databaseCheck ?? undefined,
        // The load into the staged schema is that check (it loads, with the manifest's counts, below).
        postgresDumpChecked: swapsSchemas,
        divert:
          postgresDump && swapsSchemas && pool
            ? {
                volume: "mimir_data",
                path: postgresDump.file,
                read: (bytes) => {
                  staging = stageDump(pool, bytes, {
                    signal: options.signal,
                    progress: (built, total) => {
                      Object.assign(load, { built, total });
                      if (!load.extracting) options.progress?.(built, total);
                    },
                    message: (text) => {
                      load.message = text;
                      if (!load.extracting) options.message?.(text);
                    },
                  });
                  // Awaited once everything is extracted; a failure before that must not go unhandled.
                  staging.catch(() => undefined);
                  return staging;
                },
              }
            : undefined,
        afterVolume: (volume) => {
          const staged = path.join(folders[volume], STAGING);
          // Loaded in place, the dump stays in staging for the drill's check and is moved out below.
          const dump = volume === "mimir_data" && postgresDump && !swapsSchemas ? path.join(staged, postgresDump.file) : null;
          const flushed = fsyncTree(staged, { skip: (file) => file === dump });
          // Awaited once everything is extracted; a failure before that must not go unhandled.
          flushed.catch(() => undefined);
          flushes.push(flushed);
          return phasePoint(`restore.extracted:${volume}`);
        },
      });
      await Promise.all(flushes);
      if (postgresDump && !swapsSchemas) fs.renameSync(path.join(folders.mimir_data, STAGING, postgresDump.file), postgresDumpFile());
      load.extracting = false;
      if (swapsSchemas && postgresDump) {
        if (!staging)
          throw new AppError("verification_failed", `The set's mimir_data has no ${postgresDump.file}, which its manifest lists; nothing was replaced`);
        options.message?.(load.message);
        if (load.total > 0) options.progress?.(load.built, load.total);
        stagedDump = await checkStagedDump(staging, postgresDump, options.signal);
      }
      await phasePoint("restore.after_extract");
      await holdPoint("restore.after_extract", options.signal);
      // The last moment a cancel is honoured: nothing live has changed yet.
      options.signal?.throwIfAborted();
      options.pointOfNoReturn?.(RESTORE_APPLYING);
    } catch (error) {
      // The flushes still walking staging finish before it is removed under them, and the load before its schema is dropped.
      await Promise.allSettled([...flushes, ...(staging ? [staging] : [])]);
      removeStaging(volumes);
      fs.rmSync(postgresDumpFile(), { force: true });
      const loaded = await (staging as Promise<StagedDump> | null)?.catch(() => null);
      if (loaded && pool) await dropSchema(pool, loaded.schema).catch(() => undefined);
      throw error;
    }

    options.message?.("swapping volumes");
    const keepsAccess = volumes.includes("mimir_data") && !pool;
    const safetySet = options.safetyBackup !== false;
    let accessAndAudit: CarriedTables | null = null;
    let journal!: RestoreJournal;
    await withAppWritesPaused(async () => {
      const carried = await captureRunningOperations();
      const finishedSinceSnapshot = await captureOperationsFinishedSince(manifest.created_at);
      if (keepsAccess) saveAccessTablesAside(getDb(), keptTablesFile());
      // The way back for a PostgreSQL database, which the load below replaces in place: its dump, taken inside the pause.
      let replacedPostgres: DumpFacts | undefined;
      if (pool && postgresDump && safetySet && !stagedDump) {
        options.message?.("setting the live database aside (dump)");
        try {
          const snapshot = await openPostgresSnapshot(pool);
          replacedPostgres = await writeSnapshotToFile(snapshot, replacedPostgresFile());
        } catch (error) {
          removeStaging(volumes);
          fs.rmSync(postgresDumpFile(), { force: true });
          fs.rmSync(replacedPostgresFile(), { force: true });
          fs.rmSync(keptTablesFile(), { force: true });
          throw error;
        }
      }
      await phasePoint("restore.before_swap");
      // On PostgreSQL the pool stays open: the database is replaced inside one transaction below.
      if (!pool) closeAppDatabase();
      const safetyId = reserveSafetySetId();
      journal = {
        backup_id: id,
        phase: "swapping",
        safety_backup_id: safetyId,
        taken_at: new Date().toISOString(),
        volumes: volumes.map((name) => ({ name, folder: folders[name], original: topLevelNames(folders[name]) })),
        ...(pool && postgresDump ? { commit_token: crypto.randomUUID() } : {}),
        ...(replacedPostgres ? { replaced_postgres: replacedPostgres } : {}),
        ...(stagedDump ? { staged_schema: stagedDump.schema, replaced_schema: newReplacedSchemaName() } : {}),
      };
      // On SQLite nothing may run until the reopen below (its database is closed): every flush is inline.
      if (pool) await writeJournal(journal, true);
      else writeJournal(journal);
      try {
        // Sets leave the key of the sealed channel secrets out; the live one must survive the swap.
        if (volumes.includes("mimir_config")) copySecretKeyFile(folders.mimir_config, path.join(folders.mimir_config, STAGING));
        for (const entry of journal.volumes) {
          swapVolume(entry.folder, entry.original);
          if (pool) await fsyncFile(entry.folder);
          else fsyncFolder(entry.folder);
          crashPoint(`restore.after_swap:${entry.name}`);
        }
        if (pool && postgresDump) {
          // All or nothing: a failure or a kill before its commit leaves the old rows, and the
          // journal puts the files back. The access and audit tables stay the live ones, as on SQLite.
          const restoreOptions = {
            carry: { tables: RESTORE_KEPT_TABLES, appendTable: "audit_log" },
            // The restore's own operation and those that ended since the set: never missing or "running" to a reader.
            keepRows: { table: "operations", ids: [...carried, ...finishedSinceSnapshot].map((row) => row.id) },
            commitToken: journal.commit_token,
          };
          options.message?.(stagedDump ? "swapping the loaded tables in" : "loading the database from the set's dump");
          const loaded =
            stagedDump && journal.replaced_schema
              ? await swapInStagedDump(pool, stagedDump, { ...restoreOptions, replacedSchema: journal.replaced_schema })
              : await restorePostgresDump(pool, postgresDumpFile(), restoreOptions);
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
        if (pool && journal.staged_schema) await dropSchema(pool, journal.staged_schema).catch(() => undefined);
        if (!pool) reopenDatabase();
        await reinstateOperations(carried);
        throw error;
      }
      await phasePoint("restore.after_reopen");
      // The commit on SQLite (on PostgreSQL the database transaction was, its token standing for it until
      // this rewrite): from here on a kill keeps the restored state, and boot writes the safety set.
      journal = { ...journal, phase: "swapped" };
      if (pool) await writeJournal(journal, true);
      else writeJournal(journal);
      fs.rmSync(keptTablesFile(), { force: true });
      // The set's dump, loaded: a gigabyte whose unlink would hold every reader inside the pause.
      removeInBackground(postgresDumpFile());
      crashPoint("restore.after_commit");
      // The "swapped" journal is the commit now: the token that stood for it on PostgreSQL can go.
      if (journal.commit_token && pool)
        await clearRestoreCommit(pool).catch((error: unknown) => getLogger().warn("could not clear the restore's commit mark", { error }));
      await reinstateOperations(carried, finishedSinceSnapshot);
      // The credentials set in the environment (admin password, API token) keep working after the swap.
      await seedCredentialsFromEnvironment(getConfig());
      if (volumes.includes("mimir_logs")) reopenLogFile(getConfig());
    });
    await notifyAppDatabaseReopened();
    if (safetySet) {
      // Not awaited: the restore is done; the operation that follows it (or the CLI) awaits this.
      writeSafetySet().catch((error: unknown) =>
        getLogger().error("could not write the safety set of a restore; the replaced data stays kept aside and the next start tries again", {
          safety_backup_id: journal.safety_backup_id,
          error,
        }),
      );
    } else {
      discardReplacedData(journal);
    }
    return {
      backup_id: id,
      volumes,
      safety_backup_id: safetySet ? journal.safety_backup_id : null,
      row_counts: manifest.row_counts,
      database_check: databaseCheck,
      access_and_audit: accessAndAudit,
    };
  });
}

/**
 * Writes the safety set of the last restore from the data it kept aside (each volume's PREVIOUS, the
 * other volumes as they are live, and on PostgreSQL the dump taken before the swap), under the id the
 * restore named, then deletes the kept-aside data and the journal. One at a time: a call while it is
 * being written joins it (its progress and messages go to every caller). Idempotent across kills: a
 * set already complete is kept. Resolves with the set's id, or null when no restore left work.
 * Writes backups/<id>/ and a catalog row; deletes the kept-aside folders.
 */
export function writeSafetySet(options: { progress?: Progress; message?: (text: string) => void } = {}): Promise<string | null> {
  let work = memo.safetySet;
  if (!work) {
    const journal = readJournal();
    if (journal?.phase !== "swapped") return Promise.resolve(null);
    const started: SafetySetWork = { promise: Promise.resolve(null), progress: new Set(), message: new Set(), last: { done: 0, total: 0, text: null } };
    started.promise = archiveKeptAside(journal, started).finally(() => {
      if (memo.safetySet === started) memo.safetySet = undefined;
    });
    memo.safetySet = work = started;
  }
  if (options.progress) {
    work.progress.add(options.progress);
    if (work.last.total > 0) options.progress(work.last.done, work.last.total);
  }
  if (options.message) {
    work.message.add(options.message);
    if (work.last.text) options.message(work.last.text);
  }
  return work.promise;
}

async function archiveKeptAside(journal: RestoreJournal, work: SafetySetWork): Promise<string> {
  const id = journal.safety_backup_id;
  const message = (text: string) => {
    work.last.text = text;
    for (const listener of work.message) listener(text);
  };
  const progress = (done: number, total: number) => {
    work.last = { ...work.last, done, total };
    for (const listener of work.progress) listener(done, total);
  };
  if (!fs.existsSync(path.join(setFolder(id), MANIFEST_FILE))) {
    message("writing the safety set of the replaced data");
    const sources: Partial<Record<BackupVolume, string>> = {};
    for (const entry of journal.volumes) sources[entry.name] = path.join(entry.folder, PREVIOUS);
    let postgresDump = journal.replaced_postgres ? { file: replacedPostgresFile(), facts: journal.replaced_postgres } : undefined;
    if (journal.replaced_schema) {
      // Nobody writes the replaced tables: a dump of them now is what the live database held at the swap.
      const pool = appPostgresPool();
      if (!pool) throw new Error("the replaced PostgreSQL tables can only be archived by a deployment running on PostgreSQL");
      message("dumping the replaced database");
      const live = await pool.query<{ schema: string }>("SELECT current_schema() AS schema");
      const schema = live.rows[0]?.schema ?? "public";
      const snapshot = await openPostgresSnapshot(pool, {
        schema: journal.replaced_schema,
        of: schema,
        // The migrations journal stayed live (the swap never moves it): the set carries it, as every set does.
        migrationsTable: { schema, table: JOURNAL_TABLE },
      });
      postgresDump = { file: replacedPostgresFile(), facts: await writeSnapshotToFile(snapshot, replacedPostgresFile()) };
    }
    await createBackupSet({
      trigger: "pre-restore",
      passphrase: backupPassphrase(),
      id,
      createdAt: journal.taken_at,
      sources,
      postgresDump,
      progress,
      message,
      // Written beside serving (after the restore is done, or at boot) and nobody waits for it: its
      // threads yield a core to the requests at once, as a backup's do, and its steps run one at a time.
      background: true,
      unattended: true,
    });
  }
  crashPoint("restore.after_safety_set");
  await syncBackupCatalog();
  discardReplacedData(journal);
  await memo.restoreDiscard;
  return id;
}

/** The replaced data's way back is a set (or was not wanted): it goes, and the restore's journal with it. */
function discardReplacedData(journal: RestoreJournal) {
  try {
    for (const entry of journal.volumes) {
      const previous = path.join(entry.folder, PREVIOUS);
      if (fs.existsSync(previous)) fs.renameSync(previous, path.join(entry.folder, DISCARD));
    }
  } catch (error) {
    // The restore has taken effect; what it replaced is removed at the next start instead.
    getLogger().warn("could not set the replaced data aside for deletion; the next start removes it", { error });
  }
  removeInBackground(replacedPostgresFile());
  activeTempFolders.delete(path.join(backupsFolder(), `.partial-${journal.safety_backup_id}`));
  fs.rmSync(path.join(backupsFolder(), `.partial-${journal.safety_backup_id}`), { recursive: true, force: true });
  removeJournal();
  memo.restoreDiscard = removeDiscarded(
    journal.volumes.map((entry) => entry.folder),
    journal.replaced_schema,
  );
}

/** A new set id, held by an empty `.partial-<id>` folder until the safety set is written under it. */
function reserveSafetySetId(): string {
  const id = newBackupId();
  const partial = path.join(backupsFolder(), `.partial-${id}`);
  fs.mkdirSync(partial, { recursive: true, mode: 0o700 });
  activeTempFolders.add(partial);
  return id;
}

/**
 * At boot (on SQLite before the database opens; on PostgreSQL once the pool is open) and before any
 * restore: a journal left by a restore killed in its swap means each volume is put back as it was —
 * unless the PostgreSQL restore transaction had committed (its token is in the database): then the
 * database holds the set's data, and the restore counts as swapped. A journal of a swapped restore
 * keeps the restored state and its kept-aside data (writeSafetySet archives it). Then leftover
 * staging folders are removed. Returns the backup id of the rolled-back restore, if any.
 */
export async function recoverInterruptedRestore(): Promise<string | null> {
  let journal = readJournal();
  const pool = appPostgresPool();
  if (journal && journal.phase !== "swapped" && journal.commit_token && pool && (await readRestoreCommit(pool)) === journal.commit_token) {
    // Killed between the database commit and the journal's rewrite: the restore took effect.
    journal = { ...journal, phase: "swapped" };
    await writeJournal(journal, true);
    getLogger().warn("finished a restore that was interrupted after its database commit", { backup: journal.backup_id });
  }
  const rolledBack = journal !== null && journal.phase !== "swapped" ? journal : null;
  if (rolledBack) {
    // On PostgreSQL the database was never closed for the swap: only the files are put back.
    if (isAppDatabaseOpen() && !pool) closeAppDatabase();
    rollBack(rolledBack);
    if (pool && rolledBack.staged_schema) {
      await dropSchema(pool, rolledBack.staged_schema).catch((error: unknown) =>
        getLogger().warn("could not drop the schema of an interrupted restore's load; the next restore drops it", { error }),
      );
    }
    getLogger().warn("rolled back a restore that was interrupted during its swap", { backup: rolledBack.backup_id });
  }
  // A mark left by a kill after the journal's rewrite (or by a rolled-back restore) stands for nothing any more.
  if (pool) await clearRestoreCommit(pool);
  const keptAside = journal !== null && !rolledBack;
  removeStaging(Object.keys(volumeFolders(getConfig())) as BackupVolume[], keptAside ? [STAGING, DISCARD] : [...RESERVED]);
  fs.rmSync(keptTablesFile(), { force: true });
  fs.rmSync(postgresDumpFile(), { force: true });
  if (!keptAside) fs.rmSync(replacedPostgresFile(), { force: true });
  return rolledBack?.backup_id ?? null;
}

/**
 * The staged load is the restore's check of the set's database: it loads (keys, indexes and foreign
 * keys built on the rows), with the manifest's row counts. Throws verification_failed otherwise (the
 * caller drops the staged schema); a cancel passes through as it is.
 */
async function checkStagedDump(
  staging: Promise<StagedDump>,
  dump: NonNullable<BackupManifest["postgres"]>,
  signal: AbortSignal | undefined,
): Promise<StagedDump> {
  let staged: StagedDump;
  try {
    staged = await staging;
  } catch (error) {
    // A cancel (its reason is the operation's "cancelled" or "interrupted") is not a fault of the set.
    if (signal?.aborted) throw error;
    const why = error instanceof DumpFormatError ? (error as Error).message : `it does not load: ${(error as Error).message}`;
    throw new AppError("verification_failed", `${dump.file} from the set: ${why}; nothing was replaced`, { cause: error });
  }
  for (const [table, expected] of Object.entries(dump.row_counts)) {
    const found = staged.row_counts[table] ?? 0;
    if (found !== expected) {
      throw new AppError("verification_failed", `${dump.file}: table ${table} has ${found} rows, the manifest says ${expected}; nothing was replaced`);
    }
  }
  return staged;
}

/** What a swap moves: everything but its own folders and the data root's lock, which the holder keeps open. */
function topLevelNames(folder: string): string[] {
  return fs.readdirSync(folder).filter((name) => !RESERVED.has(name) && !isDataRootLockName(name));
}

/** Moves a volume's entries aside and staging's in; the caller flushes the folder (inline or on the pool, as the journal). */
function swapVolume(folder: string, original: string[]): void {
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
  fs.rmSync(replacedPostgresFile(), { force: true });
  fs.rmSync(path.join(backupsFolder(), `.partial-${journal.safety_backup_id}`), { recursive: true, force: true });
  for (const entry of journal.volumes) {
    for (const name of RESERVED) fs.rmSync(path.join(entry.folder, name), { recursive: true, force: true });
  }
}

async function removeDiscarded(folders: string[], replacedSchema?: string): Promise<void> {
  const pool = appPostgresPool();
  if (replacedSchema && pool) {
    try {
      await dropSchema(pool, replacedSchema);
    } catch (error) {
      getLogger().warn("could not drop the tables a restore replaced; the next restore drops them", { schema: replacedSchema, error });
    }
  }
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

function removeStaging(volumes: BackupVolume[], names: readonly string[] = [STAGING]) {
  const folders = volumeFolders(getConfig());
  for (const volume of volumes) {
    for (const name of names) fs.rmSync(path.join(folders[volume], name), { recursive: true, force: true });
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

function replacedPostgresFile() {
  return path.join(backupsFolder(), REPLACED_POSTGRES_FILE);
}

function keptTablesFile() {
  return path.join(backupsFolder(), KEPT_TABLES_FILE);
}

function journalFile() {
  return path.join(backupsFolder(), JOURNAL_FILE);
}

/**
 * Written whole or not at all, and on disk before it returns: inline, where nothing may run until the
 * swap is over (SQLite closes its database for it), or with its fsyncs on the thread pool
 * (`serving`: PostgreSQL's database serves on through the swap, and a flush on the event loop, behind
 * the disk's writeback of the load, held its readers 115 ms).
 */
function writeJournal(journal: RestoreJournal): void;
function writeJournal(journal: RestoreJournal, serving: true): Promise<void>;
function writeJournal(journal: RestoreJournal, serving = false): void | Promise<void> {
  const file = journalFile();
  if (serving) return writeFileAtomic(file, JSON.stringify(journal));
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
