import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test, expect } from "./fixtures";
import { E2E_HOME } from "./env";
import { BackupsPage } from "./pages/backups-page";

// Serial: each test starts a backup, and only one runs at a time.
test.describe.configure({ mode: "serial" });

/** Incompressible bytes make a backup take a few seconds, so it can be seen running and cancelled. */
const SLOW_PLUGIN = path.join(E2E_HOME, "plugins", "e2e-slow-backup.bin");

test.describe("Backups: work in progress, cancelled and interrupted", () => {
  test.beforeAll(() => fs.writeFileSync(SLOW_PLUGIN, crypto.randomBytes(96 * 1024 * 1024)));
  test.afterAll(() => fs.rmSync(SLOW_PLUGIN, { force: true }));

  test("a backup started elsewhere disables Back up now, shows its progress, and can be cancelled here (B13, item 7)", async ({ page, api }) => {
    const started = await api.post("/api/v1/backups");
    expect(started.status()).toBe(202);
    const operationId = (await started.json()).id as string;

    const backups = new BackupsPage(page);
    await backups.goto();
    await expect(backups.backUpNow).toBeDisabled();
    await expect(backups.progress("Backup")).toBeVisible();

    await page.getByRole("button", { name: "Cancel backup…" }).click();
    const confirm = page.getByRole("group", { name: "Cancel this backup?" });
    await expect(confirm).toContainText("The half-written set is removed");
    await confirm.getByRole("button", { name: "Stop backup" }).click();
    await expect(page.getByTestId("operation-failed")).toContainText("Backup cancelled", { timeout: 30_000 });
    expect((await (await api.get(`/api/v1/operations/${operationId}`)).json()).status).toBe("cancelled");
    await expect.poll(() => fs.readdirSync(path.join(E2E_HOME, "backups")).filter((name) => name.startsWith(".partial-"))).toEqual([]);

    // After a reload the page still says the last backup did not complete, and the button is back.
    await page.reload();
    await expect(page.getByTestId("failed-backup")).toContainText("The last backup was cancelled at");
    await expect(backups.backUpNow).toBeEnabled();
  });

  test("a downloaded set is imported from the page with an upload progress bar (item 7)", async ({ page, api }) => {
    fs.rmSync(SLOW_PLUGIN, { force: true });
    const made = await api.post("/api/v1/backups");
    const operationId = (await made.json()).id as string;
    await expect.poll(async () => (await (await api.get(`/api/v1/operations/${operationId}`)).json()).status, { timeout: 60_000 }).toBe("succeeded");
    const setId = (await (await api.get(`/api/v1/operations/${operationId}`)).json()).result.backup_id as string;
    const download = await api.get(`/api/v1/backups/${setId}/download`);
    expect(download.status()).toBe(200);

    const backups = new BackupsPage(page);
    await backups.goto();
    await page.getByLabel("Import a downloaded set").setInputFiles({ name: `mimir-backup-${setId}.tar`, mimeType: "application/x-tar", buffer: await download.body() });
    await page.getByRole("button", { name: "Upload and import" }).click();
    await expect(page.getByTestId("operation-succeeded").filter({ hasText: "Import of" })).toBeVisible({ timeout: 60_000 });
    await expect(backups.rows).toHaveCount(2);

    // Leave the suite's data root as the other Backups specs expect it: no sets.
    for (const row of await (await api.get("/api/v1/backups")).json().then((page: { items: { id: string }[] }) => page.items)) {
      expect((await api.delete(`/api/v1/backups/${row.id}`)).status()).toBe(200);
    }
  });

  test("the recovery page renders its Markdown, with this installation's folders", async ({ page }) => {
    await page.goto("/backups/recovery");
    const guide = page.getByTestId("recovery-guide");
    await expect(guide.getByRole("heading", { name: "1. Stop Mimir and check the set" })).toBeVisible();
    await expect(guide.getByRole("table")).toContainText("mimir_data.tar.gz");
    await expect(guide).not.toContainText("|---|");
    await expect(guide).not.toContainText("```");
    await expect(guide).toContainText(`MIMIR_HOME=${E2E_HOME}`);
    await expect(page.getByText(path.join(E2E_HOME, "backups"), { exact: true })).toBeVisible();
  });
});
