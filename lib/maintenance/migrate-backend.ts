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
import {
  describePgTarget,
  migrateToPostgres,
  preflightToPostgres,
  targetOperationStatus,
  type MigrateToPostgresOptions,
  type PreflightResult,
} from "@/lib/db/transfer/to-postgres";
import { migrateToSqlite, preflightToSqlite } from "@/lib/db/transfer/to-sqlite";
import type { ProgressListener, TransferProgress } from "@/lib/db/transfer/progress";
import type { MigrateToPostgresInput } from "@/lib/maintenance/inputs";
import type { BackendMigrationResult, MigrateToPostgresResult } from "@/lib/maintenance/types";
import { eq } from "drizzle-orm";
import { auditRowOf, recordAudit, type AuditEntry } from "@/lib/audit/service";
import type { Principal } from "@/lib/auth/scopes";
import { listRunningExecutions } from "@/lib/executions/service";
import { drainWrites, freezeWrites, outsideFreezeExemption, thawWrites, writesFrozenReason } from "@/lib/db/write-freeze";
import { withAppWritesPaused } from "@/lib/operations/write-gate";
import { startOperation, succeededOperationChange, type OperationContext } from "@/lib/operations/service";
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
  beforeCommit?: MigrateToPostgresOptions["beforeCommit"];
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
/** How long the freeze waits for changes already under way (requests, a storage sample, a notification round) before it gives up. */
export const DRAIN_TIMEOUT_MS = 30_000;

/** Why changes are refused while a switch to PostgreSQL is under way or waits for its restart, or null: what the Database page shows. */
export function migrationFreezeReason(): string | null {
  return writesFrozenReason();
}

/** Refuses (409) while job runs are in progress: the copy would hold them as running, with nobody left to end them. */
async function refuseWhileJobsRun(): Promise<void> {
  const running = await listRunningExecutions();
  if (running.length > 0) {
    throw new AppError(
      "operation_running",
      `${formatCountOf(running.length, "job run")} ${running.length === 1 ? "is" : "are"} in progress (${running.map((run) => run.job_id).join(", ")}); let them finish, then migrate`,
    );
  }
}

/**
 * The Database page's "Migrate to PostgreSQL", as an exclusive operation (202). Every write is frozen
 * first (lib/db/write-freeze.ts): changing requests, sign-in included, get 503 `migrating`; the
 * scheduler stops; the sampler, notifier and heartbeat skip their turns; the changes already under
 * way are waited for; only then is a run in progress looked for and the SQLite file read, in one
 * transaction, so what it holds is all there is. Then migrateSqliteToPostgres, progress in rows with
 * rate and ETA; the operation's success and its audit row are written into PostgreSQL inside the
 * copy's transaction (after the restart the target says succeeded, not interrupted), and into SQLite
 * after the commit, so the way back agrees. On success config.yaml says postgres and writes stay
 * frozen until the restart that switches (a live switch would have to swap every open handle
 * mid-request: not done); on failure or cancel nothing is kept in PostgreSQL, and writes, the
 * scheduler and the background writers resume.
 */
