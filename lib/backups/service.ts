import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { Cron } from "croner";
import { z } from "zod";
import { getConfig } from "@/lib/config/service";
import { assertNotSetByEnvironment, updateConfig } from "@/lib/config/edit";
import { findJobRow, setJobEnabled } from "@/lib/jobs/service";
import { SCHEDULED_BACKUP_JOB_IDS } from "@/lib/scheduler/builtin-jobs";
import { AppError, isAppError, notFound } from "@/lib/errors";
import { recordAudit } from "@/lib/audit/service";
import { noChangeToRecord, withoutStepAudit } from "@/lib/audit/context";
import { getLogger } from "@/lib/log/logger";
import { notify } from "@/lib/notify/service";
import { decodeCursor, toPage, type Page, type PageQuery } from "@/lib/pagination";
import { listOperations, startOperation, waitForOperation, type OperationContext } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import type { Principal } from "@/lib/auth/scopes";
import type { BackupRow } from "@/lib/db/schema";
import { createBackupSet } from "@/lib/backups/create-set";
import { restoreBackupSet, type RestoreSetOptions, type RestoreSetResult } from "@/lib/backups/restore-set";
import { extractSet } from "@/lib/backups/verify-set";
import { extractTarSafely } from "@/lib/backups/safe-extract";
import { planFolder, tarStream } from "@/lib/backups/tar-writer";
import * as queries from "@/lib/backups/queries";
import {
  activeTempFolders,
  backupsFolder,
  isPinnedOnDisk,
  isSetInUse,
  listSetsOnDisk,
  MANIFEST_FILE,
  markSetInUse,
  newBackupId,
  PINNED_FILE,
  readManifest,
  readVerification,
  manifestDigest,
  setFolder,
  VERIFICATION_FILE,
  withSetInUse,
  writeVerification,
} from "@/lib/backups/store";
import { BACKUP_ID_PATTERN, type RestoreBackupInput } from "@/lib/backups/inputs";
import { VOLUME_NAMES, type BackupDto, type BackupManifest, type BackupTrigger, type BackupVerification, type BackupVolume, type PruneResult } from "@/lib/backups/types";
import { createSerialQueue } from "@/lib/serial-queue";

/** Uploaded sets may be at most this large (the upload is streamed to disk, never buffered). */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024 * 1024;
/** An uploaded set holds a manifest, five archives and our two marker files: nothing else. */
const MAX_IMPORT_ENTRIES = 16;

function passphrase(): string | null {
  return getConfig().secrets.backupPassphrase;
}

function bytesProgress(ctx: OperationContext) {
  return (done: number, total: number) => ctx.progress(done, total, "bytes");
}

// ---------------------------------------------------------------------------------------------
// Reading the catalog

function toDto(row: BackupRow): BackupDto {
  const manifest = JSON.parse(row.manifest) as BackupManifest;
  return {
    id: row.id,
    created_at: row.createdAt,
    trigger: row.trigger,
    bytes: row.bytes,
    encrypted: row.encrypted,
    pinned: row.pinned,
    volumes: VOLUME_NAMES.map((name) => ({ name, bytes: manifest.archives[name].bytes, files: manifest.archives[name].files })),
    row_counts: manifest.row_counts,
    verified_at: row.verifiedAt,
    verify_status: (row.verifyStatus as BackupDto["verify_status"]) ?? null,
    verify_error: row.verifyError,
  };
}

const backupCursor = z.object({ created_at: z.string(), id: z.string() });

/** Sets newest first, paged. Reads only. */
export async function listBackups(query: PageQuery): Promise<Page<BackupDto>> {
  const after = decodeCursor(query.cursor, backupCursor);
  const rows = await queries.listBackupRows(query.limit, after);
  const page = toPage(rows, query.limit, (row) => ({ created_at: row.createdAt, id: row.id }));
  return { items: page.items.map(toDto), next_cursor: page.next_cursor };
}

/** The newest set in the catalog, or null before the first. Reads only. */
export async function findLatestBackup(): Promise<BackupDto | null> {
  const [row] = await queries.listBackupRows(1, null);
  return row ? toDto(row) : null;
}

/** How many sets the catalog holds. Reads only. */
export async function countBackups(): Promise<number> {
  return queries.countBackupRows();
}

