import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { expect, test } from "vitest";
import { collectFullWhenQuiet } from "@/lib/freed-memory";
import { trackRequest } from "@/lib/request-activity";

const QUIET_MS = 100;

// A file of its own: a vitest file runs in a process of its own, so no other test's requests count here.
test("the full collection after work waits until no request has come or been answered for 100 ms, and calls while it waits join it", async () => {
  const saved = globalThis.gc;
  const collectedAt: number[] = [];
  globalThis.gc = (() => void collectedAt.push(performance.now())) as typeof globalThis.gc;
  // Counted the way lib/request-gate.ts counts every request the server gets.
  const server = http.createServer((_request, response) => {
    trackRequest(response);
    response.end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const read = () => new Promise<void>((resolve, reject) => http.get(url, { agent }, (response) => response.resume().on("end", resolve)).on("error", reject));
  try {
    // A script reading every 5 ms, as bench/beside-maintenance.ts does; then it stops.
    const reads: { start: number; end: number }[] = [];
    const timedRead = async () => {
      const start = performance.now();
      await read();
      reads.push({ start, end: performance.now() });
    };
    await timedRead();
    collectFullWhenQuiet();
    collectFullWhenQuiet();
    for (let i = 0; i < 100; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await timedRead();
    }
    while (collectedAt.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 3 * QUIET_MS));

    // One collection for both calls, at a moment with no read in flight and none ended in the
    // 100 ms before (less a millisecond: the server counts an answer ended just before the client has
    // read it). A machine that stalled the reader that long would see it there, rightly.
    expect(collectedAt).toHaveLength(1);
    const at = collectedAt[0]!;
    expect(reads.some((r) => r.start <= at && at <= r.end)).toBe(false);
    const lastEnded = Math.max(...reads.filter((r) => r.end < at).map((r) => r.end));
    expect(at - lastEnded).toBeGreaterThanOrEqual(QUIET_MS - 1);
  } finally {
    globalThis.gc = saved;
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
  // Without gc() (tests, the CLI): nothing waits and nothing is called.
  globalThis.gc = undefined;
  try {
    expect(() => collectFullWhenQuiet()).not.toThrow();
  } finally {
    globalThis.gc = saved;
  }
});
