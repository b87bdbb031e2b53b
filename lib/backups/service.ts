import "server-only";
import fs from "node:fs";
import path from "node:path";
import { getConfig } from "@/lib/config/service";
import { AppError, notFound } from "@/lib/errors";
import { recordAudit } from "@/lib/audit/service";
import { noChangeToRecord } from "@/lib/audit/context";
import { notify } from "@/lib/notify/service";
import { listOperations, startOperation } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import type { Principal } from "@/lib/auth/scopes";
import { createBackupSet } from "@/lib/backups/create-set";
import { isSafetySetPending, restoreBackupSet, writeSafetySet, type RestoreSetOptions, type RestoreSetResult } from "@/lib/backups/restore-set";
import * as queries from "@/lib/backups/queries";
import {
  activeTempFolders,
  backupsFolder,
  isPinnedOnDisk,
  isSetInUse,
  listSetsOnDisk,
  PINNED_FILE,
  readManifest,
  readVerification,
  setFolder,
  backupPassphrase,
  bytesProgress,
} from "@/lib/backups/store";
import type { RestoreBackupInput } from "@/lib/backups/inputs";
import type { BackupDto, BackupManifest, BackupTrigger, BackupVolume, PruneResult } from "@/lib/backups/types";
import { getBackup, syncBackupCatalog, totalBytes } from "@/lib/backups/catalog";
import { startVerify, verifyBackupSet } from "@/lib/backups/verify";
import { VOLUMES } from "@/lib/config/volumes";
import { announceSetVerified } from "@/lib/backups/set-events";
import { DAY_MS } from "@/lib/time";

// ---------------------------------------------------------------------------------------------
// Backup

/**
 * Starts a backup as an operation (202): writes a set, lists it, then verifies it (a restore drill
 * into a scratch folder). One backup at a time. Writes backups/<id>/, one catalog row, an audit row.
 */
