import fs from "node:fs";
import path from "node:path";
import { test, expect } from "./fixtures";
import { E2E_ADMIN, E2E_API_TOKEN, E2E_HOME } from "./env";
import { OwnServer } from "./own-server";
import { BackupsPage } from "./pages/backups-page";
import { LoginPage } from "./pages/login-page";

// Serial: the import test leaves the suite's data root without sets, as backups.spec.ts expects it.
test.describe.configure({ mode: "serial" });

test.describe("Backups: a backup started elsewhere, cancelled from the page", () => {
  // A console of its own whose backups wait at a hold point until cancelled: the running state lasts
  // as long as the test needs, on any machine, without sleeps or big files.
  const server = new OwnServer("backups-cancel", 5);
  test.use({ baseURL: server.baseURL, storageState: { cookies: [], origins: [] } });
  test.beforeAll(() =>
    server.start({ MIMIR_HOLD_POINT: "backup.after_archive:mimir_logs", MIMIR_ADMIN_PASSWORD: E2E_ADMIN.password, MIMIR_API_TOKEN: E2E_API_TOKEN }),
  );
  test.afterAll(() => server.stop());

  test("disables Back up now, shows its progress, and stops it after a confirmation (B13, item 7)", async ({ page, playwright }) => {
    const api = await playwright.request.newContext({ baseURL: server.baseURL, extraHTTPHeaders: { Authorization: `Bearer ${E2E_API_TOKEN}` } });
    const started = await api.post("/api/v1/backups");
    expect(started.status()).toBe(202);
    const operationId = (await started.json()).id as string;

    const login = new LoginPage(page);
    await login.goto();
    await login.signInToOverview(E2E_ADMIN.username, E2E_ADMIN.password);
    const backups = new BackupsPage(page);
    await backups.goto();
    await expect(backups.backUpNow).toBeDisabled();
    await expect(backups.progress("Backup")).toBeVisible();

    await page.getByRole("button", { name: "Cancel backup…" }).click();
    const confirm = page.getByRole("group", { name: "Cancel this backup?" });
    await expect(confirm).toContainText("The half-written set is removed");
    await confirm.getByRole("button", { name: "Stop backup" }).click();
    await expect(page.getByTestId("operation-failed")).toContainText("Backup cancelled");
    expect((await (await api.get(`/api/v1/operations/${operationId}`)).json()).status).toBe("cancelled");
    await expect.poll(() => fs.readdirSync(path.join(server.home, "backups")).filter((name) => name.startsWith(".partial-"))).toEqual([]);

    // After a reload the page still says the last backup did not complete, and the button is back.
    await page.reload();
    await expect(page.getByTestId("failed-backup")).toContainText("The last backup was cancelled at");
    await expect(backups.backUpNow).toBeEnabled();
    await api.dispose();
  });
});

test.describe("Backups: import and the recovery page", () => {
  test("a downloaded set is imported from the page with an upload progress bar (item 7)", async ({ page, api }) => {
    const made = await api.post("/api/v1/backups");
    const operationId = (await made.json()).id as string;
    await expect.poll(async () => (await (await api.get(`/api/v1/operations/${operationId}`)).json()).status, { timeout: 60_000 }).toBe("succeeded");
    const setId = (await (await api.get(`/api/v1/operations/${operationId}`)).json()).result.backup_id as string;
    const download = await api.get(`/api/v1/backups/${setId}/download`);
    expect(download.status()).toBe(200);

    const backups = new BackupsPage(page);
    await backups.goto();
    await page
      .getByLabel("Import a downloaded set")
      .setInputFiles({ name: `mimir-backup-${setId}.tar`, mimeType: "application/x-tar", buffer: await download.body() });
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
