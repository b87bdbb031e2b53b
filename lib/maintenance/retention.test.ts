import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { BUSY_TIMEOUT_MS, getDb } from "@/lib/db/client";
import { rawSql, testBackend } from "@/test/helpers/postgres";
import { seedDemoData } from "@/lib/demo/seed";
import { runRetentionCleanup, EXECUTION_LOG_FOLDER } from "@/lib/maintenance/retention";
import { vacuumDatabase } from "@/lib/maintenance/service";
import { listJobsWithHistory } from "@/lib/maintenance/queries";
import { freezeWrites, thawWrites } from "@/lib/db/write-freeze";
import { pauseAutoCheckpoint } from "@/lib/db/sqlite-maintenance";
import Database from "better-sqlite3";

let root: TestDataRoot;
const DAY = 86_400_000;
const count = async (where: string, ...params: unknown[]) =>
  (await rawSql<{ n: number }>(`SELECT CAST(count(*) AS INTEGER) AS n FROM job_executions WHERE ${where}`, ...params))[0]!.n;
const ids = async (text: string, ...params: unknown[]) => (await rawSql<{ id: string }>(text, ...params)).map((row) => row.id);
/** How SQLite gives pages back (auto-vacuum, VACUUM into its WAL): PostgreSQL's VACUUM is tested in postgres-page.test.ts. */
const sqliteOnly = test.skipIf(testBackend() === "postgres");

beforeAll(async () => {
  root = createTestDataRoot();
  await seedDemoData(root.config, { executions: 6000, days: 90, logFiles: 50, seed: 7 });
});
afterAll(() => root.cleanup());

