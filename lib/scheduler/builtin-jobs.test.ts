import { afterAll, beforeAll, expect, test } from "vitest";
import fs from "node:fs";
import { loadConfig } from "@/lib/config/load";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { registerBuiltinJobs, unregisterBuiltinJob } from "@/lib/plugins/builtin-jobs";
import { ensureBuiltinJobs } from "@/lib/scheduler/boot";
import { deleteJob, findJobRow, getJob, updateJob } from "@/lib/jobs/service";
import { getPipeline } from "@/lib/pipelines/service";

let root: TestDataRoot;
beforeAll(() => {
  root = createTestDataRoot();
  registerBuiltinJobs([
    {
      id: "system-test-ping",
      name: "Test ping",
      pipeline: { name: "system-test-ping", description: "pings", steps: [{ name: "ping", plugin: "System.webhook", config: { url: "http://127.0.0.1:9/" } }] },
      cron: () => "0 5 * * *",
      enabledByDefault: () => false,
    },
  ]);
});
afterAll(() => {
  unregisterBuiltinJob("system-test-ping");
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

test("config.yaml edited while the server was stopped reaches the built-in jobs at the next start; a Jobs-page edit holds until the value changes again", async () => {
  const fresh = createTestDataRoot();
  try {
    await ensureBuiltinJobs(fresh.config);
    expect(await getJob("system-backup")).toMatchObject({ enabled: false, cron_expr: "0 2 * * *" });
    expect((await getJob("system-prune-backups")).enabled).toBe(false);

    // Edited by hand while stopped, then a restart (boot reads the file and ensures the built-in jobs).
    fs.writeFileSync(fresh.config.configFile, 'persistence:\n  backup_enabled: true\nbackups:\n  schedule: "0 5 * * *"\n');
    const edited = loadConfig({ MIMIR_HOME: fresh.home }, fresh.home);
    await ensureBuiltinJobs(edited);
    expect(await getJob("system-backup")).toMatchObject({ enabled: true, cron_expr: "0 5 * * *" });
    expect((await getJob("system-prune-backups")).enabled).toBe(true);

    // A person's edit on the Jobs page is kept across restarts while the configuration stays the same …
    await updateJob("system-prune-backups", { enabled: false }, null);
    await updateJob("system-backup", { cron_expr: "15 1 * * *" }, null);
    await ensureBuiltinJobs(edited);
    expect((await getJob("system-prune-backups")).enabled).toBe(false);
    expect((await getJob("system-backup")).cron_expr).toBe("15 1 * * *");

    // … and a later change of the value itself wins again.
    fs.writeFileSync(fresh.config.configFile, 'persistence:\n  backup_enabled: false\nbackups:\n  schedule: "0 5 * * *"\n');
    await ensureBuiltinJobs(loadConfig({ MIMIR_HOME: fresh.home }, fresh.home));
    expect(await getJob("system-backup")).toMatchObject({ enabled: false, cron_expr: "15 1 * * *" });
  } finally {
    fresh.cleanup();
  }
});
