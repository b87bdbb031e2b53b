import "server-only";
import { processState } from "@/lib/process-state";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { getConfig } from "@/lib/config/service";
import { AppError } from "@/lib/errors";
import { BACKUP_ID_PATTERN } from "@/lib/backups/inputs";
import { BACKUP_TRIGGERS, type BackupManifest, type BackupVerification } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";
import type { OperationContext } from "@/lib/operations/service";

/**
 * The backup folder's layout, the one truth about which sets exist: `backups/<id>/` with
 * `manifest.json` (written last, before the folder is renamed to its final name) and
 * `verification.json` (the latest verify result). Work in progress lives in dot-folders that are
 * never listed and are cleaned by the next backup.
 */
export const MANIFEST_FILE = "manifest.json";
export const VERIFICATION_FILE = "verification.json";
/** Prefixes of the temporary folders under backups/ */
export const TEMP_PREFIXES = [".partial-", ".verify-", ".deleting-", ".import-"] as const;

export function backupsFolder(): string {
  return getConfig().paths.backups;
}

/** The folder of a set, after checking the id's shape and that it resolves inside backups/. */
export function setFolder(id: string): string {
  if (!BACKUP_ID_PATTERN.test(id)) throw new AppError("invalid_input", `'${id.slice(0, 40)}' is not a backup id (expected e.g. 20250115-020000)`);
  const root = backupsFolder();
  const folder = path.resolve(root, id);
  if (path.dirname(folder) !== path.resolve(root)) throw new AppError("invalid_input", "The backup id does not name a folder inside the backups folder");
  return folder;
}

/** A new id from the clock (UTC, the guide's YYYYMMDD-HHMMSS), suffixed when that second is taken. */
export function newBackupId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  const root = backupsFolder();
  const taken = (id: string) => fs.existsSync(path.join(root, id)) || fs.existsSync(path.join(root, `.partial-${id}`));
  if (!taken(stamp)) return stamp;
  for (let n = 2; n < 1000; n += 1) if (!taken(`${stamp}-${n}`)) return `${stamp}-${n}`;
  throw new AppError("conflict", "Too many backups in one second");
}

const archiveSchema = z.object({
  file: z.string().regex(/^mimir_[a-z]+\.tar\.gz(\.gpg)?$/),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.number().int().nonnegative(),
  tar_bytes: z.number().int().nonnegative(),
  encrypted: z.boolean(),
});

export const manifestSchema = z.object({
  format: z.literal("mimir-backup"),
  format_version: z.literal(1),
  id: z.string().regex(BACKUP_ID_PATTERN),
  app_version: z.string(),
  schema_version: z.string().nullable(),
  created_at: z.string(),
  trigger: z.enum(BACKUP_TRIGGERS),
  encrypted: z.boolean(),
  archives: z.object(Object.fromEntries(VOLUMES.map((name) => [name, archiveSchema])) as Record<(typeof VOLUMES)[number], typeof archiveSchema>),
  databases: z.record(z.string(), z.record(z.string(), z.number())),
  row_counts: z.record(z.string(), z.number()),
  /** a set of a PostgreSQL deployment: the dump inside its mimir_data archive (a plain file name, at the archive's top) */
  postgres: z
    .object({
      file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.sql$/),
      database: z.string(),
      schema: z.string(),
      server_version: z.string(),
      taken_at: z.string(),
      row_counts: z.record(z.string(), z.number()),
    })
    .optional(),
});

/** Reads and validates a set's manifest; a folder without a valid one is not a set of ours. */
export function readManifest(folder: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(folder, MANIFEST_FILE), "utf8"));
  } catch (error) {
    throw new AppError("invalid_archive", `${path.basename(folder)} has no readable ${MANIFEST_FILE}: it is not a complete backup set`, { cause: error });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success)
    throw new AppError("invalid_archive", `${path.basename(folder)}/${MANIFEST_FILE} is not a manifest this product wrote: ${parsed.error.issues[0]?.message}`);
  return parsed.data as BackupManifest;
}

export function readVerification(folder: string): BackupVerification | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(folder, VERIFICATION_FILE), "utf8")) as BackupVerification;
  } catch {
    return null;
  }
}

/** sha256 of a set's manifest.json as stored: what a verification result is bound to. */
export function manifestDigest(folder: string): string {
  return crypto
    .createHash("sha256")
    .update(fs.readFileSync(path.join(folder, MANIFEST_FILE)))
    .digest("hex");
}