/** One set, or 404. Reads only. */
export async function getBackup(id: string): Promise<BackupDto> {
  setFolder(id);
  const row = await queries.findBackupRow(id);
  if (!row) throw notFound("Backup", id);
  return toDto(row);
}

/**
 * Makes the catalog mirror the backup folder (the folder is the truth): a row per complete set with
 * its manifest, verification and pin; rows of sets that are gone are removed. Runs at boot, after a
 * restore (the restored database's catalog is from the past) and after imports. Writes rows.
 */
export async function syncBackupCatalog(): Promise<void> {
  const sets = listSetsOnDisk();
  const onDisk = new Set(sets.map((set) => set.id));
  for (const set of sets) {
    const verification = readVerification(set.folder);
    await queries.upsertBackupRow({
      id: set.id,
      createdAt: set.manifest.created_at,
      trigger: set.manifest.trigger,
      bytes: totalBytes(set.manifest),
      encrypted: set.manifest.encrypted,
      pinned: isPinnedOnDisk(set.folder),
      manifest: JSON.stringify(set.manifest),
      verifiedAt: verification?.verified_at ?? null,
      verifyStatus: verification?.status ?? null,
      verifyError: verification?.error ?? null,
    });
  }
  for (const row of await queries.listAllBackupRows()) if (!onDisk.has(row.id)) await queries.deleteBackupRow(row.id);
}

function totalBytes(manifest: BackupManifest): number {
  return VOLUME_NAMES.reduce((sum, name) => sum + manifest.archives[name].bytes, 0);
}

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
        manifest = await createBackupSet({ trigger, passphrase: passphrase(), progress: bytesProgress(ctx), message: ctx.message, signal: ctx.signal });
      } catch (error) {
        await recordAudit({ principal, action: "backup.create", result: "failed", details: { trigger, error: (error as Error).message } });
        throw error;
      }
      await syncBackupCatalog();
      await recordAudit({ principal, action: "backup.create", target: manifest.id, result: "ok", details: { trigger, bytes: totalBytes(manifest) } });
      ctx.message("verifying the new set");
      const verification = await verifyBackupSet(manifest.id, { progress: bytesProgress(ctx), message: ctx.message });
      await notify("backup.recovered", { backup_id: manifest.id, operation_id: ctx.id });
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
// Verify

/**
 * The restore drill: every archive re-hashed against the manifest, decrypted and extracted into a
 * scratch folder, the databases checked (integrity, foreign keys, row counts), the pipelines parsed.
 * Stores the result in the set's verification.json and the catalog; throws when the set fails.
 */
export async function verifyBackupSet(id: string, options: { progress?: (done: number, total: number) => void; message?: (text: string) => void } = {}): Promise<BackupVerification> {
  const folder = setFolder(id);
  if (!fs.existsSync(folder)) throw notFound("Backup", id);
  return withSetInUse(id, async () => {
    const scratch = path.join(backupsFolder(), `.verify-${id}-${crypto.randomBytes(4).toString("hex")}`);
    activeTempFolders.add(scratch);
    try {
      const manifest = readManifest(folder);
      for (const volume of VOLUME_NAMES) fs.mkdirSync(path.join(scratch, volume), { recursive: true, mode: 0o700 });
      await extractSet(folder, manifest, VOLUME_NAMES, (volume) => path.join(scratch, volume), { passphrase: passphrase(), ...options });
      return await recordVerification(id, folder, { status: "ok", verified_at: new Date().toISOString(), error: null, manifest_sha256: manifestDigest(folder) });
    } catch (error) {
      // A missing or wrong passphrase, or a full disk, says nothing about the set itself.
      if (isAppError(error) && ["verification_failed", "invalid_archive"].includes(String(error.code))) {
        await recordVerification(id, folder, { status: "failed", verified_at: new Date().toISOString(), error: error.message });
      }
      throw error;
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
      activeTempFolders.delete(scratch);
    }
  });
}

async function recordVerification(id: string, folder: string, verification: BackupVerification): Promise<BackupVerification> {
  writeVerification(folder, verification);
  await queries.updateBackupRow(id, { verifiedAt: verification.verified_at, verifyStatus: verification.status, verifyError: verification.error });
  return verification;
}

