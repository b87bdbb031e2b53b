import "server-only";
import fs from "node:fs";
import path from "node:path";
import { Header, Pax } from "tar";
import { markFreeable } from "@/lib/freed-memory";

const BLOCK = 512;
/** File bodies are read in chunks of this size: memory stays flat whatever the file size. */
const READ_CHUNK_BYTES = 1024 * 1024;

export interface TarFile {
  /** path inside the archive, "/"-separated, no leading "./" */
  name: string;
  /** where the bytes are read from (a snapshot may stand in for a live file) */
  source: string;
  stat: fs.Stats;
}

export interface TarEntryPlan {
  root: fs.Stats;
  directories: { name: string; stat: fs.Stats }[];
  files: TarFile[];
  /** sum of file sizes: the progress total */
  bytes: number;
}

/**
 * Lists a folder for archiving, in a stable order. Regular files and folders only: links and special
 * files are never archived, since restore refuses them anyway. `substitute` maps a relative name to
 * the file archived in its place (an SQLite snapshot for a live database); `skip` leaves a file out.
 */
export function planFolder(root: string, options: { substitute?: Map<string, string>; skip?: (name: string) => boolean } = {}): TarEntryPlan {
  const plan: TarEntryPlan = { root: fs.statSync(root), directories: [], files: [], bytes: 0 };
  const walk = (relative: string) => {
    const absolute = relative ? path.join(root, relative) : root;
    let names: string[];
    try {
      names = fs.readdirSync(absolute).sort();
    } catch (error) {
      // A folder that vanished while being listed is simply not part of this set.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const entry of names) {
      const name = relative ? `${relative}/${entry}` : entry;
      if (options.skip?.(name)) continue;
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(path.join(root, name));
      } catch {
        continue;
      }
      if (stat.isDirectory()) {
        plan.directories.push({ name, stat });
        walk(name);
      } else if (stat.isFile()) {
        const source = options.substitute?.get(name) ?? path.join(root, name);
        const sourceStat = source === path.join(root, name) ? stat : fs.statSync(source);
        plan.files.push({ name, source, stat: sourceStat });
        plan.bytes += sourceStat.size;
      }
    }
  };
  walk("");
  return plan;
}

/**
 * Streams a POSIX (pax) tar of the planned entries that GNU tar reads. `onBytes` reports file bytes
 * as they are read. A file that shrinks while being read is padded with zeros to its listed size and
 * one that grows is cut at it (the archive stays well-formed; the logs volume is appended to live).
 */
export async function* tarStream(plan: TarEntryPlan, onBytes: (n: number) => void = () => undefined, root?: fs.Stats): AsyncGenerator<Buffer> {
  // "./" first, as `tar czf x.tar.gz -C volume .` writes it: an empty volume still makes a valid archive.
  if (root) yield header("./", "Directory", root, 0);
  for (const dir of plan.directories) yield header(`${dir.name}/`, "Directory", dir.stat, 0);
  for (const file of plan.files) {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(file.source, "r");
    } catch (error) {
      // A file deleted after listing (a rotated log) is left out rather than failing the set.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    try {
      const size = file.stat.size;
      yield header(file.name, "File", file.stat, size);
      let offset = 0;
      let shrunk = false;
      while (offset < size) {
        const want = Math.min(READ_CHUNK_BYTES, size - offset);
        // Its reader's alone: a compressor that copies it into a larger block frees it then (ParallelGzip).
        const chunk = markFreeable(Buffer.allocUnsafe(want));
        const bytesRead = shrunk ? 0 : (await handle.read(chunk, 0, want, offset)).bytesRead;
        if (bytesRead === 0) {
          // The file shrank while it was read (a log truncated): zeros up to its listed size, a chunk
          // at a time like its bytes, never the whole rest of a large file in one buffer.
          shrunk = true;
          chunk.fill(0);
          offset += want;
          onBytes(want);
          yield chunk;
          continue;
        }
        offset += bytesRead;
        onBytes(bytesRead);
        yield bytesRead === want ? chunk : chunk.subarray(0, bytesRead);
      }
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad) yield Buffer.alloc(pad);
    } finally {
      await handle.close();
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}

function header(name: string, type: "File" | "Directory", stat: fs.Stats, size: number): Buffer {
  const fields = { path: name, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, size, mtime: stat.mtime, type };
  const h = new Header(fields);
  const needsPax = h.encode();
  if (!h.block) throw new Error(`cannot encode a tar header for ${name}`);
  return needsPax ? Buffer.concat([new Pax(fields).encode(), h.block]) : h.block;
}
