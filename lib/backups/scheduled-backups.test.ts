import fs from "node:fs";
import { afterEach, describe, expect, test } from "vitest";
import { rawSql } from "@/test/helpers/postgres";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { loadConfig } from "@/lib/config/load";
import { getConfig } from "@/lib/config/service";
import { reloadConfigFromDisk, updateConfig } from "@/lib/config/edit";
import { deleteJob, getJob } from "@/lib/jobs/service";
import { ensureBuiltinJobs } from "@/lib/scheduler/boot";
import { SCHEDULED_BACKUP_JOB_IDS } from "@/lib/backups/plugin";
import { followConfigInBuiltinJobs } from "@/lib/scheduler/builtin-config";
import { backupFreshnessProblem } from "@/lib/backups/freshness";
import { getBackupSettings, getScheduledBackups, setScheduledBackups } from "@/lib/backups/schedule";

let root: TestDataRoot;
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  root?.cleanup();
});

/** A data root as boot leaves it: the built-in jobs created from the configuration, and following it. */
async function setUp(env: Record<string, string> = {}) {
  root = createTestDataRoot(env);
  await ensureBuiltinJobs(root.config);
  stops.push(followConfigInBuiltinJobs());
}

async function backupJobs() {
  return Promise.all(SCHEDULED_BACKUP_JOB_IDS.map(async (id) => getJob(id)));
}

/** The value a fresh process would boot with: config.yaml read again from disk. */
function enabledOnDisk(): boolean {
  return loadConfig({ MIMIR_HOME: root.home }, root.home).values.persistence.backup_enabled;
}

async function auditActions(): Promise<string[]> {
  return (await rawSql<{ action: string }>("SELECT action FROM audit_log ORDER BY id")).map((row) => row.action);
}

describe("switching scheduled backups", () => {
  test("on writes config.yaml, enables the three backup jobs and turns on /health's freshness check; off undoes both", async () => {
    await setUp();
    expect((await backupJobs()).map((job) => job.enabled)).toEqual([false, false, false]);
    expect(await backupFreshnessProblem()).toBeNull();

    const on = await setScheduledBackups(true, null);
    expect(on.settings).toMatchObject({ enabled: true, enabled_by_env: null });
    expect(on.jobs).toEqual(SCHEDULED_BACKUP_JOB_IDS.map((id) => expect.objectContaining({ id, enabled: true })));
    expect(fs.readFileSync(root.config.configFile, "utf8")).toMatch(/persistence:\n\s+backup_enabled: true/);
    expect(enabledOnDisk()).toBe(true);
    for (const job of await backupJobs()) {
      expect(job.enabled).toBe(true);
      expect(job.next_run).not.toBeNull();
    }
    expect(await backupFreshnessProblem()).toMatch(/no backup has been made yet/);
    expect(await auditActions()).toContain("backup.schedule_on");

    const off = await setScheduledBackups(false, null);
    expect(off.settings.enabled).toBe(false);
    expect(enabledOnDisk()).toBe(false);
    for (const job of await backupJobs()) {
      expect(job.enabled).toBe(false);
      expect(job.next_run).toBeNull();
    }
    expect(await backupFreshnessProblem()).toBeNull();
    expect(await auditActions()).toContain("backup.schedule_off");
    // The other built-in jobs are not touched.
    expect((await getJob("system-retention-cleanup")).enabled).toBe(true);
  });

  test("one rule, one path: the switch writes the config value and the follower alone switches the jobs, each once", async () => {
    await setUp();
    await setScheduledBackups(true, null);
    const actions = await auditActions();
    // Before, the switch enabled the jobs itself (job.enable) and then the follower updated them again.
    expect(actions).not.toContain("job.enable");
    expect(actions.filter((action) => action === "job.update").length).toBeLessThanOrEqual(SCHEDULED_BACKUP_JOB_IDS.length);
    expect((await backupJobs()).map((job) => job.enabled)).toEqual([true, true, true]);
  });

  test("switches made at the same moment take turns: the last one wins in config.yaml and in the jobs", async () => {
    await setUp();
    const answers = await Promise.all([setScheduledBackups(true, null), setScheduledBackups(false, null)]);
    expect(answers.map((answer) => answer.settings.enabled)).toEqual([true, false]);
    expect(enabledOnDisk()).toBe(false);
    expect((await backupJobs()).map((job) => job.enabled)).toEqual([false, false, false]);
  });

  test("set by MIMIR_BACKUP_ENABLED: refused with 409 env_override, and neither the file nor a job changes", async () => {
    await setUp({ MIMIR_BACKUP_ENABLED: "false" });
    expect(getBackupSettings().enabled_by_env).toBe("MIMIR_BACKUP_ENABLED");
    await expect(setScheduledBackups(true, null)).rejects.toMatchObject({
      code: "env_override",
      status: 409,
      message: expect.stringContaining("MIMIR_BACKUP_ENABLED"),
    });
    expect(fs.existsSync(root.config.configFile)).toBe(false);
    expect((await backupJobs()).map((job) => job.enabled)).toEqual([false, false, false]);
    expect(getConfig().values.persistence.backup_enabled).toBe(false);
    expect(await auditActions()).not.toContain("backup.schedule_on");
  });

  test("when config.yaml cannot be written, the jobs are put back as they were", async () => {
    await setUp();
    const broken = "persistence:\n  retention_days: [\n";
    fs.writeFileSync(root.config.configFile, broken);
    await expect(setScheduledBackups(true, null)).rejects.toMatchObject({ code: "config_invalid" });
    expect(fs.readFileSync(root.config.configFile, "utf8")).toBe(broken);
    expect((await backupJobs()).map((job) => job.enabled)).toEqual([false, false, false]);
  });

  test("a built-in backup job a person deleted stays deleted, and is reported as such", async () => {
    await setUp();
    await deleteJob("system-verify-backups", null);
    const on = await setScheduledBackups(true, null);
    expect(on.jobs.find((job) => job.id === "system-verify-backups")).toEqual({ id: "system-verify-backups", name: "system-verify-backups", enabled: null });
    expect((await getJob("system-backup")).enabled).toBe(true);
    await expect(getJob("system-verify-backups")).rejects.toMatchObject({ code: "not_found" });
  });

  test("the setting changed on the Settings page, by PUT /api/v1/config or by a reloaded file switches the jobs too", async () => {
    await setUp();
    await updateConfig({ persistence: { backup_enabled: true } });
    expect((await getScheduledBackups()).jobs.map((job) => job.enabled)).toEqual([true, true, true]);

    fs.writeFileSync(root.config.configFile, "persistence:\n  backup_enabled: false\n");
    await reloadConfigFromDisk();
    expect((await backupJobs()).map((job) => job.enabled)).toEqual([false, false, false]);
  });
});
