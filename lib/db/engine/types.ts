import type { AppDatabaseLocation } from "@/lib/db/client";
import type { RetentionScope } from "@/lib/db/sqlite-retention";
import type { ResetEmptiedTable } from "@/lib/db/sqlite-reset";
import type { CellValue } from "@/lib/db/sqlite-export";
import type { PgIntegrityResult, PgLockReport, PgOverview, PgVacuumResult } from "@/lib/db/engine/postgres/maintenance";

/**
 * The operational surface of the app database: what differs between SQLite and PostgreSQL beyond
 * SQL fragments (lib/db/dialect.ts). Query modules never need it; the Storage page, /metrics, the
 * Database page, backups and boot do. One implementation per backend (./sqlite.ts, ./postgres.ts);
 * getEngine() (./index.ts) returns the one of the open database.
 *
 * A method a backend does not offer yet throws AppError `unavailable_on_postgres` (HTTP 501) saying
 * so, never a silent no-op.
 */
export interface DatabaseEngine {
  readonly backend: "sqlite" | "postgres";
  /** where the database is: the file, or host/port/database (never credentials) */
  location(): AppDatabaseLocation;
  /** one round trip; throws why the database cannot answer */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Runs `work` once on each open connection, its statements on that one: a boot warm-up, so that the
   * first requests find every connection they may get already acquainted with their statements. On
   * PostgreSQL each pooled idle connection (onEachIdleConnection); SQLite has one connection: once.
   */
  onEachConnection(work: () => Promise<unknown>): Promise<void>;

  /** size facts for Storage and /metrics; on PostgreSQL the database's size, no WAL/SHM files and no free-page list */
  fileStats(): Promise<DatabaseFileStats>;
  /** the names of the app's tables, in name order */
  tableNames(): Promise<string[]>;
  /** exact row count of every table */
  countTableRows(): Promise<{ name: string; rows: number }[]>;
  /** rows and bytes (table + indexes) per table; bytes null where the backend cannot tell */
  tableStats(): Promise<{ name: string; rows: number; bytes: number | null }[]>;

  /** refreshes the planner's statistics (ANALYZE) */
  analyze(): Promise<void>;
  /** the whole database as SQL text, from one consistent snapshot */
  dumpSql(): AsyncGenerator<string>;
  /** one table's rows, from one consistent snapshot */
  iterateTableRows(table: string): AsyncGenerator<CellValue[]>;

  retention: {
    countExpired(scope: RetentionScope): Promise<number>;
    deleteExpiredBatch(scope: RetentionScope, limit: number): Promise<string[]>;
    listJobsOverCap(scope: RetentionScope, keep: number): Promise<{ jobId: string; excess: number }[]>;
    deleteBeyondCapBatch(jobId: string, keep: number, limit: number): Promise<string[]>;
    estimateBytes(scope: RetentionScope, rows: number): Promise<number>;
  };
  /**
   * The Database page's maintenance that only PostgreSQL has (sizes with dead tuples and bloat,
   * VACUUM (ANALYZE), amcheck, lock waits); null on SQLite, whose page runs lib/db/sqlite-*.ts.
   */
  postgres: PostgresMaintenance | null;

  reset: {
    countRows(tables: readonly string[]): Promise<Record<string, number>>;
    emptyDataTables(options: { keepOperationId: string }): Promise<Record<ResetEmptiedTable, number>>;
    deletePipelineRows(): Promise<number>;
    /** gives the emptied space back (VACUUM) */
    afterReset(): Promise<void>;
  };
}

export interface PostgresMaintenance {
  overview(): Promise<PgOverview>;
  vacuumAnalyze(): Promise<PgVacuumResult>;
  checkIntegrity(mode: "quick" | "full", signal?: AbortSignal): Promise<PgIntegrityResult>;
  /** long transactions (at least `longSeconds` old) and lock waits, with the fix */
  lockReport(longSeconds?: number): Promise<PgLockReport>;
  /** column names and types per table, for the Tables card */
  describeTables(): Promise<{ name: string; columns: { name: string; type: string; not_null: boolean; primary_key: boolean }[] }[]>;
}

/** SqliteFileStats's shape, so Storage and /metrics read one type on both backends. */
export interface DatabaseFileStats {
  path: string;
  fileBytes: number;
  walBytes: number;
  shmBytes: number;
  pageSize: number;
  pageCount: number;
  freePages: number;
}
