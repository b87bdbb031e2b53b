import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs";
import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { FILE_MODE } from "@/lib/files";
import { AppError } from "@/lib/errors";
import { assertWritesOpen } from "@/lib/db/write-freeze";

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

/**
 * The better-sqlite3 handle behind `db`, for the SQLite engine's own commands (pragmas, VACUUM,
 * dbstat, batched deletes). On PostgreSQL there is none: the operation answers 501 with what is
 * missing instead of failing somewhere inside with a TypeError.
 */
export function sqliteClient(db: Db): Database.Database {
  const client = db.$client as unknown;
  if (client instanceof Database) return client;
  if (typeof (client as { prepare?: unknown } | null)?.prepare === "function") return client as Database.Database;
  throw new AppError("unavailable_on_postgres", "This database operation uses SQLite's own commands and is not available on PostgreSQL yet.");
}

/** Closes a SQLite connection opened with openDatabase that never became the process-wide one. */
export function closeDatabase(db: Db): void {
  db.$client.close();
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

/** Which database the process runs on, for /health, logs and the operational engine: never a password. */
export type AppDatabaseLocation = { backend: "sqlite"; file: string } | { backend: "postgres"; host: string; port: number; database: string };

interface OpenAppDatabase {
  db: Db;
  location: AppDatabaseLocation;
  close: () => Promise<void>;
}

const memo = processState("db", (): { db?: OpenAppDatabase } => ({}));

/**
 * The process-wide connection; opened by boot (instrumentation) or on first use by a CLI command.
 * On PostgreSQL it is a node-postgres drizzle database typed as the SQLite one (see
 * lib/db/schema/select.ts): query modules use only what both have, awaited.
 */
export function getDb(): Db {
  if (!memo.db) throw new Error("The database is not open yet: boot has not run (openDataRoot).");
  return memo.db.db;
}

/** Remembers an opened SQLite connection as the process-wide one (boot and tests open it first). */
export function setAppDatabase(db: Db, file: string): void {
  refuseWritesWhileFrozen(db.$client);
  memo.db = {
    db,
    location: { backend: "sqlite", file },
    close: async () => {
      db.$client.close();
    },
  };
}

const GUARDED = Symbol("mimir.writeFreezeGuard");
const EXECUTING = ["run", "get", "all", "iterate"] as const;

/**
 * The last line of the write freeze (lib/db/write-freeze.ts): every statement on the app's SQLite
 * connection that writes (better-sqlite3's `readonly` is SQLite's own sqlite3_stmt_readonly) and every
 * `exec` checks the freeze when it runs, so a writer nobody thought of is refused with `migrating`
 * instead of landing in a file that is about to be left behind. Checked at each execution, not at
 * prepare, because prepared statements are kept (preparedQuery). Pragmas pass: they set the
 * connection up (busy_timeout) or checkpoint, and change no row.
 */
function refuseWritesWhileFrozen(client: Database.Database): void {
  const guarded = client as Database.Database & { [GUARDED]?: true };
  if (guarded[GUARDED]) return;
  guarded[GUARDED] = true;
  const prepare = client.prepare;
  const exec = client.exec;
  client.prepare = function (this: Database.Database, source: string, ...rest: unknown[]) {
    const statement = (prepare as (...args: unknown[]) => Database.Statement).call(this, source, ...rest);
    if (statement.readonly || /^\s*pragma\b/i.test(source)) return statement;
    const writable = statement as unknown as Record<(typeof EXECUTING)[number], (...args: unknown[]) => unknown>;
    for (const method of EXECUTING) {
      const original = writable[method];
      writable[method] = function (this: unknown, ...args: unknown[]) {
        assertWritesOpen();
        return original.apply(this, args);
      };
    }
    return statement;
  } as typeof client.prepare;
  client.exec = function (this: Database.Database, source: string) {
    assertWritesOpen();
    return exec.call(this, source);
  };
}

/** Remembers an opened PostgreSQL pool (lib/db/postgres.ts) as the process-wide database. */
export function setAppPostgresDatabase(db: unknown, location: Extract<AppDatabaseLocation, { backend: "postgres" }>, close: () => Promise<void>): void {
  memo.db = { db: db as Db, location, close };
}

/** Where the open database is; throws when none is open. */
export function appDatabaseLocation(): AppDatabaseLocation {
  if (!memo.db) throw new Error("The database is not open yet: boot has not run (openDataRoot).");
  return memo.db.location;
}

/**
 * Closes the process-wide connection (before a restore swaps the file, and at shutdown). SQLite
 * closes at once (the WAL is checkpointed before this returns); a PostgreSQL pool ends when the
 * returned promise settles.
 */
export function closeAppDatabase(): Promise<void> {
  const open = memo.db;
  memo.db = undefined;
  return open ? open.close() : Promise.resolve();
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