export async function startBackup(principal: Principal | null, trigger: BackupTrigger): Promise<OperationDto> {
  if (!fs.existsSync(backupsFolder())) fs.mkdirSync(backupsFolder(), { recursive: true, mode: 0o700 });
  return startOperation({ kind: "backup", principal, scope: "write", singleton: true, params: { trigger } }, async (ctx) => {
    try {
      let manifest: BackupManifest;
      try {
        manifest = await createBackupSet({
          trigger,
          passphrase: backupPassphrase(),
          progress: bytesProgress(ctx),
          message: ctx.message,
          signal: ctx.signal,
          background: true,
        });
      } catch (error) {
        await recordAudit({ principal, action: "backup.create", result: "failed", details: { trigger, error: (error as Error).message } });
        throw error;
      }
      await syncBackupCatalog();
      await recordAudit({ principal, action: "backup.create", target: manifest.id, result: "ok", details: { trigger, bytes: totalBytes(manifest) } });
      ctx.message("verifying the new set");
      const verification = await verifyBackupSet(manifest.id, { progress: bytesProgress(ctx), message: ctx.message });
      await notify("backup.recovered", { backup_id: manifest.id, operation_id: ctx.id });
      // Offsite copies start here, in operations of their own: the backup is done once its set is verified.
      await announceSetVerified(manifest.id);
      return { backup_id: manifest.id, bytes: totalBytes(manifest), encrypted: manifest.encrypted, verify_status: verification.status };
    } catch (error) {
      // A backup someone cancelled did not fail.
      if (!ctx.signal.aborted) {
        const lastGood = listSetsOnDisk().find((set) => set.manifest.trigger !== "pre-restore" && set.manifest.trigger !== "import");
        await notify("backup.failed", { operation_id: ctx.id, trigger, reason: (error as Error).message, last_good_backup_id: lastGood?.id ?? null });
      }
      throw error;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Restore

/**
 * Starts a restore (exclusive: nothing else runs beside it) as an operation (202). The body must
 * repeat the set's id as `confirm`. See restoreBackupSet for the steps and guarantees.
 */
export async function startRestore(id: string, input: RestoreBackupInput, principal: Principal | null): Promise<OperationDto> {
  if (input.confirm !== id) throw new AppError("invalid_input", `Type the backup id ${id} in 'confirm' to restore it: a restore replaces live data`);
  const backup = await getBackup(id);
  if (backup.encrypted && !backupPassphrase())
    throw new AppError("passphrase_required", "This set is encrypted: set MIMIR_BACKUP_PASSPHRASE (or backups.passphrase_file) to restore it");
  const volumes = input.volumes ?? [...VOLUMES];
  const restore = { kind: "restore" as const, principal, scope: "admin" as const, exclusive: true, params: { backup_id: id, volumes } };
  // The safety set is written from the replaced data once the restore has finished, in an operation of its own.
  const followSafetySet = async (result: RestoreSetResult) => result.safety_backup_id && startSafetySet(principal);
  return startOperation({ ...restore, after: followSafetySet }, async (ctx) => {
    try {
      const result = await restoreBackup(id, volumes, {
        progress: bytesProgress(ctx),
        message: ctx.message,
        signal: ctx.signal,
        pointOfNoReturn: ctx.pointOfNoReturn,
      });
      await recordAudit({ principal, action: "backup.restore", target: id, result: "ok", details: { volumes, safety_backup_id: result.safety_backup_id } });
      await notify("restore.finished", { backup_id: id, operation_id: ctx.id, volumes: [...volumes], safety_backup_id: result.safety_backup_id ?? null });
      return result;
    } catch (error) {
      await recordAudit({ principal, action: "backup.restore", target: id, result: "failed", details: { volumes, error: (error as Error).message } });
      await notify("restore.failed", { backup_id: id, operation_id: ctx.id, reason: (error as Error).message });
      throw error;
    }
  });
}

/**
 * Follows the writing of a restore's safety set (started by the restore, or by boot after a kill)
 * as a backup operation with a progress bar, then verifies the set like every new set. Writes
 * backups/<id>/ and deletes the replaced data (see writeSafetySet).
 */
export async function startSafetySet(principal: Principal | null): Promise<OperationDto> {
  return startOperation(
    {
      kind: "backup",
      principal,
      scope: "write",
      params: { trigger: "pre-restore" },
      after: async (result: { backup_id: string | null }) => result.backup_id && startVerify(result.backup_id, principal),
    },
    async (ctx) => {
      const id = await writeSafetySet({ progress: bytesProgress(ctx), message: ctx.message });
      const manifest = id ? readManifest(setFolder(id)) : null;
      return {
        backup_id: id,
        trigger: "pre-restore",
        bytes: manifest ? totalBytes(manifest) : 0,
        encrypted: manifest?.encrypted ?? false,
        verify_status: null,
      };
    },
  );
}

/** At boot: a restore killed after its swap left its replaced data to archive; the safety set is written now, as an operation. */
export async function resumeSafetySet(): Promise<OperationDto | null> {
  return isSafetySetPending() ? startSafetySet(null) : null;
}

/** Restores without an operation (the CLI, tests); re-syncs the catalog with the folder afterwards. */
export async function restoreBackup(
  id: string,
  volumes: readonly BackupVolume[],
  options: Pick<RestoreSetOptions, "progress" | "message" | "safetyBackup" | "signal" | "pointOfNoReturn"> = {},
): Promise<RestoreSetResult> {
  if (!fs.existsSync(setFolder(id))) throw notFound("Backup", id);
  const result = await restoreBackupSet(id, { volumes, passphrase: backupPassphrase(), ...options });
  await syncBackupCatalog();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Delete, pin, prune

/** Deletes one set (renamed aside first, so a kill never leaves a half-deleted set listed). 409 while it is read. */
export async function deleteBackup(id: string, principal: Principal | null): Promise<{ deleted: string }> {
  const folder = setFolder(id);
  if (!fs.existsSync(folder)) throw notFound("Backup", id);
  if (isSetInUse(id)) throw new AppError("in_use", `Backup ${id} is being read (verify, restore or download); try again when that has finished`);
  await removeSetFolder(id, folder);
  await queries.deleteBackupRow(id);
  await recordAudit({ principal, action: "backup.delete", target: id, result: "ok" });
  return { deleted: id };
}

async function removeSetFolder(id: string, folder: string): Promise<void> {
  const aside = path.join(backupsFolder(), `.deleting-${id}`);
  fs.renameSync(folder, aside);
  // Unlinking a set's archives (hundreds of MB) runs on the thread pool, not the event loop; marked
  // active meanwhile, so a backup's leftover sweep does not remove the same folder beside it.
  activeTempFolders.add(aside);
  try {
    await fs.promises.rm(aside, { recursive: true, force: true });
  } finally {
    activeTempFolders.delete(aside);
  }
}

/** Pins or unpins a set: prune never removes a pinned set. The pin is a file in the set folder, so it survives a restore. */
export async function setBackupPinned(id: string, pinned: boolean, principal: Principal | null): Promise<BackupDto> {
  const folder = setFolder(id);
  if (!fs.existsSync(folder)) throw notFound("Backup", id);
  if (pinned) fs.writeFileSync(path.join(folder, PINNED_FILE), "", { mode: 0o600 });
  else fs.rmSync(path.join(folder, PINNED_FILE), { force: true });
  await queries.updateBackupRow(id, { pinned });
  await recordAudit({ principal, action: pinned ? "backup.pin" : "backup.unpin", target: id, result: "ok" });
  return getBackup(id);
}

/**
 * Deletes sets older than backups.keep_days, with guard rails: the newest keep_min sets, the newest
 * verified set, pinned sets and sets being read always stay; only folders this product made (a valid
 * manifest) are candidates; nothing is pruned while the latest backup attempt has failed. A dry
 * run deletes nothing and says what would go.
 */
export async function pruneBackups(options: { dryRun: boolean }, principal: Principal | null): Promise<PruneResult> {
  const { keep_days: keepDays, keep_min: keepMin } = getConfig().values.backups;
  // A dry run, or a prune that deletes nothing because the latest backup failed, changes nothing.
  if (options.dryRun) noChangeToRecord();
  const [lastBackup] = (await listOperations({ limit: 1, kind: "backup" })).items;
  if (lastBackup && lastBackup.status === "failed") {
    noChangeToRecord();
    return {
      dry_run: options.dryRun,
      skipped_reason: `the latest backup (${lastBackup.created_at}) failed: nothing is pruned until a backup succeeds`,
      deleted: [],
      kept: [],
    };
  }
  const sets = listSetsOnDisk();
  const newestVerified = sets.find((set) => readVerification(set.folder)?.status === "ok")?.id;
  const cutoff = Date.now() - keepDays * DAY_MS;
  const kept: PruneResult["kept"] = [];
  const doomed: typeof sets = [];
  sets.forEach((set, index) => {
    const reason =
      index < keepMin
        ? `one of the newest ${keepMin}`
        : set.id === newestVerified
          ? "the newest verified set"
          : isPinnedOnDisk(set.folder)
            ? "pinned"
            : isSetInUse(set.id)
              ? "being read"
              : new Date(set.manifest.created_at).getTime() >= cutoff
                ? `younger than ${keepDays} days`
                : null;
    if (reason) kept.push({ id: set.id, reason });
    else doomed.push(set);
  });
  if (!options.dryRun) {
    for (const set of doomed) {
      await removeSetFolder(set.id, set.folder);
      await queries.deleteBackupRow(set.id);
    }
    await recordAudit({ principal, action: "backup.prune", result: "ok", details: { deleted: doomed.map((set) => set.id) } });
  }
  return { dry_run: options.dryRun, skipped_reason: null, deleted: doomed.map((set) => set.id), kept };
}
