import "server-only";
import { appDatabaseLocation, closeAppDatabase, getDb } from "@/lib/db/client";
import { countSqliteTableRows, readSqliteFileStats, readSqliteTableStats } from "@/lib/db/sqlite-stats";
import { analyzeDatabase, listTableNames } from "@/lib/db/sqlite-maintenance";
import { dumpDatabaseSql, iterateTableRows } from "@/lib/db/sqlite-export";
import {
  countExpiredExecutions,
  deleteExpiredExecutionsBatch,
  deleteRunsBeyondCapBatch,
  estimateExecutionBytes,
  listJobsOverCap,
} from "@/lib/db/sqlite-retention";
import { countTableRows, deletePipelineRows, emptyDataTables, vacuumAndTruncate } from "@/lib/db/sqlite-reset";
import type { DatabaseEngine } from "@/lib/db/engine/types";

function file(): string {
  const location = appDatabaseLocation();
  if (location.backend !== "sqlite") throw new Error("the open database is not SQLite");
  return location.file;
}

/** The SQLite engine: the existing lib/db/sqlite-*.ts behind the interface, behaviour unchanged. */
export const sqliteEngine: DatabaseEngine = {
  backend: "sqlite",
  location: appDatabaseLocation,
  ping: async () => {
    getDb().$client.prepare("SELECT 1").get();
  },
  close: closeAppDatabase,
  onEachConnection: async (work) => {
    await work();
  },
  fileStats: readSqliteFileStats,
  tableNames: async () => listTableNames(getDb()),
  countTableRows: countSqliteTableRows,
  tableStats: readSqliteTableStats,
  analyze: async () => analyzeDatabase(getDb()),
  dumpSql: () => dumpDatabaseSql(file()),
  iterateTableRows: (table) => iterateTableRows(file(), table),
  retention: {
    countExpired: (scope) => countExpiredExecutions(getDb(), scope),
    deleteExpiredBatch: async (scope, limit) => deleteExpiredExecutionsBatch(getDb(), scope, limit),
    listJobsOverCap: async (scope, keep) => listJobsOverCap(getDb(), scope, keep),
    deleteBeyondCapBatch: async (jobId, keep, limit) => deleteRunsBeyondCapBatch(getDb(), jobId, keep, limit),
    estimateBytes: async (scope, rows) => estimateExecutionBytes(getDb(), scope, rows),
  },
  postgres: null,
  reset: {
    countRows: async (tables) => countTableRows(getDb(), tables),
    emptyDataTables: async (options) => emptyDataTables(getDb(), options),
    deletePipelineRows: async () => deletePipelineRows(getDb()),
    afterReset: async () => vacuumAndTruncate(getDb()),
  },
};
