import "server-only";
import type pg from "pg";
import { appDatabaseLocation, closeAppDatabase, getDb } from "@/lib/db/client";
import type { DatabaseEngine } from "@/lib/db/engine/types";
import { readPostgresInBackground } from "@/lib/db/off-thread";
import { onEachIdleConnection } from "@/lib/db/postgres";
import { RESET_EMPTIED_TABLES, type ResetEmptiedTable } from "@/lib/db/sqlite-reset";
import { exportPostgresSql } from "@/lib/db/engine/postgres/dump";
import { readCatalog } from "@/lib/db/engine/postgres/catalog";
import {
  pgCountExpiredExecutions,
  pgCountTableRows,
  pgDeleteExpiredExecutionsBatch,
  pgDeleteRunsBeyondCapBatch,
  pgEmptyDataTables,
  pgEstimateExecutionBytes,
  pgIterateTableRows,
  pgListJobsOverCap,
} from "@/lib/db/engine/postgres/data";
import { pgAnalyze, pgCheckIntegrity, pgLockReport, pgOverview, pgVacuumAnalyze } from "@/lib/db/engine/postgres/maintenance";

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

/**
 * The PostgreSQL engine: boot, health, the Storage/metrics figures, and the Database page's
 * operations (lib/db/engine/postgres/*: dump and CSV from one snapshot, batched retention on the
 * primary key, reset in one transaction, VACUUM (ANALYZE), amcheck, lock waits).
 */
export const postgresEngine: DatabaseEngine = {
  backend: "postgres",
  location: appDatabaseLocation,
  ping: async () => {
    await pool().query("SELECT 1");
  },
  close: closeAppDatabase,
  onEachConnection: (work) => onEachIdleConnection(pool(), work),
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
  tableNames,
  countTableRows: async () => {
    const names = await tableNames();
    if (names.length === 0) return [];
    // A pass over every table: in the background, on one core of the server (lib/db/off-thread.ts).
    const [result] = await readPostgresInBackground([
      { sql: names.map((name) => `SELECT '${name.replaceAll("'", "''")}' AS name, count(*) AS rows FROM ${quote(name)}`).join(" UNION ALL "), params: [] },
    ]);
    const rows = new Map(result!.map(([name, count]) => [String(name), Number(count)]));
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
    await pgAnalyze(pool());
  },
  dumpSql: () => exportPostgresSql(pool()),
  iterateTableRows: (table) => pgIterateTableRows(pool(), table),
  retention: {
    countExpired: (scope) => pgCountExpiredExecutions(pool(), scope),
    deleteExpiredBatch: (scope, limit) => pgDeleteExpiredExecutionsBatch(pool(), scope, limit),
    listJobsOverCap: (scope, keep) => pgListJobsOverCap(pool(), scope, keep),
    deleteBeyondCapBatch: (jobId, keep, limit) => pgDeleteRunsBeyondCapBatch(pool(), jobId, keep, limit),
    estimateBytes: (scope, rows) => pgEstimateExecutionBytes(pool(), scope, rows),
  },
  postgres: {
    overview: () => pgOverview(pool()),
    vacuumAnalyze: () => pgVacuumAnalyze(pool()),
    checkIntegrity: (mode, signal) => pgCheckIntegrity(pool(), mode, { signal }),
    lockReport: (longSeconds) => pgLockReport(pool(), longSeconds),
    describeTables: async () => {
      const client = await pool().connect();
      try {
        const tables = await readCatalog(client, "public");
        return tables.map((table) => ({
          name: table.name,
          columns: table.columns.map((column) => ({
            name: column.name,
            type: column.type,
            not_null: column.notNull,
            primary_key: table.primaryKey.includes(column.name),
          })),
        }));
      } finally {
        client.release();
      }
    },
  },
  reset: {
    countRows: (tables) => pgCountTableRows(pool(), tables),
    emptyDataTables: async (options) => (await pgEmptyDataTables(pool(), RESET_EMPTIED_TABLES, options)) as Record<ResetEmptiedTable, number>,
    deletePipelineRows: async () => (await pool().query("DELETE FROM pipelines")).rowCount ?? 0,
    // TRUNCATE gave the space back already; fresh statistics for the emptied tables.
    afterReset: async () => {
      await pgAnalyze(pool());
    },
  },
};