/** Starts a verify of one set as an operation (202). */
export async function startVerify(id: string, principal: Principal | null): Promise<OperationDto> {
  await getBackup(id);
  return startOperation({ kind: "verify", principal, scope: "write", params: { backup_id: id } }, async (ctx) => {
    const result = await verifyBackupSet(id, { progress: bytesProgress(ctx), message: ctx.message });
    await recordAudit({ principal, action: "backup.verify", target: id, result: "ok" });
    return { backup_id: id, ...result };
  });
}

/**
 * At boot: a set with no verification result had its verify cut short (the server stopped during
 * the backup's verify phase, or during a verify of its own). Each is verified again, one after the
 * other, as visible verify operations. Returns the ids it queued; runs in the background.
 */
export async function resumeInterruptedVerifies(): Promise<string[]> {
  const pending = listSetsOnDisk()
    .filter((set) => readVerification(set.folder) === null)
    .map((set) => set.id);
  if (pending.length === 0) return pending;
  getLogger().info("verifying backup sets whose verification was interrupted", { sets: pending });
  void (async () => {
    for (const id of pending) {
      try {
        await waitForOperation((await startVerify(id, null)).id);
      } catch (error) {
        getLogger().warn("could not verify an interrupted set again", { id, error: (error as Error).message });
      }
    }
  })();
  return pending;
}

