import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { nowIso } from "@/lib/db/timestamps";
import type { OffsiteCopyRow, OffsiteDestinationRow } from "@/lib/db/schema/offsite";
import { AppError, isAppError } from "@/lib/errors";
import { getLogger } from "@/lib/log/logger";
import { notify } from "@/lib/notify/service";
import { getOperation, startOperation, type OperationContext } from "@/lib/operations/service";
import type { OperationDto } from "@/lib/operations/types";
import type { Principal } from "@/lib/auth/scopes";
import { MANIFEST_FILE, manifestDigest, passedVerification, readManifest, setFolder, withSetInUse } from "@/lib/backups/store";
import { VOLUMES } from "@/lib/config/volumes";
import { destinationRow, openStore } from "@/lib/offsite/destinations";
import * as queries from "@/lib/offsite/queries";
import { RemoteStoreError, type RemoteStore } from "@/lib/offsite/store";
import { PARTIAL_MARK } from "@/lib/offsite/stores/folder";
import type { CopyDto } from "@/lib/offsite/types";
import type { OffsiteCopyProof } from "@/lib/db/vocabulary";

/** Attempts per file on network failures, with the wait doubling from BACKOFF_MS between them. */
export const MAX_ATTEMPTS = 5;
const BACKOFF_MS = 2_000;
/**
 * Reads of a set file for upload: a store cuts them into its own request size (SFTP 255 KiB, S3 parts)
 * without copying when they are large; node's default 64 KiB made the SFTP upload spend half again the
 * CPU (bench:offsite). Memory stays flat: one read in hand per upload.
 */
const READ_CHUNK = 4 * 1024 * 1024;

export interface CopyOptions {
  signal?: AbortSignal;
  progress?: (done: number, total: number) => void;
  message?: (text: string) => void;
  operationId?: string | null;
  /** the first wait between attempts (doubles each time); tests shorten it */
  backoffMs?: number;
}

/** One file of a set as the copy moves it: its name in the set folder, size and sha256. */
interface SetFile {
  file: string;
  bytes: number;
  sha256: string;
}

/**
 * A copy claims its (set, destination) row in the database and renews the claim while it runs, so a
 * second copy of the same set to the same place is refused whichever process or instance asks; a
 * claim not renewed for COPY_LEASE_MS is a stopped process's and the next copy takes it over.
 */
export const COPY_LEASE_MS = 120_000;
const CLAIM_RENEW_MS = 20_000;

/** The remote key of a file of a set: the local layout, `<set id>/<file>`. */
export function remoteKey(backupId: string, file: string): string {
  return `${backupId}/${file}`;
}

/** The files of a set in upload order: the archives, then the manifest LAST, so a remote set with a manifest is a whole one. */
function setFiles(folder: string): SetFile[] {
  const manifest = readManifest(folder);
  const archives = VOLUMES.map((volume) => manifest.archives[volume]).map(({ file, bytes, sha256 }) => ({ file, bytes, sha256 }));
  const manifestBytes = fs.statSync(path.join(folder, MANIFEST_FILE)).size;
  return [...archives, { file: MANIFEST_FILE, bytes: manifestBytes, sha256: manifestDigest(folder) }];
}

/**
 * Copies one verified set to one destination: streams each file, then proves the remote bytes equal
 * to the manifest's sha256, by a checksum the server computes over the bytes on its disk when the
 * store offers one (SFTP with exec and sha256sum), else by reading the file back through the store;
 * the copy state says which proof it got (verified_by). A file already proven equal there (by an
 * earlier attempt, or found with the right bytes) is not sent again. Network failures are retried
 * with backoff; the manifest goes last, so a set interrupted at any point has no manifest remotely
 * and never counts as a copy. Writes the copy's state row; throws offsite_failed when it fails.
 */
export async function copySetTo(backupId: string, destinationId: string, options: CopyOptions = {}): Promise<CopyDto> {
  const row = await destinationRow(destinationId);
  const folder = setFolder(backupId);
  if (!fs.existsSync(folder)) throw new AppError("not_found", `Backup ${backupId} not found`);
  if (!passedVerification(folder))
    throw new AppError("verification_failed", `Backup ${backupId} has not passed its restore drill: verify it before copying it offsite`);
  return withSetInUse(backupId, () => copyClaimed(backupId, folder, row, options));
}