describe("retention cleanup", () => {
  test("the form's job choices are the jobs with history, each with its run count and name", async () => {
    const expected = await rawSql<{ id: string; name: string | null; runs: number }>(
      "SELECT e.job_id AS id, j.name AS name, CAST(count(*) AS INTEGER) AS runs FROM job_executions e LEFT JOIN scheduled_jobs j ON j.id = e.job_id GROUP BY e.job_id, j.name ORDER BY e.job_id",
    );
    expect(expected.length).toBeGreaterThan(1);
    expect(await listJobsWithHistory()).toEqual(expected.map((row) => ({ ...row, runs: Number(row.runs) })));
  });

  test("a dry run counts exactly the runs older than the cut-off and changes nothing", async () => {
    const now = new Date();
    const cutoff = new Date(now.getTime() - 30 * DAY).toISOString();
    const expected = await count("start_time < ? AND status <> 'running'", cutoff);
    const total = await count("TRUE");
    const report = await runRetentionCleanup({ dry_run: true, retention_days: 30 }, { now });
    expect(report.cutoff).toBe(cutoff);
    expect(report.expired_rows).toBe(expected);
    expect(report.estimated_row_bytes).toBeGreaterThan(expected * 100);
    expect(await count("TRUE")).toBe(total);
  });

  // The batches run on a worker thread's connection: not on the app's, whose write freeze guard they
  // would pass by, so each is an admitted write that a freeze refuses.
  sqliteOnly("frozen for a switch to PostgreSQL, a cleanup deletes nothing and fails with migrating", async () => {
    const total = await count("TRUE");
    freezeWrites("copying to PostgreSQL");
    try {
      await expect(runRetentionCleanup({ dry_run: false, retention_days: 80 })).rejects.toMatchObject({ code: "migrating" });
    } finally {
      thawWrites();
    }
    expect(await count("TRUE")).toBe(total);
  });

  // A batch waiting for the lock (a VACUUM or checkpoint in another connection) waits in the worker:
  // on the app connection, with its busy_timeout set past the test's timeout, it would stop the event loop.
  sqliteOnly("a cleanup whose batch waits for the lock another connection holds leaves the event loop turning, and finishes once it is let go", async () => {
    const cutoff = new Date(Date.now() - 80 * DAY).toISOString();
    const expected = await count("start_time < ? AND status <> 'running'", cutoff);
    expect(expected).toBeGreaterThan(0);
    getDb().$client.pragma("busy_timeout = 600000");
    const other = new Database(root.config.paths.database);
    let deleting = false;
    try {
      other.exec("BEGIN IMMEDIATE");
      const cleanup = runRetentionCleanup({ dry_run: false, retention_days: 80 }, { message: (text) => void (deleting ||= text.startsWith("Deleting")) });
      while (!deleting) await new Promise((resolve) => setTimeout(resolve, 5));
      for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
      expect(await count("start_time < ? AND status <> 'running'", cutoff)).toBe(expected);
      other.exec("ROLLBACK");
      const report = await cleanup;
      expect(report.deleted_rows).toBe(expected);
      expect(await count("start_time < ? AND status <> 'running'", cutoff)).toBe(0);
    } finally {
      if (other.inTransaction) other.exec("ROLLBACK");
      other.close();
      getDb().$client.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  });

  test("removes exactly the runs older than the cut-off with their log files, keeps running ones and newer ones", async () => {
    // A run still going after 60 days (a hung step) must survive; so must every run after the cut-off.
    await rawSql(
      "INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) SELECT 'hung-run', id, pipeline, ?, 'running', 'manual' FROM scheduled_jobs LIMIT 1",
      new Date(Date.now() - 60 * DAY).toISOString(),
    );
    const now = new Date();
    const cutoff = new Date(now.getTime() - 30 * DAY).toISOString();
    const keptIds = await ids("SELECT id FROM job_executions WHERE start_time >= ? OR status = 'running' ORDER BY id", cutoff);
    const doomed = await ids("SELECT id FROM job_executions WHERE start_time < ? AND status <> 'running' ORDER BY start_time LIMIT 3", cutoff);
    const logs = path.join(root.config.paths.logs, EXECUTION_LOG_FOLDER);
    for (const id of doomed) fs.writeFileSync(path.join(logs, `${id}.log`), "old run output\n");
    const keptLog = keptIds.find((id) => fs.existsSync(path.join(logs, `${id}.log`)));
    expect(keptLog).toBeDefined();
    const expected = await count("start_time < ? AND status <> 'running'", cutoff);

    const report = await runRetentionCleanup({ dry_run: false, retention_days: 30 }, { now });

    expect(report.deleted_rows).toBe(expected);
    expect(await ids("SELECT id FROM job_executions ORDER BY id")).toEqual(keptIds);
    expect(await count("id = 'hung-run'")).toBe(1);
    expect(report.log_files_deleted).toBe(doomed.length);
    for (const id of doomed) expect(fs.existsSync(path.join(logs, `${id}.log`))).toBe(false);
    expect(fs.existsSync(path.join(logs, `${keptLog}.log`))).toBe(true);
    if (testBackend() === "postgres") return;
    // The WAL was checkpointed and truncated; the freed pages were given back (a new database has incremental auto-vacuum).
    expect(report.space_returned_by).toBe("incremental_vacuum");
    expect(report.free_pages_left).toBe(0);
    expect(report.db_bytes_after).toBeLessThan(report.db_bytes_before);
    expect(report.reclaimed_bytes).toBeGreaterThanOrEqual(report.db_bytes_before - report.db_bytes_after);
  });

  test("keep_per_job caps every job's history at its newest N runs", async () => {
    const newestPerJob = await ids(
      "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY job_id ORDER BY start_time DESC, id DESC) AS n FROM job_executions WHERE status <> 'running') AS ranked WHERE n <= 10 ORDER BY id",
    );
    const dry = await runRetentionCleanup({ dry_run: true, retention_days: 0, keep_per_job: 10 });
    const report = await runRetentionCleanup({ dry_run: false, retention_days: 0, keep_per_job: 10 });
    expect(report.over_cap_rows).toBe(dry.over_cap_rows);
    expect(report.deleted_rows).toBe(dry.over_cap_rows);
    expect(await ids("SELECT id FROM job_executions WHERE status <> 'running' ORDER BY id")).toEqual(newestPerJob);
  });

  sqliteOnly("a small database without incremental auto-vacuum gets its pages back by VACUUM, which turns it on", async () => {
    await seedDemoData(root.config, { executions: 3000, days: 90, logFiles: 0, seed: 8 });
    getDb().$client.exec("PRAGMA auto_vacuum = NONE; VACUUM;");
    expect(getDb().$client.pragma("auto_vacuum", { simple: true })).toBe(0);
    const report = await runRetentionCleanup({ dry_run: false, retention_days: 45 });
    expect(report.deleted_rows).toBeGreaterThan(0);
    expect(report.space_returned_by).toBe("vacuum");
    expect(getDb().$client.pragma("auto_vacuum", { simple: true })).toBe(2);
    expect(report.free_pages_left).toBe(0);
    expect(report.db_bytes_after).toBeLessThan(report.db_bytes_before);
  });

  // The VACUUM in its child commits the whole rebuilt file into the WAL: a commit on the app connection
  // before the child's own checkpoint would copy all of it back inside that commit, on the event loop.
  sqliteOnly("during a VACUUM the app connection never checkpoints in its commits; overlapping holds put the value back once, after the last", async () => {
    const autoCheckpoint = () => getDb().$client.pragma("wal_autocheckpoint", { simple: true });
    const original = autoCheckpoint();
    expect(original).toBeGreaterThan(0);
    const seen = new Set<unknown>();
    const watch = setInterval(() => seen.add(autoCheckpoint()), 1);
    try {
      await vacuumDatabase();
    } finally {
      clearInterval(watch);
    }
    expect(seen.has(0)).toBe(true);
    expect(autoCheckpoint()).toBe(original);

    const releaseCleanup = pauseAutoCheckpoint(getDb());
    const releaseVacuum = pauseAutoCheckpoint(getDb());
    releaseCleanup();
    releaseCleanup();
    expect(autoCheckpoint()).toBe(0);
    releaseVacuum();
    expect(autoCheckpoint()).toBe(original);
  });

  test("rotated application logs older than logging.retention_days go, the live log stays", async () => {
    const logs = root.config.paths.logs;
    const old = new Date(Date.now() - 40 * DAY);
    for (const name of ["mimir.log", "mimir1.log", "mimir2.log", "notes.log"]) {
      fs.writeFileSync(path.join(logs, name), "x".repeat(100));
      fs.utimesSync(path.join(logs, name), old, old);
    }
    fs.writeFileSync(path.join(logs, "mimir3.log"), "recent");
    const report = await runRetentionCleanup({ dry_run: false, retention_days: 0 });
    expect(report.app_logs.map((l) => l.file).sort()).toEqual(["mimir1.log", "mimir2.log"]);
    expect(
      fs
        .readdirSync(logs)
        .filter((n) => n.endsWith(".log"))
        .sort(),
    ).toEqual(["mimir.log", "mimir3.log", "notes.log"]);
  });
});

describe("interrupted maintenance leaves the live database intact", () => {
  sqliteOnly("VACUUM killed part-way (its child process gets SIGKILL): every row is still there and integrity_check passes", async () => {
    await seedDemoData(root.config, { executions: 20_000, days: 30, logFiles: 0, seed: 9 });
    getDb().$client.exec("DELETE FROM job_executions WHERE rowid % 3 = 0");
    const before = getDb().$client.prepare("SELECT count(*), sum(length(steps)) FROM job_executions").raw().get();
    getDb().$client.pragma("wal_checkpoint(TRUNCATE)");
    // Kill it once VACUUM is visibly writing its rebuilt pages into the WAL, not before it started.
    const controller = new AbortController();
    const wal = `${root.config.paths.database}-wal`;
    const watch = setInterval(() => {
      if (fs.existsSync(wal) && fs.statSync(wal).size > 512 * 1024) {
        clearInterval(watch);
        controller.abort(new Error("killed by the test"));
      }
    }, 1);
    await expect(vacuumDatabase(controller.signal)).rejects.toThrow("killed by the test");
    clearInterval(watch);
    expect(getDb().$client.pragma("wal_autocheckpoint", { simple: true })).toBeGreaterThan(0);
    expect(getDb().$client.prepare("SELECT count(*), sum(length(steps)) FROM job_executions").raw().get()).toEqual(before);
    expect(getDb().$client.pragma("integrity_check", { simple: true })).toBe("ok");
    // And the next VACUUM runs normally.
    await expect(vacuumDatabase()).resolves.toMatchObject({ free_pages_after: 0 });
  });
});
