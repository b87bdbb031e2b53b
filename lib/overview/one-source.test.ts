import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { getDb } from "@/lib/db/client";
import { jobExecutions, scheduledJobs } from "@/lib/db/schema";
import { getJob, listJobs } from "@/lib/jobs/service";
import { listJobsQuery } from "@/lib/jobs/inputs";
import { getResetPreview } from "@/lib/maintenance/reset";
import { findLatestSamples } from "@/lib/storage/queries";
import { takeStorageSample } from "@/lib/storage/sampler";
import { getStorageUsage } from "@/lib/storage/usage";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";

/** B9: the same quantity reads the same on every page, because one function computes it. */
let root: TestDataRoot;
beforeAll(() => (root = createTestDataRoot()));
afterAll(() => root.cleanup());

describe("one source per number", () => {
  test("a job whose runs were written to the history directly (as the seed does) is not 'never run'", async () => {
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    await getDb()
      .insert(scheduledJobs)
      .values({ id: "seeded", name: "Seeded job", pipeline: "seeded.yaml", cronExpr: "*/5 * * * *", createdAt: at(60), updatedAt: at(60) });
    await getDb()
      .insert(jobExecutions)
      .values([
        { id: "r1", jobId: "seeded", pipeline: "seeded", startTime: at(40), status: "success", triggeredBy: "scheduler" },
        { id: "r2", jobId: "seeded", pipeline: "seeded", startTime: at(28), status: "failed", error: "plugin exited 1", triggeredBy: "scheduler" },
      ]);
    const listed = (await listJobs(listJobsQuery.parse({}))).items.find((job) => job.id === "seeded")!;
    expect(listed.last_run).toBe(at(28));
    expect(listed.last_result).toMatchObject({ success: false, status: "failed", execution_id: "r2", error: "plugin exited 1" });
    expect((await getJob("seeded")).last_result).toEqual(listed.last_result);
  });

  test("the Reset card's volume sizes are the Storage page's, the live database included", async () => {
    fs.writeFileSync(path.join(root.config.paths.logs, "app.log"), Buffer.alloc(20_000));
    const usage = await getStorageUsage({ fresh: true });
    const preview = await getResetPreview();
    for (const volume of preview.volumes) {
      expect(volume.size_bytes, volume.name).toBe(usage.volumes.find((v) => v.volume === volume.name)!.bytes);
    }
    expect(preview.measured_at).toBe(usage.measured_at);
    const data = preview.volumes.find((v) => v.name === "mimir_data")!;
    expect(data.size_bytes).toBeGreaterThanOrEqual(fs.statSync(root.config.paths.database).size);
  });

  test("a sample and the sizes the pages show are one measurement", async () => {
    const sample = await takeStorageSample();
    const usage = await getStorageUsage({ tables: false });
    expect(usage.measured_at).toBe(sample.taken_at);
    const sampled = new Map((await findLatestSamples()).map((row) => [row.volume, row.bytes]));
    for (const volume of usage.volumes) expect(sampled.get(volume.volume), volume.volume).toBe(volume.bytes);
  });
});
