import "server-only";
import os from "node:os";
import { Transform, type TransformCallback } from "node:stream";
import { Worker } from "node:worker_threads";
import { LOWER_THIS_THREAD_SOURCE } from "@/lib/db/background-priority";
import { collectingAsItMoves, freeNow, markFreeable } from "@/lib/freed-memory";

/** Input is cut into members of this size; each is one gzip member, compressed on a worker thread. */
const MEMBER_BYTES = 1024 * 1024;
/** Threads that compress: one per core (the tar reading and writing barely use the event loop), at most four. */
const WORKERS = Math.max(1, Math.min(4, os.availableParallelism()));
/** The event loop collects its young generation after every this many bytes compressed (lib/freed-memory.ts). */
const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;
/** gzip -6, the level of `tar czf`. */
const LEVEL = 6;
/**
 * Output buffer of each member's deflate: a whole member's output in one piece, so a member comes
 * back to the event loop as one message (incompressible input grows by a few bytes per 16 KiB
 * block, so a member of that kind takes two pieces inside the worker, still one message).
 */
const OUTPUT_CHUNK_BYTES = MEMBER_BYTES;

// Plain CommonJS in an eval'd worker (node:zlib only): the bundler never sees it. gzipSync is the
// whole member in one call on this thread, which is what the thread is for.
const workerSource = (background: boolean) => `
const { parentPort } = require("node:worker_threads");
const zlib = require("node:zlib");
${background ? LOWER_THIS_THREAD_SOURCE : ""}
// This thread allocates almost no JS objects, so V8 collects it only when its dead buffers pass its
// external memory limit (64 MB): each member's input and output buffer waited until then, ~130 MB of
// the server's memory for the two threads of one archive. A minor collection per member frees them
// at once (~0.1 ms on this near-empty heap). gc() is there where the server runs with --expose-gc
// (scripts/start.mjs, the image's CMD); elsewhere (tests, the CLI) the memory is as before.
const collect = typeof gc === "function" ? () => gc({ type: "minor" }) : () => undefined;
parentPort.on("message", ({ id, block }) => {
  // The previous member's buffers are garbage by now (its handler has returned).
  collect();
  let out;
  try {
    out = zlib.gzipSync(block, { level: ${LEVEL}, chunkSize: ${OUTPUT_CHUNK_BYTES} });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message ? error.message : error) });
    return;
  }
  // The output is a view of zlib's whole output buffer (MEMBER_BYTES); posting the view would copy
  // all of that buffer. Its own bytes only, handed over; zlib's buffer is freed at the next member's
  // collection (moved into a clone nobody holds: the zlib object still holding it may live longer).
  // Only zlib's own output buffer: a small view could be a slice of this thread's shared pool.
  if (out.byteOffset !== 0 || out.byteLength !== out.buffer.byteLength) {
    const whole = out.buffer;
    out = new Uint8Array(out);
    if (whole.byteLength >= ${OUTPUT_CHUNK_BYTES}) structuredClone(whole, { transfer: [whole] });
  }
  parentPort.postMessage({ id, out }, [out.buffer]);
});
`;

interface Member {
  resolve(out: Buffer): void;
  reject(error: Error): void;
}

/**
 * A few worker threads that gzip blocks, each on its own core; ended with close(). One pool may serve
 * several streams at once (a backup set's archives written side by side): each member comes back to
 * the stream that sent it.
 */
export class GzipThreads {
  readonly #workers: Worker[] = [];
  readonly #members = new Map<number, Member>();
  readonly #source: string;
  readonly #size: number;
  #next = 0;
  #failed: Error | null = null;

  /** `size`: how many threads at most (default one per core, up to four) */
  constructor(background: boolean, size = WORKERS) {
    this.#source = workerSource(background);
    this.#size = size;
  }

  /** Members a stream keeps in flight: one compressing and one queued per thread, so no thread waits for input; memory stays bounded. */
  get inFlight(): number {
    return this.#size * 2;
  }

