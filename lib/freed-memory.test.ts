import v8 from "node:v8";
import vm from "node:vm";
import { expect, test } from "vitest";
import { supported, trim } from "@mimir/malloc-trim";
import { collectingAsItMoves, collectFullSoon, freedMemoryTrims, freeNow, markFreeable, releasingFreedMemory } from "@/lib/freed-memory";

const rssMb = () => process.memoryUsage.rss() / 1e6;

/** Frees ~130 MB of mid-sized buffers while keeping one in fifty: glibc keeps the holes between them. */
function fragmentHeap(): Buffer[] {
  const kept: Buffer[] = [];
  let all: Buffer[] | null = [];
  for (let i = 0; i < 2000; i += 1) {
    const buffer = Buffer.alloc(64 * 1024 + (i % 7) * 1000, 1);
    all.push(buffer);
    if (i % 50 === 0) kept.push(buffer);
  }
  all = null;
  return kept;
}

test("the addon is built by npm ci and hands freed memory back to the system", async () => {
  // This machine and the image run glibc: a missing build would silently keep the memory.
  expect(supported).toBe(true);
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const before = rssMb();
  const kept = fragmentHeap();
  const fragmented = rssMb();
  expect(fragmented).toBeGreaterThan(before + 100);
  // V8 frees a collected buffer's memory on a background thread after the collection: poll until the trim sees it.
  let trimmed = fragmented;
  for (let attempt = 0; attempt < 100 && trimmed > fragmented - 80; attempt += 1) {
    gc();
    await trim();
    trimmed = rssMb();
    if (trimmed > fragmented - 80) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(trimmed).toBeLessThan(fragmented - 80);
  expect(kept).toHaveLength(40);
});

// Before anything starts the server's own pace (lib/freed-memory-serving.test.ts, a process of its own): only the work trims here.
test("memory is handed back while work runs, every second", async () => {
  const start = freedMemoryTrims();
  await releasingFreedMemory(async () => {
    // Polls: at least one trim happens inside the work, by the timer, not only at its end.
    while (freedMemoryTrims() === start) await new Promise((resolve) => setTimeout(resolve, 50));
  });
  expect(freedMemoryTrims()).toBeGreaterThan(start);
});

test("a buffer its owner marked is freed the moment it is spent, while its holder still lives", async () => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as (options?: { type: "minor" }) => void;
  const holder = { chunk: markFreeable(Buffer.alloc(32 * 1024 * 1024, 7)) };
  const before = process.memoryUsage().arrayBuffers;
  freeNow(holder.chunk);
  expect(holder.chunk.byteLength).toBe(0);
  // The memory moved into a clone nobody holds: a young collection frees it (V8 frees it on a background thread after the collection).
  let after = before;
  for (let attempt = 0; attempt < 100 && after > before - 30 * 1024 * 1024; attempt += 1) {
    gc({ type: "minor" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    after = process.memoryUsage().arrayBuffers;
  }
  expect(after).toBeLessThan(before - 30 * 1024 * 1024);
  expect(holder).toBeDefined();
});

test("only a buffer spanning its whole memory is marked; anything else is left as it is when spent", () => {
  // A slice of Node's shared pool: other buffers live in the same memory.
  const pooled = markFreeable(Buffer.from("run finished"));
  freeNow(pooled);
  expect(pooled.toString()).toBe("run finished");
  // A view of part of a larger buffer.
  const whole = Buffer.alloc(64 * 1024, 3);
  const part = markFreeable(whole.subarray(0, 100));
  freeNow(part);
  expect(whole.byteLength).toBe(64 * 1024);
  expect(part[0]).toBe(3);
  // Never marked.
  const unmarked = Buffer.alloc(64 * 1024, 5);
  freeNow(unmarked);
  expect(unmarked[0]).toBe(5);
  // Marked, then handed to another thread (its memory already gone from here): nothing to free, no error.
  const handed = markFreeable(Buffer.alloc(64 * 1024, 9));
  structuredClone(handed.buffer, { transfer: [handed.buffer as ArrayBuffer] });
  expect(() => freeNow(handed)).not.toThrow();
  // Spent twice: the second time there is nothing left to free.
  const twice = markFreeable(Buffer.alloc(64 * 1024, 1));
  freeNow(twice);
  expect(() => freeNow(twice)).not.toThrow();
});

test("a stream collects the young generation after every so many bytes it moved, and everything after every so many more, where gc() is exposed", async () => {
  const saved = globalThis.gc;
  const collections: unknown[] = [];
  globalThis.gc = ((options?: unknown) => void collections.push(options ?? "full")) as typeof globalThis.gc;
  try {
    const moved = collectingAsItMoves({ youngEvery: 1000 });
    for (let i = 0; i < 25; i += 1) moved(100);
    expect(collections).toEqual([{ type: "minor" }, { type: "minor" }]);

    collections.length = 0;
    const paced = collectingAsItMoves({ youngEvery: 1000, fullEvery: 3000 });
    for (let i = 0; i < 70; i += 1) paced(100);
    // A full collection frees the young generation too: the young count starts again after it.
    expect(collections).toEqual([{ type: "minor" }, { type: "minor" }, "full", { type: "minor" }, { type: "minor" }, "full", { type: "minor" }]);

    // After long work: one full collection, on the next turn of the event loop.
    collections.length = 0;
    collectFullSoon();
    expect(collections).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(collections).toEqual(["full"]);
  } finally {
    globalThis.gc = saved;
  }
  // Without gc() (tests, the CLI): nothing to call.
  globalThis.gc = undefined;
  try {
    expect(() => collectingAsItMoves({ youngEvery: 10, fullEvery: 20 })(100)).not.toThrow();
    expect(() => collectFullSoon()).not.toThrow();
  } finally {
    globalThis.gc = saved;
  }
});
