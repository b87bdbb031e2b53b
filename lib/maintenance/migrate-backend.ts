import "server-only";
import fs from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { getConfig } from "@/lib/config/service";
import { assertNotSetByEnvironment, switchPersistenceBackend } from "@/lib/config/edit";
import { AppError } from "@/lib/errors";
import { DEFAULT_POOL, migratePostgres, openPostgresPool } from "@/lib/db/postgres";
import * as pgSchema from "@/lib/db/schema/pg";
import { shapesOfPgSchema } from "@/lib/db/transfer/shape";
import { describePgTarget, migrateToPostgres, preflightToPostgres, type PreflightResult } from "@/lib/db/transfer/to-postgres";
import { migrateToSqlite, preflightToSqlite } from "@/lib/db/transfer/to-sqlite";
import type { ProgressListener, TransferProgress } from "@/lib/db/transfer/progress";
import type { MigrateToPostgresInput } from "@/lib/maintenance/inputs";
import type { BackendMigrationResult, MigrateToPostgresResult } from "@/lib/maintenance/types";
import { recordAudit } from "@/lib/audit/service";
import type { Principal } from "@/lib/auth/scopes";
import { listRunningExecutions } from "@/lib/executions/service";
import { freezeWrites, thawWrites } from "@/lib/db/write-freeze";
import { startOperation, type OperationContext } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import { stopScheduler } from "@/lib/scheduler/engine";
import { reloadScheduler } from "@/lib/scheduler/boot";
import { formatCountOf } from "@/lib/format";

export interface BackendMigrationOptions {
  /** write persistence.backend and its connection string/path to config.yaml once verified (default true) */
  writeConfig?: boolean;
  /**
   * hash the SQLite file before and after (default true): the CLI's proof that it was left as it was.
   * A running server keeps its file open and checkpoints it, so its own migration reads it read-only instead.
   */
  hashSource?: boolean;
  beforeCommit?: () => void;
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

/** The file's sha256, computed in a worker thread so it overlaps the copy instead of adding to it. */
function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       const hash = require("node:crypto").createHash("sha256");
       require("node:fs").createReadStream(workerData).on("data", (chunk) => hash.update(chunk)).on("end", () => parentPort.postMessage(hash.digest("hex")))
         .on("error", (error) => { throw error; });`,
      { eval: true, workerData: file },
    );
    worker.once("message", (hex: string) => {
      resolve(hex);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
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
  const hash = options.hashSource ?? true;
  // The file is not written by anyone while this runs (the data root's lock keeps servers out, and the
  // copy opens it read-only), so its hash "before" can be taken beside the preflight and the copy, and
  // "after" beside the verification, which no longer reads it.
  const before = hash && fs.existsSync(source) ? sha256Of(source) : null;
  before?.catch(() => undefined);
  let after: Promise<string> | null = null;
  const report = await migrateToPostgres({
    source,
    target: url,
    expected: expectedPgTables(),
    createSchema: createPgSchema,
    ...options,
    onSourceClosed: () => {
      if (hash) after = sha256Of(source);
      after?.catch(() => undefined);
    },
  }).catch(async (error: unknown) => {
    await Promise.allSettled([before, after]);
    throw error;
  });
  const [beforeHex, afterHex] = await Promise.all([before, after ?? (hash ? sha256Of(source) : null)]);
  if (afterHex !== beforeHex)
    throw new AppError("internal", `${source} changed during the migration (sha256 ${beforeHex} → ${afterHex}); config.yaml was not changed`);
  if (writeConfig) await switchPersistenceBackend({ backend: "postgres", connection_string: url });
  return { ...report, target: describePgTarget(url), source_sha256_before: beforeHex, source_sha256_after: afterHex, config_written: writeConfig };
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

const FROZEN_DURING = "The console is copying its database to PostgreSQL: changes are refused until the copy has finished";
const FROZEN_AFTER =
  "This console's data has been copied to PostgreSQL and config.yaml now points there: restart the console to switch. Until then changes are refused, so none is left behind in the SQLite file";

/**
 * The Database page's "Migrate to PostgreSQL", as an exclusive operation (202): the scheduler
 * stops and every change is refused (lib/db/write-freeze.ts) for the whole copy, so the
 * SQLite file read in one transaction is all there is; then migrateSqliteToPostgres, progress in
 * rows with rate and ETA. On success config.yaml says postgres and changes stay refused until the
 * restart that switches (a live switch would have to swap every open handle mid-request: not done);
 * on failure or cancel nothing is kept in PostgreSQL, and the scheduler and changes resume.
 */
export async function startMigrateToPostgres(input: MigrateToPostgresInput, principal: Principal | null): Promise<OperationDto> {
  const config = getConfig();
  if (config.values.persistence.backend !== "sqlite") throw new AppError("conflict", "This deployment already stores its data in PostgreSQL");
  assertNotSetByEnvironment("persistence.backend", config);
  assertNotSetByEnvironment("persistence.connection_string", config);
  const target = describePgTarget(input.connection_string);
  return startOperation({ kind: "migrate_to_postgres", principal, scope: "admin", exclusive: true, params: { target } }, async (ctx) => {
    const running = await listRunningExecutions();
    if (running.length > 0) {
      throw new AppError(
        "operation_running",
        `${formatCountOf(running.length, "job run")} ${running.length === 1 ? "is" : "are"} in progress (${running.map((run) => run.job_id).join(", ")}); let them finish, then migrate`,
      );
    }
    freezeWrites(FROZEN_DURING);
    stopScheduler();
    try {
      ctx.message(`checking the database and ${target}`);
      const result = await migrateSqliteToPostgres(input.connection_string, {
        hashSource: false,
        onProgress: operationProgress(ctx),
        onMessage: (text) => ctx.message(text),
        beforeCommit: () => ctx.pointOfNoReturn("the verified copy is being committed"),
      });
      freezeWrites(FROZEN_AFTER);
      await recordAudit({
        principal,
        action: "data.migrate_to_postgres",
        target,
        result: "ok",
        details: { rows: result.rows, seconds: Math.round(result.seconds) },
      });
      return { ...result, restart_required: true } satisfies MigrateToPostgresResult;
    } catch (error) {
      thawWrites();
      await reloadScheduler(getConfig());
      await recordAudit({ principal, action: "data.migrate_to_postgres", target, result: "failed", details: { error: (error as Error).message } });
      // The operation keeps only a message: put the preflight's list in it.
      if (error instanceof AppError && error.code === "preflight_failed" && Array.isArray(error.details)) {
        throw new AppError("preflight_failed", `${error.message}: ${(error.details as string[]).map((p, i) => `(${i + 1}) ${p}`).join(" ")}`);
      }
      throw error;
    }
  });
}

function operationProgress(ctx: OperationContext): ProgressListener {
  return (p: TransferProgress) => {
    // A cancel stops the copy between chunks; the transaction rolls back.
    ctx.signal.throwIfAborted();
    ctx.progress(p.done, p.total, "rows");
    const eta = p.etaSeconds === null ? "" : `, about ${Math.ceil(p.etaSeconds)} s left`;
    ctx.message(`${p.phase === "copy" ? "copying" : "verifying"} ${p.table}: ${Math.round(p.rowsPerSecond).toLocaleString("en-US")} rows/s${eta}`);
  };
}
