import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { rawSql, testBackend } from "@/test/helpers/postgres";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { fillDataRoot, treeHashes } from "@/test/helpers/backup-fixtures";
import { getDb } from "@/lib/db/client";
import { isAppError } from "@/lib/errors";
import { createFirstAdmin } from "@/lib/auth/service";
import { createApiToken } from "@/lib/auth/tokens";
import type { Principal } from "@/lib/auth/scopes";
import { listBackups } from "@/lib/backups/catalog";
import { restoreBackup } from "@/lib/backups/service";
import type { BackupVolume } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";
import { waitForOperation } from "@/lib/operations/service";
import { syncPipelinesWithVolume } from "@/lib/pipelines/volume-sync";
import { ensureBuiltinJobs } from "@/lib/scheduler/boot";
import { BUILTIN_JOBS } from "@/lib/builtins";
import { stopScheduler } from "@/lib/scheduler/engine";
import { getInstanceName, getResetPreview, instanceNameOf, startReset } from "@/lib/maintenance/reset";
import type { ResetResult } from "@/lib/maintenance/types";

let root: TestDataRoot;
let admin: Principal;

const rows = async (table: string) => (await rawSql<{ n: number }>(`SELECT CAST(count(*) AS INTEGER) AS n FROM ${table}`))[0]!.n;
/** sorted here, not by the server's collation, so both backends compare alike */
const ids = async (table: string, column = "id") => (await rawSql<{ v: string }>(`SELECT ${column} AS v FROM ${table}`)).map((row) => row.v).sort();
const BUILTIN_IDS = BUILTIN_JOBS.map((job) => job.id).sort();
const BUILTIN_PIPELINES = BUILTIN_JOBS.map((job) => job.pipeline.name).sort();

/** What boot leaves plus a person's work: two jobs with runs, two pipeline files, logs, a plugin, a vector store. */
beforeEach(async () => {
  root = createTestDataRoot();
  await fillDataRoot(root.config);
  fs.writeFileSync(path.join(root.config.paths.data, "chromem.db"), "vector store");
  await syncPipelinesWithVolume();
  await ensureBuiltinJobs(root.config);
  const user = await createFirstAdmin({ username: "admin", password: "reset-test-password" });
  admin = { kind: "user", id: user.id, name: user.username, scope: "admin", role: "admin" };
  await createApiToken({ name: "ci", scope: "admin" }, admin);
});

afterEach(() => {
  // The reset restarts the scheduler as boot would; its timers must not outlive the data root.
  stopScheduler();
  root.cleanup();
});

async function reset(volumes: BackupVolume[] = [...VOLUMES]) {
  const operation = await waitForOperation((await startReset({ confirm: await getInstanceName(), volumes }, admin)).id);
  return operation;
}

