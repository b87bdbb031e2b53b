import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, test } from "vitest";
import { closeAppDatabase, getDb, openDatabase, setAppDatabase } from "@/lib/db/client";
import { storageSamples } from "@/lib/db/schema";
import { startStorageSampler, stopStorageSampler, takeStorageSample } from "@/lib/storage/sampler";
import { getStorageUsage } from "@/lib/storage/usage";
import { testBackend } from "@/test/helpers/postgres";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";

let root: TestDataRoot;
beforeAll(() => (root = createTestDataRoot()));
afterAll(() => {
  stopStorageSampler();
  root.cleanup();
});

const sampleTimes = async () => (await getDb().select({ at: storageSamples.takenAt }).from(storageSamples).groupBy(storageSamples.takenAt)).map((r) => r.at);
const waitForTicks = () => new Promise((resolve) => setTimeout(resolve, 300));

test("a sample stores one row per volume and database file", async () => {
  const result = await takeStorageSample();
  expect(result.stored).toBe(true);
  const rows = await getDb()
    .select()
    .from(storageSamples)
    .where(sql`${storageSamples.takenAt} = ${result.taken_at}`);
  expect(rows.map((r) => r.volume).sort()).toEqual(
    ["backups", "database", "database_wal", "mimir_config", "mimir_data", "mimir_logs", "mimir_pipelines", "mimir_plugins"].sort(),
  );
});

test("the boot sampler steps aside while someone else (the scheduled job) samples on time", async () => {
  const before = await sampleTimes();
  startStorageSampler(); // first tick at once: the sample above is younger than one interval and not its own
  await waitForTicks();
  stopStorageSampler();
  expect(await sampleTimes()).toEqual(before);

  // Older than one interval (15 min by default), younger than a day, so thinning keeps it.
  await getDb()
    .update(storageSamples)
    .set({ takenAt: new Date(Date.now() - 20 * 60_000).toISOString() });
  startStorageSampler(); // now the latest sample is stale: the sampler takes one
  const deadline = Date.now() + 10_000;
  while ((await sampleTimes()).length < 2 && Date.now() < deadline) await waitForTicks();
  stopStorageSampler();
  expect((await sampleTimes()).length).toBe(2);
});

/** The SQLite file opened read-only stands for a full disk; PostgreSQL has no such file. */
test.skipIf(testBackend() === "postgres")("when the database refuses writes (full disk, read-only), sizes are still measured and nothing throws", async () => {
  const file = root.config.paths.database;
  closeAppDatabase();
  setAppDatabase(openDatabase(file, { readonly: true }), file);
  try {
    const result = await takeStorageSample();
    expect(result.stored).toBe(false);
    const usage = await getStorageUsage({ fresh: true });
    expect(usage.volumes.find((v) => v.volume === "mimir_data")!.bytes).toBeGreaterThan(0);
  } finally {
    closeAppDatabase();
    setAppDatabase(openDatabase(file), file);
  }
});
