import { afterEach, beforeEach, expect, test } from "vitest";
import Database from "better-sqlite3";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { getDb } from "@/lib/db/client";
import { atomically, whenNoWriteWaits, whenWriteLockFree } from "@/lib/db/dialect";
import { freezeWrites, thawWrites } from "@/lib/db/write-freeze";
import { readMetadata, writeMetadata } from "@/lib/maintenance/queries";
import { systemMetadata } from "@/lib/db/schema/system";
import { toAppError } from "@/lib/to-app-error";

// A wait for the lock inside busy_timeout would now outlast the test's own timeout: a write that
// waited synchronously makes the test fail rather than pass slowly.
const LONGER_THAN_THE_TEST_MS = 600_000;
/** Turns of the event loop a pending write must let through before the lock is let go. */
const TURNS_WHILE_HELD = 20;
let root: TestDataRoot;
let other: Database.Database;

beforeEach(() => {
  root = createTestDataRoot();
  getDb().$client.pragma(`busy_timeout = ${LONGER_THAN_THE_TEST_MS}`);
  // Another connection to the same file, as a VACUUM in its child or a checkpoint worker has.
  other = new Database(root.config.paths.database);
});
afterEach(() => {
  if (other.inTransaction) other.exec("ROLLBACK");
  other.close();
  thawWrites();
  root.cleanup();
});

/** Resolves after `turns` turns of the event loop (setImmediate): only if nothing holds the loop. */
async function loopTurns(turns: number): Promise<void> {
  for (let turn = 0; turn < turns; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Polls until `settled()` says so, turning the event loop between looks. */
async function until(settled: () => boolean): Promise<void> {
  while (!settled()) await new Promise((resolve) => setTimeout(resolve, 5));
}

test("a write waits for the lock another connection holds without stopping the event loop, and lands once it is let go", async () => {
  other.exec("BEGIN IMMEDIATE");
  let landed = false;
  const write = writeMetadata("test.beside", "landed").then(() => {
    landed = true;
  });
  // The event loop keeps turning while the write waits: requests would be answered meanwhile.
  await loopTurns(TURNS_WHILE_HELD);
  expect(landed).toBe(false);
  expect(await readMetadata("test.beside")).toBeNull();
  other.exec("ROLLBACK");
  await write;
  expect(await readMetadata("test.beside")).toBe("landed");
  // The connection's own wait is as it was, for the writers that still use it.
  expect(getDb().$client.pragma("busy_timeout", { simple: true })).toBe(LONGER_THAN_THE_TEST_MS);
});

// The retention cleanup's worker runs one short transaction after another: between them it lets a
// write of the app that found the lock held go first, or that write could miss every gap.
test("whenNoWriteWaits resolves only once the writes waiting for the lock have landed", async () => {
  other.exec("BEGIN IMMEDIATE");
  const write = writeMetadata("test.first", "landed");
  // Its first attempt has found the lock held and it waits on a timer.
  await loopTurns(TURNS_WHILE_HELD);
  let clear = false;
  const cleared = whenNoWriteWaits().then(() => {
    clear = true;
  });
  await loopTurns(TURNS_WHILE_HELD);
  expect(clear).toBe(false);
  other.exec("ROLLBACK");
  await write;
  await cleared;
  expect(await readMetadata("test.first")).toBe("landed");
  await whenNoWriteWaits();
});

test("a transaction that finds the lock held runs again whole once it is free: all of it lands, once", async () => {
  other.exec("BEGIN IMMEDIATE");
  let builds = 0;
  let done = false;
  const write = atomically((tx) => {
    builds += 1;
    return [
      tx.insert(systemMetadata).values({ key: "test.a", value: "1", updatedAt: "2026-01-01T00:00:00.000Z" }),
      tx.insert(systemMetadata).values({ key: "test.b", value: "2", updatedAt: "2026-01-01T00:00:00.000Z" }),
    ];
  }).then(() => {
    done = true;
  });
  await until(() => builds >= 2);
  expect(done).toBe(false);
  other.exec("ROLLBACK");
  await write;
  expect([await readMetadata("test.a"), await readMetadata("test.b")]).toEqual(["1", "2"]);
});

test("a write that never gets the lock fails loudly with SQLITE_BUSY, a 503 database_busy, and changes nothing", async () => {
  other.exec("BEGIN IMMEDIATE");
  // It gives up at its own patience (100 ms), not the connection's ten-minute busy_timeout: waiting
  // that out would fail the test on its timeout.
  const failure = await whenWriteLockFree(
    () => getDb().insert(systemMetadata).values({ key: "test.never", value: "x", updatedAt: "2026-01-01T00:00:00.000Z" }),
    100,
  ).then(
    () => null,
    (error: unknown) => error,
  );
  expect((failure as { code?: string } | null)?.code).toMatch(/^SQLITE_BUSY/);
  expect(toAppError(failure)).toMatchObject({ code: "database_busy", status: 503 });
  other.exec("ROLLBACK");
  expect(await readMetadata("test.never")).toBeNull();
});

test("the write freeze still refuses a write that waits for the lock, with migrating", async () => {
  freezeWrites("copying to PostgreSQL");
  await expect(writeMetadata("test.frozen", "x")).rejects.toMatchObject({ code: "migrating" });
  thawWrites();
  expect(await readMetadata("test.frozen")).toBeNull();
});
