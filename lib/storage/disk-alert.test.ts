import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { getConfig } from "@/lib/config/service";
import { getHealth } from "@/lib/health/service";
import { buildAlertChecks, listActiveAlerts, type StorageReading } from "@/lib/storage/alerts";
import { projectDiskFull } from "@/lib/storage/history";
import { insertSamples } from "@/lib/storage/queries";
import { takeStorageSample } from "@/lib/storage/sampler";
import type { DiskProjection } from "@/lib/storage/types";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";

const MB = 1024 ** 2;
const GB = 1024 ** 3;
const VOLUMES = ["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines", "backups"] as const;

describe("B1: a shared disk's churn over minutes of history", () => {
  let root: TestDataRoot;
  beforeAll(() => (root = createTestDataRoot()));
  afterAll(() => root.cleanup());

  test("raises no disk-full alert, keeps /health free of it, and says how much history there is", async () => {
    // The walkthrough: samples over 13 minutes while other programs moved the disk's free space by
    // GBs (75.8 → 70.1 GB and back), and backups grew 1.5 MB. The last sample is a live one.
    const stats = fs.statfsSync(root.config.paths.data);
    const freeNow = stats.bavail * stats.bsize;
    const now = Date.now();
    const earlier = [
      { minutesAgo: 13, extraFree: 5.7 * GB, backups: 0 },
      { minutesAgo: 9, extraFree: 3.9 * GB, backups: 0.5 * MB },
      { minutesAgo: 5, extraFree: 1.9 * GB, backups: 1 * MB },
    ];
    await insertSamples(
      earlier.flatMap((s) =>
        VOLUMES.map((volume) => ({
          takenAt: new Date(now - s.minutesAgo * 60_000).toISOString(),
          volume,
          bytes: volume === "backups" ? s.backups : 4096,
          files: 1,
          fsFreeBytes: Math.round(freeNow + s.extraFree),
          fsTotalBytes: stats.blocks * stats.bsize,
        })),
      ),
    );
    fs.writeFileSync(`${root.config.paths.backups}/set.bin`, Buffer.alloc(1.5 * MB));

    const sample = await takeStorageSample();
    expect(sample.active_alerts).not.toContain("disk_full");
    expect((await listActiveAlerts()).map((a) => a.key)).not.toContain("disk_full");
    expect((await getHealth()).reasons.join("\n")).not.toContain("disk_full");

    const projection = await projectDiskFull();
    expect(projection.enough_history).toBe(false);
    expect(projection.samples).toBe(4);
    expect(projection.history_hours).toBeLessThan(0.25);
  });
});

describe("alert advice names only what can fix it", () => {
  let root: TestDataRoot;
  beforeAll(() => (root = createTestDataRoot()));
  afterAll(() => root.cleanup());

  const projection = (hoursLeft: number, growth: number): DiskProjection => ({
    free_bytes: 10 * GB,
    total_bytes: 100 * GB,
    measured_at: new Date().toISOString(),
    samples: 96,
    history_hours: 24,
    needed_samples: 6,
    needed_hours: 6,
    enough_history: true,
    growth_bytes_per_hour: growth,
    other_growth_bytes_per_hour: 0,
    full_at: null,
    hours_left: hoursLeft,
  });
  const reading = (over: Partial<StorageReading>): StorageReading => ({
    volumes: { mimir_data: { bytes: 10 * MB, change24h: 0 }, mimir_logs: { bytes: 1 * MB, change24h: 0 }, backups: { bytes: 1.5 * MB, change24h: 1.5 * MB } },
    disk: { freeBytes: 5 * GB, totalBytes: 100 * GB },
    projection: null,
    ...over,
  });
  const message = (r: StorageReading, key: string) => buildAlertChecks(r, getConfig()).find((c) => c.key === key)!.message;

  test("a disk filled by other programs: says so, and does not send the operator to prune 1.5 MB of backups", () => {
    const text = message(reading({}), "disk_free");
    expect(text).toMatch(/Mimir's volumes hold 12\.5 MB of the 95\.0 GB used there: other programs fill this disk/);
    expect(text).not.toMatch(/prune|keep_days/);
  });

  test("a disk Mimir fills: names its largest volume and that volume's setting", () => {
    const text = message(reading({ volumes: { backups: { bytes: 90 * GB, change24h: 0 } } }), "disk_free");
    expect(text).toContain("backups is the largest volume (90.0 GB)");
    expect(text).toContain("backups.keep_days");
  });

  test("the projection names the volume behind most of the growth, and only that one", () => {
    const logsGrow = reading({
      volumes: { mimir_logs: { bytes: 5 * GB, change24h: 4 * GB }, backups: { bytes: 1.5 * MB, change24h: 1.5 * MB } },
      projection: projection(12, 1 * GB),
    });
    const text = message(logsGrow, "disk_full");
    expect(text).toContain("mimir_logs grew 4.00 GB in the last day");
    expect(text).toContain("logging.retention_days");
    expect(text).not.toContain("backups.keep_days");
    expect(buildAlertChecks(logsGrow, getConfig()).find((c) => c.key === "disk_full")!.value).toBe(12);
  });

  test("without enough history the projection check reads as not filling, so a stale alert clears", () => {
    const thin = reading({ projection: { ...projection(3, 27 * GB), enough_history: false, hours_left: null } });
    const check = buildAlertChecks(thin, getConfig()).find((c) => c.key === "disk_full")!;
    expect(check.value).toBeGreaterThan(check.threshold.clear);
  });
});
