import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform, type Readable } from "node:stream";
import { fsyncFile } from "@/lib/files";
import { RemoteStoreError, type RemoteFailure, type RemoteObject, type RemoteStore, type TransferOptions } from "@/lib/offsite/store";

/** Uploads land under this name beside their target and are renamed once whole. */
export const PARTIAL_MARK = ".mimir-partial-";

/**
 * A mounted folder (NFS, SMB, a USB disk) as a destination. The folder itself must exist: an
 * unmounted share leaves an empty mount point or none, and writing there would fill the local disk
 * with a "copy" that is not offsite; so a missing root is "unreachable", never created.
 */
export function createFolderStore(settings: { path: string }): RemoteStore {
  const root = path.resolve(settings.path);

  const resolve = (key: string): string => {
    const file = path.resolve(root, ...key.split("/"));
    if (file !== root && !file.startsWith(root + path.sep)) throw new RemoteStoreError("refused", `The key '${key}' leads outside the destination folder`);
    return file;
  };
  const assertRoot = () => {
    let stats: fs.Stats;
    try {
      stats = fs.statSync(root);
    } catch (error) {
      throw new RemoteStoreError("unreachable", `The destination folder ${root} does not exist (is the share mounted?)`, { cause: error });
    }
    if (!stats.isDirectory()) throw new RemoteStoreError("unreachable", `The destination ${root} is not a folder`);
  };

  return {
    async put(key: string, body: Readable, size: number, options: TransferOptions = {}): Promise<void> {
      assertRoot();
      const target = resolve(key);
      const partial = `${target}${PARTIAL_MARK}${crypto.randomBytes(4).toString("hex")}`;
      let moved = 0;
      try {
        fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            moved += chunk.length;
            options.onProgress?.(moved);
            callback(null, chunk);
          },
        });
        const out = fs.createWriteStream(partial, { mode: 0o600, flags: "wx" });
        await pipeline(body, counter, out, { signal: options.signal });
        if (moved !== size) throw new RemoteStoreError("refused", `${key}: ${moved} bytes were read where ${size} were announced`);
        // On the thread pool: a set's archive is hundreds of MB, and its flush must not hold the event loop.
        await fsyncFile(partial);
        fs.renameSync(partial, target);
      } catch (error) {
        fs.rmSync(partial, { force: true });
        throw describe(error, key);
      }
    },

    async get(key: string, options: TransferOptions = {}): Promise<Readable> {
      assertRoot();
      const file = resolve(key);
      try {
        const handle = await fs.promises.open(file, "r");
        let moved = 0;
        const stream = handle.createReadStream({ signal: options.signal });
        if (options.onProgress) {
          stream.on("data", (chunk: Buffer | string) => {
            moved += chunk.length;
            options.onProgress?.(moved);
          });
        }
        return stream;
      } catch (error) {
        throw describe(error, key);
      }
    },

    async stat(key: string): Promise<RemoteObject | null> {
      assertRoot();
      try {
        const stats = fs.statSync(resolve(key));
        return stats.isFile() ? { key, size: stats.size, modifiedAt: stats.mtime.toISOString() } : null;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw describe(error, key);
      }
    },

    async *list(prefix: string): AsyncIterable<RemoteObject> {
      assertRoot();
      const walk = function* (folder: string, relative: string): Generator<RemoteObject> {
        let entries: fs.Dirent[];
        try {
          entries = fs.readdirSync(folder, { withFileTypes: true });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
          throw describe(error, relative);
        }
        for (const entry of entries) {
          const key = relative ? `${relative}/${entry.name}` : entry.name;
          // Only keys that could start with the prefix are walked; symlinks are never followed.
          if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
          const full = path.join(folder, entry.name);
          if (entry.isDirectory()) yield* walk(full, key);
          else if (entry.isFile()) {
            const stats = fs.statSync(full);
            yield { key, size: stats.size, modifiedAt: stats.mtime.toISOString() };
          }
        }
      };
      yield* walk(root, "");
    },

    async delete(key: string): Promise<void> {
      assertRoot();
      const file = resolve(key);
      try {
        fs.rmSync(file, { force: true });
        // An emptied set folder goes too; a folder still holding anything stays.
        const folder = path.dirname(file);
        if (folder !== root && fs.readdirSync(folder).length === 0) fs.rmdirSync(folder);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
        throw describe(error, key);
      }
    },

    async close(): Promise<void> {},
  };
}

function describe(error: unknown, key: string): unknown {
  if (error instanceof RemoteStoreError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, RemoteFailure> = {
    ENOENT: "not-found",
    ENOSPC: "full",
    EDQUOT: "full",
    EFBIG: "full",
    EACCES: "auth",
    EPERM: "auth",
    EROFS: "refused",
    EIO: "unreachable",
    ESTALE: "unreachable",
    ENOTCONN: "unreachable",
    ABORT_ERR: "aborted",
  };
  const reason = (code && reasons[code]) || ((error as Error).name === "AbortError" ? "aborted" : "refused");
  return new RemoteStoreError(reason, `${key}: ${(error as Error).message}`, { cause: error });
}
