import { test, expect } from "./fixtures";
import { E2E_ADMIN, E2E_API_TOKEN, E2E_BASE_URL } from "./env";
import { OwnServer } from "./own-server";
import { BackupsPage } from "./pages/backups-page";
import { JobsPage } from "./pages/jobs-page";
import { LoginPage } from "./pages/login-page";

const BACKUP_JOBS = ["system-backup", "system-prune-backups", "system-verify-backups"];

test.describe("Scheduled backups switch", () => {
  // The suite's server is shared: whatever happens, scheduled backups end off, as the other specs expect.
  test.afterAll(async ({ playwright }) => {
    const api = await playwright.request.newContext({ baseURL: E2E_BASE_URL, extraHTTPHeaders: { Authorization: `Bearer ${E2E_API_TOKEN}` } });
    await api.put("/api/v1/backups/schedule", { data: { enabled: false } });
    await api.dispose();
  });

  test("an admin turns scheduled backups on from the Backups page, the backup jobs follow, and off again", async ({ page, api }) => {
    const backups = new BackupsPage(page);
    await backups.goto();
    await expect(backups.scheduledBackupsState).toHaveText("off");
    for (const id of BACKUP_JOBS) await expect(backups.scheduledBackupJob(id)).toContainText("disabled");

    await backups.switchScheduledBackups("on").click();
    await expect(backups.scheduledBackups.getByRole("status")).toContainText("Scheduled backups are on");
    await expect(backups.scheduledBackupsState).toHaveText("on");
    await expect(backups.switchScheduledBackups("off")).toBeVisible();
    for (const id of BACKUP_JOBS) await expect(backups.scheduledBackupJob(id)).toContainText("enabled");

    // The scheduler has the job: enabled with a next fire time, on the Jobs page and through the API.
    const job = await (await api.get("/api/v1/scheduler/jobs/system-backup")).json();
    expect(job).toMatchObject({ id: "system-backup", enabled: true });
    expect(job.next_run).not.toBeNull();
    const jobs = new JobsPage(page);
    await jobs.goto();
    await expect(jobs.row("system-backup").getByRole("switch", { name: "Enabled: Backup (daily)" })).toHaveAttribute("aria-checked", "true");
    // Saved to config.yaml, and /health now watches backup freshness (no set has been made on this root).
    expect((await (await api.get("/api/v1/config")).json()).values["persistence.backup_enabled"]).toBe(true);
    expect((await (await api.get("/health")).json()).reasons).toContainEqual(expect.stringMatching(/^backups: /));

    await backups.goto();
    await backups.switchScheduledBackups("off").click();
    await expect(backups.scheduledBackups.getByRole("status")).toContainText("Scheduled backups are off");
    await expect(backups.switchScheduledBackups("on")).toBeVisible();
    for (const id of BACKUP_JOBS) await expect(backups.scheduledBackupJob(id)).toContainText("disabled");
    expect(await (await api.get("/api/v1/scheduler/jobs/system-backup")).json()).toMatchObject({ enabled: false, next_run: null });
    expect((await (await api.get("/health")).json()).reasons).not.toContainEqual(expect.stringMatching(/^backups: /));
  });

  test("scripts switch it with PUT /api/v1/backups/schedule; bad input is a 400 that says why", async ({ api }) => {
    const bad = await api.put("/api/v1/backups/schedule", { data: { enabled: "yes" } });
    expect(bad.status()).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: "invalid_input", message: expect.stringContaining("enabled") });

    const on = await api.put("/api/v1/backups/schedule", { data: { enabled: true } });
    expect(on.status()).toBe(200);
    expect(await on.json()).toMatchObject({ settings: { enabled: true }, jobs: BACKUP_JOBS.map((id) => ({ id, enabled: true })) });
    const off = await api.put("/api/v1/backups/schedule", { data: { enabled: false } });
    expect(await off.json()).toMatchObject({ settings: { enabled: false }, jobs: BACKUP_JOBS.map((id) => ({ id, enabled: false })) });
  });
});

test.describe("Scheduled backups set by the environment", () => {
  const server = new OwnServer("backups-env", 4);
  test.use({ baseURL: server.baseURL, storageState: { cookies: [], origins: [] } });
  test.beforeAll(() => server.start({ MIMIR_BACKUP_ENABLED: "true", MIMIR_ADMIN_PASSWORD: E2E_ADMIN.password, MIMIR_API_TOKEN: undefined }));
  test.afterAll(() => server.stop());

  test("the page says so and the switch is disabled; the Settings field is locked too", async ({ page }) => {
    const login = new LoginPage(page);
    await login.goto();
    await login.signInToOverview(E2E_ADMIN.username, E2E_ADMIN.password);

    const backups = new BackupsPage(page);
    await backups.goto();
    await expect(backups.scheduledBackupsState).toHaveText("on");
    await expect(backups.scheduledBackups).toContainText("Set by the environment variable MIMIR_BACKUP_ENABLED");
    await expect(backups.switchScheduledBackups("off")).toBeDisabled();
    for (const id of BACKUP_JOBS) await expect(backups.scheduledBackupJob(id)).toContainText("enabled");

    await page.goto("/settings");
    await expect(page.getByLabel("Scheduled backups")).toBeDisabled();
  });
});
