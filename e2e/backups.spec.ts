import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test, expect, removeAndMeasureAgain } from "./fixtures";
import { E2E_ADMIN, E2E_HOME } from "./env";
import { BackupsPage } from "./pages/backups-page";

// One data root for the whole suite: these run in order (the first proves the empty state).
test.describe.configure({ mode: "serial" });

const BIG_PLUGIN = path.join(E2E_HOME, "plugins", "e2e-big-plugin.bin");

test.describe("Backups", () => {
  // The restore below brings the plugin back with the rest of the set: it goes once the describe is done.
  test.afterAll(() => removeAndMeasureAgain(BIG_PLUGIN));

  test("Back up now shows progress that survives a reload, then a new verified set", async ({ page }) => {
    const backups = new BackupsPage(page);
    await backups.goto();
    await expect(page.getByTestId("backups-empty")).toBeVisible();
    // Incompressible bytes make the archive take a few seconds, so the running state can be seen.
    fs.writeFileSync(BIG_PLUGIN, crypto.randomBytes(64 * 1024 * 1024));

    await backups.backUpNow.click();
    await expect(backups.progress("Backup")).toBeVisible();
    await page.reload();
    await expect(backups.progress("Backup")).toBeVisible();
    // The byte count shows while it runs; on a quiet machine the 64 MB set may already be done by now.
    await expect(page.getByText(/of [\d.]+ MB/).or(page.getByTestId("operation-succeeded"))).toBeVisible();

    await expect(page.getByTestId("operation-succeeded")).toContainText(/Backup \d{8}-\d{6} written .* and verified/, { timeout: 50_000 });
    await expect(backups.rows).toHaveCount(1);
    const row = backups.rows.first();
    await expect(row).toContainText("manual");
    await expect(row).toContainText("verified");
    await expect(row).toContainText("mimir_plugins: 64");
  });

  test("restoring a set after a job was deleted brings the job back", async ({ page, api }) => {
    const backups = new BackupsPage(page);
    await backups.goto();
    const backupId = await backups.rows.first().getAttribute("data-backup-id");
    expect(backupId).toMatch(/^\d{8}-\d{6}/);

    await page.goto("/");
    const jobsBefore = Number(await page.getByTestId("count-jobs").textContent());
    expect((await api.delete("/api/v1/scheduler/jobs/job-weekly")).status()).toBe(200);
    expect((await api.get("/api/v1/scheduler/jobs/job-weekly")).status()).toBe(404);
    await page.reload();
    await expect(page.getByTestId("count-jobs")).toHaveText(String(jobsBefore - 1));

    await backups.goto();
    const dialog = await backups.restore(backupId!);
    for (const volume of ["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines"]) await expect(dialog).toContainText(volume);
    await expect(dialog).toContainText("replaced");
    await expect(dialog).toContainText("does not roll back access or the audit trail");
    await expect(dialog.getByRole("button", { name: "Replace and restore" })).toBeDisabled();
    await dialog.getByLabel(/^Type .* to confirm$/).fill(backupId!);
    // Restoring replaces live data: the password is asked again.
    await dialog.getByLabel("Your password, to confirm").fill(E2E_ADMIN.password);
    await dialog.getByRole("button", { name: "Replace and restore" }).click();
    await expect(page.getByTestId("operation-succeeded").filter({ hasText: `Restored ${backupId}` })).toBeVisible({ timeout: 50_000 });
    // The state it replaced is written into a safety set once the restore has finished, then verified by a drill of its own.
    const safetySet = page.locator("tr[data-backup-id]", { hasText: "pre-restore" });
    await expect(async () => {
      await page.reload();
      await expect(safetySet).toHaveCount(1, { timeout: 1_000 });
      await expect(safetySet).toContainText("verified", { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    // The outcome stays on the page after a reload, for whoever signs in again after the restore.
    await expect(page.getByTestId("operation-succeeded").filter({ hasText: `Restored ${backupId}` })).toBeVisible();

    await page.goto("/");
    await expect(page.getByTestId("count-jobs")).toHaveText(String(jobsBefore));
    const restored = await api.get("/api/v1/scheduler/jobs/job-weekly");
    expect(restored.status()).toBe(200);
    expect(await restored.json()).toMatchObject({ id: "job-weekly", pipeline: "weekly-report" });
  });

  test("Prune… with every set young enough to keep says so in place, without a confirmation", async ({ page }) => {
    await new BackupsPage(page).goto();
    await page.getByRole("button", { name: "Prune…" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Nothing to prune: no set is old enough to go." })).toBeVisible();
    await expect(page.getByRole("dialog")).toHaveCount(0);
  });

  test("the recovery guide lists the stock commands", async ({ page }) => {
    await new BackupsPage(page).goto();
    await page.getByRole("link", { name: "Recovery without the app" }).click();
    const guide = page.getByTestId("recovery-guide");
    await expect(guide).toContainText("gpg --batch --pinentry-mode loopback");
    await expect(guide).toContainText("tar xzf");
    await expect(guide).toContainText("PRAGMA integrity_check");
  });

  test("scripts get the same through the API, with clear errors for bad input", async ({ api, playwright, baseURL }) => {
    const list = await api.get("/api/v1/backups?limit=1");
    expect(list.status()).toBe(200);
    const page = await list.json();
    expect(page.items).toHaveLength(1);
    expect(page.next_cursor).not.toBeNull();

    const bad = await api.get("/api/v1/backups/..%2F..%2Fetc");
    expect(bad.status()).toBe(400);
    expect((await bad.json()).error.code).toBe("invalid_input");
    const missing = await api.post("/api/v1/backups/20000101-000000/restore", { data: { confirm: "20000101-000000" } });
    expect(missing.status()).toBe(404);
    const unconfirmed = await api.post(`/api/v1/backups/${page.items[0].id}/restore`, { data: { confirm: "20000101-000000" } });
    expect(unconfirmed.status()).toBe(400);

    const dry = await api.post("/api/v1/backups/prune", { data: { dry_run: true } });
    expect(dry.status()).toBe(200);
    expect((await dry.json()).deleted).toEqual([]);

    // Moving to a new host: the set as one file, uploaded back, is checked and listed under a new id.
    const download = await api.get(`/api/v1/backups/${page.items[0].id}/download`);
    expect(download.status()).toBe(200);
    expect(download.headers()["content-disposition"]).toBe(`attachment; filename="mimir-backup-${page.items[0].id}.tar"`);
    const upload = await api.post("/api/v1/backups/import", { data: await download.body(), headers: { "Content-Type": "application/x-tar" } });
    expect(upload.status()).toBe(202);
    const importOp = await upload.json();
    await expect.poll(async () => (await (await api.get(`/api/v1/operations/${importOp.id}`)).json()).status, { timeout: 30_000 }).toBe("succeeded");
    const imported = (await (await api.get(`/api/v1/operations/${importOp.id}`)).json()).result.backup_id;
    expect((await (await api.get(`/api/v1/backups/${imported}`)).json()).verify_status).toBe("ok");
    const junk = await api.post("/api/v1/backups/import", { data: Buffer.from("not a backup set"), headers: { "Content-Type": "application/x-tar" } });
    const junkOp = await junk.json();
    await expect.poll(async () => (await (await api.get(`/api/v1/operations/${junkOp.id}`)).json()).status, { timeout: 30_000 }).toBe("failed");

    const anonymous = await playwright.request.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
    try {
      expect((await anonymous.get("/api/v1/backups")).status()).toBe(401);
      expect((await anonymous.get(`/api/v1/backups/${page.items[0].id}/download`)).status()).toBe(401);
      expect((await anonymous.post("/api/v1/backups")).status()).toBe(401);
    } finally {
      await anonymous.dispose();
    }
  });
});