  /** Threads start with the first members: a volume of one small file needs one. */
  #spawn(): Worker {
    const worker = new Worker(this.#source, { eval: true });
    worker.on("message", (message: { id: number; out?: Uint8Array; error?: string }) => {
      const member = this.#members.get(message.id);
      if (!member) return;
      this.#members.delete(message.id);
      // The stream's sink frees it once written (lib/backups/archive.ts).
      if (message.out) member.resolve(markFreeable(Buffer.from(message.out.buffer, message.out.byteOffset, message.out.byteLength)));
      else member.reject(new Error(`gzip failed: ${message.error}`));
    });
    worker.on("error", (error) => this.#fail(error));
    worker.on("exit", (code) => {
      if (this.#members.size > 0) this.#fail(new Error(`a gzip thread exited with code ${code} during a backup`));
    });
    this.#workers.push(worker);
    return worker;
  }

  /** Compresses `block` as one gzip member; the block's memory is handed to the thread when it is the block's own. */
  gzip(block: Buffer): Promise<Buffer> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    const worker = this.#workers[id % this.#size] ?? this.#spawn();
    return new Promise<Buffer>((resolve, reject) => {
      this.#members.set(id, { resolve, reject });
      const own = block.byteOffset === 0 && block.byteLength === block.buffer.byteLength;
      worker.postMessage({ id, block }, own ? [block.buffer as ArrayBuffer] : []);
    });
  }

  #fail(error: Error) {
    this.#failed ??= error;
    for (const member of this.#members.values()) member.reject(error);
    this.#members.clear();
  }

  async close(): Promise<void> {
    // Any member still waiting is abandoned (its stream is being destroyed, or the set it belongs to
    // failed): it fails rather than leaving a stream of a shared pool waiting for it forever.
    this.#fail(new Error("the gzip threads were closed"));
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}

/**
 * gzip like pigz: the stream is compressed as a series of independent gzip members, several at a
 * time on worker threads, and written in order. Concatenated members are one valid gzip file
 * (RFC 1952 §2.2), which `gzip -d`, `tar xzf` and Node's gunzip all read. Memory is bounded by
 * two members per thread (GzipThreads.inFlight) × MEMBER_BYTES.
 *
 * Worker threads rather than zlib's async calls on the libuv pool: a pool thread cannot be given a
 * priority of its own, and a backup beside serving (`background`) compresses at the background
 * niceness (lib/db/background-priority.ts), so the event loop gets a core at once when a request
 * comes instead of sharing both with the compression (bench/beside-maintenance.ts, backup row).
 */
export class ParallelGzip extends Transform {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #inFlight: Promise<Buffer>[] = [];
  readonly #collect = collectingAsItMoves({ youngEvery: COLLECT_EVERY_BYTES });
  readonly #threads: GzipThreads;
  /** whether the threads are this stream's own (ended with it) or a pool it shares (ended by its owner) */
  readonly #ownThreads: boolean;

  /** `threads`: a pool shared with other streams, which its owner closes; else the stream starts and ends its own. */
  constructor(options: { background?: boolean; threads?: GzipThreads } = {}) {
    super();
    this.#ownThreads = !options.threads;
    this.#threads = options.threads ?? new GzipThreads(options.background ?? false);
  }

  _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#collect(chunk.length);
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < MEMBER_BYTES) return callback();
    this.#startMember();
    this.#drain(this.#threads.inFlight - 1).then(() => callback(), callback);
  }

  _flush(callback: TransformCallback): void {
    if (this.#pendingBytes > 0) this.#startMember();
    this.#drain(0).then(() => (this.#ownThreads ? this.#threads.close() : Promise.resolve()).then(() => callback(), callback), callback);
  }

  _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A shared pool's members of this stream are simply not awaited any more.
    if (!this.#ownThreads) return callback(error);
    this.#threads.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  #startMember() {
    // A single chunk (the tar writer reads 1 MiB at a time) is compressed as it is, not copied.
    const block = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    // The pieces were copied into the block: a tar writer's own read buffers are freed now.
    if (this.#pending.length > 1) for (const piece of this.#pending) freeNow(piece);
    this.#pending = [];
    this.#pendingBytes = 0;
    const member = this.#threads.gzip(block);
    // Rejections are handled when the member is awaited in order; never left unhandled meanwhile.
    member.catch(() => undefined);
    this.#inFlight.push(member);
  }

  async #drain(keep: number) {
    while (this.#inFlight.length > keep) this.push(await this.#inFlight.shift()!);
  }
}
