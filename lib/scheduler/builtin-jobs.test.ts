import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { BUILTIN_JOBS } from "@/lib/scheduler/builtin-jobs";
import { ensureBuiltinJobs } from "@/lib/scheduler/boot";
import { deleteJob, findJobRow, getJob, updateJob } from "@/lib/jobs/service";
import { getPipeline } from "@/lib/pipelines/service";

let root: TestDataRoot;
beforeAll(() => {
  root = createTestDataRoot();
  BUILTIN_JOBS.push({
    id: "system-test-ping",
    name: "Test ping",
    pipeline: { name: "system-test-ping", description: "pings", steps: [{ name: "ping", plugin: "System.webhook", config: { url: "http://127.0.0.1:9/" } }] },
    cron: () => "0 5 * * *",
    enabledByDefault: () => false,
  });
});
afterAll(() => {
  BUILTIN_JOBS.pop();
  root.cleanup();
});

test("built-in jobs are created once, keep a person's edits, and stay deleted once deleted", async () => {
  await ensureBuiltinJobs(root.config);
  expect(await getJob("system-test-ping")).toMatchObject({ cron_expr: "0 5 * * *", enabled: false, pipeline: "system-test-ping", pipeline_exists: true });
  expect((await getPipeline("system-test-ping")).steps).toBe(1);

  await updateJob("system-test-ping", { cron_expr: "30 6 * * *" }, null);
  await ensureBuiltinJobs(root.config);
  expect((await getJob("system-test-ping")).cron_expr).toBe("30 6 * * *");

  await deleteJob("system-test-ping", null);
  await ensureBuiltinJobs(root.config);
  expect(await findJobRow("system-test-ping")).toBeNull();
});
