import "server-only";
import type pg from "pg";
import { appDatabaseLocation, closeAppDatabase, getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { DatabaseEngine } from "@/lib/db/engine/types";

function pool(): pg.Pool {
  return getDb().$client as unknown as pg.Pool;
}

/** The PostgreSQL tables of the app, in name order (the migrations journal included, as SQLite lists it). */
async function tableNames(): Promise<string[]> {
  const result = await pool().query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname",
  );
  return result.rows.map((row) => row.name);
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** What the PostgreSQL side does not offer yet: a clear 501, never a silent no-op. */
function unavailable(what: string): never {
  throw new AppError("unavailable_on_postgres", `${what} is not available on PostgreSQL yet.`);
}

/**
 * The PostgreSQL engine: boot, health and the Storage/metrics figures. The maintenance operations
 * (VACUUM/amcheck, export, batched retention, reset, backups) are the next step and answer 501 until then.
 */
export const postgresEngine: DatabaseEngine = {
  backend: "postgres",
  location: appDatabaseLocation,
  ping: async () => {
    await pool().query("SELECT 1");
  },
  close: closeAppDatabase,
  fileStats: async () => {
    const location = appDatabaseLocation();
    const result = await pool().query<{ bytes: string; page: string }>(
      "SELECT pg_database_size(current_database())::text AS bytes, current_setting('block_size') AS page",
    );
    const bytes = Number(result.rows[0]?.bytes ?? 0);
    const pageSize = Number(result.rows[0]?.page ?? 8192);
    const path = location.backend === "postgres" ? `postgres://${location.host}:${location.port}/${location.database}` : location.file;
    // Free space inside PostgreSQL's files is dead tuples and bloat, not a free-page list: 0 here.
    return { path, fileBytes: bytes, walBytes: 0, shmBytes: 0, pageSize, pageCount: Math.ceil(bytes / pageSize), freePages: 0 };
  },
  countTableRows: async () => {
    const names = await tableNames();
    if (names.length === 0) return [];
    const result = await pool().query<{ name: string; rows: string }>(
      names.map((name) => `SELECT '${name.replaceAll("'", "''")}' AS name, count(*)::text AS rows FROM ${quote(name)}`).join(" UNION ALL "),
    );
    const rows = new Map(result.rows.map((row) => [row.name, Number(row.rows)]));
    return names.map((name) => ({ name, rows: rows.get(name) ?? 0 }));
  },
  tableStats: async () => {
    const counts = await postgresEngine.countTableRows();
    const sizes = await pool().query<{ name: string; bytes: string }>(
      "SELECT c.relname AS name, pg_total_relation_size(c.oid)::text AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')",
    );
    const bytes = new Map(sizes.rows.map((row) => [row.name, Number(row.bytes)]));
    return counts.map((table) => ({ ...table, bytes: bytes.get(table.name) ?? null }));
  },
  analyze: async () => {
    await pool().query("ANALYZE");
  },
  dumpSql: async function* () {
    unavailable("SQL export");
  },
  iterateTableRows: async function* () {
    unavailable("CSV export");
  },
  retention: {
    countExpired: async () => unavailable("Retention cleanup from the Database page"),
    deleteExpiredBatch: async () => unavailable("Retention cleanup from the Database page"),
    listJobsOverCap: async () => unavailable("Retention cleanup from the Database page"),
    deleteBeyondCapBatch: async () => unavailable("Retention cleanup from the Database page"),
    estimateBytes: async () => unavailable("Retention cleanup from the Database page"),
  },
  reset: {
    countRows: async () => unavailable("Reset"),
    emptyDataTables: async () => unavailable("Reset"),
    deletePipelineRows: async () => unavailable("Reset"),
    afterReset: async () => unavailable("Reset"),
  },
};
