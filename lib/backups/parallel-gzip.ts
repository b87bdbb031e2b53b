import "server-only";
import { Transform, type TransformCallback } from "node:stream";
import { promisify } from "node:util";
import zlib from "node:zlib";

const gzip = promisify(zlib.gzip);

/** Input is cut into members of this size; each is one gzip member, compressed on the libuv pool. */
const MEMBER_BYTES = 1024 * 1024;
/** Members in flight at once: enough to keep both cores busy, small enough to keep memory flat. */
const IN_FLIGHT = 4;
/** gzip -6, the level of `tar czf`. */
const LEVEL = 6;
/**
 * Output buffer of each member's deflate: a whole member's output in one piece. With zlib's default
 * (16 KiB) a member came back in ~20 pieces, each a hop from the thread pool to the event loop and
 * back, and the callbacks were the backup's largest share of the event loop's time (--cpu-prof of
 * bench/beside-maintenance.ts). Incompressible input grows by a few bytes per 16 KiB block, so a
 * member of that kind takes two.
 */
const OUTPUT_CHUNK_BYTES = MEMBER_BYTES;

/**
 * gzip like pigz: the stream is compressed as a series of independent gzip members, several at a
 * time on zlib's thread pool, and written in order. Concatenated members are one valid gzip file
 * (RFC 1952 §2.2), which `gzip -d`, `tar xzf` and Node's gunzip all read. Memory is bounded by
 * IN_FLIGHT × MEMBER_BYTES.
 */
export class ParallelGzip extends Transform {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #inFlight: Promise<Buffer>[] = [];

  _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < MEMBER_BYTES) return callback();
    this.#startMember();
    this.#drain(IN_FLIGHT - 1).then(() => callback(), callback);
  }

  _flush(callback: TransformCallback): void {
    if (this.#pendingBytes > 0) this.#startMember();
    this.#drain(0).then(() => callback(), callback);
  }

  #startMember() {
    // A single chunk (the tar writer reads 1 MiB at a time) is compressed as it is, not copied.
    const block = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    const member = gzip(block, { level: LEVEL, chunkSize: OUTPUT_CHUNK_BYTES });
    // Rejections are handled when the member is awaited in order; never left unhandled meanwhile.
    member.catch(() => undefined);
    this.#inFlight.push(member);
  }

  async #drain(keep: number) {
    while (this.#inFlight.length > keep) this.push(await this.#inFlight.shift()!);
  }
}
