import os from "node:os";
import { afterEach, beforeEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getDb } from "@/lib/db/client";
import { backgroundThreads } from "@/test/helpers/threads";
import { WalCheckpointWorker } from "@/lib/db/sqlite-checkpoint-worker";

let root: TestDataRoot;
beforeEach(() => {
  root = createTestDataRoot();
  getDb().$client.exec("CREATE TABLE IF NOT EXISTS numbers (n INTEGER NOT NULL)");
});
afterEach(() => root.cleanup());

// Niceness is a thread's own on Linux only; elsewhere the work runs at the usual priority.
test.skipIf(process.platform !== "linux")("a background worker's thread runs at the background niceness, the event loop's thread keeps its own", async () => {
  const before = os.getPriority();
  const lowered = () => backgroundThreads().size;
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
