import fs from "node:fs";
import os from "node:os";
import { afterEach, beforeEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getDb } from "@/lib/db/client";
import { BACKGROUND_NICENESS } from "@/lib/db/background-priority";
import { WalCheckpointWorker } from "@/lib/db/sqlite-checkpoint-worker";

let root: TestDataRoot;
beforeEach(() => {
  root = createTestDataRoot();
  getDb().$client.exec("CREATE TABLE IF NOT EXISTS numbers (n INTEGER NOT NULL)");
});
afterEach(() => root.cleanup());

/** The niceness of each thread of this process, by thread id (Linux: /proc/self/task/<tid>/stat, field 19). */
function threadNiceness(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of fs.readdirSync("/proc/self/task")) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      out.set(tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
    } catch {
      // The thread ended while listed.
    }
  }
  return out;
}

// Niceness is a thread's own on Linux only; elsewhere the work runs at the usual priority.
test.skipIf(process.platform !== "linux")("a background worker's thread runs at the background niceness, the event loop's thread keeps its own", async () => {
  const before = os.getPriority();
  const lowered = () => [...threadNiceness().values()].filter((nice) => nice === BACKGROUND_NICENESS).length;
  const already = lowered();
  const worker = new WalCheckpointWorker(root.config.paths.database, { background: true });
  try {
    // A round trip proves the worker's script ran, its first line included.
    await worker.checkpoint("PASSIVE");
    expect(lowered()).toBe(already + 1);
    expect(os.getPriority()).toBe(before);
  } finally {
    await worker.close();
  }
  const usual = new WalCheckpointWorker(root.config.paths.database);
  try {
    await usual.checkpoint("PASSIVE");
    expect(lowered()).toBe(already);
  } finally {
    await usual.close();
  }
});