export async function startMigrateToPostgres(input: MigrateToPostgresInput, principal: Principal | null): Promise<OperationDto> {
  const config = getConfig();
  if (config.values.persistence.backend !== "sqlite") throw new AppError("conflict", "This deployment already stores its data in PostgreSQL");
  assertNotSetByEnvironment("persistence.backend", config);
  assertNotSetByEnvironment("persistence.connection_string", config);
  const target = describePgTarget(input.connection_string);
  return startOperation(
    { kind: "migrate_to_postgres", principal, scope: "admin", exclusive: true, params: { target }, writesWhileFrozen: true },
    async (ctx) => {
      // Set right before the commit, with what the operation returns.
      let outcome = null as MigrateToPostgresResult | null;
      // Before the freeze: a run's bookkeeping is no admitted request, so the freeze would refuse its
      // last writes and leave it "running" for good. Checked again after the drain for one that began meanwhile.
      await refuseWhileJobsRun();
      freezeWrites(FROZEN_DURING);
      stopScheduler();
      try {
        ctx.message("waiting for changes under way to finish");
        // Requests and background writes counted by the freeze first: one admitted before the freeze may
        // still be on its way to the app's write gate, and closing the gate first would leave it waiting there.
        await drainWrites(DRAIN_TIMEOUT_MS);
        // Then the app's writes to the volumes: none can begin any more, so this waits only for those under way.
        await withAppWritesPaused(() => undefined);
        await refuseWhileJobsRun();
        ctx.message(`checking the database and ${target}`);
        const succeeded: AuditEntry = { principal, action: "data.migrate_to_postgres", target, result: "ok", details: {} };
        await migrateSqliteToPostgres(input.connection_string, {
          hashSource: false,
          onProgress: operationProgress(ctx),
          onMessage: (text) => ctx.message(text),
          beforeCommit: async (tx, report) => {
            ctx.pointOfNoReturn("the verified copy is being committed");
            outcome = {
              ...report,
              target,
              source_sha256_before: null,
              source_sha256_after: null,
              config_written: true,
              restart_required: true,
            };
            succeeded.details = { rows: report.rows, seconds: Math.round(report.seconds) };
            // The copy holds this operation as it was at the snapshot (running): it ends here, with the copy.
            const ended = await tx
              .update(pgSchema.operations)
              .set({
                ...succeededOperationChange(outcome),
                progressDone: report.rows,
                progressTotal: report.rows,
                progressUnit: "rows",
                message: "copied and verified",
              })
              .where(eq(pgSchema.operations.id, ctx.id))
              .returning({ id: pgSchema.operations.id });
            if (ended.length !== 1)
              throw new AppError("internal", `The copy does not hold this migration's operation ${ctx.id}; nothing was kept in PostgreSQL`);
            await tx.insert(pgSchema.auditLog).values(auditRowOf(succeeded));
          },
        });
        freezeWrites(FROZEN_AFTER);
        // The same row in the SQLite file, the way back (this operation's writes pass the freeze).
        await recordAudit(succeeded);
        return outcome!;
      } catch (error) {
        // Committed, then config.yaml could not be written: PostgreSQL holds the whole copy, this operation
        // succeeded in it. Writes resumed here would be left behind it, so they stay refused until config.yaml
        // points there and the console restarts.
        const committed = outcome === null ? null : await targetOperationStatus(input.connection_string, ctx.id);
        if (committed === "succeeded" || committed === undefined) {
          const message =
            committed === "succeeded"
              ? `The copy in ${target} is complete and committed, but config.yaml could not be written (${(error as Error).message}). Set persistence.backend: postgres and persistence.connection_string there and restart the console; until then changes are refused, so none is left behind in the SQLite file`
              : // The commit was sent and PostgreSQL stopped answering: whether it landed is unknown, so neither side may take writes.
                `PostgreSQL (${target}) stopped answering while the verified copy was being committed (${(error as Error).message}); whether it landed is unknown, so changes stay refused. When it answers again: if \`SELECT status FROM operations WHERE id = '${ctx.id}'\` there says succeeded, set persistence.backend: postgres and persistence.connection_string in config.yaml and restart the console; otherwise restart the console to carry on with SQLite`;
          freezeWrites(message);
          await recordAudit({ principal, action: "data.migrate_to_postgres", target, result: "failed", details: { error: message } });
          throw new AppError("internal", message);
        }
        await outsideFreezeExemption(async () => {
          thawWrites();
          await reloadScheduler(getConfig());
        });
        await recordAudit({ principal, action: "data.migrate_to_postgres", target, result: "failed", details: { error: (error as Error).message } });
        // The operation keeps only a message: put the preflight's list in it.
        if (error instanceof AppError && error.code === "preflight_failed" && Array.isArray(error.details)) {
          throw new AppError("preflight_failed", `${error.message}: ${(error.details as string[]).map((p, i) => `(${i + 1}) ${p}`).join(" ")}`);
        }
        throw error;
      }
    },
  );
}

function operationProgress(ctx: OperationContext): ProgressListener {
  return (p: TransferProgress) => {
    // A cancel stops the copy between chunks; the transaction rolls back.
    ctx.signal.throwIfAborted();
    const eta = p.etaSeconds === null ? "" : `, about ${Math.ceil(p.etaSeconds)} s left`;
    if (p.phase === "index") {
      ctx.progress(p.done, p.total, "indexes");
      ctx.message(`built ${p.table} (${p.done} of ${p.total} indexes and foreign keys)${eta}`);
      return;
    }
    ctx.progress(p.done, p.total, "rows");
    ctx.message(`${p.phase === "copy" ? "copying" : "verifying"} ${p.table}: ${Math.round(p.rowsPerSecond).toLocaleString("en-US")} rows/s${eta}`);
  };
}
