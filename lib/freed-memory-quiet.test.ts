import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { expect, test } from "vitest";
import { collectFullWhenQuiet, collectingAsItMoves } from "@/lib/freed-memory";
import { trackRequest } from "@/lib/request-activity";

const QUIET_MS = 100;

// A file of its own: a vitest file runs in a process of its own, so no other test's requests count here.
test("the full collection after work waits until no request has come or been answered for 100 ms, and calls while it waits join it", async () => {
  const saved = globalThis.gc;
  const collectedAt: number[] = [];
  globalThis.gc = (() => void collectedAt.push(performance.now())) as typeof globalThis.gc;
  // What the server saw of each request, on the clock trackRequest reads.
  const answered: { start: number; end: number }[] = [];
  const server = http.createServer((_request, response) => {
    // Counted the way lib/request-gate.ts counts every request the server gets.
    trackRequest(response);
    const seen = { start: performance.now(), end: Infinity };
    answered.push(seen);
    response.once("close", () => (seen.end = performance.now()));
    response.end("{}");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const read = () => new Promise<void>((resolve, reject) => http.get(url, { agent }, (response) => response.resume().on("end", resolve)).on("error", reject));
  try {
    // A script reading every 5 ms, as bench/beside-maintenance.ts does; then it stops.
    await read();
    collectFullWhenQuiet();
    collectFullWhenQuiet();
    for (let i = 0; i < 100; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await read();
    }
    while (collectedAt.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 3 * QUIET_MS));

    // One collection for both calls, at a moment with no request in flight and none come or answered
    // in the 100 ms before. (A machine that stalled the reader that long would see it there, rightly.)
    expect(collectedAt).toHaveLength(1);
    const at = collectedAt[0]!;
    expect(answered.some((seen) => seen.start <= at && at <= seen.end)).toBe(false);
    const lastSeen = Math.max(...answered.filter((seen) => seen.end < at).map((seen) => seen.end));
    expect(at - lastSeen).toBeGreaterThanOrEqual(QUIET_MS);
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

test("a stream beside serving (whenQuiet) collects young as it goes and leaves its full collections to a quiet moment, one for however many it asked", async () => {
  const saved = globalThis.gc;
  const collections: unknown[] = [];
  globalThis.gc = ((options?: unknown) => void collections.push(options ?? "full")) as typeof globalThis.gc;
  try {
    const paced = collectingAsItMoves({ youngEvery: 1000, fullEvery: 3000, whenQuiet: true });
    for (let i = 0; i < 70; i += 1) paced(100);
    // Nothing full yet, and the young count runs on (no full collection reset it).
    expect(collections).toEqual(Array(7).fill({ type: "minor" }));
    // No request in this process: quiet at once, so the one collection asked twice comes on the next check.
    while (!collections.includes("full")) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 3 * QUIET_MS));
    expect(collections.filter((kind) => kind === "full")).toHaveLength(1);
  } finally {
    globalThis.gc = saved;
  }
});
