import "server-only";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { getDb, JOURNAL_SIZE_LIMIT_BYTES } from "@/lib/db/client";
import { whenNoWriteWaits } from "@/lib/db/dialect";
import { recordAudit } from "@/lib/audit/service";
import { noChangeToRecord } from "@/lib/audit/context";
import { purgeExpiredSessions } from "@/lib/auth/service";
import { pruneClusterRecords } from "@/lib/instances/service";
import type { Principal } from "@/lib/auth/scopes";
import { APP_LOG_FILE, getLogger } from "@/lib/log/logger";
import { startOperation } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import { fileBytes, pauseAutoCheckpoint, readSqliteFileStats } from "@/lib/db/sqlite-maintenance";
import { WalCheckpointWorker } from "@/lib/db/sqlite-checkpoint-worker";
import { expiredExecutionsBatch, runsBeyondCapBatch, type BoundStatement, type RetentionScope } from "@/lib/db/sqlite-retention";
import { runUnlessFrozen, writesRefusedHere } from "@/lib/db/write-freeze";
import { getEngine } from "@/lib/db/engine";
import { vacuumDatabase, checkVacuumDisk } from "@/lib/maintenance/service";
import type { RetentionCleanupInput } from "@/lib/maintenance/inputs";
import type { RetentionReport } from "@/lib/maintenance/types";
import { DAY_MS } from "@/lib/time";
import { yieldToEventLoop } from "@/lib/event-loop";

/**
 * Execution log files live at `<logs>/executions/<execution id>.log`, where lib/executions/log-files.ts
 * writes them. A run's log file goes with its row.
 */
export const EXECUTION_LOG_FOLDER = "executions";
/** Execution ids that are safe as a file name; anything else is skipped, never joined onto a path. */
const SAFE_EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** First batch size; each next one is scaled so a batch takes about BATCH_TARGET_MS. */
const INITIAL_BATCH_ROWS = 200;
const MIN_BATCH_ROWS = 20;
const MAX_BATCH_ROWS = 2000;
/**
 * A batch holds the write lock for its whole duration (on SQLite in the cleanup's worker thread, so
 * not this process's event loop; on PostgreSQL on the server), and the app's own writes wait that long
 * for it on timers (whenWriteLockFree): kept to milliseconds. 4 ms when batches ran on the event loop;
 * off it, a round trip to the worker per batch made 4 ms batches 1.5x slower in total.
 */
const BATCH_TARGET_MS = 10;
/**
 * The worker runs batch after batch (each its own transaction) for up to this long per request: on a
 * loaded machine each hand-over between threads waits for a CPU, and one per batch made the cleanup
 * 1.8x slower. The app's writes that find the lock held meanwhile wait on timers, then go first.
 */
const WORKER_TURN_MS = 40;
/** Pages given back per incremental_vacuum step (on the worker's connection), between which the app's writes get the lock. */
const INCREMENTAL_VACUUM_STEP_PAGES = 256;
/**
 * During a cleanup the WAL is checkpointed on a worker thread each time it grows by the size it is truncated back to: an
 * automatic checkpoint would run inside one of our commits, fsync included, and stall this
 * process's event loop for tens of milliseconds (measured in bench/retention.ts).
 */
const CLEANUP_CHECKPOINT_WAL_BYTES = JOURNAL_SIZE_LIMIT_BYTES;
/** Below this size a full VACUUM takes well under a second, so a cleanup may run it to give pages back. */
const VACUUM_WHEN_CHEAP_BYTES = 32 * 1024 * 1024;
/** The rotated files (lib/log/logger.ts) beside the live one: mimir1.log, mimir2.log, … (the live mimir.log is never touched). */
const ROTATED_APP_LOG = new RegExp(`^${path.basename(APP_LOG_FILE, ".log")}\\d+\\.log$`);

export interface RetentionHooks {
  signal?: AbortSignal;
  progress?: (done: number, total: number, unit: string) => void;
  message?: (text: string) => void;
  now?: Date;
}

/**
 * Deletes runs older than `retention_days` (and, with `keep_per_job`, runs beyond each job's newest
 * N) with their log files, in short batches that yield between them; then checkpoints the WAL,
 * gives the freed pages back (incremental vacuum, or VACUUM when the file is small), and removes
 * rotated application logs older than logging.retention_days, and the rows of sign-in sessions that
 * have ended. A dry run changes nothing and reports what would go. Deletes rows and files.
 */
