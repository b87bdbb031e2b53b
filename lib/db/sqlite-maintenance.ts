import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs";
import { sqliteClient, type Db } from "@/lib/db/client";

/**
 * SQLite-only maintenance on an open connection: page statistics, ANALYZE / optimize, WAL
 * checkpoints, incremental vacuum and the table catalogue. Work that can take seconds on a large
 * file (VACUUM, integrity_check, user queries) runs in a child process instead (sqlite-child.ts),
 * so the server keeps answering while it runs.
 */

export type AutoVacuumMode = "none" | "full" | "incremental";

export interface SqliteFileStats {
  pageSize: number;
  pageCount: number;
  /** pages inside the file that hold nothing: what VACUUM or incremental_vacuum would give back */
  freelistCount: number;
  fileBytes: number;
  walBytes: number;
  autoVacuum: AutoVacuumMode;
  journalMode: string;
  /** whether ANALYZE has ever stored statistics (sqlite_stat1 exists and has rows) */
  hasStatistics: boolean;
}

const AUTO_VACUUM_MODES: AutoVacuumMode[] = ["none", "full", "incremental"];

function pragmaNumber(db: Db, name: string): number {
  return Number(sqliteClient(db).pragma(name, { simple: true }));
}

/** Size of a file in bytes, 0 when it does not exist (a WAL after a TRUNCATE checkpoint or close). */
export function fileBytes(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}

/** Page and file statistics of the database behind `db`. Reads only. */
export function readSqliteFileStats(db: Db, file: string): SqliteFileStats {
  const statTable = sqliteClient(db).prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'").get();
  const hasStatistics = statTable !== undefined && sqliteClient(db).prepare("SELECT 1 FROM sqlite_stat1 LIMIT 1").get() !== undefined;
  return {
    pageSize: pragmaNumber(db, "page_size"),
    pageCount: pragmaNumber(db, "page_count"),
    freelistCount: pragmaNumber(db, "freelist_count"),
    fileBytes: fileBytes(file),
    walBytes: fileBytes(`${file}-wal`),
    autoVacuum: AUTO_VACUUM_MODES[pragmaNumber(db, "auto_vacuum")] ?? "none",
    journalMode: String(sqliteClient(db).pragma("journal_mode", { simple: true })),
    hasStatistics,
  };
}

/** Runs ANALYZE and then `PRAGMA optimize`, refreshing the planner's statistics. Writes sqlite_stat1. */
export function analyzeDatabase(db: Db): void {
  sqliteClient(db).exec("ANALYZE");
  sqliteClient(db).pragma("optimize");
}

export interface CheckpointResult {
  /** 1 when another connection kept the checkpoint from finishing */
  busy: number;
  /** frames in the WAL */
  logFrames: number;
  /** frames copied into the database */
  checkpointedFrames: number;
}

/**
 * `PRAGMA wal_checkpoint(mode)`. TRUNCATE copies every frame back and cuts the WAL to zero bytes;
 * PASSIVE copies what it can without waiting, so `logFrames > checkpointedFrames` afterwards means
 * some connection holds a read transaction open on an old snapshot.
 */
export function checkpointWal(db: Db, mode: "PASSIVE" | "TRUNCATE"): CheckpointResult {
  const [row] = sqliteClient(db).pragma(`wal_checkpoint(${mode})`) as { busy: number; log: number; checkpointed: number }[];
  return { busy: row?.busy ?? 0, logFrames: row?.log ?? 0, checkpointedFrames: row?.checkpointed ?? 0 };
}

/** Sets `wal_autocheckpoint` on this connection (0 = off) and returns the previous value. */
export function setAutoCheckpoint(db: Db, pages: number): number {
  const previous = pragmaNumber(db, "wal_autocheckpoint");
  sqliteClient(db).pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(pages))}`);
  return previous;
}

/** Holds on the app connection's automatic checkpoints (see pauseAutoCheckpoint): how many, and the value to put back. */
const autoCheckpointHolds = processState("autoCheckpointHolds", () => ({ count: 0, previous: 0 }));

/**
 * Turns `wal_autocheckpoint` off on this connection until the returned release is called, for work on
 * another connection that grows the WAL by far more than its threshold (a VACUUM in its child writes
 * the whole file into it, a retention cleanup hundreds of MB): otherwise the app's next commit runs the
 * checkpoint of all of it inside that commit, on the event loop (973 ms after a VACUUM of 1M runs,
 * bench/beside-maintenance.ts), before the other connection's own checkpoint gets to it. Holds nest
 * and overlap (a cleanup that ends in a VACUUM, or one beside a VACUUM): the value in force before the
 * first is put back when the last is released.
 */
export function pauseAutoCheckpoint(db: Db): () => void {
  if (autoCheckpointHolds.count === 0) autoCheckpointHolds.previous = setAutoCheckpoint(db, 0);
  autoCheckpointHolds.count += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    autoCheckpointHolds.count -= 1;
    if (autoCheckpointHolds.count === 0) setAutoCheckpoint(db, autoCheckpointHolds.previous);
  };
}

/** Gives up to `pages` free pages back to the file system (auto_vacuum = incremental only); returns the freelist left. */
export function incrementalVacuumStep(db: Db, pages: number): number {
  sqliteClient(db).pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
  return pragmaNumber(db, "freelist_count");
}

export interface TableInfo {
  name: string;
  columns: { name: string; type: string; notNull: boolean; primaryKey: boolean }[];
  rows: number;
}

/** The user tables of the database (no sqlite_* internals), in name order. */
export function listTableNames(db: Db): string[] {
  return sqliteClient(db)
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .pluck()
    .all() as string[];
}

/** Every user table with its columns and row count. Reads only; count(*) walks the smallest index. */
export function describeTables(db: Db): TableInfo[] {
  return listTableNames(db).map((name) => {
    const columns = sqliteClient(db).pragma(`table_info(${quoteIdentifier(name)})`) as { name: string; type: string; notnull: number; pk: number }[];
    const rows = sqliteClient(db)
      .prepare(`SELECT count(*) FROM ${quoteIdentifier(name)}`)
      .pluck()
      .get() as number;
    return {
      name,
      columns: columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notnull === 1, primaryKey: c.pk > 0 })),
      rows,
    };
  });
}

/** Quotes a name as a SQL identifier. Callers pass names read from sqlite_master, never user text. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** SQLITE_BUSY / SQLITE_LOCKED, whatever the extended code: the "database is locked" symptom. */
export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

const busyMemo = processState("busyErrors", (): { busyErrors?: { count: number; last: string | null } } => ({}));

/** Counts a "database is locked" error seen by a request or operation (the troubleshooting panel shows it). */
export function recordBusyError(): void {
  busyMemo.busyErrors ??= { count: 0, last: null };
  busyMemo.busyErrors.count += 1;
  busyMemo.busyErrors.last = new Date().toISOString();
}

/** "database is locked" errors since this process started, and when the last one happened. */
export function busyErrorStats(): { count: number; last: string | null } {
  return busyMemo.busyErrors ?? { count: 0, last: null };
}
