import v8 from "node:v8";
import vm from "node:vm";
import { expect, test } from "vitest";
import { supported, trim } from "@mimir/malloc-trim";
import { freedMemoryTrims, releasingFreedMemory } from "@/lib/freed-memory";

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
