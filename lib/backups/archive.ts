import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { AppError, isAppError } from "@/lib/errors";
import { ParallelGzip, type GzipThreads } from "@/lib/backups/parallel-gzip";
import { decryptStream, encryptStream } from "@/lib/backups/encryption";
import { extractTarSafely, type DivertedFile, type ExtractLimits } from "@/lib/backups/safe-extract";
import { tarStream, type TarEntryPlan } from "@/lib/backups/tar-writer";
import { collectingAsItMoves, freeNow } from "@/lib/freed-memory";
import { fsyncFile } from "@/lib/files";

export interface ArchiveFacts {
  file: string;
  /** bytes of the archive file as stored */
  bytes: number;
  sha256: string;
  files: number;
  /** bytes of the uncompressed tar: the cap on what restoring it may write */
  tar_bytes: number;
  encrypted: boolean;
}

/**
 * Output chunk of the gunzip stage. Node's default (16 KiB) makes each chunk a round trip to the
 * thread pool, which costs more than the inflating itself: 1.7 GB of mimir_data took 6 s to gunzip
 * with it and 1.2 s with 256 KiB (stock `gzip -d`: 4.9 s). Larger chunks gained nothing and held more memory.
 */
const GUNZIP_CHUNK_BYTES = 256 * 1024;

/**
 * Extraction's collections (lib/freed-memory.ts), per bytes of gunzip output: each 256 KiB output
 * buffer is garbage once written. Young every 4 MB and full every 256 MB: extracting the bench's
 * mimir_data, logs and plugins (2 GB) beside a 60 MB heap peaked 29-31 MB over its start with young
 * collections every 16 MB and 7-8 MB so, no slower (6 full collections of ~8 ms; young every 4 MB
 * alone: 15-25 MB, as the buffers in flight at two collections are promoted).
 *
 * A forced full collection is one atomic pause of the event loop, though: 30-80 ms in the server on
 * two busy cores (bench/RESULTS-backup-beside.md), where V8's own full collections, marked
 * incrementally beside the work, pause it 5-15 ms. So a drill beside serving (`background`) has its
 * full ones only when no request would meet them (whenQuiet); a restore, whose memory is the bound
 * that matters, has them as it goes.
 */
const COLLECTIONS = { youngEvery: 4 * 1024 * 1024, fullEvery: 256 * 1024 * 1024 };
const BACKGROUND_COLLECTIONS = { ...COLLECTIONS, whenQuiet: true };

/** The gunzip output as it comes, with V8 collecting what it spent as it goes (COLLECTIONS). */
async function* collectingAsItGoes(source: AsyncIterable<Buffer>, background: boolean): AsyncGenerator<Buffer> {
  const moved = collectingAsItMoves(background ? BACKGROUND_COLLECTIONS : COLLECTIONS);
  for await (const chunk of source) {
    yield chunk;
    moved(chunk.length);
  }
}

/**
 * The archive file. A compressed member's memory is freed as soon as it is on disk
 * (lib/freed-memory.ts, freeNow): the chunks come from ParallelGzip (or OpenPGP, whose chunks are
 * not marked and so are left to V8) and nothing else holds them.
 */
export class ArchiveFileStream extends fs.WriteStream {
  /** A new file at `file`, never over an existing one (fs.WriteStream takes a path and options; its declared type only Writable's options). */
  static create(file: string): ArchiveFileStream {
    const Stream = ArchiveFileStream as unknown as new (path: string, options: { flags: string; mode: number }) => ArchiveFileStream;
    return new Stream(file, { flags: "wx", mode: 0o600 });
  }

  _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    super._write(chunk, encoding, (error?: Error | null) => {
      if (!error) freeNow(chunk);
      callback(error);
    });
  }

  _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: (error?: Error | null) => void): void {
    super._writev!(chunks, (error?: Error | null) => {
      if (!error) for (const { chunk } of chunks) freeNow(chunk);
      callback(error);
    });
  }
}

/** Passes bytes through, hashing and counting them. */
class HashTap extends Transform {
  readonly hash = crypto.createHash("sha256");
  bytes = 0;
  constructor(private readonly onBytes?: (n: number) => void) {
    super();
  }
  _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(chunk.length);
    callback(null, chunk);
  }
}

/**
 * Writes one volume's archive: tar → parallel gzip → (OpenPGP) → file, hashing on the way; the file
 * is created new (never overwritten) and fsynced. `onBytes` reports source bytes read.
 */
