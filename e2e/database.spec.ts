import fs from "node:fs";
import { test, expect } from "./fixtures";
import { DatabasePage, sqliteOnServerDatabase } from "./pages/database-page";

/** A job with its own history, so these tests never touch rows other specs count. */
function makeJobWithHistory(options: { oldRuns: number; newRuns: number; name?: string }) {
  const id = `e2e-db-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const name = options.name ?? `Retention ${id}`;
  const now = new Date().toISOString().replace(/\.\d+Z$/, ".000Z");
  const values = [
    ...Array.from({ length: options.oldRuns }, (_, i) => `('${id}-old-${i}', '${id}', 'p', '2024-03-0${i + 1}T02:00:00.000Z', 'success', 'scheduler')`),
    ...Array.from({ length: options.newRuns }, (_, i) => `('${id}-new-${i}', '${id}', 'p', '${now}', 'success', 'scheduler')`),
  ];
  sqliteOnServerDatabase(`
    INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, created_at, updated_at) VALUES ('${id}', '${name.replace(/'/g, "''")}', 'p', '0 1 * * *', 0, '${now}', '${now}');
    ${values.length ? `INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES ${values.join(",")};` : ""}`);
  return { id, name };
}

test.describe("Database", () => {
  test("VACUUM shows what it would gain, then the space reclaimed", async ({ page }) => {
    // Free pages to reclaim: a large run written and deleted again.
    const { id } = makeJobWithHistory({ oldRuns: 0, newRuns: 0 });
    sqliteOnServerDatabase(`
      INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by, steps) VALUES ('${id}-big', '${id}', 'p', '2026-01-01T00:00:00.000Z', 'success', 'manual', hex(randomblob(1500000)));
      DELETE FROM job_executions WHERE id = '${id}-big';
      PRAGMA wal_checkpoint(TRUNCATE);`);
    const database = new DatabasePage(page);
    await database.goto();
    expect(await database.freePages()).toBeGreaterThan(500);
    const tile = database.maintenanceTile("vacuum");
    await expect(tile).toContainText("Would give back about");
    await tile.getByRole("button", { name: "Run VACUUM" }).click();
    await expect(tile.getByTestId("maintenance-result")).toContainText(/Reclaimed [1-9][\d.]* MB/, { timeout: 30_000 });
    await expect(tile.getByTestId("maintenance-result")).toContainText(/free pages \d+ → 0/);
    await expect.poll(() => database.freePages()).toBe(0);
  });

  test("a retention dry run says what goes; the confirmed cleanup shrinks the history", async ({ page }) => {
    const job = makeJobWithHistory({ oldRuns: 5, newRuns: 2 });
    const database = new DatabasePage(page);
    await database.goto();
    const before = await database.tableRows("job_executions");
    const preview = await database.dryRun({ jobLabel: new RegExp(job.id) });
    await expect(preview).toContainText("Dry run: 5 runs started before");
    // The form still shows what the figures were counted for.
    await expect(page.getByRole("combobox", { name: /^Runs of/ })).toHaveValue(job.id);
    expect(await database.tableRows("job_executions")).toBe(before);

    await preview.getByRole("button", { name: "Delete 5 runs" }).click();
    const confirm = page.getByRole("alertdialog", { name: "Confirm cleanup" });
    await expect(confirm).toContainText(`permanently deletes 5 execution records of job ${job.id}`);
    await expect(confirm.getByRole("button", { name: "Cancel" })).toBeFocused();
    await confirm.getByRole("button", { name: "Delete for good" }).click();
    await expect(page.getByTestId("retention-result")).toContainText("deleted 5 runs", { timeout: 30_000 });
    await expect.poll(() => database.tableRows("job_executions")).toBe(before - 5);
    await expect(page.getByRole("combobox", { name: /^Runs of/ }).locator("option", { hasText: job.id })).toHaveText(/\(2 runs\)/);
  });

  test("downloads the jobs table as CSV, quoted so a spreadsheet reads it back", async ({ page }) => {
    const job = makeJobWithHistory({ oldRuns: 0, newRuns: 1, name: 'Nightly, "quoted" sync 🚀' });
    const database = new DatabasePage(page);
    await database.goto();
    const downloading = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download scheduled_jobs as CSV" }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toMatch(/^scheduled_jobs-\d{8}-\d{6}\.csv$/);
    const text = fs.readFileSync(await download.path(), "utf8");
    expect(text.split("\r\n")[0]).toBe("id,name,pipeline,cron_expr,enabled,next_run,last_run,last_result,created_at,updated_at,owner,owner_scope");
    expect(text).toContain(`${job.id},"Nightly, ""quoted"" sync 🚀",p,0 1 * * *,0,`);
  });

  test("the troubleshooting panel checks the guide's symptoms live", async ({ page }) => {
    const database = new DatabasePage(page);
    await database.goto();
    for (const check of ["lock_contention", "disk_space", "integrity", "permissions"]) {
      await expect(page.getByTestId(`check-${check}`)).toBeVisible();
    }
    await expect(page.getByTestId("check-lock_contention")).toContainText("Journal mode is wal");
    await expect(page.getByTestId("check-permissions")).toContainText("mimir.db: mode 0600");
  });

  test("the SQL console reads, pages and refuses writes with a clear message", async ({ page }) => {
    const job = makeJobWithHistory({ oldRuns: 0, newRuns: 0 });
    const database = new DatabasePage(page);
    await database.goto();
    await database.runQuery(`SELECT id, name FROM scheduled_jobs WHERE id = '${job.id}'`);
    await expect(page.getByTestId("query-result")).toContainText(job.id);
    await database.runQuery("DELETE FROM scheduled_jobs");
    await expect(page.getByRole("alert").filter({ hasText: "The console only reads" })).toBeVisible();
    // The refused statement stays in the box to be corrected.
    await expect(page.getByLabel("SQL (one read-only statement)")).toHaveValue("DELETE FROM scheduled_jobs");
    // Credentials are never shown: the statement is refused before it runs, with no result table.
    await database.runQuery("SELECT * FROM users");
    await expect(
      page
        .getByRole("alert")
        .filter({ hasText: "'users' holds credentials (password or token hashes, session ids, sealed channel and offsite destination secrets)" }),
    ).toBeVisible();
    await expect(page.getByTestId("query-result")).toHaveCount(0);
    await database.runQuery(`SELECT id FROM scheduled_jobs WHERE id = '${job.id}'`);
    await expect(page.getByTestId("query-result")).toContainText(job.id);
  });

  test("scripts: 202 + operation for maintenance, clear 4xx for bad input", async ({ api }) => {
    const started = await api.post("/api/v1/maintenance/analyze");
    expect(started.status()).toBe(202);
    const { id } = await started.json();
    await expect.poll(async () => (await (await api.get(`/api/v1/operations/${id}`)).json()).status).toBe("succeeded");

    const write = await api.post("/api/v1/query", { data: { sql: "DROP TABLE job_executions" } });
    expect(write.status()).toBe(422);
    expect((await write.json()).error.code).toBe("read_only");
    const credentials = await api.post("/api/v1/query", { data: { sql: "SELECT s.id_hash FROM job_executions j JOIN sessions s ON 1" } });
    expect(credentials.status()).toBe(403);
    expect((await credentials.json()).error).toMatchObject({ code: "forbidden", message: expect.stringContaining("'sessions' holds credentials") });
    expect((await api.get("/api/v1/export/csv/..%2F..%2Fetc%2Fpasswd")).status()).toBe(404);
    const badType = await api.post("/api/v1/retention/cleanup", { data: { dry_run: "no" } });
    expect(badType.status()).toBe(400);
    const dump = await api.get("/api/v1/export/sql");
    expect(dump.status()).toBe(200);
    expect(await dump.text()).toMatch(/^PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n[\s\S]*COMMIT;\n$/);
  });
});
