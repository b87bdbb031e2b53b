import "server-only";
import fs from "node:fs";
import { getDb, sqliteClient } from "@/lib/db/client";
import { preparedQuery } from "@/lib/db/dialect";
import { readSqliteOffThread } from "@/lib/db/off-thread";

/** SQLite-only: file and page statistics of the app database, for Storage, /metrics and alerts. */
export interface SqliteFileStats {
  path: string;
  fileBytes: number;
  walBytes: number;
  shmBytes: number;
  pageSize: number;
  pageCount: number;
  freePages: number;
}

export interface SqliteTableStats {
  name: string;
  rows: number;
  /** pages used by the table and its indexes × page size; null when SQLite lacks the dbstat table */
  bytes: number | null;
}

/**
 * Page counts from pragmas and file sizes from stat: cheap, reads no table. The three stats are
 * synchronous (microseconds each on a local file): through libuv's four-thread pool they queued behind
 * whatever else it ran (log writes, gzip of responses, a volume walk), and /metrics, which reads this on
 * every scrape, waited 20-100 ms for them on a loaded machine while its other reads took 2-9 ms.
 */
export async function readSqliteFileStats(): Promise<SqliteFileStats> {
  const file = sqliteClient(getDb()).name;
  const pages = pagePragmas();
  const [fileBytes, walBytes, shmBytes] = [fileSize(file), fileSize(`${file}-wal`), fileSize(`${file}-shm`)];
  return {
    path: file,
    fileBytes,
    walBytes,
    shmBytes,
    pageSize: Number(pages.size.get()),
    pageCount: Number(pages.count.get()),
    freePages: Number(pages.free.get()),
  };
}

// /metrics reads them on every scrape: compiled once per connection (client.pragma() compiles anew each call).
const pagePragmas = preparedQuery((db) => {
  const client = sqliteClient(db);
  const pragma = (name: string) => client.prepare(`PRAGMA ${name}`).pluck();
  return { size: pragma("page_size"), count: pragma("page_count"), free: pragma("freelist_count") };
});

function listTables(): string[] {
  return sqliteClient(getDb())
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
}

const countOf = (name: string) => ({ sql: `SELECT count(*) FROM "${name.replaceAll('"', '""')}"`, params: [] });

/**
 * Row count of every table (count(*) walks the smallest index, so this is linear in rows), read on a
 * worker thread (lib/db/off-thread.ts) so that a million-row table holds no request.
 */
export async function countSqliteTableRows(): Promise<{ name: string; rows: number }[]> {
  const tables = listTables();
  const counts = await readSqliteOffThread(sqliteClient(getDb()).name, tables.map(countOf));
  return tables.map((name, i) => ({ name, rows: Number(counts[i]![0]![0]) }));
}

/** SQLite builds without the dbstat virtual table answer this: bytes per table are then unknown. */
const NO_DBSTAT = /no such table: dbstat/;

/**
 * Rows and approximate bytes per table (table b-tree plus its indexes). dbstat reads every page
 * (about 2 s at 800 MB), so it runs on a worker thread with the counts, in one snapshot; callers still
 * reuse it for long (lib/storage/usage.ts). Bytes are null on SQLite builds without dbstat.
 */
export async function readSqliteTableStats(): Promise<SqliteTableStats[]> {
  const tables = listTables();
  const file = sqliteClient(getDb()).name;
  const pages = {
    sql: `SELECT coalesce(m.tbl_name, s.name) AS tbl, sum(s.pgsize) AS bytes
            FROM dbstat AS s LEFT JOIN sqlite_master AS m ON m.name = s.name
           WHERE s.aggregate = TRUE GROUP BY tbl`,
    params: [],
  };
  let counts: unknown[][][];
  let bytesByTable: Map<string, number> | null = null;
  try {
    const [bytes, ...rest] = await readSqliteOffThread(file, [pages, ...tables.map(countOf)]);
    bytesByTable = new Map(bytes!.map(([tbl, size]) => [String(tbl), Number(size)]));
    counts = rest;
  } catch (error) {
    if (!NO_DBSTAT.test((error as Error).message)) throw error;
    counts = await readSqliteOffThread(file, tables.map(countOf));
  }
  return tables.map((name, i) => ({ name, rows: Number(counts[i]![0]![0]), bytes: bytesByTable ? (bytesByTable.get(name) ?? 0) : null }));
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