/** Runs the functions given to it one at a time, in the order given, whether the earlier ones failed or not. */
function oneAtATime(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };
}

async function copyClaimed(backupId: string, folder: string, row: OffsiteDestinationRow, options: CopyOptions): Promise<CopyDto> {
  const manifest = readManifest(folder);
  const files = setFiles(folder);
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  const previous = await queries.findCopyRow(backupId, row.id);
  const proven = new Set<string>(previous ? (JSON.parse(previous.provenFiles) as string[]) : []);
  const now = nowIso();
  const state: OffsiteCopyRow = {
    backupId,
    destinationId: row.id,
    status: "copying",
    bytes: 0,
    totalBytes: total,
    provenFiles: JSON.stringify([...proven]),
    operationId: options.operationId ?? null,
    startedAt: now,
    copiedAt: previous?.copiedAt ?? null,
    verifiedAt: previous?.status === "verified" ? previous.verifiedAt : null,
    // The weakest proof of the files proven so far; a fresh start has none yet.
    verifiedBy: proven.size > 0 ? (previous?.verifiedBy ?? null) : null,
    error: null,
    failures: previous?.failures ?? 0,
    updatedAt: now,
  };
  if (!(await queries.claimCopyRow(state, new Date(Date.now() - COPY_LEASE_MS).toISOString()))) {
    throw new AppError("in_use", `Backup ${backupId} is already being copied to ${row.name}`);
  }
  const renewal = setInterval(() => void queries.renewCopyClaim(backupId, row.id, nowIso()).catch(() => undefined), CLAIM_RENEW_MS);
  renewal.unref();

  let opened = openStore(row);
  // A store whose server hashes for us has no read-back half: the upload is the whole of a file's progress.
  let serverHashes = opened.store.serverSha256 !== undefined;
  let verifiedBy = state.verifiedBy;
  let done = 0;
  /** Progress of each file: its bytes uploaded, and read back where they are read back. */
  const moved = new Map<string, number>();
  const report = () =>
    options.progress?.(
      [...moved.values()].reduce((a, b) => a + b, 0),
      total,
    );
  // Uploads share the link, so they go one at a time; a file's proof (the server hashing it, or the
  // read-back) runs while the next one uploads. Without the overlap each proof was dead time on the
  // link: 2.7x scp's time for a 500 MB set, against ~1x with it (bench:offsite).
  const upload = oneAtATime();
  const record = oneAtATime();
  const stop = new AbortController();
  const stopped = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", stopped, { once: true });
  let firstFailure: unknown = null;

  const copyFile = async (file: SetFile): Promise<void> => {
    const key = remoteKey(backupId, file.file);
    const signal = stop.signal;
    let store = opened.store;
    // null: proven by an earlier attempt, whose proof the row already counts.
    let fileProof = null as OffsiteCopyProof | null;
    await withRetries(
      async () => {
        store = opened.store;
        const there = await store.stat(key);
        if (proven.has(file.file) && there?.size === file.bytes) return;
        proven.delete(file.file);
        // Found with the right size (an earlier attempt's, or the set is there already): prove it before sending again.
        if (there?.size === file.bytes) {
          const found = await prove(store, key, file, signal);
          if (found.sha256 === file.sha256) {
            fileProof = found.by;
            return;
          }
        }
        const putWeight = serverHashes ? 1 : 0.5;
        // The link goes to the next file as soon as the store says it is free (onSent: every byte
        // acknowledged, while the server still makes this one durable and names it), else when the put ends.
        let putting: Promise<void> = Promise.resolve();
        await upload(() => {
          signal.throwIfAborted();
          options.message?.(`copying ${file.file} to ${row.name}`);
          const local = path.join(folder, file.file);
          return new Promise<void>((sent) => {
            const transfer = {
              signal,
              onProgress: (bytes: number) => {
                moved.set(file.file, bytes * putWeight);
                report();
              },
              onSent: sent,
            };
            putting = store.putFile
              ? store.putFile(key, local, file.bytes, transfer)
              : store.put(key, fs.createReadStream(local, { highWaterMark: READ_CHUNK }), file.bytes, transfer);
            putting.then(sent, sent);
          });
        });
        await putting;
        options.message?.(`proving ${file.file} at ${row.name}`);
        const back = await prove(store, key, file, signal, (bytes) => {
          moved.set(file.file, file.bytes * putWeight + bytes * (1 - putWeight));
          report();
        });
        if (back.by === "read-back") serverHashes = false;
        if (back.sha256 !== file.sha256) {
          await store.delete(key).catch(() => undefined);
          const how = back.by === "server-sha256" ? "as hashed by the server" : "read back";
          throw new RemoteStoreError(
            "refused",
            `${file.file} ${how} at ${row.name} differs from the set's (sha256 ${back.sha256.slice(0, 12)}…, expected ${file.sha256.slice(0, 12)}…)`,
          );
        }
        fileProof = back.by;
      },
      {
        signal,
        backoffMs: options.backoffMs ?? BACKOFF_MS,
        onRetry: async (error, attempt, waitMs) => {
          options.message?.(`${row.name} unreachable (${error.message}); attempt ${attempt + 1} of ${MAX_ATTEMPTS} in ${Math.round(waitMs / 1000)} s`);
          // Another file that failed on the same connection may have replaced it already.
          if (opened.store !== store) return;
          await store.close().catch(() => undefined);
          opened = openStore(row);
        },
      },
    );
    proven.add(file.file);
    if (fileProof === "read-back" || verifiedBy === null) verifiedBy = fileProof ?? verifiedBy;
    done += file.bytes;
    moved.set(file.file, file.bytes);
    report();
    const change = { bytes: done, provenFiles: JSON.stringify([...proven]), verifiedBy, updatedAt: nowIso() };
    await record(() => queries.updateCopyRow(backupId, row.id, change));
  };
  /** Copies the files together (uploads still one at a time); the first failure stops the rest. */
  const copyAll = async (group: SetFile[]) => {
    await Promise.allSettled(
      group.map((file) =>
        copyFile(file).catch((error: unknown) => {
          firstFailure ??= error;
          stop.abort(error);
        }),
      ),
    );
    if (firstFailure !== null) throw firstFailure;
  };

  try {
    if (row.requireEncrypted && !manifest.encrypted) {
      throw new AppError("encryption_required", `${row.name} accepts encrypted sets only, and ${backupId} was written without encryption`);
    }
    options.message?.(`copying ${backupId} to ${row.name}`);
    opened.store.prepareUpload?.();
    await removeLeftovers(opened.store, backupId);
    // The manifest goes only once every archive is proven there: a remote set with a manifest is a whole one.
    await copyAll(files.slice(0, -1));
    await copyAll(files.slice(-1));
    await opened.pin();
    const at = nowIso();
    await record(() =>
      queries.updateCopyRow(backupId, row.id, {
        status: "verified",
        bytes: total,
        copiedAt: at,
        verifiedAt: at,
        verifiedBy,
        error: null,
        failures: 0,
        updatedAt: at,
      }),
    );
  } catch (error) {
    const message = describeFailure(error, row.name);
    // A copy cut short by a cancel did not fail, but it is not a copy either.
    await record(() =>
      queries.updateCopyRow(backupId, row.id, {
        status: "failed",
        bytes: done,
        provenFiles: JSON.stringify([...proven]),
        error: message,
        failures: state.failures + 1,
        updatedAt: nowIso(),
      }),
    );
    throw new AppError(error instanceof AppError ? error.code : "offsite_failed", message, { cause: error });
  } finally {
    clearInterval(renewal);
    options.signal?.removeEventListener("abort", stopped);
    await opened.store.close().catch(() => undefined);
  }
  return toCopyDto((await queries.findCopyRow(backupId, row.id))!, row.name);
}

