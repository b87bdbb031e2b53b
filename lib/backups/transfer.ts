import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { AppError, notFound } from "@/lib/errors";
import { recordAudit } from "@/lib/audit/service";
import { startOperation } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import type { Principal } from "@/lib/auth/scopes";
import { extractSet } from "@/lib/backups/verify-set";
import { extractTarSafely } from "@/lib/backups/safe-extract";
import { planFolder, tarStream } from "@/lib/backups/tar-writer";
import {
  activeTempFolders,
  backupsFolder,
  MANIFEST_FILE,
  markSetInUse,
  newBackupId,
  PINNED_FILE,
  readManifest,
  manifestDigest,
  setFolder,
  VERIFICATION_FILE,
  writeVerification,
  backupPassphrase,
  bytesProgress,
} from "@/lib/backups/store";
import { BACKUP_ID_PATTERN } from "@/lib/backups/inputs";
import { syncBackupCatalog } from "@/lib/backups/catalog";
import { VOLUMES } from "@/lib/config/volumes";

// Moving to a new host: a set downloaded as one tar, and a set uploaded and listed (import).

/** Uploaded sets may be at most this large (the upload is streamed to disk, never buffered). */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024 * 1024;
/** An uploaded set holds a manifest, five archives and our two marker files: nothing else. */
const MAX_IMPORT_ENTRIES = 16;

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
      const expected = new Set([MANIFEST_FILE, VERIFICATION_FILE, ...VOLUMES.map((volume) => manifest.archives[volume].file)]);
      for (const name of fs.readdirSync(staged))
        if (!expected.has(name)) throw new AppError("invalid_archive", `The uploaded set holds an unexpected file: ${name}`);
      fs.rmSync(path.join(staged, VERIFICATION_FILE), { force: true });

      const id = fs.existsSync(path.join(backupsFolder(), manifest.id)) ? newBackupId() : manifest.id;
      const scratch = path.join(importFolder, "check");
      for (const volume of VOLUMES) fs.mkdirSync(path.join(scratch, volume), { recursive: true, mode: 0o700 });
      await extractSet(staged, manifest, VOLUMES, (volume) => path.join(scratch, volume), {
        passphrase: backupPassphrase(),
        progress: bytesProgress(ctx),
        message: ctx.message,
      });
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