export async function writeVolumeArchive(
  plan: TarEntryPlan,
  file: string,
  options: {
    passphrase: string | null;
    onBytes?: (n: number) => void;
    /** a cancel stops the stream at once, not after the volume */
    signal?: AbortSignal;
    /** compress at the background niceness: a backup beside serving (see ParallelGzip) */
    background?: boolean;
    /** compress on these threads, shared with the set's other archives, instead of the archive's own */
    gzipThreads?: GzipThreads;
  },
): Promise<Omit<ArchiveFacts, "file">> {
  let tarBytes = 0;
  const tar = async function* () {
    for await (const chunk of tarStream(plan, options.onBytes, plan.root)) {
      tarBytes += chunk.length;
      yield chunk;
    }
  };
  const tap = new HashTap();
  const out = ArchiveFileStream.create(file);
  const streamOptions = options.signal ? { signal: options.signal } : {};
  const gzip = new ParallelGzip({ background: options.background, threads: options.gzipThreads });
  if (options.passphrase) await pipeline(tar, gzip, encryptStream(options.passphrase), tap, out, streamOptions);
  else await pipeline(tar, gzip, tap, out, streamOptions);
  await fsyncFile(file);
  return { bytes: tap.bytes, sha256: tap.hash.digest("hex"), files: plan.files.length, tar_bytes: tarBytes, encrypted: options.passphrase !== null };
}

/** sha256 of a file, streamed. */
export async function hashFile(file: string, onBytes?: (n: number) => void): Promise<{ sha256: string; bytes: number }> {
  const tap = new HashTap(onBytes);
  await pipeline(fs.createReadStream(file), tap, async (source) => {
    for await (const _chunk of source) void _chunk;
  });
  return { sha256: tap.hash.digest("hex"), bytes: tap.bytes };
}

/**
 * Decrypts, gunzips and extracts an archive into `dest` (a staging or scratch folder) with safe
 * extraction, hashing the file on the way; the result counts only when the hash matches the
 * manifest at the end (the caller discards `dest` on any error). Throws AppError with a clear code: the hash
 * differs (verification_failed), wrong passphrase, damaged or hostile archive (invalid_archive).
 */
export async function extractVolumeArchive(
  file: string,
  expected: Pick<ArchiveFacts, "sha256" | "bytes" | "files" | "encrypted">,
  dest: string,
  options: {
    passphrase: string | null;
    limits: ExtractLimits;
    onBytes?: (n: number) => void;
    /** a drill beside serving: full collections only when the server is quiet (COLLECTIONS) */
    background?: boolean;
    /** a file read as it is extracted instead of written into `dest` (see DivertedFile); its bytes are unproven until this returns */
    divert?: DivertedFile;
  },
): Promise<{ files: number; bytes: number }> {
  if (expected.encrypted && !options.passphrase) {
    throw new AppError("passphrase_required", `${baseName(file)} is encrypted: set MIMIR_BACKUP_PASSPHRASE (or backups.passphrase_file) to open it`);
  }
  const read = new HashTap(options.onBytes);
  const stages: NodeJS.ReadWriteStream[] = [read];
  if (expected.encrypted) stages.push(decryptStream(options.passphrase!, options.limits.maxBytes));
  stages.push(zlib.createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }));
  let result: { files: number; bytes: number } = { files: 0, bytes: 0 };
  let refusal: unknown = null;
  try {
    const sink = async (source: AsyncIterable<string | Buffer>) => {
      try {
        result = await extractTarSafely(collectingAsItGoes(source as AsyncIterable<Buffer>, options.background ?? false), dest, options.limits, options.divert);
      } catch (error) {
        // Leaving the loop early aborts the streams upstream; their AbortError must not hide the reason.
        refusal = error;
        throw error;
      }
    };
    await (pipeline as (...streams: unknown[]) => Promise<void>)(fs.createReadStream(file), ...stages, sink);
  } catch (caught) {
    // A damaged or changed file explains most failures: say so plainly when its checksum is off.
    const { sha256, bytes } = await hashFile(file);
    if (bytes !== expected.bytes || sha256 !== expected.sha256) throw checksumMismatch(file, expected, sha256, bytes);
    const error = refusal ?? caught;
    if (isAppError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EFBIG" || code === "EDQUOT") {
      throw new AppError("insufficient_disk", `No space left while extracting ${baseName(file)}`, { cause: error });
    }
    throw new AppError("invalid_archive", `${baseName(file)} is damaged and cannot be read: ${(error as Error).message}`, { cause: error });
  }
  // Decrypted or extracted bytes count for nothing until the whole file is proven to be the one the manifest names.
  const sha256 = read.hash.digest("hex");
  if (read.bytes !== expected.bytes || sha256 !== expected.sha256) throw checksumMismatch(file, expected, sha256, read.bytes);
  if (result.files !== expected.files) {
    throw new AppError("invalid_archive", `${baseName(file)} holds ${result.files} files but its manifest lists ${expected.files}: the archive is incomplete`);
  }
  return result;
}

function checksumMismatch(file: string, expected: { sha256: string; bytes: number }, sha256: string, bytes: number): AppError {
  return new AppError("verification_failed", `${baseName(file)} does not match its manifest (sha256 or size differs): the file is damaged or was changed`, {
    details: { file: baseName(file), expected_sha256: expected.sha256, actual_sha256: sha256, expected_bytes: expected.bytes, actual_bytes: bytes },
  });
}

function baseName(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}