export async function runRetentionCleanup(input: RetentionCleanupInput, hooks: RetentionHooks = {}): Promise<RetentionReport> {
  const started = performance.now();
  // A dry run only counts: nothing to put on the audit record.
  if (input.dry_run) noChangeToRecord();
  const config = getConfig();
  const engine = getEngine();
  // On PostgreSQL the same batches run through the engine; the WAL and free-page steps are SQLite's
  // (the server checkpoints its own WAL, and autovacuum makes the deleted rows' space reusable).
  const sqlite = engine.backend === "sqlite";
  const db = getDb();
  const file = config.paths.database;
  const databaseBytes = async () => (sqlite ? fileBytes(file) + fileBytes(`${file}-wal`) : (await engine.fileStats()).fileBytes);
  const now = hooks.now ?? new Date();
  const retentionDays = input.retention_days ?? config.values.persistence.retention_days;
  const scope: RetentionScope = {
    cutoff: retentionDays > 0 ? new Date(now.getTime() - retentionDays * DAY_MS).toISOString() : null,
    jobId: input.job_id ?? null,
  };
  const keep = input.keep_per_job ?? null;
  const dbBytesBefore = await databaseBytes();

  hooks.message?.("Counting what goes");
  const expired = await engine.retention.countExpired(scope);
  const appLogs = listExpiredAppLogs(config.paths.logs, config.values.logging.retention_days, now);
  const report: RetentionReport = {
    dry_run: input.dry_run,
    retention_days: retentionDays,
    cutoff: scope.cutoff,
    keep_per_job: keep,
    job_id: scope.jobId,
    expired_rows: expired,
    over_cap_rows: 0,
    deleted_rows: 0,
    log_files_deleted: 0,
    log_bytes_deleted: 0,
    estimated_row_bytes: await engine.retention.estimateBytes(scope, expired),
    db_bytes_before: dbBytesBefore,
    db_bytes_after: dbBytesBefore,
    reclaimed_bytes: 0,
    space_returned_by: "none",
    free_pages_left: sqlite ? readSqliteFileStats(db, file).freelistCount : 0,
    app_logs: appLogs,
    expired_sessions_deleted: 0,
    fire_claims_deleted: 0,
    stopped_instances_deleted: 0,
    cancelled: false,
    duration_ms: 0,
  };

  if (input.dry_run) {
    if (keep !== null) {
      // Beyond-cap runs counted as they would stand after the age bound has run.
      for (const job of await engine.retention.listJobsOverCap({ cutoff: null, jobId: scope.jobId }, keep)) {
        const jobScope: RetentionScope = { cutoff: null, jobId: job.jobId };
        const agedOut = scope.cutoff ? await engine.retention.countExpired({ ...jobScope, cutoff: scope.cutoff }) : 0;
        const excess = Math.max(0, job.excess - agedOut);
        report.over_cap_rows += excess;
        report.estimated_row_bytes += await engine.retention.estimateBytes(jobScope, excess);
      }
    }
    report.duration_ms = Math.round(performance.now() - started);
    return report;
  }

  const walCheckpointer = sqlite ? new BackgroundCheckpointer(file) : null;
  const resumeAutoCheckpoint = sqlite ? pauseAutoCheckpoint(db) : () => undefined;
  try {
    const logFolder = path.join(/*turbopackIgnore: true*/ config.paths.logs, EXECUTION_LOG_FOLDER);
    const logFiles = await listLogFileNames(logFolder);
    let total = expired;
    // On SQLite each batch runs on the worker thread's connection (off this event loop), as one admitted
    // write so a freeze for a switch to PostgreSQL refuses the next and waits for one under way.
    const onWorker = async (worker: BackgroundCheckpointer, statement: BoundStatement | null, limit: number): Promise<{ ids: string[]; ms: number | null }> => {
      if (statement === null) return { ids: [], ms: null };
      // The app's own writes that found the lock held by the last batch go first.
      await whenNoWriteWaits();
      const { rows, ms } = await runUnlessFrozen(() => worker.writeReturning(statement, limit));
      return { ids: rows as string[], ms };
    };
    const onEngine = async (batch: Promise<string[]>) => ({ ids: await batch, ms: null });
    const deleteInBatches = async (deleteBatch: (limit: number) => Promise<{ ids: string[]; ms: number | null }>) => {
      let batchRows = INITIAL_BATCH_ROWS;
      while (!hooks.signal?.aborted) {
        const batchStarted = performance.now();
        const batch = await deleteBatch(batchRows);
        // Sized by how long the statement held the lock (the worker says), else by the round trip.
        const ms = batch.ms ?? performance.now() - batchStarted;
        const ids = batch.ids;
        if (ids.length === 0) return;
        report.deleted_rows += ids.length;
        if (logFiles.size > 0) await removeExecutionLogs(logFolder, ids, logFiles, report);
        hooks.progress?.(report.deleted_rows, Math.max(total, report.deleted_rows), "rows");
        batchRows = Math.round(Math.min(MAX_BATCH_ROWS, Math.max(MIN_BATCH_ROWS, batchRows * Math.min(2, BATCH_TARGET_MS / Math.max(ms, 0.1)))));
        walCheckpointer?.nudge();
        await yieldToEventLoop();
      }
    };

    hooks.message?.(`Deleting ${expired} runs older than ${retentionDays} days`);
    await deleteInBatches((limit) =>
      walCheckpointer ? onWorker(walCheckpointer, expiredExecutionsBatch(scope, limit), limit) : onEngine(engine.retention.deleteExpiredBatch(scope, limit)),
    );
    if (keep !== null && !hooks.signal?.aborted) {
      const jobs = await engine.retention.listJobsOverCap({ cutoff: null, jobId: scope.jobId }, keep);
      report.over_cap_rows = jobs.reduce((sum, job) => sum + job.excess, 0);
      total += report.over_cap_rows;
      hooks.message?.(`Deleting ${report.over_cap_rows} runs beyond ${keep} per job`);
      for (const job of jobs)
        await deleteInBatches((limit) =>
          walCheckpointer
            ? onWorker(walCheckpointer, runsBeyondCapBatch(job.jobId, keep, limit), limit)
            : onEngine(engine.retention.deleteBeyondCapBatch(job.jobId, keep, limit)),
        );
    }
    report.cancelled = hooks.signal?.aborted ?? false;
    // Sessions that can no longer be used: the daily pass keeps the table to live ones.
    if (!report.cancelled) report.expired_sessions_deleted = await purgeExpiredSessions(now.getTime());
    // The cluster's bookkeeping ages out with the history it belongs to (fire claims) or after a week (stopped instances).
    if (!report.cancelled && !scope.jobId) Object.assign(report, await pruneClusterRecords(scope.cutoff, now, hooks.signal));

    if (walCheckpointer) {
      hooks.message?.("Giving freed pages back to the file system");
      report.space_returned_by = await returnFreePages(file, hooks, walCheckpointer);
    }
    for (const log of appLogs) {
      fs.rmSync(path.join(/*turbopackIgnore: true*/ config.paths.logs, log.file), { force: true });
    }
  } finally {
    resumeAutoCheckpoint();
    await walCheckpointer?.close();
  }
  report.db_bytes_after = await databaseBytes();
  report.free_pages_left = sqlite ? readSqliteFileStats(db, file).freelistCount : 0;
  report.reclaimed_bytes =
    Math.max(0, report.db_bytes_before - report.db_bytes_after) + report.log_bytes_deleted + appLogs.reduce((sum, l) => sum + l.bytes, 0);
  report.duration_ms = Math.round(performance.now() - started);
  return report;
}

