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

/**
 * One file of the archive handed to a reader as it is extracted, instead of written into the folder:
 * a PostgreSQL restore loads the set's database dump while the archive is still being read, rather
 * than writing a gigabyte to disk and reading it back before the load can start.
 */
export interface DivertedFile {
  /** the file's path in the archive, exactly as written (a top-level name) */
  path: string;
  /**
   * Called once, when the file's entry is reached, with its bytes in order. The archive is read on
   * only as fast as the reader takes them (nothing piles up in memory); a reader that stops early
   * lets the rest be skipped, and one still reading when the extraction fails gets that error.
   * The promise it returns settles when it is done with the bytes (or later: nothing waits for it).
   */
  read: (bytes: AsyncIterable<Buffer>) => Promise<unknown>;
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
export async function extractTarSafely(source: AsyncIterable<Buffer>, cwd: string, limits: ExtractLimits, divert?: DivertedFile): Promise<ExtractResult> {
  let files = 0;
  let bytes = 0;
  let entries = 0;
  let refusal: AppError | null = null;
  let diverted = false;
  let fail!: (error: unknown) => void;
  const failed = new Promise<never>((_resolve, reject) => (fail = reject));
  failed.catch(() => undefined);
  const unpack: Unpack = new DivertingUnpack(divert && { ...divert, failed }, {
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
      if (divert && readEntry.path === divert.path) {
        if (readEntry.type !== "File" || diverted) return refuse(`The archive holds ${divert.path} twice, or not as a file`);
        diverted = true;
      }
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
  done.catch(fail);
  try {
    for await (const chunk of source) {
      if (refusal) break;
      if (!unpack.write(chunk)) await Promise.race([once(unpack, "drain"), done]);
    }
    unpack.end();
  } catch (error) {
    fail(error);
    unpack.abort(error as Error);
    throw error;
  }
  await done;
  if (refusal) throw refusal;
  return { files, bytes };
}

/**
 * node-tar's Unpack, except that the entry of the diverted file goes to its reader: Unpack writes
 * each entry the parser announces ("entry", once the filter has passed it), and this one is not
 * announced to it. The parser moves on to the next entry only once this one has ended.
 */
class DivertingUnpack extends Unpack {
  constructor(
    private readonly divert: (DivertedFile & { failed: Promise<never> }) | undefined,
    options: ConstructorParameters<typeof Unpack>[0],
  ) {
    super(options);
  }

  emit(event: string | symbol, ...args: unknown[]): boolean {
    const entry = args[0] as ReadEntry | undefined;
    if (event !== "entry" || !this.divert || entry?.path !== this.divert.path) return super.emit(event, ...args);
    const skipRest = () => {
      entry.removeAllListeners("data");
      entry.resume();
    };
    void this.divert
      .read(entryBytes(entry, this.divert.failed))
      .catch(() => undefined)
      .finally(skipRest);
    return true;
  }
}

/**
 * An entry's bytes, a piece at a time: the entry is paused (and so the parser, and the archive's
 * reading) until the reader asks for the next piece. Ends with the extraction's error if that fails
 * before the entry's end; a reader that stops early has the rest skipped.
 */
async function* entryBytes(entry: ReadEntry, failed: Promise<never>): AsyncGenerator<Buffer> {
  const pieces: Buffer[] = [];
  let ended = false;
  let arrived = () => {};
  entry.on("data", (piece: Buffer) => {
    pieces.push(piece);
    entry.pause();
    arrived();
  });
  entry.on("end", () => {
    ended = true;
    arrived();
  });
  try {
    for (;;) {
      const piece = pieces.shift();
      if (piece) {
        yield piece;
        continue;
      }
      if (ended) return;
      const next = new Promise<void>((resolve) => (arrived = resolve));
      entry.resume();
      await Promise.race([next, failed]);
    }
  } finally {
    if (!ended) {
      entry.removeAllListeners("data");
      entry.resume();
    }
  }
}

function describeTarError(error: Error & { code?: string; tarCode?: string }): AppError {
  if (error instanceof AppError) return error;
  return new AppError("invalid_archive", `The archive cannot be extracted safely: ${error.message}`, {
    cause: error,
    details: { code: error.tarCode ?? error.code },
  });
}
