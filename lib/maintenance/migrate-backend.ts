import "server-only";
import fs from "node:fs";
import crypto from "node:crypto";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { getConfig } from "@/lib/config/service";
import { assertNotSetByEnvironment, switchPersistenceBackend } from "@/lib/config/edit";
import { AppError } from "@/lib/errors";
import { DEFAULT_POOL, migratePostgres, openPostgresPool } from "@/lib/db/postgres";
import * as pgSchema from "@/lib/db/schema/pg";
import { shapesOfPgSchema } from "@/lib/db/transfer/shape";
import { describePgTarget, migrateToPostgres, preflightToPostgres, type PreflightResult, type TransferReport } from "@/lib/db/transfer/to-postgres";
import { migrateToSqlite, preflightToSqlite } from "@/lib/db/transfer/to-sqlite";
import type { ProgressListener } from "@/lib/db/transfer/progress";

export interface BackendMigrationResult extends TransferReport {
  /** "host:port/database" or the SQLite file: never a password */
  target: string;
  /** sha256 of the source SQLite file before and after (to PostgreSQL): the proof it was left as it was */
  source_sha256_before: string | null;
  source_sha256_after: string | null;
  /** config.yaml now points at the target; the running server switches when it restarts */
  config_written: boolean;
}

export interface BackendMigrationOptions {
  /** write persistence.backend and its connection string/path to config.yaml once verified (default true) */
  writeConfig?: boolean;
  onProgress?: ProgressListener;
  onMessage?: (text: string) => void;
}

/** The app's PostgreSQL schema as the migrations create it, for the preflight. */
export function expectedPgTables() {
  return shapesOfPgSchema(pgSchema);
}

/** The migrations, under their advisory lock, over a one-connection pool of their own. */
async function createPgSchema(url: string): Promise<void> {
  const pool = openPostgresPool(url, { ...DEFAULT_POOL, max_open: 1, max_idle: 0 }, "mimir-migrate");
  try {
    await migratePostgres(pool);
  } finally {
    await pool.end();
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = crypto.createHash("sha256");
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest("hex");
}

/** Reads only: what a migration to PostgreSQL would refuse, for `--dry-run` and the Database page's check. */
export async function preflightSqliteToPostgres(url: string): Promise<PreflightResult> {
  return preflightToPostgres(getConfig().paths.database, url, expectedPgTables());
}

/**
 * This deployment's SQLite database into PostgreSQL at `url` (see migrateToPostgres), then, only once
 * counts and checksums matched, config.yaml pointed at it. Checks the file's sha256 before and after:
 * it is the way back, so it must be exactly as it was.
 */
export async function migrateSqliteToPostgres(url: string, options: BackendMigrationOptions = {}): Promise<BackendMigrationResult> {
  const config = getConfig();
  const writeConfig = options.writeConfig ?? true;
  if (config.values.persistence.backend !== "sqlite") throw new AppError("conflict", "This deployment already stores its data in PostgreSQL");
  if (writeConfig) {
    assertNotSetByEnvironment("persistence.backend", config);
    assertNotSetByEnvironment("persistence.connection_string", config);
  }
  const source = config.paths.database;
  const before = fs.existsSync(source) ? await sha256Of(source) : null;
  const report = await migrateToPostgres({ source, target: url, expected: expectedPgTables(), createSchema: createPgSchema, ...options });
  const after = await sha256Of(source);
  if (after !== before) throw new AppError("internal", `${source} changed during the migration (sha256 ${before} → ${after}); config.yaml was not changed`);
  if (writeConfig) await switchPersistenceBackend({ backend: "postgres", connection_string: url });
  return { ...report, target: describePgTarget(url), source_sha256_before: before, source_sha256_after: after, config_written: writeConfig };
}

/** Reads only: what the way back would refuse. */
export async function preflightPostgresToSqlite(url: string, file: string): Promise<PreflightResult> {
  const { shapes: _shapes, ...result } = await preflightToSqlite(url, file);
  return result;
}

/** The way back: PostgreSQL at `url` into a new SQLite file (see migrateToSqlite), then config.yaml pointed at that file. */
export async function migratePostgresToSqlite(url: string, file: string, options: BackendMigrationOptions = {}): Promise<BackendMigrationResult> {
  const writeConfig = options.writeConfig ?? true;
  if (writeConfig) {
    for (const key of ["persistence.backend", "persistence.database_path", "persistence.connection_string"]) assertNotSetByEnvironment(key);
  }
  const target = path.resolve(file);
  const report = await migrateToSqlite({ source: url, target, ...options });
  if (writeConfig) await switchPersistenceBackend({ backend: "sqlite", database_path: target });
  return { ...report, target, source_sha256_before: null, source_sha256_after: null, config_written: writeConfig };
}
