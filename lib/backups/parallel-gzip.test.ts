import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";
import { expect, test } from "vitest";
import { backgroundThreads } from "@/test/helpers/threads";
import { ArchiveFileStream } from "@/lib/backups/archive";
import { GzipThreads, ParallelGzip } from "@/lib/backups/parallel-gzip";

const MiB = 1024 * 1024;

/** Compressible text and incompressible bytes, in chunks of the tar writer's sizes (512-byte headers, 1 MiB bodies, a short tail). */
function sample(): Buffer[] {
  const text = Buffer.from("2026-03-01T12:00:00Z INFO run finished\n".repeat(Math.ceil((1.5 * MiB) / 39))).subarray(0, 1.5 * MiB);
  const noise = crypto.randomBytes(2 * MiB + 777);
  const body = Buffer.concat([text, noise]);
  const chunks: Buffer[] = [Buffer.alloc(512, 1)];
  for (let at = 0; at < body.length; at += MiB) chunks.push(Buffer.from(body.subarray(at, at + MiB)));
  return chunks;
}

async function drain(source: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of source) void _chunk;
}

async function compress(chunks: Buffer[], gzip: ParallelGzip): Promise<Buffer> {
  // Copies: the gzip hands a chunk's memory to its thread, the comparison needs the original.
  const input = chunks.map((chunk) => Buffer.from(chunk));
  const out: Buffer[] = [];
  await pipeline(Readable.from(input), gzip, async (source) => {
    for await (const chunk of source) out.push(chunk as Buffer);
  });
  return Buffer.concat(out);
}

test("the members, compressed on worker threads, are one gzip file that Node and stock gzip read back byte for byte", async () => {
  const chunks = sample();
  const gz = await compress(chunks, new ParallelGzip());
  const original = Buffer.concat(chunks);
  expect(zlib.gunzipSync(gz).equals(original)).toBe(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallel-gzip-"));
  try {
    fs.writeFileSync(path.join(dir, "x.gz"), gz);
    expect(execFileSync("gzip", ["-dc", path.join(dir, "x.gz")], { maxBuffer: 16 * MiB }).equals(original)).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("an empty stream is an empty output, and a failing source ends the threads with the error", async () => {
  expect((await compress([], new ParallelGzip())).length).toBe(0);
  const failing = Readable.from(
    (async function* () {
      yield Buffer.alloc(2 * MiB, 7);
      throw new Error("disk read failed");
    })(),
  );
  await expect(pipeline(failing, new ParallelGzip(), drain)).rejects.toThrow("disk read failed");
});

const lowered = () => backgroundThreads().size;

test.skipIf(process.platform !== "linux")("a background gzip compresses on threads at the background niceness; the event loop keeps its own", async () => {
  const before = os.getPriority();
  const already = lowered();
  let seen = 0;
  const source = Readable.from(
    (async function* () {
      // The first members are on their threads once the stream asks for more after them.
      for (let i = 0; i < 4; i += 1) yield crypto.randomBytes(MiB);
      const deadline = Date.now() + 10_000;
      while (lowered() === already && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
      seen = lowered() - already;
    })(),
  );
  await pipeline(source, new ParallelGzip({ background: true }), drain);
  expect(seen).toBeGreaterThanOrEqual(1);
  expect(os.getPriority()).toBe(before);
  // The threads end with the stream.
  expect(lowered()).toBe(already);
});

// A backup set writes two archives side by side on one pool of threads: each member must come back to its own stream, in order.
test("two streams sharing one pool of threads each come out whole, and the pool outlives both until its owner closes it", async () => {
  const threads = new GzipThreads(false);
  try {
    const first = sample();
    const second = sample().reverse();
    const [a, b] = await Promise.all([compress(first, new ParallelGzip({ threads })), compress(second, new ParallelGzip({ threads }))]);
    expect(zlib.gunzipSync(a).equals(Buffer.concat(first))).toBe(true);
    expect(zlib.gunzipSync(b).equals(Buffer.concat(second))).toBe(true);
    // Still open after both streams ended: a third archive of the same set uses it.
    const third = sample();
    expect(zlib.gunzipSync(await compress(third, new ParallelGzip({ threads }))).equals(Buffer.concat(third))).toBe(true);
  } finally {
    await threads.close();
  }
});

test("closing a shared pool fails the members still waiting instead of leaving their stream hanging", async () => {
  const threads = new GzipThreads(false);
  const failed = expect(threads.gzip(crypto.randomBytes(4 * MiB))).rejects.toThrow(/closed/);
  await threads.close();
  await failed;
  await expect(threads.gzip(Buffer.alloc(10))).rejects.toThrow(/closed/);
});

// A restore's safety set, which nobody waits for, compresses on one thread: one isolate and its buffers in the server, not one per core.
test.skipIf(process.platform !== "linux")("a pool of one thread compresses every member on that thread, whole and in order", async () => {
  const already = lowered();
  const threads = new GzipThreads(true, 1);
  try {
    const chunks = [...sample(), ...sample()];
    const out = await compress(chunks, new ParallelGzip({ threads }));
    expect(zlib.gunzipSync(out).equals(Buffer.concat(chunks))).toBe(true);
    // The pool's threads live until it is closed: all it ever started is still there to count.
    expect(lowered() - already).toBe(1);
    expect(threads.inFlight).toBe(2);
  } finally {
    await threads.close();
  }
});

test("each compressed member is freed as soon as the archive file holds it, and the file is whole", async () => {
  const chunks = sample();
  const original = Buffer.concat(chunks);
  const members: Buffer[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "parallel-gzip-"));
  try {
    const file = path.join(dir, "x.tar.gz");
    const keep = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        members.push(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), new ParallelGzip(), keep, ArchiveFileStream.create(file));
    expect(members.length).toBeGreaterThan(1);
    // Written, then freed: the buffers the stream handed on hold nothing any more.
    expect(members.every((member) => member.byteLength === 0)).toBe(true);
    expect(zlib.gunzipSync(fs.readFileSync(file)).equals(original)).toBe(true);
    // Created new: never over an existing file.
    await expect(pipeline(Readable.from([Buffer.from("x")]), ArchiveFileStream.create(file))).rejects.toThrow(/EEXIST/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