function describeFailure(error: unknown, name: string): string {
  if (error instanceof RemoteStoreError) {
    const what: Record<string, string> = {
      unreachable: "unreachable",
      auth: "refused the credentials",
      "host-key-changed": "showed a different host key",
      full: "is full",
      "not-found": "lost an object",
      refused: "refused",
      aborted: "copy cancelled",
    };
    return `${name} ${what[error.reason] ?? error.reason}: ${error.message}`;
  }
  return (error as Error).message;
}

/** Uploads a killed process left under temporary names in this set's folder: never counted, removed before a new attempt. */
async function removeLeftovers(store: RemoteStore, backupId: string): Promise<void> {
  try {
    for await (const object of store.list(`${backupId}/`)) if (object.key.includes(PARTIAL_MARK)) await store.delete(object.key);
  } catch (error) {
    if (error instanceof RemoteStoreError && error.reason !== "not-found") throw error;
  }
}

/**
 * The sha256 of a remote object with how it was obtained: the server's own hash of the bytes on its
 * disk where the store offers one ("really the content's" checksum the issue allows), else the
 * object read back through get() and hashed here.
 */
async function prove(
  store: RemoteStore,
  key: string,
  file: SetFile,
  signal: AbortSignal,
  onProgress?: (bytes: number) => void,
): Promise<{ sha256: string; by: OffsiteCopyProof }> {
  const server = store.serverSha256 ? await store.serverSha256(key, file.bytes, { signal }) : null;
  if (server !== null) return { sha256: server, by: "server-sha256" };
  return { sha256: await remoteSha256(store, key, { signal }, onProgress), by: "read-back" };
}

