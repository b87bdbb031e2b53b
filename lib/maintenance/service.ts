import "server-only";
import { processState } from "@/lib/process-state";
import { notify } from "@/lib/notify/service";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { getDb } from "@/lib/db/client";
import { nowIso } from "@/lib/db/timestamps";
import { AppError } from "@/lib/errors";
import { recordAudit } from "@/lib/audit/service";
import { getLogger } from "@/lib/log/logger";
import type { Principal } from "@/lib/auth/scopes";
import { getOperation, listOperations, startOperation } from "@/lib/operations/service";
import { MAX_PAGE_SIZE } from "@/lib/pagination";
import { withAppWritesPaused } from "@/lib/operations/write-gate";
import type { OperationDto } from "@/lib/operations/types";
import { checkpointWal, describeTables, fileBytes, pauseAutoCheckpoint, readSqliteFileStats } from "@/lib/db/sqlite-maintenance";
import { getEngine } from "@/lib/db/engine";
import type { PgVacuumResult } from "@/lib/db/engine/postgres/maintenance";
import { runSqliteChild } from "@/lib/db/sqlite-child";
import { recoverDatabaseFile, swapInDatabaseFile } from "@/lib/db/sqlite-recover";
import { MAINTENANCE_KEYS, readMetadata, restoreOperationRow, writeMetadata } from "@/lib/maintenance/queries";
import type { SwapRecoveredInput } from "@/lib/maintenance/inputs";
import type {
  AnalyzeResult,
  CheckpointReport,
  DiskRequirement,
  IntegrityResult,
  MaintenanceOverview,
  RecoveryResult,
  SwapResult,
  TableSummary,
  VacuumResult,
  PostgresMaintenanceOverview,
} from "@/lib/maintenance/types";

/** VACUUM and integrity_check on a large file take minutes; past this something is wrong. */
const SLOW_MAINTENANCE_LIMIT_MS = 60 * 60 * 1000;
/** integrity_check stops listing after this many problems; more would not change what to do. */
const MAX_INTEGRITY_PROBLEMS = 100;
/** Headroom on top of VACUUM's estimated need, for the WAL's own frame headers and other writers. */
const VACUUM_DISK_MARGIN = 1.1;

/** What each maintenance action would gain now: free pages, WAL size, last ANALYZE, disk for VACUUM. Reads only. */
export async function getMaintenanceOverview(): Promise<MaintenanceOverview> {
  const file = getConfig().paths.database;
  const stats = readSqliteFileStats(getDb(), file);
  return {
    database: file,
    page_size: stats.pageSize,
    page_count: stats.pageCount,
    free_pages: stats.freelistCount,
    free_bytes: stats.freelistCount * stats.pageSize,
    file_bytes: stats.fileBytes,
    wal_bytes: stats.walBytes,
    auto_vacuum: stats.autoVacuum,
    journal_mode: stats.journalMode,
    has_statistics: stats.hasStatistics,
    last_analyze_at: await readMetadata(MAINTENANCE_KEYS.lastAnalyzeAt),
    last_vacuum_at: await readMetadata(MAINTENANCE_KEYS.lastVacuumAt),
    last_integrity: await getLastIntegrityResult(),
    vacuum_disk: await checkVacuumDisk(stats.fileBytes + stats.walBytes),
  };
}

/**
 * The Database page's figures on PostgreSQL: database size, per-table rows, dead rows, bytes and
 * bloat, amcheck's status, the last ANALYZE/VACUUM/integrity results, and the lock report. Reads only.
 */
export async function getPostgresMaintenanceOverview(): Promise<PostgresMaintenanceOverview> {
  const engine = postgresOnly();
  const [overview, locks] = await Promise.all([engine.overview(), engine.lockReport(LONG_TRANSACTION_SECONDS)]);
  return {
    ...overview,
    locks,
    last_analyze_at: await readMetadata(MAINTENANCE_KEYS.lastAnalyzeAt),
    last_vacuum_at: await readMetadata(MAINTENANCE_KEYS.lastVacuumAt),
    last_integrity: await getLastIntegrityResult(),
  };
}

