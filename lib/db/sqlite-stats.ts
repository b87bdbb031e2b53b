import "server-only";
import fs from "node:fs/promises";
import { getDb, sqliteClient } from "@/lib/db/client";

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

/** Page counts from pragmas and file sizes from stat: cheap, reads no table. */
export async function readSqliteFileStats(): Promise<SqliteFileStats> {
  const client = sqliteClient(getDb());
  const file = client.name;
  const pragma = (name: string) => Number(client.pragma(name, { simple: true }));
  const [fileBytes, walBytes, shmBytes] = await Promise.all([fileSize(file), fileSize(`${file}-wal`), fileSize(`${file}-shm`)]);
  return {
    path: file,
    fileBytes,
    walBytes,
    shmBytes,
    pageSize: pragma("page_size"),
    pageCount: pragma("page_count"),
    freePages: pragma("freelist_count"),
  };
}

/** Row count of every table (count(*) walks the smallest index, so this is linear in rows). */
export async function countSqliteTableRows(): Promise<{ name: string; rows: number }[]> {
  const client = sqliteClient(getDb());
  const tables = client.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  return tables.map((name) => ({
    name,
    rows: Number(
      client
        .prepare(`SELECT count(*) FROM "${name.replaceAll('"', '""')}"`)
        .pluck()
        .get(),
    ),
  }));
}

/**
 * Rows and approximate bytes per table (table b-tree plus its indexes). dbstat reads every page, so
 * this belongs on the Storage page, not on a scrape; it is absent from SQLite builds without it.
 */
export async function readSqliteTableStats(): Promise<SqliteTableStats[]> {
  const client = sqliteClient(getDb());
  const rows = await countSqliteTableRows();
  let bytesByTable: Map<string, number> | null = null;
  try {
    const pages = client
      .prepare(
        `SELECT coalesce(m.tbl_name, s.name) AS tbl, sum(s.pgsize) AS bytes
           FROM dbstat AS s LEFT JOIN sqlite_master AS m ON m.name = s.name
          WHERE s.aggregate = TRUE GROUP BY tbl`,
      )
      .all() as { tbl: string; bytes: number }[];
    bytesByTable = new Map(pages.map((p) => [p.tbl, Number(p.bytes)]));
  } catch {
    bytesByTable = null;
  }
  return rows.map((r) => ({ ...r, bytes: bytesByTable ? (bytesByTable.get(r.name) ?? 0) : null }));
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}
