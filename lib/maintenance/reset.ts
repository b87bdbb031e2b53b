import "server-only";
import fs from "node:fs";
import path from "node:path";
import { getConfig, reloadConfig } from "@/lib/config/service";
import { volumeFolders } from "@/lib/config/data-root";
import type { AppConfig } from "@/lib/config/load";
import { SECRET_KEY_FILE } from "@/lib/secrets/sealed";
import { RESET_KEPT_TABLES } from "@/lib/db/sqlite-reset";
import { getEngine } from "@/lib/db/engine";
import { AppError } from "@/lib/errors";
import { recordAudit } from "@/lib/audit/service";
import { getLogger, reopenLogFile } from "@/lib/log/logger";
import type { Principal } from "@/lib/auth/scopes";
import { createBackupSet } from "@/lib/backups/create-set";
import { syncBackupCatalog } from "@/lib/backups/catalog";
import type { BackupVolume } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";
import { listRunningExecutions } from "@/lib/executions/service";
import { startOperation, type OperationContext } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import { withAppWritesPaused } from "@/lib/operations/write-gate";
import { stopScheduler } from "@/lib/scheduler/engine";
import { rebuildSchedulerAfterReset, reloadScheduler } from "@/lib/scheduler/boot";
import { readMetadata } from "@/lib/maintenance/queries";
import type { ResetInput } from "@/lib/maintenance/inputs";
import { dataRootLockPaths } from "@/lib/backups/server-lock";
import { replacedDataRemoved, writeSafetySet } from "@/lib/backups/restore-set";
import { getStorageUsage } from "@/lib/storage/usage";
import type { ResetPreview, ResetResult, ResetVolumePreview } from "@/lib/maintenance/types";
import { formatCountOf } from "@/lib/format";
import { STAT_BATCH } from "@/lib/files";

/** Hex digits of the instance id in the instance name: enough to tell two deployments apart at a glance. */
const INSTANCE_NAME_HEX_DIGITS = 8;
/** SQLite files that belong to the live database besides the file itself. */
const LIVE_DATABASE_SUFFIXES = ["", "-wal", "-shm", "-journal"];

/**
 * The instance name a person types to confirm a reset: `mimir-` and the first hex digits of
 * system_metadata.instance_id (a UUID made by the first migration). It differs per deployment, so a
 * reset typed from memory or pasted from another instance's runbook is refused.
 */
export function instanceNameOf(instanceId: string): string {
  return `mimir-${instanceId
    .toLowerCase()
    .replace(/[^0-9a-f]/g, "")
    .slice(0, INSTANCE_NAME_HEX_DIGITS)}`;
}

/** This deployment's instance name (see instanceNameOf). Reads only. */
export async function getInstanceName(): Promise<string> {
  const instanceId = await readMetadata("instance_id");
  if (!instanceId) throw new AppError("internal", "The database has no instance id (system_metadata.instance_id); restart the console so its migrations run");
  return instanceNameOf(instanceId);
}

/**
 * What a reset of each volume would delete, with row counts of Mimir's data: the dialog's list. Reads
 * only. `tableRows`: the row counts the caller reads anyway (the Database page lists every table's),
 * so that a page load counts the history once, not twice (on PostgreSQL each count(*) of 1,000,000 runs
 * is 75-95 ms).
 */
export async function getResetPreview(tableRows?: Promise<{ name: string; rows: number }[]>): Promise<ResetPreview> {
  const config = getConfig();
  const folders = volumeFolders(config);
  const keep = keptPaths(config);
  const usage = await getStorageUsage({ tables: false });
  const sizes = new Map(usage.volumes.map((volume) => [volume.volume, volume.bytes]));
  const volumes: ResetVolumePreview[] = [];
  for (const name of VOLUMES) {
    volumes.push({ name, folder: folders[name], ...(await measureFolder(folders[name], keep)), size_bytes: sizes.get(name) ?? 0 });
  }
  const counted = ["scheduled_jobs", "pipelines", "job_executions"];
  const rows = tableRows
    ? Object.fromEntries((await tableRows).filter((table) => counted.includes(table.name)).map((table) => [table.name, table.rows]))
    : await getEngine().reset.countRows(counted);
  return {
    instance_name: await getInstanceName(),
    volumes,
    measured_at: usage.measured_at,
    rows: { jobs: rows.scheduled_jobs ?? 0, pipelines: rows.pipelines ?? 0, executions: rows.job_executions ?? 0 },
    kept_tables: [...RESET_KEPT_TABLES],
  };
}