/**
 * The Database page's figures for scripts, tagged with the backend in use: SQLite's file, pages, WAL
 * and free pages, or PostgreSQL's sizes, dead rows, bloat, amcheck and locks. Reads only.
 */
export async function getDatabaseOverview(): Promise<({ backend: "sqlite" } & MaintenanceOverview) | ({ backend: "postgres" } & PostgresMaintenanceOverview)> {
  if (getEngine().postgres) return await getPostgresMaintenanceOverview();
  return { backend: "sqlite", ...(await getMaintenanceOverview()) };
}

/** A transaction open this long is named on the Database page: it holds its locks and keeps VACUUM from reusing dead rows. */
const LONG_TRANSACTION_SECONDS = 60;

function postgresOnly() {
  const engine = getEngine().postgres;
  if (!engine) throw new Error("the open database is not PostgreSQL");
  return engine;
}

const NOT_ON_POSTGRES = {
  checkpoint: ["A WAL checkpoint", "the server checkpoints its own WAL (checkpoint_timeout, max_wal_size)"],
  recover: ["Recovering the database file", "restore the latest verified backup set, or use the server's point-in-time recovery or a replica"],
} as const;

/** What has no meaning on PostgreSQL (the server owns its WAL and files): a clear 501 naming what to do instead. */
function refuseOnPostgres(what: string, instead: string): void {
  if (getEngine().backend === "postgres") throw new AppError("unavailable_on_postgres", `${what} has no meaning on PostgreSQL: ${instead}`);
}

/** Every user table with its columns and row count (the guide's `.tables`). Reads only. */
export async function listTableSummaries(): Promise<TableSummary[]> {
  const engine = getEngine();
  if (engine.postgres) {
    const [tables, counts] = await Promise.all([engine.postgres.describeTables(), engine.countTableRows()]);
    const rows = new Map(counts.map((table) => [table.name, table.rows]));
    return tables.map((table) => ({ name: table.name, rows: rows.get(table.name) ?? 0, columns: table.columns }));
  }
  return describeTables(getDb()).map((t) => ({
    name: t.name,
    rows: t.rows,
    columns: t.columns.map((c) => ({ name: c.name, type: c.type, not_null: c.notNull, primary_key: c.primaryKey })),
  }));
}

/**
 * VACUUM rebuilds the file in SQLite's temp folder, then writes every page through the WAL: it
 * needs free space about the database's size on both filesystems (twice on one shared by both).
 */
export async function checkVacuumDisk(databaseBytes: number): Promise<DiskRequirement> {
  const dataFolder = path.dirname(getConfig().paths.database);
  const needs = new Map<number, { path: string; needed_bytes: number; free_bytes: number }>();
  for (const folder of [dataFolder, os.tmpdir()]) {
    const [stat, space] = await Promise.all([fs.promises.stat(folder), fs.promises.statfs(folder)]);
    const entry = needs.get(stat.dev) ?? { path: folder, needed_bytes: 0, free_bytes: space.bavail * space.bsize };
    entry.needed_bytes += Math.ceil(databaseBytes * VACUUM_DISK_MARGIN);
    needs.set(stat.dev, entry);
  }
  const filesystems = [...needs.values()];
  const short = filesystems.filter((f) => f.free_bytes < f.needed_bytes);
  return {
    ok: short.length === 0,
    filesystems,
    message:
      short.length === 0
        ? "Enough free disk for VACUUM."
        : short.map((f) => `${f.path} has ${f.free_bytes} bytes free, VACUUM needs about ${f.needed_bytes}`).join("; ") +
          ". Free some space (retention cleanup, old backups) or grow the disk first.",
  };
}

async function refuseVacuumWithoutDisk(): Promise<void> {
  // VACUUM (ANALYZE) on PostgreSQL writes no copy of the database: no disk to check.
  if (getEngine().backend === "postgres") return;
  const file = getConfig().paths.database;
  const disk = await checkVacuumDisk(fileBytes(file) + fileBytes(`${file}-wal`));
  if (!disk.ok) throw new AppError("insufficient_disk", `Not enough free disk to VACUUM safely: ${disk.message}`, { details: disk.filesystems });
}