/** Verifies every listed set in turn (the scheduled drill); returns how many passed and failed. */
export async function verifyAllBackups(): Promise<{ ok: string[]; failed: { id: string; error: string }[] }> {
  const ok: string[] = [];
  const failed: { id: string; error: string }[] = [];
  for (const set of listSetsOnDisk()) {
    try {
      await verifyBackupSet(set.id);
      ok.push(set.id);
    } catch (error) {
      failed.push({ id: set.id, error: (error as Error).message });
    }
  }
  return { ok, failed };
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
  if (backup.encrypted && !passphrase()) throw new AppError("passphrase_required", "This set is encrypted: set MIMIR_BACKUP_PASSPHRASE (or backups.passphrase_file) to restore it");
  const volumes = input.volumes ?? [...VOLUME_NAMES];
  const restore = { kind: "restore", principal, scope: "admin" as const, exclusive: true, params: { backup_id: id, volumes } };
  // The safety set is checked like every new set: by a verify of its own once the restore has finished.
  const verifySafetySet = async (result: RestoreSetResult) => result.safety_backup_id && startVerify(result.safety_backup_id, principal);
  return startOperation({ ...restore, after: verifySafetySet }, async (ctx) => {
    try {
      const result = await restoreBackup(id, volumes, { progress: bytesProgress(ctx), message: ctx.message, signal: ctx.signal, pointOfNoReturn: ctx.pointOfNoReturn });
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

/** Restores without an operation (the CLI, tests); re-syncs the catalog with the folder afterwards. */
export async function restoreBackup(
  id: string,
  volumes: readonly BackupVolume[],
  options: Pick<RestoreSetOptions, "progress" | "message" | "safetyBackup" | "signal" | "pointOfNoReturn"> = {},
): Promise<RestoreSetResult> {
  if (!fs.existsSync(setFolder(id))) throw notFound("Backup", id);
  const result = await restoreBackupSet(id, { volumes, passphrase: passphrase(), ...options });
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
  removeSetFolder(id, folder);
  await queries.deleteBackupRow(id);
  await recordAudit({ principal, action: "backup.delete", target: id, result: "ok" });
  return { deleted: id };
}

function removeSetFolder(id: string, folder: string) {
  const aside = path.join(backupsFolder(), `.deleting-${id}`);
  fs.renameSync(folder, aside);
  fs.rmSync(aside, { recursive: true, force: true });
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
    return { dry_run: options.dryRun, skipped_reason: `the latest backup (${lastBackup.created_at}) failed: nothing is pruned until a backup succeeds`, deleted: [], kept: [] };
  }
  const sets = listSetsOnDisk();
  const newestVerified = sets.find((set) => readVerification(set.folder)?.status === "ok")?.id;
  const cutoff = Date.now() - keepDays * 86_400_000;
  const kept: PruneResult["kept"] = [];
  const doomed: typeof sets = [];
  sets.forEach((set, index) => {
    const reason =
      index < keepMin ? `one of the newest ${keepMin}` :
      set.id === newestVerified ? "the newest verified set" :
      isPinnedOnDisk(set.folder) ? "pinned" :
      isSetInUse(set.id) ? "being read" :
      new Date(set.manifest.created_at).getTime() >= cutoff ? `younger than ${keepDays} days` :
      null;
    if (reason) kept.push({ id: set.id, reason });
    else doomed.push(set);
  });
  if (!options.dryRun) {
    for (const set of doomed) {
      removeSetFolder(set.id, set.folder);
      await queries.deleteBackupRow(set.id);
    }
    await recordAudit({ principal, action: "backup.prune", result: "ok", details: { deleted: doomed.map((set) => set.id) } });
  }
  return { dry_run: options.dryRun, skipped_reason: null, deleted: doomed.map((set) => set.id), kept };
}

// ---------------------------------------------------------------------------------------------
// Moving to a new host: download and import

/**
 * One set as one file: an uncompressed tar of `<id>/` (the archives inside are already compressed),
 * streamed. The set counts as being read until the stream ends. Reads only.
 */
export async function openBackupDownload(id: string): Promise<{ filename: string; stream: Readable }> {
  const folder = setFolder(id);
  if (!fs.existsSync(folder)) throw notFound("Backup", id);
  readManifest(folder);
  const release = markSetInUse(id);
  const plan = planFolder(backupsFolder(), { skip: (name) => !(name === id || name.startsWith(`${id}/`)) || name === `${id}/${PINNED_FILE}` });
  const stream = Readable.from(tarStream(plan), { objectMode: false });
  stream.once("close", release);
  stream.once("end", release);
  return { filename: `mimir-backup-${id}.tar`, stream };
}

/** A private folder under backups/ for an upload; cleaned by the next backup if the process dies. */
export function newImportFolder(): string {
  const folder = path.join(backupsFolder(), `.import-${crypto.randomBytes(6).toString("hex")}`);
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
  activeTempFolders.add(folder);
  return folder;
}

export function discardImportFolder(folder: string): void {
  fs.rmSync(folder, { recursive: true, force: true });
  activeTempFolders.delete(folder);
}

/**
 * Lists an uploaded set (a file made by openBackupDownload, already on disk in its import folder)
 * once it has been checked: extracted safely, its manifest read, then fully verified. Runs as an
 * operation (202); the set gets its original id unless that is taken here. Writes backups/<id>/.
 */
export async function startImport(importFolder: string, principal: Principal | null): Promise<OperationDto> {
  return startOperation({ kind: "import", principal, scope: "admin", singleton: true }, async (ctx) => {
    try {
      const upload = path.join(importFolder, "upload.tar");
      const unpacked = path.join(importFolder, "set");
      fs.mkdirSync(unpacked, { mode: 0o700 });
      ctx.message("unpacking the upload");
      await extractTarSafely(fs.createReadStream(upload), unpacked, { maxBytes: fs.statSync(upload).size, maxEntries: MAX_IMPORT_ENTRIES });
      fs.rmSync(upload);
      const [top, ...others] = fs.readdirSync(unpacked);
      if (top === undefined || others.length > 0 || !BACKUP_ID_PATTERN.test(top)) {
        throw new AppError("invalid_archive", "The upload is not a backup set downloaded from this product (expected one folder named like 20250115-020000)");
      }
      const staged = path.join(unpacked, top);
      const manifest = readManifest(staged);
      const expected = new Set([MANIFEST_FILE, VERIFICATION_FILE, ...VOLUME_NAMES.map((volume) => manifest.archives[volume].file)]);
      for (const name of fs.readdirSync(staged)) if (!expected.has(name)) throw new AppError("invalid_archive", `The uploaded set holds an unexpected file: ${name}`);
      fs.rmSync(path.join(staged, VERIFICATION_FILE), { force: true });

      const id = fs.existsSync(path.join(backupsFolder(), manifest.id)) ? newBackupId() : manifest.id;
      const scratch = path.join(importFolder, "check");
      for (const volume of VOLUME_NAMES) fs.mkdirSync(path.join(scratch, volume), { recursive: true, mode: 0o700 });
      await extractSet(staged, manifest, VOLUME_NAMES, (volume) => path.join(scratch, volume), { passphrase: passphrase(), progress: bytesProgress(ctx), message: ctx.message });
      writeVerification(staged, { status: "ok", verified_at: new Date().toISOString(), error: null, manifest_sha256: manifestDigest(staged) });
      fs.renameSync(staged, path.join(backupsFolder(), id));
      await syncBackupCatalog();
      await recordAudit({ principal, action: "backup.import", target: id, result: "ok" });
      return { backup_id: id };
    } catch (error) {
      await recordAudit({ principal, action: "backup.import", result: "failed", details: { error: (error as Error).message } });
      throw error;
    } finally {
      discardImportFolder(importFolder);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Freshness (for /health) and failure alerts

/**
 * When scheduled backups are on: a reason for /health to report degraded (the latest backup failed,
 * or the newest set is older than the schedule allows), else null. Reads only.
 */
export async function backupFreshnessProblem(now = new Date()): Promise<string | null> {
  const config = getConfig();
  if (!config.values.persistence.backup_enabled) return null;
  const [last] = (await listOperations({ limit: 1, kind: "backup" })).items;
  if (last?.status === "failed") return `the latest backup failed: ${last.error?.message ?? "no reason recorded"}`;
  const newest = listSetsOnDisk().find((set) => set.manifest.trigger !== "pre-restore" && set.manifest.trigger !== "import");
  const allowedMs = scheduleIntervalMs(config.values.backups.schedule) + FRESHNESS_GRACE_MS;
  if (!newest) return "scheduled backups are on but no backup has been made yet";
  const age = now.getTime() - new Date(newest.manifest.created_at).getTime();
  if (age > allowedMs) return `the newest backup (${newest.id}) is older than the schedule '${config.values.backups.schedule}' allows`;
  return null;
}

/**
 * Announces backup.stale when backups are overdue. A failed latest backup is left to its own
 * backup.failed. Returns the problem found, or null. May queue notifications.
 */
export async function checkBackupFreshness(now = new Date()): Promise<string | null> {
  const problem = await backupFreshnessProblem(now);
  if (!problem) return null;
  const [last] = (await listOperations({ limit: 1, kind: "backup" })).items;
  if (last?.status !== "failed") {
    const newest = listSetsOnDisk().find((set) => set.manifest.trigger !== "pre-restore" && set.manifest.trigger !== "import");
    await notify("backup.stale", { reason: problem, newest_backup_id: newest?.id ?? null });
  }
  return problem;
}

/** Slack on top of the schedule's interval: a backup of a large root takes a while to finish. */
const FRESHNESS_GRACE_MS = 2 * 3_600_000;

function scheduleIntervalMs(expression: string): number {
  const runs = new Cron(expression, { paused: true }).nextRuns(2);
  const [first, second] = runs;
  return first && second ? second.getTime() - first.getTime() : 86_400_000;
}

// ---------------------------------------------------------------------------------------------
// For the Backups page

const PAGE_OPERATION_KINDS = new Set(["backup", "verify", "restore", "import"]);

/** How long a finished restore's outcome stays on the Backups page. */
const RECENT_RESTORE_MS = 15 * 60_000;

/** Backup, verify, restore and import operations still running: a page picks their progress up again after a reload. */
export async function listRunningBackupOperations(): Promise<OperationDto[]> {
  return runningBackupOperations((await listOperations({ limit: 50 })).items);
}

function runningBackupOperations(operations: OperationDto[]): OperationDto[] {
  return operations.filter((op) => op.status === "running" && PAGE_OPERATION_KINDS.has(op.kind));
}

/**
 * What the Backups page follows: the running operations, and the viewer's own restore if it finished
 * in the last minutes (restoring the database may sign its author out, and its outcome is the first
 * thing wanted after signing in again). Another person's restore is not theirs to be told about
 * here: it is in the audit log. Reads only.
 */
export async function listBackupPageOperations(viewer: Pick<Principal, "name">, now = Date.now()): Promise<OperationDto[]> {
  const recent = await listOperations({ limit: 50 });
  const running = runningBackupOperations(recent.items);
  const restore = recent.items.find((op) => op.kind === "restore" && op.status !== "running");
  const restoreIsRecent = restore?.finished_at && now - Date.parse(restore.finished_at) < RECENT_RESTORE_MS;
  return restore && restoreIsRecent && restore.created_by === viewer.name ? [...running, restore] : running;
}

/**
 * The latest backup attempt when it did not succeed (failed, cancelled, or interrupted by a server
 * stop) and no backup has succeeded since: the Backups page and the Overview say so, instead of
 * only showing the last good set. Null when the latest attempt succeeded or is still running. Reads only.
 */
export async function findFailedLatestBackup(): Promise<OperationDto | null> {
  const [last] = (await listOperations({ limit: 1, kind: "backup" })).items;
  return last && (last.status === "failed" || last.status === "cancelled") ? last : null;
}

/** The config key behind scheduled backups; /health's freshness check reads it too. */
const BACKUP_ENABLED_KEY = "persistence.backup_enabled";

export interface BackupSettings {
  /** persistence.backup_enabled: scheduled backups on, and /health checks their freshness */
  enabled: boolean;
  /** the environment variable that sets `enabled` (then only the environment can change it), or null */
  enabled_by_env: string | null;
  schedule: string;
  prune_schedule: string;
  verify_schedule: string;
  keep_days: number;
  keep_min: number;
  /** whether a passphrase is set (the passphrase itself is never returned) */
  encrypted: boolean;
  folder: string;
}

/** The effective backup settings from the configuration. Reads only. */
export function getBackupSettings(): BackupSettings {
  const config = getConfig();
  const { backups } = config.values;
  const source = config.sources[BACKUP_ENABLED_KEY];
  return {
    enabled: config.values.persistence.backup_enabled,
    enabled_by_env: source?.kind === "env" ? source.variable : null,
    schedule: backups.schedule,
    prune_schedule: backups.prune_schedule,
    verify_schedule: backups.verify_schedule,
    keep_days: backups.keep_days,
    keep_min: backups.keep_min,
    encrypted: config.secrets.backupPassphrase !== null,
    folder: config.paths.backups,
  };
}

export interface ScheduledBackupJob {
  id: string;
  /** the job's name; its id when the job was deleted */
  name: string;
  /** null when a person deleted the job: switching scheduled backups on does not bring it back */
  enabled: boolean | null;
}

export interface ScheduledBackups {
  settings: BackupSettings;
  jobs: ScheduledBackupJob[];
}

/** The backup settings with the state of the three built-in backup jobs. Reads only. */
export async function getScheduledBackups(): Promise<ScheduledBackups> {
  const jobs: ScheduledBackupJob[] = [];
  for (const id of SCHEDULED_BACKUP_JOB_IDS) {
    const row = await findJobRow(id);
    jobs.push({ id, name: row?.name ?? id, enabled: row ? row.enabled : null });
  }
  return { settings: getBackupSettings(), jobs };
}

/**
 * Turns scheduled backups on or off: enables or disables the built-in backup, prune and verify jobs
 * (the scheduler starts or stops firing them at once), then writes persistence.backup_enabled to
 * config.yaml, so the choice survives a restart and /health's freshness check follows it. Refused
 * with 409 env_override, nothing changed, when an environment variable sets the value; if the file
 * cannot be written the jobs are put back. Writes config.yaml, up to three job rows and one audit row.
 */
export function setScheduledBackups(enabled: boolean, principal: Principal | null): Promise<ScheduledBackups> {
  // One switch at a time: two at once would interleave their job updates and config writes.
  return switchesInTurn(() => switchScheduledBackups(enabled, principal));
}

const switchesInTurn = createSerialQueue();

async function switchScheduledBackups(enabled: boolean, principal: Principal | null): Promise<ScheduledBackups> {
  assertNotSetByEnvironment(BACKUP_ENABLED_KEY);
  const action = enabled ? "backup.schedule_on" : "backup.schedule_off";
  // One change, one audit row (below): the job switches and the config write it is made of add none.
  const switched = await withoutStepAudit(() => setBackupJobsEnabled(enabled, principal, SCHEDULED_BACKUP_JOB_IDS));
  try {
    await withoutStepAudit(() => updateConfig({ persistence: { backup_enabled: enabled } }));
  } catch (error) {
    await withoutStepAudit(() => setBackupJobsEnabled(!enabled, principal, switched));
    await recordAudit({ principal, action, result: "failed", details: { error: (error as Error).message } });
    throw error;
  }
  await recordAudit({ principal, action, result: "ok", details: { jobs: switched } });
  return getScheduledBackups();
}

/** Sets each listed job that exists and differs to `enabled`; returns the ids it changed. */
async function setBackupJobsEnabled(enabled: boolean, principal: Principal | null, ids: readonly string[]): Promise<string[]> {
  const switched: string[] = [];
  for (const id of ids) {
    const row = await findJobRow(id);
    if (!row || row.enabled === enabled) continue;
    await setJobEnabled(id, enabled, principal);
    switched.push(id);
  }
  return switched;
}
