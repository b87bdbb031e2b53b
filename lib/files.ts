import "server-only";
import { closeSync, fsyncSync, openSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import crypto from "node:crypto";

/** Folders hold every byte of the deployment: only the service account may enter them. */
export const FOLDER_MODE = 0o700;
/** Database files and other data files: only the service account may read them. */
export const FILE_MODE = 0o600;

/**
 * Replaces `file` with `content` so a reader (or a crash) sees the old file or the new one, never
 * half of either: write a temporary file beside it (mode 0600), fsync it, rename it over, fsync the
 * folder so the rename itself survives a power cut.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array, mode = FILE_MODE): Promise<void> {
  const folder = path.dirname(file);
  const temp = path.join(/*turbopackIgnore: true*/ folder, `.${path.basename(file)}.${crypto.randomBytes(6).toString("hex")}.tmp`);
  const handle = await fs.open(temp, "wx", mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.chmod(temp, mode);
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await fsyncFile(folder);
}

/** Permission bits for anyone but the owner. */
const GROUP_OTHER_BITS = 0o077;

export interface ModeDrift {
  path: string;
  kind: "file" | "folder";
  /** e.g. "0644" */
  mode: string;
  expected: string;
}

/**
 * How many lstats a walk of the volumes has in flight at once. One after the other, each a round
 * trip to the thread pool, the ~1,800 entries of a large install (1,000 jobs' logs, 500 pipelines)
 * took ~60 ms of every Database page load, once for this check and once for the reset's preview.
 */
export const STAT_BATCH = 64;

/**
 * Walks `roots` (without following links) and lists every folder not 0700 and every file that
 * group or others may use (data files are 0600; plugin executables 0700 are fine), as the guide's
 * "Security Best Practices" ask. Stops after `maxEntries` entries so a huge
 * volume cannot stall a page; `truncated` says so. Reads only.
 */
export async function findModeDrift(roots: string[], maxEntries = 20_000): Promise<{ drift: ModeDrift[]; checked: number; truncated: boolean }> {
  const drift: ModeDrift[] = [];
  let checked = 0;
  const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
  const stack = [...roots];
  while (stack.length > 0) {
    const batch = stack.splice(-STAT_BATCH);
    const stats = await Promise.all(
      batch.map((entry) =>
        fs.lstat(entry).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return null;
          throw error;
        }),
      ),
    );
    for (const [at, current] of batch.entries()) {
      const stat = stats[at];
      if (!stat) continue;
      if (++checked > maxEntries) return { drift, checked: checked - 1, truncated: true };
      if (stat.isDirectory()) {
        if ((stat.mode & 0o777) !== FOLDER_MODE) drift.push({ path: current, kind: "folder", mode: octal(stat.mode), expected: octal(FOLDER_MODE) });
        for (const entry of await fs.readdir(current)) stack.push(path.join(/*turbopackIgnore: true*/ current, entry));
      } else if (stat.isFile() && (stat.mode & GROUP_OTHER_BITS) !== 0) {
        drift.push({ path: current, kind: "file", mode: octal(stat.mode), expected: octal(FILE_MODE) });
      }
    }
  }
  return { drift, checked, truncated: false };
}

/**
 * fsyncs a file, or a folder (so a rename inside it survives a power cut), on the thread pool: work
 * beside serving never waits for a disk flush on the event loop, and a folder's fsync commits the file
 * system's journal, which can wait behind other writeback for tens of milliseconds.
 */
export async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs in flight at once: a few pool threads, so extraction beside them keeps its own. */
const TREE_FSYNCS_AT_ONCE = 2;

/**
 * fsyncs every regular file and folder under `root` (the root too) on the thread pool, files before
 * the folders that hold them: what was extracted there is on disk before a rename points at it, so
 * a power cut after a restore's commit finds the restored files whole, not empty. Links, sockets and
 * pipes are left alone (opening a pipe would wait for a writer). `skip` leaves files out. Resolves
 * with how many files and folders it flushed.
 */
export async function fsyncTree(root: string, options: { skip?: (file: string) => boolean } = {}): Promise<{ files: number; folders: number }> {
  const files: string[] = [];
  const folders: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    folders.push(folder);
    for (const entry of await fs.readdir(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && !options.skip?.(full)) files.push(full);
    }
  };
  await walk(root);
  // Files first, then folders from the deepest up to the root.
  const queue = [...files, ...folders.reverse()];
  let next = 0;
  const worker = async () => {
    while (next < queue.length) await fsyncFile(queue[next++]!);
  };
  await Promise.all(Array.from({ length: TREE_FSYNCS_AT_ONCE }, worker));
  return { files: files.length, folders: folders.length };
}

/** fsyncs a folder so a rename inside it survives a power cut. */
export function fsyncFolder(folder: string): void {
  const fd = openSync(folder, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