/**
 * Rebuilds the database file without its free pages (in a child process, so the server keeps
 * answering reads), turning on incremental auto-vacuum so later retention cleanups can give pages
 * back without another full rebuild. Refuses without enough free disk. Rewrites mimir.db.
 */
export async function vacuumDatabase(signal?: AbortSignal): Promise<VacuumResult | PgVacuumResult> {
  const postgres = getEngine().postgres;
  if (postgres) {
    // VACUUM (ANALYZE): dead rows' space becomes reusable and statistics fresh, without blocking anyone.
    const result = await postgres.vacuumAnalyze();
    await writeMetadata(MAINTENANCE_KEYS.lastVacuumAt, nowIso());
    return result;
  }
  await refuseVacuumWithoutDisk();
  const file = getConfig().paths.database;
  const before = readSqliteFileStats(getDb(), file);
  const started = performance.now();
  // The VACUUM commits the whole rebuilt file into the WAL; its child then checkpoints it, and an app
  // write landing in between must not do that checkpoint itself, on the event loop.
  const resumeAutoCheckpoint = pauseAutoCheckpoint(getDb());
  try {
    await runSqliteChild({ kind: "vacuum", file, autoVacuum: "incremental" }, { timeoutMs: SLOW_MAINTENANCE_LIMIT_MS, signal, background: true });
  } finally {
    resumeAutoCheckpoint();
  }
  const after = readSqliteFileStats(getDb(), file);
  await writeMetadata(MAINTENANCE_KEYS.lastVacuumAt, nowIso());
  return {
    file_bytes_before: before.fileBytes,
    wal_bytes_before: before.walBytes,
    file_bytes_after: after.fileBytes,
    wal_bytes_after: after.walBytes,
    reclaimed_bytes: before.fileBytes + before.walBytes - (after.fileBytes + after.walBytes),
    free_pages_before: before.freelistCount,
    free_pages_after: after.freelistCount,
    auto_vacuum: after.autoVacuum,
    duration_ms: Math.round(performance.now() - started),
  };
}

/** Refreshes the query planner's statistics (ANALYZE, then PRAGMA optimize). Writes sqlite_stat1. */
export async function analyzeStatistics(): Promise<AnalyzeResult> {
  const started = performance.now();
  await getEngine().analyze();
  const analyzedAt = nowIso();
  await writeMetadata(MAINTENANCE_KEYS.lastAnalyzeAt, analyzedAt);
  return { analyzed_at: analyzedAt, duration_ms: Math.round(performance.now() - started) };
}

/** Copies the whole WAL back into the database and truncates it to zero bytes. */
export async function checkpointDatabase(): Promise<CheckpointReport> {
  refuseOnPostgres(...NOT_ON_POSTGRES.checkpoint);
  const file = getConfig().paths.database;
  const started = performance.now();
  const before = fileBytes(`${file}-wal`);
  const result = checkpointWal(getDb(), "TRUNCATE");
  return {
    wal_bytes_before: before,
    wal_bytes_after: fileBytes(`${file}-wal`),
    frames_checkpointed: result.checkpointedFrames,
    busy: result.busy === 1,
    duration_ms: Math.round(performance.now() - started),
  };
}

const integrityMemo = processState("integrity", (): { integrity?: IntegrityResult | null } => ({}));

/**
 * `PRAGMA integrity_check` (or the faster `quick_check`) of a database file, listing every problem.
 * Runs on its own read-only connection in a child process. Reads only.
 */
export async function checkFileIntegrity(file: string, quick: boolean, signal?: AbortSignal): Promise<IntegrityResult> {
  const started = performance.now();
  let problems: string[];
  try {
    const lines = await runSqliteChild<string[]>(
      { kind: "integrity", file, quick, maxErrors: MAX_INTEGRITY_PROBLEMS },
      { timeoutMs: SLOW_MAINTENANCE_LIMIT_MS, signal },
    );
    problems = lines.length === 1 && lines[0] === "ok" ? [] : lines;
  } catch (error) {
    if (signal?.aborted) throw error;
    // A file too damaged to open or parse is the worst integrity result, not an error of the check.
    problems = [(error as Error).message];
  }
  return {
    mode: quick ? "quick_check" : "integrity_check",
    ok: problems.length === 0,
    problems,
    checked_at: nowIso(),
    duration_ms: Math.round(performance.now() - started),
  };
}

