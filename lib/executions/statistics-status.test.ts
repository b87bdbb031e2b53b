import { afterAll, beforeAll, expect, test } from "vitest";
import { getDb } from "@/lib/db/client";
import { jobExecutions, scheduledJobs } from "@/lib/db/schema";
import { statisticsQuery } from "@/lib/executions/inputs";
import { getExecutionStatistics } from "@/lib/executions/service";
import { listJobChoices } from "@/lib/jobs/service";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";

let root: TestDataRoot;
beforeAll(() => (root = createTestDataRoot()));
afterAll(() => root.cleanup());

test("the window statistics follow the status filter, as the history below them does (friction 6)", async () => {
  const now = Date.now();
  const at = (hoursAgo: number) => new Date(now - hoursAgo * 3_600_000).toISOString();
  await getDb()
    .insert(scheduledJobs)
    .values({ id: "0b6f2c1e-uuid-like", name: "Slow demo", pipeline: "slow.yaml", cronExpr: "0 * * * *", createdAt: at(50), updatedAt: at(50) });
  const statuses = ["success", "success", "success", "failed", "cancelled"] as const;
  await getDb()
    .insert(jobExecutions)
    .values(
      statuses.map((status, i) => ({
        id: `run-${i}`,
        jobId: "0b6f2c1e-uuid-like",
        pipeline: "slow",
        startTime: at(i + 1),
        status,
        duration: 1e9,
        triggeredBy: "scheduler" as const,
      })),
    );

  const all = await getExecutionStatistics(statisticsQuery.parse({}));
  expect(all.total_executions).toBe(5);
  const failed = await getExecutionStatistics(statisticsQuery.parse({ status: "failed" }));
  expect(failed.total_executions).toBe(1);
  expect(failed.by_status).toEqual({ failed: 1 });
  expect(statisticsQuery.safeParse({ status: "exploded" }).success).toBe(false);

  // The picker offers the job by its name, not its id.
  expect((await listJobChoices()).jobs).toContainEqual({ id: "0b6f2c1e-uuid-like", name: "Slow demo" });
});