/**
 * The set's passed restore drill, when it ran against the manifest the set holds now (so against
 * the archive hashes it names); null when the set was never verified, failed, or changed since.
 */
export function passedVerification(folder: string): BackupVerification | null {
  const verification = readVerification(folder);
  if (verification?.status !== "ok" || !verification.manifest_sha256) return null;
  try {
    return verification.manifest_sha256 === manifestDigest(folder) ? verification : null;
  } catch {
    return null;
  }
}

export function writeVerification(folder: string, verification: BackupVerification): void {
  const file = path.join(folder, VERIFICATION_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(verification, null, 2), { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** Complete sets on disk: folders with an id's name, not a symlink, holding a valid manifest. */
export function listSetsOnDisk(): { id: string; folder: string; manifest: BackupManifest }[] {
  const root = backupsFolder();
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const sets: { id: string; folder: string; manifest: BackupManifest }[] = [];
  for (const name of names) {
    if (!BACKUP_ID_PATTERN.test(name)) continue;
    const folder = path.join(root, name);
    if (!fs.lstatSync(folder).isDirectory()) continue;
    try {
      sets.push({ id: name, folder, manifest: readManifest(folder) });
    } catch {
      // not ours, or not complete: never listed, never pruned
    }
  }
  return sets.sort((a, b) =>
    a.manifest.created_at < b.manifest.created_at ? 1 : a.manifest.created_at > b.manifest.created_at ? -1 : b.id.localeCompare(a.id),
  );
}

// Process-wide: a backup started by the scheduler (instrumentation's bundle) must see a verify's
// scratch folder made by a route's bundle, and the reverse.

/** Temporary folders in use by this process: never cleaned from under running work. */
export const activeTempFolders: Set<string> = processState("activeTempFolders", () => new Set<string>());

/**
 * Removes what interrupted backups, verifies, deletes and imports left behind. `includeActive` is for
 * a server that is stopping: its own work has been cancelled, so its folders go too. `ownOnly` leaves
 * alone every folder this process did not make (another instance's, on a shared backups folder).
 */
export function cleanLeftovers({ includeActive = false, ownOnly = false }: { includeActive?: boolean; ownOnly?: boolean } = {}): string[] {
  const root = backupsFolder();
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!TEMP_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    const folder = path.join(root, name);
    if (!includeActive && activeTempFolders.has(folder)) continue;
    if (ownOnly && !activeTempFolders.has(folder)) continue;
    fs.rmSync(folder, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Deletes a file or folder of the backups folder without holding the event loop: unlinking a 1 GB
 * dump already on disk took 414 ms of the thread that serves every request. It is renamed at once to
 * a `.deleting-` name (a kill leaves a leftover the next start removes, never the file under its own
 * name) and removed on libuv's pool. Resolves once it is gone; nothing there is a no-op.
 */
export async function removeOffTheLoop(file: string): Promise<void> {
  const aside = path.join(backupsFolder(), `.deleting-${crypto.randomBytes(6).toString("hex")}`);
  try {
    fs.renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  await fs.promises.rm(aside, { recursive: true, force: true });
}

/** Sets being read (verify, restore, download): prune and delete leave them alone. */
const readers = new Map<string, number>();

/** Marks a set as being read until the returned release is called (once; later calls do nothing). */
export function markSetInUse(id: string): () => void {
  readers.set(id, (readers.get(id) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (readers.get(id) ?? 1) - 1;
    if (left === 0) readers.delete(id);
    else readers.set(id, left);
  };
}

export async function withSetInUse<T>(id: string, work: () => Promise<T>): Promise<T> {
  const release = markSetInUse(id);
  try {
    return await work();
  } finally {
    release();
  }
}

export const PINNED_FILE = "pinned";

export function isPinnedOnDisk(folder: string): boolean {
  return fs.existsSync(path.join(folder, PINNED_FILE));
}

export function isSetInUse(id: string): boolean {
  return readers.has(id);
}

/** The passphrase sets are encrypted and decrypted with, or null (sets are then written in the clear). */
export function backupPassphrase(): string | null {
  return getConfig().secrets.backupPassphrase;
}

/** An operation's progress callback counting bytes (archives written, hashed or extracted). */
export function bytesProgress(ctx: OperationContext) {
  return (done: number, total: number) => ctx.progress(done, total, "bytes");
}