/**
 * The names in the execution log folder, read in small async steps so even a folder of a million
 * files never blocks the event loop; then a batch only touches the files that exist.
 */
async function listLogFileNames(folder: string): Promise<Set<string>> {
  const names = new Set<string>();
  let dir: fs.Dir;
  try {
    dir = await fs.promises.opendir(folder, { bufferSize: 256 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return names;
    throw error;
  }
  for await (const entry of dir) if (entry.isFile()) names.add(entry.name);
  return names;
}

async function removeExecutionLogs(folder: string, ids: string[], existing: Set<string>, report: RetentionReport): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      const name = `${id}.log`;
      if (!SAFE_EXECUTION_ID.test(id) || !existing.delete(name)) return;
      const logFile = path.join(/*turbopackIgnore: true*/ folder, name);
      try {
        const { size } = await fs.promises.lstat(logFile);
        await fs.promises.unlink(logFile);
        report.log_files_deleted += 1;
        report.log_bytes_deleted += size;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }),
  );
}

/**
 * The cleanup's worker threads: keeps the WAL bounded with automatic checkpoints off (a PASSIVE
 * checkpoint on one thread whenever the WAL file has grown by CLEANUP_CHECKPOINT_WAL_BYTES, one at a
 * time), and runs the delete batches and free-page steps on another, off the app's event loop.
 */