/** sha256 of a remote object as read back through get(). */
export async function remoteSha256(store: RemoteStore, key: string, options: CopyOptions = {}, onProgress?: (bytes: number) => void): Promise<string> {
  const hash = crypto.createHash("sha256");
  for await (const chunk of await store.get(key, { signal: options.signal, onProgress })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Runs `work`, again after a wait that doubles, while it fails with a retryable (network) error. */
export async function withRetries(
  work: () => Promise<void>,
  options: { signal?: AbortSignal; backoffMs: number; onRetry: (error: RemoteStoreError, attempt: number, waitMs: number) => Promise<void> },
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof RemoteStoreError) || !error.retryable || attempt >= MAX_ATTEMPTS || options.signal?.aborted) throw error;
      const waitMs = options.backoffMs * 2 ** (attempt - 1);
      await options.onRetry(error, attempt, waitMs);
      await new Promise<void>((resolve, reject) => {
        const aborted = () => {
          clearTimeout(timer);
          reject(options.signal?.reason);
        };
        // The listener goes when the wait ends: the copy's signal outlives every wait of every file.
        const timer = setTimeout(() => {
          options.signal?.removeEventListener("abort", aborted);
          resolve();
        }, waitMs);
        // Cancelled while onRetry ran (closing the old connection): the event has fired already.
        if (options.signal?.aborted) return aborted();
        options.signal?.addEventListener("abort", aborted, { once: true });
      });
    }
  }
}

/**
 * Starts copying a set to one destination, or to every enabled one, as an operation (202). Each
 * destination is tried in turn; the operation fails when any copy failed, naming each, and the
 * failure is announced (offsite.failed). A copy already running (claimed in the database by this
 * instance or another) is not started again: asked for alone, the answer is its operation. Writes
 * copy state rows; no local change.
 */
export async function startCopy(backupId: string, destinationId: string | null, principal: Principal | null): Promise<OperationDto> {
  const folder = setFolder(backupId);
  if (!fs.existsSync(folder)) throw new AppError("not_found", `Backup ${backupId} not found`);
  const rows = destinationId ? [await destinationRow(destinationId)] : (await queries.listDestinationRows()).filter((row) => row.enabled);
  if (rows.length === 0) throw new AppError("invalid_input", "No enabled offsite destination: add one on the Backups page first");
  if (!passedVerification(folder))
    throw new AppError("verification_failed", `Backup ${backupId} has not passed its restore drill: verify it before copying it offsite`);
  const staleBefore = new Date(Date.now() - COPY_LEASE_MS).toISOString();
  const running: OffsiteCopyRow[] = [];
  const waiting: OffsiteDestinationRow[] = [];
  for (const row of rows) {
    const copy = await queries.findCopyRow(backupId, row.id);
    if (copy?.status === "copying" && copy.updatedAt >= staleBefore) running.push(copy);
    else waiting.push(row);
  }
  if (waiting.length === 0) {
    const operationId = running.find((copy) => copy.operationId)?.operationId;
    const operation = operationId ? await getOperation(operationId).catch(() => null) : null;
    if (operation?.status === "running") return operation;
    throw new AppError("in_use", `Backup ${backupId} is already being copied to ${rows.map((row) => row.name).join(", ")}`);
  }
  // Shown as pending at once, so the list says a copy is coming before the operation reaches it.
  for (const row of waiting) await markPending(backupId, row, folder);
  const params = { backup_id: backupId, destination_ids: waiting.map((row) => row.id) };
  return startOperation({ kind: "offsite_copy", principal, scope: "write", params }, (ctx) => runCopies(backupId, waiting, ctx));
}