/**
 * Checks the live database and remembers the result for /health (in memory, and in system_metadata
 * when the database still takes writes), so /health never runs integrity_check itself.
 */
export async function runIntegrityCheck(quick = false, signal?: AbortSignal): Promise<IntegrityResult> {
  const result = getEngine().postgres ? await checkPostgresIntegrity(quick, signal) : await checkFileIntegrity(getConfig().paths.database, quick, signal);
  integrityMemo.integrity = result;
  try {
    await writeMetadata(MAINTENANCE_KEYS.lastIntegrity, JSON.stringify(result));
  } catch (error) {
    getLogger().warn("could not store the integrity result in the database", { error });
  }
  if (!result.ok) {
    getLogger().error("database integrity check failed", { problems: result.problems.slice(0, 10) });
    void notify("database.integrity_problem", { problems: result.problems, operation_id: null });
  }
  return result;
}

/**
 * amcheck on PostgreSQL: quick checks every btree index's structure, full also every row against its
 * indexes (heapallindexed) and the tables themselves (verify_heapam). Without the extension it refuses
 * with how to install it, rather than report a database it could not check as sound.
 */
async function checkPostgresIntegrity(quick: boolean, signal?: AbortSignal): Promise<IntegrityResult> {
  const result = await postgresOnly().checkIntegrity(quick ? "quick" : "full", signal);
  if (result.ok === null) {
    throw new AppError(
      "unavailable_on_postgres",
      `The integrity check needs the amcheck extension, which this database does not have. ${result.amcheck.how_to_install.join(" ")}`,
    );
  }
  return {
    mode: quick ? "quick_check" : "integrity_check",
    ok: result.ok,
    problems: result.problems.slice(0, MAX_INTEGRITY_PROBLEMS),
    checked_at: result.checked_at,
    duration_ms: result.duration_ms,
  };
}

/** The last integrity result of the live database (memory first, then system_metadata), or null if never checked. */
export async function getLastIntegrityResult(): Promise<IntegrityResult | null> {
  if (integrityMemo.integrity !== undefined) return integrityMemo.integrity;
  try {
    const stored = await readMetadata(MAINTENANCE_KEYS.lastIntegrity);
    integrityMemo.integrity = stored ? (JSON.parse(stored) as IntegrityResult) : null;
  } catch {
    return null;
  }
  return integrityMemo.integrity;
}

/** For /health: why the database is unhealthy by its last integrity check, or null. Reads only. */
export async function databaseCorruptionReason(): Promise<string | null> {
  const last = await getLastIntegrityResult();
  if (!last || last.ok) return null;
  return `database integrity check failed at ${last.checked_at}: ${last.problems.slice(0, 3).join("; ")}${last.problems.length > 3 ? ` (+${last.problems.length - 3} more)` : ""}`;
}

/**
 * Writes a new database beside the live one from whatever can still be read (sqlite3's `.recover`
 * when installed, else a table-by-table salvage), then checks it. Never touches the live file.
 */
export async function recoverDatabase(): Promise<RecoveryResult> {
  refuseOnPostgres(...NOT_ON_POSTGRES.recover);
  const live = getConfig().paths.database;
  const target = `${live}.recovered-${nowIso().replace(/[:.]/g, "-")}`;
  const report = await recoverDatabaseFile(live, target);
  const integrity = await checkFileIntegrity(target, false);
  return {
    method: report.method,
    recovered_file: target,
    recovered_bytes: fileBytes(target),
    tables: report.tables,
    lost_and_found_rows: report.lostAndFound,
    problems: report.problems,
    recovered_integrity_ok: integrity.ok,
  };
}

