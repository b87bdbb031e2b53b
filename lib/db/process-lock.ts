import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs";
import Database from "better-sqlite3";
import { isBusyError } from "@/lib/db/sqlite-maintenance";
import { isSqliteFile } from "@/lib/db/sqlite-snapshot";

/**
 * A lock that lives exactly as long as the process holding it: an exclusive SQLite lock (a POSIX
 * fcntl lock underneath) on a small file. The kernel drops it when the holder exits however it
 * exits (kill -9, the OOM killer), and every process on the host sees it through a shared volume,
 * whatever its pid namespace (a CLI in another container). A pid file can do neither: a dead
 * server's pid is reused (pid 1 in every container), and another container's pids are invisible.
 */

// Process-wide, like the database handle: the connection holding a lock must live as long as the process.
const held = processState("processLocks", () => new Map<string, Database.Database>());

/** A file in an older format (a pid file from before this lock), which no live process can be holding. */
function isForeign(file: string): boolean {
  try {
    return fs.statSync(file).size > 0 && !isSqliteFile(file);
  } catch {
    return false;
  }
}

/**
 * Takes the lock on `file` for the rest of this process's life; false when another live process holds
 * it. `shared`: several processes may hold it together (servers of one deployment on PostgreSQL), as
 * a read transaction kept open; an exclusive holder (an offline restore) excludes them all, and they it.
 */
export function acquireProcessLock(file: string, { shared = false }: { shared?: boolean } = {}): boolean {
  if (held.has(file)) return true;
  if (isForeign(file)) fs.rmSync(file, { force: true });
  // Private like everything in the data volume, whatever the umask of the process taking it; SQLite
  // gives its journal the same mode.
  fs.closeSync(fs.openSync(file, "a", 0o600));
  fs.chmodSync(file, 0o600);
  const db = new Database(file);
  try {
    // Long enough to outwait another process's check (a BEGIN IMMEDIATE and ROLLBACK), short enough to fail fast.
    db.pragma("busy_timeout = 2000");
    if (shared) {
      db.exec("CREATE TABLE IF NOT EXISTS holder (taken_at TEXT)");
      // The SHARED lock of a read transaction lasts until it ends, which is never: other readers share it, a writer cannot get it.
      db.exec("BEGIN");
      db.prepare("SELECT count(*) FROM holder").get();
    } else {
      // In exclusive locking mode the lock taken by the first write is kept until the connection closes.
      db.pragma("locking_mode = EXCLUSIVE");
      db.exec("CREATE TABLE IF NOT EXISTS holder (taken_at TEXT); DELETE FROM holder;");
      db.prepare("INSERT INTO holder VALUES (?)").run(new Date().toISOString());
    }
  } catch (error) {
    db.close();
    if (isBusyError(error)) return false;
    throw error;
  }
  held.set(file, db);
  return true;
}

/** Whether a process other than this one holds the lock on `file`. Takes nothing. */
export function isProcessLockHeldElsewhere(file: string): boolean {
  if (held.has(file) || !fs.existsSync(file) || isForeign(file)) return false;
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 0");
    // EXCLUSIVE, not IMMEDIATE: it fails beside a shared holder too (a RESERVED lock coexists with readers).
    db.exec("BEGIN EXCLUSIVE");
    db.exec("ROLLBACK");
    return false;
  } catch (error) {
    if (isBusyError(error)) return true;
    throw error;
  } finally {
    db.close();
  }
}

/** Gives the lock up before the process ends (tests; a process that exits releases it anyway). */
export function releaseProcessLock(file: string): void {
  held.get(file)?.close();
  held.delete(file);
}