class BackgroundCheckpointer {
  private readonly worker: WalCheckpointWorker;
  /** A second connection for the batches and free-page steps, so they go on while a checkpoint runs. */
  private readonly writer: WalCheckpointWorker;
  private running: Promise<unknown> | null = null;
  private walAtLastStart = 0;

  constructor(private readonly file: string) {
    // Beside serving, for tens of seconds: at a low CPU priority, so the event loop gets a core when it wakes.
    this.worker = new WalCheckpointWorker(file, { background: true });
    this.writer = new WalCheckpointWorker(file, { background: true });
  }

  nudge(): void {
    if (this.running) return;
    const wal = fileBytes(`${this.file}-wal`);
    if (wal - this.walAtLastStart < CLEANUP_CHECKPOINT_WAL_BYTES && wal >= this.walAtLastStart) return;
    this.walAtLastStart = wal;
    this.running = this.worker
      .checkpoint("PASSIVE")
      .catch((error) => getLogger().warn("background checkpoint during retention cleanup failed", { error }))
      .finally(() => {
        this.running = null;
      });
  }

  /** Cleanup batches on the worker's connection, for up to WORKER_TURN_MS (see WalCheckpointWorker.writeReturning). */
  writeReturning(statement: BoundStatement, limit: number): Promise<{ rows: unknown[]; ms: number }> {
    return this.writer.writeReturning(statement, limit, WORKER_TURN_MS);
  }

  /** An incremental_vacuum step on the worker's connection; answers the free pages left. */
  incrementalVacuum(pages: number): Promise<number> {
    return this.writer.incrementalVacuum(pages);
  }

  /** Waits for a checkpoint in flight, then copies the whole WAL back and truncates it to zero bytes. */
  async truncate(): Promise<void> {
    await this.running;
    await this.worker.checkpoint("TRUNCATE");
    this.walAtLastStart = 0;
  }

  async close(): Promise<void> {
    await this.running;
    await Promise.all([this.worker.close(), this.writer.close()]);
  }
}

/** After big deletes: TRUNCATE the WAL, then shrink the file by the cheapest means the database allows. */
async function returnFreePages(file: string, hooks: RetentionHooks, checkpointer: BackgroundCheckpointer): Promise<RetentionReport["space_returned_by"]> {
  const db = getDb();
  await checkpointer.truncate();
  const stats = readSqliteFileStats(db, file);
  if (stats.freelistCount === 0) return "none";
  if (stats.autoVacuum === "incremental") {
    let left = stats.freelistCount;
    // On the worker's connection, off this event loop. Frozen for a switch to PostgreSQL, the pages
    // stay free (reused by later writes) rather than failing the cleanup whose rows are gone already.
    while (left > 0 && !hooks.signal?.aborted && writesRefusedHere() === null) {
      await whenNoWriteWaits();
      const next = await runUnlessFrozen(() => checkpointer.incrementalVacuum(INCREMENTAL_VACUUM_STEP_PAGES));
      if (next >= left) break;
      left = next;
      checkpointer.nudge();
      await yieldToEventLoop();
    }
    // The file shrinks when the moved pages are checkpointed back into it.
    await checkpointer.truncate();
    return "incremental_vacuum";
  }
  if (stats.fileBytes <= VACUUM_WHEN_CHEAP_BYTES && (await checkVacuumDisk(stats.fileBytes)).ok) {
    await vacuumDatabase(hooks.signal);
    return "vacuum";
  }
  return "none";
}

function listExpiredAppLogs(folder: string, retentionDays: number, now: Date): RetentionReport["app_logs"] {
  if (retentionDays === 0) return [];
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return [];
  }
  return names
    .filter((name) => ROTATED_APP_LOG.test(name))
    .flatMap((name) => {
      const stat = fs.lstatSync(path.join(/*turbopackIgnore: true*/ folder, name));
      return stat.isFile() && stat.mtimeMs < cutoff ? [{ file: name, bytes: stat.size, modified_at: stat.mtime.toISOString() }] : [];
    });
}

/** Starts a cleanup (or dry run) as an operation with row progress; audited unless a dry run. */
export async function startRetentionCleanup(input: RetentionCleanupInput, principal: Principal | null): Promise<OperationDto> {
  const operation = await startOperation({ kind: "retention_cleanup", principal, scope: "write", singleton: true, params: input }, (ctx) =>
    runRetentionCleanup(input, { signal: ctx.signal, progress: ctx.progress, message: ctx.message }),
  );
  if (!input.dry_run) {
    await recordAudit({ principal, action: "retention.cleanup", target: "job_executions", result: "ok", details: { operation_id: operation.id, ...input } });
  }
  return operation;
}