/**
 * Swaps a recovered database in place of the live one, after the person confirmed the loss the
 * recovery reported. Keeps a copy of the damaged file (and its WAL) beside it first; pauses app
 * writes for the swap. Replaces mimir.db; writes an audit row.
 */
export async function swapInRecoveredDatabase(input: SwapRecoveredInput, principal: Principal | null): Promise<SwapResult> {
  refuseOnPostgres(...NOT_ON_POSTGRES.recover);
  const operation = await getOperation(input.operation_id);
  const result = operation.result as RecoveryResult | null;
  if (operation.kind !== "recover" || operation.status !== "succeeded" || !result) {
    throw new AppError("invalid_input", `Operation ${input.operation_id} is not a finished recovery`);
  }
  const live = getConfig().paths.database;
  // The recovered file must be the one this recovery wrote, beside the live database, still there.
  if (path.dirname(result.recovered_file) !== path.dirname(live) || !path.basename(result.recovered_file).startsWith(`${path.basename(live)}.recovered-`)) {
    throw new AppError("invalid_input", "The recovery names a file outside the database folder");
  }
  if (!fs.existsSync(result.recovered_file)) throw new AppError("not_found", `The recovered file ${result.recovered_file} is gone (already swapped in?)`);
  // Work in flight (a cleanup, a backup) holds the connection this swap closes: refuse rather than cut it off.
  const busy = await listRunningOperationKinds(operation.id);
  if (busy.length > 0) throw new AppError("operation_running", `Wait for the running ${busy.join(", ")} to finish before swapping the database`);
  const damagedCopy = `${live}.damaged-${nowIso().replace(/[:.]/g, "-")}`;
  await withAppWritesPaused(() => swapInDatabaseFile(live, result.recovered_file, damagedCopy));
  await restoreOperationRow(operation);
  integrityMemo.integrity = undefined;
  await runIntegrityCheck(true);
  await recordAudit({
    principal,
    action: "database.swap_recovered",
    target: live,
    result: "ok",
    details: { damaged_copy: damagedCopy, recover_operation: input.operation_id },
  });
  return { damaged_copy: damagedCopy, live };
}

/** Kinds of operations still running, other than `except`, walking every page of the operations list. */
async function listRunningOperationKinds(except: string): Promise<string[]> {
  const kinds: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listOperations({ limit: MAX_PAGE_SIZE, cursor });
    kinds.push(...page.items.filter((op) => op.status === "running" && op.id !== except).map((op) => op.kind));
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return kinds;
}

type MaintenanceKind = "vacuum" | "analyze" | "integrity_check" | "checkpoint" | "recover";

/** Starts one maintenance action as an operation (202 for the API), audited; one of each kind at a time. */
export async function startMaintenance(kind: MaintenanceKind, principal: Principal | null, options: { quick?: boolean } = {}): Promise<OperationDto> {
  // Refuse at once rather than queue an operation that will fail: the person sees why immediately.
  if (kind === "checkpoint") refuseOnPostgres(...NOT_ON_POSTGRES.checkpoint);
  if (kind === "recover") refuseOnPostgres(...NOT_ON_POSTGRES.recover);
  if (kind === "vacuum") await refuseVacuumWithoutDisk();
  const operation = await startOperation({ kind, principal, scope: kind === "recover" ? "admin" : "write", singleton: true, params: options }, async (ctx) => {
    switch (kind) {
      case "vacuum":
        ctx.message("Rebuilding the database file without its free pages");
        return vacuumDatabase(ctx.signal);
      case "analyze":
        ctx.message("Refreshing query planner statistics");
        return analyzeStatistics();
      case "integrity_check":
        ctx.message(options.quick ? "Running quick_check" : "Running integrity_check over every page");
        return runIntegrityCheck(options.quick ?? false, ctx.signal);
      case "checkpoint":
        return checkpointDatabase();
      case "recover":
        ctx.message("Reading everything that can still be read into a new file");
        return recoverDatabase();
    }
  });
  await recordAudit({
    principal,
    action: `maintenance.${kind}`,
    target: getConfig().paths.database,
    result: "ok",
    details: { operation_id: operation.id, ...options },
  });
  return operation;
}
