import fs from "node:fs";
import os from "node:os";
import { afterEach, beforeEach, expect, test } from "vitest";
import { sql } from "drizzle-orm";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getDb } from "@/lib/db/client";
import { readSqliteOffThread } from "@/lib/db/off-thread";
import { BACKGROUND_NICENESS } from "@/lib/db/background-priority";

let root: TestDataRoot;
beforeEach(() => {
  root = createTestDataRoot();
  getDb().$client.exec("CREATE TABLE numbers (n INTEGER NOT NULL)");
  getDb().$client.exec("INSERT INTO numbers (n) VALUES (1), (2), (3)");
});
afterEach(() => root.cleanup());

// The reads /metrics reuses walk whole tables: they must see committed rows only, all from one snapshot.
test("a read off the event loop sees the committed rows, not a write still open on the app connection", async () => {
  const app = getDb().$client;
  app.exec("BEGIN IMMEDIATE");
  try {
    app.exec("INSERT INTO numbers (n) VALUES (100)");
    const [counted, summed] = await readSqliteOffThread(root.config.paths.database, [
      { sql: "SELECT count(*) FROM numbers", params: [] },
      { sql: "SELECT sum(n) FROM numbers WHERE n >= ?", params: [2] },
    ]);
    expect(counted).toEqual([[3]]);
    expect(summed).toEqual([[5]]);
  } finally {
    app.exec("ROLLBACK");
  }
});

test("the event loop keeps turning while a long read runs off it", async () => {
  // A recursive CTE of a few million steps: a second or so of work inside one statement.
  const long = { sql: "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT count(*) FROM c", params: [3_000_000] };
  let ticks = 0;
  let longestGapMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
    ticks += 1;
  }, 5);
  const started = performance.now();
  try {
    const [[[n]]] = (await readSqliteOffThread(root.config.paths.database, [long])) as [[[number]]];
    expect(n).toBe(3_000_000);
  } finally {
    clearInterval(timer);
  }
  const tookMs = performance.now() - started;
  // The same statement on the app connection holds the loop for its whole run: the gap is the statement.
  expect(ticks).toBeGreaterThan(tookMs / 5 / 4);
  expect(longestGapMs).toBeLessThan(tookMs / 2);
});

/** How many threads of this process run at `nice` (Linux: /proc/self/task/<tid>/stat, field 19). */
function threadsAtNiceness(nice: number): number {
  let n = 0;
  for (const tid of fs.readdirSync("/proc/self/task")) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]) === nice) n += 1;
    } catch {
      // The thread ended while listed.
    }
  }
  return n;
}

// A pass over a whole table beside a serving event loop must not take the loop's core from it.
test.skipIf(process.platform !== "linux")("the read runs at the background niceness, the event loop's thread keeps its own", async () => {
  const before = os.getPriority();
  const long = { sql: "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?) SELECT count(*) FROM c", params: [3_000_000] };
  let seen = 0;
  const timer = setInterval(() => (seen = Math.max(seen, threadsAtNiceness(BACKGROUND_NICENESS))), 5);
  try {
    await readSqliteOffThread(root.config.paths.database, [long]);
  } finally {
    clearInterval(timer);
  }
  expect(seen).toBe(1);
  expect(os.getPriority()).toBe(before);
});

test("an error in a statement comes back as a rejection with SQLite's code", async () => {
  await expect(readSqliteOffThread(root.config.paths.database, [{ sql: "SELECT * FROM missing_table", params: [] }])).rejects.toMatchObject({
    code: "SQLITE_ERROR",
    message: expect.stringMatching(/no such table: missing_table/),
  });
});

test("reads one after another on one thread: a second call does not start another", async () => {
  const threads = () => fs.readdirSync("/proc/self/task").length;
  await readSqliteOffThread(root.config.paths.database, [{ sql: "SELECT 1", params: [] }]);
  const after = threads();
  const answers = await Promise.all(
    [1, 2, 3].map((n) => readSqliteOffThread(root.config.paths.database, [{ sql: "SELECT count(*) + ? FROM numbers", params: [n] }])),
  );
  expect(answers).toEqual([[[[4]]], [[[5]]], [[[6]]]]);
  expect(threads()).toBe(after);
});

test("readOffThread keys the rows by the select's fields", async () => {
  const { readOffThread } = await import("@/lib/db/off-thread");
  const fields = { n: sql<number>`n`, twice: sql<number>`n * 2` };
  const rows = await readOffThread<{ n: number; twice: number }>(
    fields,
    getDb()
      .select(fields)
      .from(sql`numbers`)
      .orderBy(sql`n`),
  );
  expect(rows).toEqual([
    { n: 1, twice: 2 },
    { n: 2, twice: 4 },
    { n: 3, twice: 6 },
  ]);
});
