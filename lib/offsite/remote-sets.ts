import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { nowIso } from "@/lib/db/timestamps";
import type { OffsiteDestinationRow } from "@/lib/db/schema/offsite";
import { AppError, isAppError } from "@/lib/errors";
import { recordAudit } from "@/lib/audit/service";
import { startOperation } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import type { Principal } from "@/lib/auth/scopes";
import { fsyncFile, fsyncFolder } from "@/lib/files";
import { syncBackupCatalog, totalBytes } from "@/lib/backups/catalog";
import { BACKUP_ID_PATTERN } from "@/lib/backups/inputs";
import { backupsFolder, bytesProgress, MANIFEST_FILE, manifestSchema } from "@/lib/backups/store";
import { discardImportFolder, newImportFolder } from "@/lib/backups/transfer";
import type { BackupManifest } from "@/lib/backups/types";
import { verifyBackupSet } from "@/lib/backups/verify";
import { VOLUMES } from "@/lib/config/volumes";
import { destinationRow, openStore } from "@/lib/offsite/destinations";
import { remoteKey } from "@/lib/offsite/copy";
import * as queries from "@/lib/offsite/queries";
import { RemoteStoreError, type RemoteStore } from "@/lib/offsite/store";
import { PARTIAL_MARK } from "@/lib/offsite/stores/folder";
import type { RemotePruneDto, RemoteSetDto } from "@/lib/offsite/types";
import { DAY_MS } from "@/lib/time";

/** A manifest is a few KB; anything far larger at that name is not one of ours. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

interface RemoteSet {
  id: string;
  manifest: BackupManifest;
  /** the manifest's bytes as stored remotely */
  manifestBytes: Buffer;
  complete: boolean;
  keys: string[];
}

/**
 * The sets a destination holds: folders named like a set id whose manifest.json is one this product
 * wrote (it parses as our manifest and names its own id). Anything else there is not ours and is
 * never listed, pulled or pruned. Reads the remote side only.
 */
async function readRemoteSets(store: RemoteStore): Promise<RemoteSet[]> {
  const byFolder = new Map<string, Map<string, number>>();
  for await (const object of store.list("")) {
    const [folder, ...rest] = object.key.split("/");
    if (!folder || !BACKUP_ID_PATTERN.test(folder) || rest.length !== 1) continue;
    if (!byFolder.has(folder)) byFolder.set(folder, new Map());
    byFolder.get(folder)!.set(rest[0]!, object.size);
  }
  const sets: RemoteSet[] = [];
  for (const [id, files] of byFolder) {
    const manifestSize = files.get(MANIFEST_FILE);
    if (manifestSize === undefined || manifestSize > MAX_MANIFEST_BYTES) continue;
    let manifestBytes: Buffer;
    try {
      manifestBytes = await readSmall(store, remoteKey(id, MANIFEST_FILE));
    } catch (error) {
      if (error instanceof RemoteStoreError && error.reason === "not-found") continue;
      throw error;
    }
    const manifest = parseManifest(manifestBytes);
    if (!manifest || manifest.id !== id) continue;
    const complete = VOLUMES.every((volume) => files.get(manifest.archives[volume].file) === manifest.archives[volume].bytes);
    sets.push({ id, manifest, manifestBytes, complete, keys: [...files.keys()].map((file) => remoteKey(id, file)) });
  }
  return sets.sort((a, b) =>
    a.manifest.created_at < b.manifest.created_at ? 1 : a.manifest.created_at > b.manifest.created_at ? -1 : b.id.localeCompare(a.id),
  );
}

function parseManifest(bytes: Buffer): BackupManifest | null {
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(bytes.toString("utf8")));
    return parsed.success ? (parsed.data as BackupManifest) : null;
  } catch {
    return null;
  }
}