async function expectAppError(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(isAppError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

describe("reset all data", () => {
  test("the instance name is mimir- and the first 8 hex digits of the instance id", async () => {
    expect(instanceNameOf("3F2504E0-4F89-11D3-9A0C-0305E82C3301")).toBe("mimir-3f2504e0");
    const [{ value: instanceId }] = (await rawSql<{ value: string }>("SELECT value FROM system_metadata WHERE key = 'instance_id'")) as [{ value: string }];
    expect(await getInstanceName()).toBe(`mimir-${instanceId.replaceAll("-", "").slice(0, 8)}`);
  });

  test("the preview names what each volume would lose, with row counts", async () => {
    const preview = await getResetPreview();
    expect(preview.rows).toEqual({ jobs: 2 + BUILTIN_IDS.length, pipelines: await rows("pipelines"), executions: 2 });
    expect(preview.rows.pipelines).toBeGreaterThan(BUILTIN_PIPELINES.length);
    const data = preview.volumes.find((volume) => volume.name === "mimir_data")!;
    // blob.bin and chromem.db; never the live mimir.db
    expect(data.files).toBe(2);
    expect(preview.volumes.find((volume) => volume.name === "mimir_plugins")!.bytes).toBe(200_000);
    expect(preview.kept_tables).toEqual(expect.arrayContaining(["users", "api_tokens", "audit_log"]));
  });

  test("empties every volume after a pre-reset backup that restores everything; users, tokens and the audit log stay", async () => {
    const before = { jobs: await rows("scheduled_jobs"), pipelines: await rows("pipelines"), executions: await rows("job_executions") };
    // A built-in job deleted by a person is remembered; a reset forgets that, like a fresh install.
    await rawSql("INSERT INTO system_metadata (key, value, updated_at) VALUES ('builtin_job_removed:gone', 'x', ?)", new Date().toISOString());

    const operation = await reset();
    expect(operation.error).toBeNull();
    expect(operation.status).toBe("succeeded");
    const result = operation.result as ResetResult;

    // Only what a fresh install creates is left: the built-in jobs and their pipelines, no history.
    expect(await ids("scheduled_jobs")).toEqual(BUILTIN_IDS);
    expect(await ids("pipelines", "name")).toEqual(BUILTIN_PIPELINES);
    expect(await rows("job_executions")).toBe(0);
    expect(await rows("storage_samples")).toBe(0);
    expect(await ids("operations")).toEqual([operation.id]);
    expect(await rows("system_metadata WHERE key LIKE 'builtin_job_removed:%'")).toBe(0);
    expect(result.builtin_jobs.sort()).toEqual(BUILTIN_IDS);
    if (testBackend() === "sqlite") expect(getDb().$client.pragma("integrity_check", { simple: true })).toBe("ok");
    expect(await ids("users", "username")).toEqual(["admin"]);
    expect(await ids("api_tokens", "name")).toEqual(["ci"]);

    // The volumes hold nothing of before: the data folder only the live database, the pipelines
    // folder only the built-ins' files written back by the rebuild.
    const { paths } = root.config;
    expect(fs.readdirSync(paths.data).filter((name) => !name.startsWith("mimir.db"))).toEqual([]);
    expect(fs.readdirSync(paths.plugins)).toEqual([]);
    expect(fs.readdirSync(paths.config)).toEqual([]);
    expect(Object.keys(treeHashes(paths.logs))).toEqual([]);
    expect(fs.readdirSync(paths.pipelines).sort()).toEqual(BUILTIN_PIPELINES.map((name) => `${name}.yaml`).sort());
    for (const folder of [paths.data, paths.logs, paths.config, paths.plugins, paths.pipelines]) expect(fs.statSync(folder).isDirectory()).toBe(true);
    expect(result.deleted_files).toMatchObject({ mimir_data: 2, mimir_plugins: 1, mimir_config: 1 });
    expect(result.deleted_rows).toMatchObject({ scheduled_jobs: before.jobs, job_executions: before.executions, pipelines: before.pipelines });

    // The safety backup is listed, holds the counts that were there, and brings everything back.
    const safety = (await listBackups({ limit: 50 })).items.find((backup) => backup.id === result.safety_backup_id)!;
    expect(safety.trigger).toBe("pre-reset");
    expect(safety.row_counts).toMatchObject({ scheduled_jobs: before.jobs, pipelines: before.pipelines, job_executions: before.executions });

    const audit = await rawSql<{ actor: string; result: string; details: string }>("SELECT actor, result, details FROM audit_log WHERE action = 'data.reset'");
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: "admin", result: "ok" });
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ safety_backup_id: result.safety_backup_id, volumes: [...VOLUMES] });

    await restoreBackup(result.safety_backup_id, VOLUMES, { safetyBackup: false });
    expect({ jobs: await rows("scheduled_jobs"), pipelines: await rows("pipelines"), executions: await rows("job_executions") }).toEqual(before);
    expect(await ids("job_executions")).toEqual(["exec-1", "exec-2"]);
    expect(fs.existsSync(path.join(paths.data, "chromem.db"))).toBe(true);
    expect(fs.statSync(path.join(paths.plugins, "Input.http")).size).toBe(200_000);
  });

  test("a wrong confirmation is refused and changes nothing", async () => {
    const hashes = treeHashes(root.config.paths.data, { includeDatabases: false });
    const jobs = await ids("scheduled_jobs");
    await expectAppError(startReset({ confirm: "mimir-00000000", volumes: [...VOLUMES] }, admin), "invalid_input");
    expect(await ids("scheduled_jobs")).toEqual(jobs);
    expect(await rows("operations")).toBe(0);
    expect(treeHashes(root.config.paths.data)).toEqual(hashes);
    expect((await listBackups({ limit: 10 })).items).toEqual([]);
  });

  test("resetting only mimir_logs leaves the database and the other volumes untouched", async () => {
    const jobs = await ids("scheduled_jobs");
    const executions = await ids("job_executions");
    const others = Object.fromEntries(["data", "config", "plugins", "pipelines"].map((v) => [v, treeHashes(root.config.paths[v as "data"])]));
    const operation = await reset(["mimir_logs"]);
    expect(operation.status).toBe("succeeded");
    expect(fs.readdirSync(root.config.paths.logs)).toEqual([]);
    expect(await ids("scheduled_jobs")).toEqual(jobs);
    expect(await ids("job_executions")).toEqual(executions);
    expect(Object.fromEntries(["data", "config", "plugins", "pipelines"].map((v) => [v, treeHashes(root.config.paths[v as "data"])]))).toEqual(others);
  });

  test("resetting only mimir_pipelines deletes the pipeline rows too, so the sync does not write the files back", async () => {
    const operation = await reset(["mimir_pipelines"]);
    expect(operation.status).toBe("succeeded");
    expect(await rows("pipelines")).toBe(0);
    expect(fs.readdirSync(root.config.paths.pipelines)).toEqual([]);
    // The jobs stay (the dialog says they fail until their pipelines exist again).
    expect(await rows("scheduled_jobs")).toBe(2 + BUILTIN_IDS.length);
  });

  test("a failing safety backup deletes nothing", async () => {
    // The backups folder is a file: the set cannot be written.
    fs.rmSync(root.config.paths.backups, { recursive: true, force: true });
    fs.writeFileSync(root.config.paths.backups, "not a folder");
    const hashes = Object.fromEntries(["data", "logs", "config", "plugins", "pipelines"].map((v) => [v, treeHashes(root.config.paths[v as "data"])]));
    const jobs = await ids("scheduled_jobs");
    const executions = await ids("job_executions");

    const operation = await reset();
    expect(operation.status).toBe("failed");
    expect(await ids("scheduled_jobs")).toEqual(jobs);
    expect(await ids("job_executions")).toEqual(executions);
    expect(Object.fromEntries(["data", "logs", "config", "plugins", "pipelines"].map((v) => [v, treeHashes(root.config.paths[v as "data"])]))).toEqual(hashes);
    const audit = await rawSql<{ result: string }>("SELECT result FROM audit_log WHERE action = 'data.reset'");
    expect(audit.map((row) => row.result)).toEqual(["failed"]);
  });
});