/**
 * The guide's "Reset All Data" (`docker volume rm mimir_data …` and start fresh) as one exclusive
 * operation (202): nothing else may run beside it, because it deletes what they would read or
 * write. Refuses a `confirm` that is not the instance name (400) before anything changes. Steps:
 * stop the scheduler; take a pre-reset backup set of all five volumes (if it fails, nothing is
 * deleted and the scheduler starts again); then, with app writes paused, empty each chosen volume's
 * contents (the folders stay: they may be Docker mount points); then bring the app back (config
 * reloaded, log reopened, scheduler rebuilt with a fresh install's built-in jobs). Writes a backup
 * set, deletes files and rows, writes audit rows.
 */
export async function startReset(input: ResetInput, principal: Principal | null): Promise<OperationDto> {
  const instanceName = await getInstanceName();
  if (input.confirm.trim() !== instanceName) {
    throw new AppError(
      "invalid_input",
      "The confirmation is not this instance's name: type the name shown on the Database page (GET /api/v1/reset) in 'confirm'",
    );
  }
  const volumes = VOLUMES.filter((name) => input.volumes.includes(name));
  return startOperation({ kind: "reset", principal, scope: "admin", exclusive: true, params: { volumes } }, async (ctx) => {
    try {
      const result = await resetVolumes(volumes, ctx);
      await recordAudit({
        principal,
        action: "data.reset",
        target: instanceName,
        result: "ok",
        details: { volumes, safety_backup_id: result.safety_backup_id, deleted_rows: result.deleted_rows, deleted_files: result.deleted_files },
      });
      return result;
    } catch (error) {
      await recordAudit({ principal, action: "data.reset", target: instanceName, result: "failed", details: { volumes, error: (error as Error).message } });
      throw error;
    }
  });
}

async function resetVolumes(volumes: BackupVolume[], ctx: OperationContext): Promise<ResetResult> {
  const config = getConfig();
  // What a restore just replaced is still being archived and deleted in the background: not this
  // reset's to count. If its safety set could not be written before, it is written now or the reset
  // stops here: the kept-aside data is the only way back from that restore.
  await replacedDataRemoved();
  await writeSafetySet();
  ctx.message("stopping the scheduler");
  stopScheduler();
  let safetyBackupId: string;
  try {
    // A run in progress would write its history and log into what is being emptied.
    const running = await listRunningExecutions();
    if (running.length > 0) {
      throw new AppError(
        "operation_running",
        `${formatCountOf(running.length, "job run")} ${running.length === 1 ? "is" : "are"} in progress (${running.map((run) => run.job_id).join(", ")}); stop them or let them finish, then reset`,
      );
    }
    ctx.message("taking a safety backup of every volume");
    // createBackupSet directly, not startBackup: a backup operation would be refused beside this
    // exclusive one. All five volumes are saved whatever is reset, so the set restores the whole state.
    const manifest = await createBackupSet({
      trigger: "pre-reset",
      passphrase: config.secrets.backupPassphrase,
      progress: (done, total) => ctx.progress(done, total, "bytes"),
      message: ctx.message,
      signal: ctx.signal,
    });
    await syncBackupCatalog();
    safetyBackupId = manifest.id;
    // The last moment a cancel is honoured; from here on data is deleted and the reset runs to its end.
    ctx.pointOfNoReturn("the reset is deleting data");
  } catch (error) {
    // Nothing was deleted: the jobs fire again as before.
    await reloadScheduler(config);
    throw error;
  }

  const deletedRows: Record<string, number> = {};
  const deletedFiles: Partial<Record<BackupVolume, number>> = {};
  const warnings: string[] = [];
  const folders = volumeFolders(config);
  const keep = keptPaths(config);
  let done = 0;
  ctx.progress(done, volumes.length, "volumes");
  try {
    await withAppWritesPaused(async () => {
      for (const volume of volumes) {
        ctx.message(`emptying ${volume}`);
        if (volume === "mimir_data") {
          Object.assign(deletedRows, await getEngine().reset.emptyDataTables({ keepOperationId: ctx.id }));
        } else if (volume === "mimir_pipelines" && !volumes.includes("mimir_data")) {
          // The pipelines capability syncs both ways: a row without its file gets the file written back.
          deletedRows.pipelines = await getEngine().reset.deletePipelineRows();
        }
        deletedFiles[volume] = await emptyFolder(folders[volume], keep);
        if (volume === "mimir_data") {
          try {
            await getEngine().reset.afterReset();
          } catch (error) {
            // The rows are gone either way; the space comes back with the next VACUUM on this page.
            warnings.push(`VACUUM after the reset failed (${(error as Error).message}); run it from the Database page`);
          }
        }
        ctx.progress(++done, volumes.length, "volumes");
      }
      if (volumes.includes("mimir_config")) {
        try {
          reloadConfig();
        } catch (error) {
          warnings.push(
            `The configuration did not load after config.yaml was deleted (${(error as Error).message}); the previous one stays in effect until the next start`,
          );
        }
      }
      if (volumes.includes("mimir_logs")) reopenLogFile(getConfig());
    });
  } catch (error) {
    // Part of the data may be gone: the scheduler runs again on what is left, and the error names
    // the set that holds everything as it was.
    await reloadScheduler(getConfig()).catch((reloadError) => getLogger().error("scheduler reload after a failed reset failed", { reloadError }));
    throw new AppError(
      "internal",
      `The reset stopped part-way (${(error as Error).message}); restore the safety backup ${safetyBackupId} to get everything back`,
      { cause: error },
    );
  }

  // After the gate: the pipeline sync inside the rebuild is an app write and would wait on it.
  ctx.message("rebuilding the scheduler");
  let builtinJobs: string[] = [];
  if (volumes.includes("mimir_data")) builtinJobs = await rebuildSchedulerAfterReset(getConfig());
  else await reloadScheduler(getConfig());
  getLogger().warn("data reset", { volumes, safety_backup_id: safetyBackupId, deleted_rows: deletedRows, deleted_files: deletedFiles });
  return { volumes, safety_backup_id: safetyBackupId, deleted_rows: deletedRows, deleted_files: deletedFiles, builtin_jobs: builtinJobs, warnings };
}

