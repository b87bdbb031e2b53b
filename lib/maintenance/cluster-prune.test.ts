import { afterEach, beforeEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { rawSql } from "@/test/helpers/postgres";
import { createPipeline } from "@/lib/pipelines/service";
import { createJob } from "@/lib/jobs/service";
import { runRetentionCleanup } from "@/lib/maintenance/retention";

let root: TestDataRoot;
beforeEach(() => {
  root = createTestDataRoot();
});
afterEach(() => root.cleanup());

const DAY_MS = 24 * 60 * 60 * 1000;
const ago = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();
const count = async (table: string) => Number((await rawSql<{ n: number | string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);

async function fire(slotDaysAgo: number) {
  await rawSql(
    "INSERT INTO job_fires (job_id, scheduled_for, claimed_by, claimed_at, execution_id) VALUES ('nightly', ?, 'someone', ?, NULL)",
    ago(slotDaysAgo),
    ago(slotDaysAgo),
  );
}

async function instance(id: string, stoppedDaysAgo: number | null) {
  await rawSql(
    "INSERT INTO instances (id, host, pid, version, started_at, last_seen, lease_until, stopped_at, stop_reason) VALUES (?, 'h', 1, '0.1.0', ?, ?, ?, ?, ?)",
    id,
    ago(40),
    ago(stoppedDaysAgo ?? 0),
    ago(stoppedDaysAgo ?? -1),
    stoppedDaysAgo === null ? null : ago(stoppedDaysAgo),
    stoppedDaysAgo === null ? null : "shut down",
  );
}

test("the retention pass deletes fire claims older than the retention period and instances stopped over a week ago; a dry run deletes none", async () => {
  await createPipeline("name: nightly\nsteps:\n  - {name: one, plugin: System.analyze}\n", null);
  await createJob({ id: "nightly", name: "nightly", pipeline: "nightly", cron_expr: "0 2 * * *", enabled: false }, null);
  for (const days of [45, 31, 29, 1]) await fire(days);
  await instance("stopped-long-ago", 8);
  await instance("stopped-yesterday", 1);
  await instance("live-elsewhere", null);
  const instancesBefore = await count("instances");

  const dry = await runRetentionCleanup({ dry_run: true, retention_days: 30 });
  expect(dry).toMatchObject({ fire_claims_deleted: 0, stopped_instances_deleted: 0 });
  expect(await count("job_fires")).toBe(4);

  const report = await runRetentionCleanup({ dry_run: false, retention_days: 30 });
  expect(report).toMatchObject({ fire_claims_deleted: 2, stopped_instances_deleted: 1 });
  expect(await count("job_fires")).toBe(2);
  expect(await rawSql("SELECT id FROM instances WHERE id = 'stopped-long-ago'")).toHaveLength(0);
  expect(await count("instances")).toBe(instancesBefore - 1);

  // retention_days 0 keeps the history, and so the claims that go with it.
  await fire(400);
  expect(await runRetentionCleanup({ dry_run: false, retention_days: 0 })).toMatchObject({ fire_claims_deleted: 0 });
  expect(await count("job_fires")).toBe(3);
});