async function readSmall(store: RemoteStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await store.get(key)) {
    size += (chunk as Buffer).length;
    if (size > MAX_MANIFEST_BYTES) throw new RemoteStoreError("refused", `${key} is larger than a manifest can be`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function withStore<T>(row: OffsiteDestinationRow, work: (store: RemoteStore) => Promise<T>): Promise<T> {
  const { store, pin } = openStore(row);
  try {
    const result = await work(store);
    await pin();
    return result;
  } catch (error) {
    if (error instanceof RemoteStoreError) throw new AppError("offsite_failed", `${row.name}: ${error.message}`, { cause: error });
    throw error;
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** The sets a destination holds, newest first (also on a fresh install with an empty backups folder). Reads the remote side. */
export async function listRemoteSets(destinationId: string): Promise<RemoteSetDto[]> {
  const row = await destinationRow(destinationId);
  const sets = await withStore(row, readRemoteSets);
  return sets.map((set) => ({
    id: set.id,
    created_at: set.manifest.created_at,
    bytes: totalBytes(set.manifest),
    encrypted: set.manifest.encrypted,
    trigger: set.manifest.trigger,
    complete: set.complete,
    local: fs.existsSync(path.join(backupsFolder(), set.id)),
  }));
}

/**
 * Pulls one set from a destination into backups/<id>/: the manifest first, then each archive
 * streamed to disk while hashed, each compared with the manifest's size and sha256 (a damaged remote
 * object is refused and nothing is listed); then the restore drill runs on it as on every new set.
 * Writes backups/<id>/ (through a temporary folder); records the copy as verified there.
 */
export async function pullSet(
  destinationId: string,
  backupId: string,
  options: { progress?: (done: number, total: number) => void; message?: (text: string) => void; signal?: AbortSignal } = {},
): Promise<{ backup_id: string; bytes: number; verify_status: string | null; verify_error: string | null }> {
  if (!BACKUP_ID_PATTERN.test(backupId)) throw new AppError("invalid_input", `'${backupId.slice(0, 40)}' is not a backup id`);
  const row = await destinationRow(destinationId);
  const target = path.join(backupsFolder(), backupId);
  if (fs.existsSync(target)) throw new AppError("already_exists", `Backup ${backupId} is already in the backups folder`);
  fs.mkdirSync(backupsFolder(), { recursive: true, mode: 0o700 });
  const staging = newImportFolder();
  let bytes = 0;
  try {
    await withStore(row, async (store) => {
      options.message?.(`reading ${backupId}/${MANIFEST_FILE} from ${row.name}`);
      let manifestBytes: Buffer;
      try {
        manifestBytes = await readSmall(store, remoteKey(backupId, MANIFEST_FILE));
      } catch (error) {
        if (error instanceof RemoteStoreError && error.reason === "not-found")
          throw new AppError("not_found", `${row.name} holds no complete set ${backupId} (no ${MANIFEST_FILE})`);
        throw error;
      }
      const manifest = parseManifest(manifestBytes);
      if (!manifest || manifest.id !== backupId)
        throw new AppError("invalid_archive", `${backupId}/${MANIFEST_FILE} at ${row.name} is not a manifest this product wrote for that set`);
      const total = totalBytes(manifest);
      options.progress?.(0, total);
      for (const volume of VOLUMES) {
        const archive = manifest.archives[volume];
        options.signal?.throwIfAborted();
        options.message?.(`pulling ${archive.file} from ${row.name}`);
        const file = path.join(staging, archive.file);
        const hash = crypto.createHash("sha256");
        let size = 0;
        const base = bytes;
        const meter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            size += chunk.length;
            // Never more than the manifest says: a remote object that grew cannot fill the local disk.
            if (size > archive.bytes) return callback(new AppError("verification_failed", `${archive.file} at ${row.name} is larger than its manifest says`));
            hash.update(chunk);
            options.progress?.(base + size, total);
            callback(null, chunk);
          },
        });
        await pipeline(
          await store.get(remoteKey(backupId, archive.file), { signal: options.signal }),
          meter,
          fs.createWriteStream(file, { mode: 0o600, flags: "wx" }),
        );
        const sha256 = hash.digest("hex");
        if (size !== archive.bytes || sha256 !== archive.sha256) {
          throw new AppError(
            "verification_failed",
            `${archive.file} at ${row.name} is damaged: ${size} bytes with sha256 ${sha256.slice(0, 12)}…, the manifest says ${archive.bytes} bytes with ${archive.sha256.slice(0, 12)}…; nothing was added to the backups folder`,
          );
        }
        await fsyncFile(file);
        bytes += size;
      }
      // The manifest as stored remotely, byte for byte: its digest is what a verification binds to.
      const manifestFile = path.join(staging, MANIFEST_FILE);
      fs.writeFileSync(manifestFile, manifestBytes, { mode: 0o600 });
      await fsyncFile(manifestFile);
      fsyncFolder(staging);
    });
    if (fs.existsSync(target)) throw new AppError("already_exists", `Backup ${backupId} appeared in the backups folder while it was pulled`);
    fs.renameSync(staging, target);
    fsyncFolder(backupsFolder());
  } finally {
    discardImportFolder(staging);
  }
  await syncBackupCatalog();
  const at = nowIso();
  await queries.upsertCopyRow({
    backupId,
    destinationId: row.id,
    status: "verified",
    bytes: bytes + fs.statSync(path.join(target, MANIFEST_FILE)).size,
    totalBytes: bytes + fs.statSync(path.join(target, MANIFEST_FILE)).size,
    provenFiles: JSON.stringify([...fs.readdirSync(target)]),
    operationId: null,
    startedAt: at,
    copiedAt: at,
    verifiedAt: at,
    // Every byte was just read from the destination and matched the manifest's sha256s.
    verifiedBy: "read-back",
    error: null,
    failures: 0,
    updatedAt: at,
  });
  options.message?.(`verifying ${backupId} (restore drill)`);
  try {
    const verification = await verifyBackupSet(backupId, { progress: options.progress, message: options.message });
    return { backup_id: backupId, bytes, verify_status: verification.status, verify_error: null };
  } catch (error) {
    // The bytes are the ones copied out; a drill that cannot run here (no passphrase) says nothing about them.
    if (isAppError(error)) return { backup_id: backupId, bytes, verify_status: "failed", verify_error: error.message };
    throw error;
  }
}

/** Starts a pull as an operation (202). See pullSet. */
export async function startPull(destinationId: string, backupId: string, principal: Principal | null): Promise<OperationDto> {
  const row = await destinationRow(destinationId);
  if (fs.existsSync(path.join(backupsFolder(), backupId))) throw new AppError("already_exists", `Backup ${backupId} is already in the backups folder`);
  return startOperation({ kind: "offsite_pull", principal, scope: "admin", params: { destination_id: row.id, backup_id: backupId } }, async (ctx) => {
    try {
      const result = await pullSet(destinationId, backupId, { progress: bytesProgress(ctx), message: ctx.message, signal: ctx.signal });
      await recordAudit({ principal, action: "offsite.pull", target: backupId, result: "ok", details: { destination: row.name } });
      return result;
    } catch (error) {
      await recordAudit({
        principal,
        action: "offsite.pull",
        target: backupId,
        result: "failed",
        details: { destination: row.name, error: (error as Error).message },
      });
      throw error;
    }
  });
}

/**
 * Remote retention for one destination: copies older than its keep_days go, with guard rails: the
 * newest keep_min stay, the copy of the newest verified set stays, and only set folders whose
 * manifest this product wrote are candidates. A copy is removed manifest first (from then on it no
 * longer counts as a set), then the archives its manifest names and our unfinished uploads; nothing
 * else in the folder is touched. A dry run deletes nothing. Deletes remote objects and copy rows.
 */
export async function pruneDestination(destinationId: string, options: { dryRun: boolean }): Promise<RemotePruneDto> {
  const row = await destinationRow(destinationId);
  return withStore(row, async (store) => {
    const sets = await readRemoteSets(store);
    const copies = new Map((await queries.listCopyRowsOfDestination(row.id)).map((copy) => [copy.backupId, copy]));
    const newestVerified = (sets.find((set) => copies.get(set.id)?.status === "verified") ?? sets.find((set) => set.complete))?.id;
    const cutoff = row.keepDays === null ? null : Date.now() - row.keepDays * DAY_MS;
    const kept: RemotePruneDto["kept"] = [];
    const doomed: RemoteSet[] = [];
    sets.forEach((set, index) => {
      const reason =
        index < row.keepMin
          ? `one of the newest ${row.keepMin}`
          : set.id === newestVerified
            ? "the newest verified set"
            : cutoff === null
              ? "keep days is not set: every copy is kept"
              : new Date(set.manifest.created_at).getTime() >= cutoff
                ? `younger than ${row.keepDays} days`
                : null;
      if (reason) kept.push({ id: set.id, reason });
      else doomed.push(set);
    });
    if (!options.dryRun) {
      for (const set of doomed) {
        const ours = new Set([MANIFEST_FILE, ...VOLUMES.map((volume) => set.manifest.archives[volume].file)].map((file) => remoteKey(set.id, file)));
        await store.delete(remoteKey(set.id, MANIFEST_FILE));
        for (const key of set.keys) if (key !== remoteKey(set.id, MANIFEST_FILE) && (ours.has(key) || key.includes(PARTIAL_MARK))) await store.delete(key);
        await queries.deleteCopyRow(set.id, row.id);
      }
    }
    return { dry_run: options.dryRun, deleted: doomed.map((set) => set.id), kept };
  });
}