/**
 * Paths inside the volumes a reset never deletes: the live database and its WAL and shared memory
 * (emptied by SQL instead, since the open connection holds them), and the backups folder when it is
 * configured inside a volume (it holds the safety backup just taken).
 */
function keptPaths(config: AppConfig): Set<string> {
  const database = path.resolve(config.paths.database);
  return new Set([
    ...LIVE_DATABASE_SUFFIXES.map((suffix) => database + suffix),
    path.resolve(config.paths.backups),
    ...dataRootLockPaths(config).map((file) => path.resolve(file)),
    // The notification channels are kept, so the key that opens their sealed secrets is too.
    path.resolve(config.paths.config, SECRET_KEY_FILE),
  ]);
}

function holdsKeptPath(entry: string, keep: Set<string>): boolean {
  for (const kept of keep) if (kept.startsWith(entry + path.sep)) return true;
  return false;
}

/** Deletes everything inside `folder` but the kept paths (and the folders leading to them). Returns the files deleted. */
async function emptyFolder(folder: string, keep: Set<string>): Promise<number> {
  let deleted = 0;
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  for (const entry of entries) {
    const full = path.resolve(folder, entry.name);
    if (keep.has(full)) continue;
    if (entry.isDirectory() && holdsKeptPath(full, keep)) {
      deleted += await emptyFolder(full, keep);
      continue;
    }
    deleted += (await measureFolderEntry(full, entry, keep)).files;
    await fs.promises.rm(full, { recursive: true, force: true });
  }
  return deleted;
}

/** Files and bytes a reset of `folder` would delete. Symbolic links count as one file and are not followed. */
async function measureFolder(folder: string, keep: Set<string>): Promise<{ files: number; bytes: number }> {
  const total = { files: 0, bytes: 0 };
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(folder, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return total;
    throw error;
  }
  const counted = entries.map((entry) => ({ entry, full: path.resolve(folder, entry.name) })).filter(({ full }) => !keep.has(full));
  // A batch at a time (see STAT_BATCH).
  for (let at = 0; at < counted.length; at += STAT_BATCH) {
    const measured = await Promise.all(counted.slice(at, at + STAT_BATCH).map(({ entry, full }) => measureFolderEntry(full, entry, keep)));
    for (const one of measured) {
      total.files += one.files;
      total.bytes += one.bytes;
    }
  }
  return total;
}

async function measureFolderEntry(full: string, entry: fs.Dirent, keep: Set<string>): Promise<{ files: number; bytes: number }> {
  if (entry.isDirectory()) return measureFolder(full, keep);
  const stat = await fs.promises.lstat(full).catch(() => null);
  return { files: 1, bytes: stat?.size ?? 0 };
}
