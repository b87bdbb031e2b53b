import "server-only";
import { once } from "node:events";
import { Unpack, type ReadEntry } from "tar";
import { AppError } from "@/lib/errors";

export interface ExtractLimits {
  /** the sum of the file sizes in the archive may not exceed this (gzip bombs of any ratio) */
  maxBytes: number;
  maxEntries: number;
}

export interface ExtractResult {
  files: number;
  bytes: number;
}

/** Entry types a backup may hold: our archives hold nothing else. */
const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory"]);

/**
 * Extracts an uncompressed tar stream into `cwd` (a staging folder) so that nothing can land outside
 * it: absolute paths and `..` fail (strict), links, devices and FIFOs fail the whole archive, owners
 * are not taken from the archive, setuid/setgid/sticky bits are dropped, and the running total of
 * entries and bytes is capped. A refusal aborts the unpacker rather than throwing inside node-tar's
 * filter (which would crash the process). Whatever was written before a failure stays in `cwd`
 * for the caller to discard.
 */
export async function extractTarSafely(source: AsyncIterable<Buffer>, cwd: string, limits: ExtractLimits): Promise<ExtractResult> {
  let files = 0;
  let bytes = 0;
  let entries = 0;
  let refusal: AppError | null = null;
  const unpack: Unpack = new Unpack({
    cwd,
    strict: true,
    preserveOwner: false,
    brotli: false,
    zstd: false,
    filter: (entryPath, entry) => {
      if (refusal) return false;
      const readEntry = entry as ReadEntry;
      const refuse = (message: string) => {
        refusal = new AppError("invalid_archive", message, { details: { path: entryPath } });
        unpack.abort(refusal);
        return false;
      };
      if (!ALLOWED_TYPES.has(readEntry.type)) return refuse(`The archive holds a ${readEntry.type} entry (${entryPath}); backups hold only files and folders`);
      entries += 1;
      if (entries > limits.maxEntries) return refuse(`The archive holds more than ${limits.maxEntries} entries`);
      if (readEntry.type !== "Directory") {
        files += 1;
        bytes += readEntry.size ?? 0;
        if (bytes > limits.maxBytes) return refuse(`The archive expands past ${limits.maxBytes} bytes, more than it may (or than the disk has free)`);
      }
      if (typeof readEntry.mode === "number") readEntry.mode &= 0o777;
      return true;
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    unpack.on("error", (error: Error) => reject(refusal ?? describeTarError(error)));
    unpack.on("close", () => resolve());
  });
  done.catch(() => undefined);
  try {
    for await (const chunk of source) {
      if (refusal) break;
      if (!unpack.write(chunk)) await Promise.race([once(unpack, "drain"), done]);
    }
    unpack.end();
  } catch (error) {
    unpack.abort(error as Error);
    throw error;
  }
  await done;
  if (refusal) throw refusal;
  return { files, bytes };
}

function describeTarError(error: Error & { code?: string; tarCode?: string }): AppError {
  if (error instanceof AppError) return error;
  return new AppError("invalid_archive", `The archive cannot be extracted safely: ${error.message}`, {
    cause: error,
    details: { code: error.tarCode ?? error.code },
  });
}
