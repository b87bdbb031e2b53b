import "server-only";
import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { BUSY_TIMEOUT_MS } from "@/lib/db/client";
import { LOWER_THIS_THREAD_SOURCE } from "@/lib/db/background-priority";

/** The first 16 bytes of every SQLite 3 database file. */
const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

/** Tables whose row counts go into a backup manifest and are checked after restore. */
export const COUNTED_TABLES = ["scheduled_jobs", "pipelines", "job_executions", "backups", "audit_log", "operations"] as const;

export type RowCounts = Record<string, number>;

export interface SqliteCheck {
  /** the check that ran and what it reported (["ok"] when sound) */
  depth: SqliteCheckDepth;
  integrity: string[];
  foreignKeyViolations: number;
  rowCounts: RowCounts;
  schemaVersion: string | null;
}

/** Whether a file is an SQLite database, by its header (names do not matter: chromem.db, *.sqlite, …). */
export function isSqliteFile(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, "r");
    const head = Buffer.alloc(SQLITE_HEADER.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_HEADER);
  } catch {
    return false;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** The journal files that belong to a live database and never go into a backup on their own. */
export function isSqliteSidecar(name: string): boolean {
  return /-(wal|shm|journal)$/.test(name);
}

/**
 * Takes a consistent copy of a live database with `VACUUM INTO` on a connection of its own, in a
 * worker thread: one read transaction, so writers in this or other processes never restart it (the
 * incremental backup API livelocks under a steady writer) and the server's event loop keeps
 * answering. The copy is written to `dest + ".partial"` and renamed when complete and fsynced.
 * Returns the row counts of the copy.
 */
export async function snapshotSqliteDatabase(source: string, dest: string): Promise<RowCounts> {
  const partial = `${dest}.partial`;
  fs.rmSync(partial, { force: true });
  const counts = (await runInWorker({ task: "snapshot", source, dest: partial })) as RowCounts;
  // The copy's pages may all be unwritten yet: flushed on the thread pool, not on the event loop.
  const handle = await fs.promises.open(partial, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  fs.renameSync(partial, dest);
  return counts;
}

/** What a closed database file looked like when it was found self-contained: a later look proves nothing wrote it since. */
export interface ClosedSqliteFile {
  file: string;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Bytes in a sidecar that may hold content the main file lacks (WAL frames, a rollback journal); 0 when there is none. */
function pendingSidecarBytes(file: string): number {
  let bytes = 0;
  for (const suffix of ["-wal", "-journal"]) {
    try {
      bytes += fs.statSync(file + suffix).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  return bytes;
}

function closedFileStamp(file: string): ClosedSqliteFile {
  const stat = fs.statSync(file);
  return { file, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
}

/**
 * For a database no connection writes any more (a restore's kept-aside file, closed before its swap):
 * when it holds all of its content (no WAL frames, no rollback journal beside it), its row counts
 * (read-only, in a worker) and a stamp for assertSqliteFileUnchanged, so the file itself can be
 * archived instead of a VACUUM INTO copy. null when a sidecar has content: the caller snapshots it.
 */
export async function countClosedSqliteDatabase(
  file: string,
  options: { background?: boolean } = {},
): Promise<{ rowCounts: RowCounts; closed: ClosedSqliteFile } | null> {
  if (pendingSidecarBytes(file) > 0) return null;
  const closed = closedFileStamp(file);
  const rowCounts = (await runInWorker({ task: "count", source: file, background: options.background ?? false })) as RowCounts;
  return { rowCounts, closed };
}

/** Throws when a file stamped by countClosedSqliteDatabase was written since, or has WAL or journal content now. */
export function assertSqliteFileUnchanged(closed: ClosedSqliteFile): void {
  const now = closedFileStamp(closed.file);
  if (now.ino !== closed.ino || now.size !== closed.size || now.mtimeMs !== closed.mtimeMs || pendingSidecarBytes(closed.file) > 0) {
    throw new Error(`${path.basename(closed.file)} changed while it was archived as a closed database (a connection still writes it); the set was not written`);
  }
}

/**
 * How deep a check reads: `integrity_check` also proves every index entry matches its row (seconds
 * per GB); `quick_check` walks every page, cell and constraint but not the index contents (about a
 * seventh of the time), enough for a file whose bytes are proven identical to one that passed the first.
 */
export type SqliteCheckDepth = "integrity_check" | "quick_check";

/**
 * Opens a database copy read-only and runs `integrity_check` (or `quick_check`), `foreign_key_check`
 * and the row counts, never on the event loop (a check of a large file takes seconds). Two worker
 * threads, each with its own read-only connection: the page check in one, the foreign keys and
 * counts in the other. Each is one statement SQLite runs on one core, and neither needs the other's
 * result, so on two cores the foreign keys (1M runs: ~2 s of CPU) no longer wait behind
 * integrity_check (~11 s), which alone stays on the restore's critical path. Both always run to the
 * end, so a caller that discards the file after a failure never pulls it from under the other.
 * `background`: at a low CPU priority (lib/db/background-priority.ts), for a check beside serving,
 * and one worker after the other: nobody waits for such a check, and the second thread, its page
 * cache and SQLite's own (~15 MB) would stack on the server's memory beside the first.
 * `keysAfter`: the keys worker starts once it settles (whatever its outcome). A restore passes the
 * end of its other archives' extraction, so the second worker no longer stacks on the extraction's
 * buffers (an unverified restore's peak: 220 -> 208 MB, bench/RESULTS-restore-memory.md); the keys
 * (~2 s per 1M runs) still end long before integrity_check unless the other archives take about as
 * long to extract as it takes to run, and only then does the restore wait for them.
 */
export async function checkSqliteDatabase(
  file: string,
  depth: SqliteCheckDepth = "integrity_check",
  options: { background?: boolean; keysAfter?: Promise<unknown> } = {},
): Promise<SqliteCheck> {
  const background = options.background ?? false;
  const check = (part: "pages" | "keys") => runInWorker({ task: "check", part, source: file, depth, background });
  const keysCheck = () =>
    Promise.resolve(options.keysAfter).then(
      () => check("keys"),
      () => check("keys"),
    );
  const [pages, keys] = background ? [await settle(check("pages")), await settle(check("keys"))] : await Promise.allSettled([check("pages"), keysCheck()]);
  if (pages.status === "rejected") throw pages.reason;
  if (keys.status === "rejected") throw keys.reason;
  return { depth, ...(pages.value as Pick<SqliteCheck, "integrity">), ...(keys.value as Omit<SqliteCheck, "depth" | "integrity">) };
}

function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => ({ status: "rejected", reason }),
  );
}

/** Page cache of the workers' connections (KiB, negative as SQLite wants): they read each page about once, so a big cache only costs memory. */
const WORKER_CACHE_SIZE = -4000;
/**
 * integrity_check is the exception: it seeks every index once per row, and with the small cache each
 * seek re-reads its upper pages from the OS (1M runs: 6.7 s of system time of 15 s, 1.4 s with 16 MB).
 */
const INTEGRITY_CHECK_CACHE_SIZE = -16000;

type WorkerTask =
  | { task: "snapshot"; source: string; dest: string }
  /** the row counts of a closed database, read-only; `background` as for a check */
  | { task: "count"; source: string; background: boolean }
  /** pages: the page check (integrity_check or quick_check); keys: foreign_key_check, the row counts and the schema version */
  | { task: "check"; part: "pages" | "keys"; source: string; depth: SqliteCheckDepth; background: boolean };

// Plain CommonJS in an eval'd worker: the bundler never sees it, and better-sqlite3 is resolved from
// the app's own node_modules (it is a server external package).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createRequire } = require("node:module");
const path = require("node:path");
const Database = createRequire(path.join(workerData.cwd, "package.json"))("better-sqlite3");
const counted = workerData.counted;
function counts(db) {
  const out = {};
  for (const table of counted) {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
    if (exists) out[table] = db.prepare('SELECT count(*) AS n FROM "' + table + '"').get().n;
  }
  return out;
}
const job = workerData.job;
if (job.background) { ${LOWER_THIS_THREAD_SOURCE} }
let db;
try {
  if (job.task === "snapshot") {
    db = new Database(job.source, { fileMustExist: true });
    db.pragma("busy_timeout = " + workerData.busyTimeout);
    db.pragma("cache_size = " + workerData.cacheSize);
    db.prepare("VACUUM INTO ?").run(job.dest);
    db.close();
    // Counted on the copy itself: the live file has moved on since.
    db = new Database(job.dest, { readonly: true, fileMustExist: true });
    parentPort.postMessage({ ok: true, result: counts(db) });
  } else if (job.task === "count") {
    db = new Database(job.source, { readonly: true, fileMustExist: true });
    parentPort.postMessage({ ok: true, result: counts(db) });
  } else {
    db = new Database(job.source, { readonly: true, fileMustExist: true });
    if (job.part === "pages") {
      db.pragma("cache_size = " + (job.depth === "quick_check" ? workerData.cacheSize : workerData.integrityCacheSize));
      const pragma = job.depth === "quick_check" ? "quick_check" : "integrity_check";
      parentPort.postMessage({ ok: true, result: { integrity: db.pragma(pragma).map((row) => row[pragma]) } });
    } else {
      db.pragma("cache_size = " + workerData.cacheSize);
      const foreignKeyViolations = db.pragma("foreign_key_check").length;
      const meta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'system_metadata'").get()
        ? db.prepare("SELECT value FROM system_metadata WHERE key = 'schema_version'").get()
        : undefined;
      parentPort.postMessage({ ok: true, result: { foreignKeyViolations, rowCounts: counts(db), schemaVersion: meta ? meta.value : null } });
    }
  }
} catch (error) {
  parentPort.postMessage({ ok: false, message: error && error.message ? error.message : String(error), code: error && error.code });
} finally {
  if (db) db.close();
}
`;

function runInWorker(job: WorkerTask): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        job,
        cwd: process.cwd(),
        counted: COUNTED_TABLES,
        busyTimeout: BUSY_TIMEOUT_MS,
        cacheSize: WORKER_CACHE_SIZE,
        integrityCacheSize: INTEGRITY_CHECK_CACHE_SIZE,
      },
    });
    let settled = false;
    worker.once("message", (message: { ok: boolean; result?: unknown; message?: string; code?: string }) => {
      settled = true;
      if (message.ok) resolve(message.result);
      else reject(Object.assign(new Error(`${path.basename(job.source)}: ${message.message}`), { code: message.code }));
    });
    worker.once("error", (error) => {
      settled = true;
      reject(error);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`the SQLite worker exited with code ${code}`));
    });
  });
}