async function markPending(backupId: string, row: OffsiteDestinationRow, folder: string) {
  const previous = await queries.findCopyRow(backupId, row.id);
  if (previous?.status === "verified" || previous?.status === "copying") return;
  const total = setFiles(folder).reduce((sum, file) => sum + file.bytes, 0);
  await queries.upsertCopyRow({
    backupId,
    destinationId: row.id,
    status: "pending",
    bytes: previous?.bytes ?? 0,
    totalBytes: total,
    provenFiles: previous?.provenFiles ?? "[]",
    operationId: null,
    startedAt: null,
    copiedAt: previous?.copiedAt ?? null,
    verifiedAt: null,
    verifiedBy: previous?.verifiedBy ?? null,
    error: previous?.error ?? null,
    failures: previous?.failures ?? 0,
    updatedAt: nowIso(),
  });
}

async function runCopies(backupId: string, rows: OffsiteDestinationRow[], ctx: OperationContext) {
  const results: { destination: string; status: "verified" | "failed" | "already copying"; error: string | null }[] = [];
  const done: number[] = rows.map(() => 0);
  const totals: number[] = rows.map(() => 0);
  for (const [index, row] of rows.entries()) {
    try {
      await copySetTo(backupId, row.id, {
        signal: ctx.signal,
        operationId: ctx.id,
        message: ctx.message,
        progress: (bytes, total) => {
          done[index] = bytes;
          totals[index] = total;
          ctx.progress(
            done.reduce((a, b) => a + b, 0),
            totals.reduce((a, b) => a + b, 0),
            "bytes",
          );
        },
      });
      results.push({ destination: row.name, status: "verified", error: null });
      await notify("offsite.recovered", { destination_id: row.id, destination: row.name, backup_id: backupId });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      // Claimed since startCopy looked, by another operation or instance: that copy goes on, this one has nothing to do.
      if (isAppError(error) && error.code === "in_use") {
        results.push({ destination: row.name, status: "already copying", error: null });
        continue;
      }
      results.push({ destination: row.name, status: "failed", error: (error as Error).message });
      getLogger().warn("offsite copy failed", { backup_id: backupId, destination: row.name, error: (error as Error).message });
      await notify("offsite.failed", {
        destination_id: row.id,
        destination: row.name,
        backup_id: backupId,
        reason: (error as Error).message,
        operation_id: ctx.id,
      });
    }
  }
  const failed = results.filter((result) => result.status === "failed");
  if (failed.length > 0) throw new AppError("offsite_failed", failed.map((result) => result.error).join("; "));
  return { backup_id: backupId, copies: results };
}

/** After a new set passed its drill: copies it to every enabled destination, in an operation of its own. */
export async function copyNewSet(backupId: string): Promise<void> {
  const enabled = (await queries.listDestinationRows()).filter((row) => row.enabled);
  if (enabled.length === 0) return;
  await startCopy(backupId, null, null);
}

export function toCopyDto(row: OffsiteCopyRow, destinationName: string): CopyDto {
  return {
    destination: row.destinationId,
    destination_name: destinationName,
    status: row.status,
    bytes: row.bytes,
    total_bytes: row.totalBytes,
    copied_at: row.copiedAt,
    verified_at: row.verifiedAt,
    verified_by: row.status === "verified" ? row.verifiedBy : null,
    error: row.error,
    operation_id: row.operationId,
  };
}
