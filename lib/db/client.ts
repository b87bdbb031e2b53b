import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { FILE_MODE } from "@/lib/files";

// Without the schema: the query modules build their SQL from the tables they import (each its own
// schema file), and nothing uses drizzle's relational `db.query` API, so loading the database does
// not load every table of every capability.
export type Db = BetterSQLite3Database & { $client: Database.Database };

/** Busy writers wait this long for the lock before SQLITE_BUSY (the guide's 5000 ms). */
export const BUSY_TIMEOUT_MS = 5000;
/** The WAL is truncated back to this size after a checkpoint, so a burst of writes does not keep its disk. */
export const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export interface OpenOptions {
  readonly?: boolean;
  /** Refuse to create a file: for opening snapshots and backups that must already exist. */
  mustExist?: boolean;
}

/** Opens a SQLite file with the product's pragmas; creates it (mode 0600) unless readonly or mustExist. */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const client = new Database(file, {
    readonly: options.readonly ?? false,
    fileMustExist: options.mustExist ?? options.readonly ?? false,
  });
  client.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  client.pragma("foreign_keys = ON");
  if (!options.readonly) {
    // Takes effect only on a new, empty file (an existing one keeps its mode until a VACUUM): lets
    // retention cleanup give freed pages back with incremental_vacuum instead of a full rebuild.
    client.pragma("auto_vacuum = INCREMENTAL");
    client.pragma("journal_mode = WAL");
    client.pragma("synchronous = NORMAL");
    client.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
    restrictFileModes(file);
  }
  return drizzle({ client }) as Db;
}

/** The database file and its WAL/SHM are readable by the service account only. */
function restrictFileModes(file: string) {
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      fs.chmodSync(file + suffix, FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
}

const memo = processState("db", (): { db?: { db: Db; file: string } } => ({}));

/** The process-wide connection; opened by boot (instrumentation) or on first use by a CLI command. */
export function getDb(): Db {
  if (!memo.db) throw new Error("The database is not open yet: boot has not run (openDataRoot).");
  return memo.db.db;
}

/** Remembers an opened connection as the process-wide one (boot and tests open it first). */
export function setAppDatabase(db: Db, file: string): void {
  memo.db = { db, file };
}

/** Closes the process-wide connection (before a restore swaps the file, and at shutdown). */
export function closeAppDatabase(): void {
  memo.db?.db.$client.close();
  memo.db = undefined;
}

export function isAppDatabaseOpen(): boolean {
  return memo.db !== undefined;
}

type ReopenListener = () => void | Promise<void>;
// Process-wide: the scheduler subscribes from the instrumentation bundle, a restore notifies from a route's.
const reopenListeners = processState("dbReopenListeners", () => new Set<ReopenListener>());

/** Called after a restore swapped the database file and reopened it (the scheduler reloads its jobs). */
export function onAppDatabaseReopened(listener: ReopenListener): () => void {
  reopenListeners.add(listener);
  return () => reopenListeners.delete(listener);
}

export async function notifyAppDatabaseReopened(): Promise<void> {
  for (const listener of reopenListeners) await listener();
}
