import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { getDb } from "@/lib/db/client";
import { jobExecutions, scheduledJobs, storageSamples, type NewJobExecutionRow, type NewStorageSampleRow } from "@/lib/db/schema";
import {
  bucketStart,
  getStorageHistory,
  getVolumeTrends,
  leastSquaresSlope,
  projectDiskFull,
  PROJECTION_MIN_HOURS,
  PROJECTION_MIN_SAMPLES,
} from "@/lib/storage/history";
import { storageHistoryQuery } from "@/lib/storage/inputs";
import { insertSamples, thinSamples } from "@/lib/storage/queries";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import type { ExecutionStatus } from "@/lib/executions/types";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse("2026-03-01T12:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

let root: TestDataRoot;
beforeAll(() => (root = createTestDataRoot()));
afterAll(() => root.cleanup());
beforeEach(async () => {
  await getDb().delete(storageSamples);
  await getDb().delete(jobExecutions);
});

/** Samples every `stepMs` back over `spanMs`, for two volumes; free space shrinks by `shrinkPerHour`. */
async function seed(spanMs: number, stepMs: number, shrinkPerHour = 0) {
  const rows: NewStorageSampleRow[] = [];
  for (let t = NOW - spanMs; t <= NOW; t += stepMs) {
    const free = 50e9 - ((t - (NOW - spanMs)) / HOUR) * shrinkPerHour;
    for (const [volume, bytes] of [
      ["mimir_data", 1e6 + (t - NOW + spanMs) / 1000],
      ["mimir_logs", 5e5],
    ] as const) {
      rows.push({ takenAt: iso(t), volume, bytes: Math.round(bytes), files: 3, fsFreeBytes: Math.round(free), fsTotalBytes: 100e9 });
    }
  }
  for (let i = 0; i < rows.length; i += 500) await insertSamples(rows.slice(i, i + 500));
  return rows.length;
}

const count = async (where = sql`1 = 1`) =>
  Number(
    (
      await getDb()
        .select({ n: sql<number>`count(*)` })
        .from(storageSamples)
        .where(where)
    )[0]!.n,
  );

describe("thinning", () => {
  test("keeps every sample of the last day, one per hour to a month, one per day beyond, nothing past the cutoff", async () => {
    await seed(45 * DAY, 15 * 60_000);
    await thinSamples({ hourlyBefore: iso(NOW - DAY), dailyBefore: iso(NOW - 30 * DAY), dropBefore: iso(NOW - 40 * DAY) });
    const lastDay = await count(sql`taken_at >= ${iso(NOW - DAY)}`);
    const month = await count(sql`taken_at >= ${iso(NOW - 30 * DAY)} AND taken_at < ${iso(NOW - DAY)}`);
    const older = await count(sql`taken_at < ${iso(NOW - 30 * DAY)}`);
    expect(lastDay).toBe((24 * 4 + 1) * 2);
    expect(month).toBe(29 * 24 * 2);
    expect(older).toBe(11 * 2); // ten days from noon to noon touch eleven calendar days
    expect(await count(sql`taken_at < ${iso(NOW - 40 * DAY)}`)).toBe(0);
    // Thinning twice changes nothing more.
    const before = await count();
    await thinSamples({ hourlyBefore: iso(NOW - DAY), dailyBefore: iso(NOW - 30 * DAY), dropBefore: iso(NOW - 40 * DAY) });
    expect(await count()).toBe(before);
  });
});

describe("history", () => {
  test.each([
    ["24h", "10min", 145],
    ["7d", "hour", 169],
    ["30d", "day", 31],
  ] as const)("range %s groups by %s in SQL", async (range, bucket, points) => {
    await seed(30 * DAY, HOUR / 6);
    const history = await getStorageHistory({ range }, NOW);
    expect(history.bucket).toBe(bucket);
    expect(history.volumes).toHaveLength(points);
    const last = history.volumes.at(-1)!;
    expect(last.mimir_logs).toBe(5e5);
    expect(last.mimir_data).toBeGreaterThan(1e6);
    expect(history.volumes.map((p) => p.t)).toEqual([...history.volumes.map((p) => p.t)].sort());
  });

  test("one series on its own, and runs counted per bucket by status", async () => {
    await seed(DAY, HOUR);
    await getDb()
      .insert(scheduledJobs)
      .values({ id: "j1", name: "j1", pipeline: "p", cronExpr: "* * * * *", createdAt: iso(NOW), updatedAt: iso(NOW) });
    const run = (id: string, at: number, status: ExecutionStatus): NewJobExecutionRow => ({
      id,
      jobId: "j1",
      pipeline: "p",
      startTime: iso(at),
      status,
      triggeredBy: "scheduler",
    });
    await getDb()
      .insert(jobExecutions)
      .values([run("a", NOW - 3 * DAY, "success"), run("b", NOW - 2 * DAY, "success"), run("c", NOW - 2 * DAY + 5, "failed"), run("d", NOW - HOUR, "running")]);
    const history = await getStorageHistory({ range: "7d", series: "mimir_logs" }, NOW);
    expect(history.volumes.every((p) => p.mimir_data === undefined && p.mimir_logs === 5e5)).toBe(true);
    const byHour = new Map(history.executions.map((p) => [p.t, p]));
    expect(byHour.get(bucketStart(iso(NOW - 2 * DAY).slice(0, 13)))).toMatchObject({ success: 1, failed: 1, other: 0 });
    expect(byHour.get(bucketStart(iso(NOW - HOUR).slice(0, 13)))).toMatchObject({ other: 1 });
    expect(history.executions.reduce((n, p) => n + p.success + p.failed + p.other, 0)).toBe(4);
  });

  test("trends give the change over the last day", async () => {
    await seed(2 * DAY, HOUR);
    const trends = new Map((await getVolumeTrends(NOW)).map((t) => [t.volume, t]));
    expect(trends.get("mimir_logs")?.change_24h).toBe(0);
    expect(trends.get("mimir_data")?.change_24h).toBe(Math.round(DAY / 1000));
  });

  test("a sample written late (an older time, a newer id) is neither the latest nor mistaken for it", async () => {
    await seed(2 * DAY, HOUR);
    await insertSamples([{ takenAt: iso(NOW - 30 * HOUR), volume: "mimir_logs", bytes: 1, files: 1 }]);
    const trends = new Map((await getVolumeTrends(NOW)).map((t) => [t.volume, t]));
    expect(trends.get("mimir_logs")).toMatchObject({ bytes: 5e5, change_24h: 0, measured_at: iso(NOW) });
  });
});

/**
 * Samples every `stepMs` over `spanMs` of all six watched volumes: mimir_data grows `ourPerHour`,
 * the rest hold still, and other programs on the same disk take `otherPerHour` (negative frees).
 */
async function seedDisk(spanMs: number, stepMs: number, rates: { ourPerHour: number; otherPerHour: number; otherSwing?: number }) {
  const rows: NewStorageSampleRow[] = [];
  let i = 0;
  for (let t = NOW - spanMs; t <= NOW; t += stepMs, i += 1) {
    const hours = (t - (NOW - spanMs)) / HOUR;
    // otherSwing: another tenant's churn, up and down by that many bytes on alternate samples
    const free = 50e9 - hours * (rates.ourPerHour + rates.otherPerHour) - (i % 2) * (rates.otherSwing ?? 0);
    for (const volume of ["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines", "backups"]) {
      const bytes = volume === "mimir_data" ? 1e6 + hours * rates.ourPerHour : 5e5;
      rows.push({ takenAt: iso(t), volume, bytes: Math.round(bytes), files: 3, fsFreeBytes: Math.round(free), fsTotalBytes: 100e9 });
    }
  }
  await insertSamples(rows);
}

describe("disk-full projection", () => {
  test("projects at the rate Mimir's volumes grow, against the free space now", async () => {
    await seedDisk(DAY, HOUR, { ourPerHour: 1e9, otherPerHour: 0 }); // 26 GB left at the end
    const projection = await projectDiskFull(NOW);
    expect(projection.enough_history).toBe(true);
    expect(projection.growth_bytes_per_hour).toBeCloseTo(1e9, -3);
    expect(projection.other_growth_bytes_per_hour).toBeCloseTo(0, -3);
    expect(projection.hours_left).toBeCloseTo(26, 3);
    expect(projection.full_at).toBe(iso(NOW + 26 * HOUR));
  });

  test("other programs' use of the disk is reported as theirs, never projected as Mimir's growth", async () => {
    await seedDisk(DAY, HOUR, { ourPerHour: 1_000, otherPerHour: 1e9, otherSwing: 3e9 });
    const projection = await projectDiskFull(NOW);
    expect(projection.enough_history).toBe(true);
    expect(projection.growth_bytes_per_hour).toBeCloseTo(1_000, 0);
    expect(projection.other_growth_bytes_per_hour! / 1e9).toBeCloseTo(1, 1);
    // 26 GB at 1 kB/h: millions of hours, not one day
    expect(projection.hours_left!).toBeGreaterThan(1e6);
  });

  test.each([
    ["13 minutes of samples (the walkthrough's false alert)", 13 * 60_000, 60_000],
    ["a long span with too few samples", 12 * HOUR, 4 * HOUR],
    ["many samples over too short a span", 5 * HOUR, 15 * 60_000],
  ])("no projection from %s: it says how much history there is and what it needs", async (_name, span, step) => {
    await seedDisk(span, step, { ourPerHour: 2e9, otherPerHour: 25e9 });
    const projection = await projectDiskFull(NOW);
    expect(projection).toMatchObject({ enough_history: false, growth_bytes_per_hour: null, hours_left: null, full_at: null });
    expect(projection.needed_hours).toBe(PROJECTION_MIN_HOURS);
    expect(projection.needed_samples).toBe(PROJECTION_MIN_SAMPLES);
    expect(projection.history_hours).toBeCloseTo(span / HOUR, 5);
  });

  test("no date when Mimir's volumes are not growing", async () => {
    await seedDisk(DAY, HOUR, { ourPerHour: 0, otherPerHour: 5e8 });
    const flat = await projectDiskFull(NOW);
    expect(flat.enough_history).toBe(true);
    expect(flat.full_at).toBeNull();
    expect(flat.hours_left).toBeNull();
  });

  test("least squares on a straight line gives its slope", () => {
    expect(
      leastSquaresSlope([
        { x: 0, y: 10 },
        { x: 1, y: 8 },
        { x: 2, y: 6 },
      ]),
    ).toBe(-2);
  });
});

describe("history query", () => {
  test.each([
    [{ range: "7d" }, true],
    [{ since: "2026-01-01T00:00:00Z", volume: "mimir_logs" }, true],
    [{ range: "1y" }, false],
    [{ since: "yesterday" }, false],
    [{ since: "2999-01-01T00:00:00Z" }, false],
    [{ range: "24h", since: "2026-01-01T00:00:00Z" }, false],
    [{ volume: "../etc" }, false],
  ])("%j valid: %s", (query, valid) => {
    expect(storageHistoryQuery.safeParse(query).success).toBe(valid);
  });
});
