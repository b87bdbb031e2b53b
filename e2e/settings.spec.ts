import { test, expect } from "./fixtures";
import { E2E_ADMIN } from "./env";
import { SettingsPage } from "./pages/settings-page";

test("Settings shows each value and where it came from", async ({ page }) => {
  await page.goto("/settings");
  await expect(page.getByRole("heading", { name: "Settings" })).toBeVisible();
  const retention = page.locator('tr[data-key="persistence.retention_days"]');
  await expect(retention).toContainText("45");
  await expect(retention).toContainText("environment MIMIR_RETENTION_DAYS");
  const backend = page.locator('tr[data-key="persistence.backend"]');
  await expect(backend).toContainText("sqlite");
  await expect(backend).toContainText("default");
  await expect(page.locator('tr[data-key="persistence.connection_string"]')).not.toContainText("postgres://");
});

test("runtime settings are saved to config.yaml, saying which apply now and which after a restart", async ({ page, api }) => {
  const settings = new SettingsPage(page);
  await settings.goto();
  // Set by the environment in this suite: the field is locked and says why.
  await expect(page.getByLabel("Execution history retention (days)")).toBeDisabled();
  await expect(page.getByText("Set by the environment variable MIMIR_RETENTION_DAYS")).toBeVisible();

  await page.getByLabel("Keep backups for (days)").fill("12");
  await page.getByLabel("Backup schedule (cron)").fill("15 1 * * *");
  await page.getByLabel("Storage sampling interval (minutes)").fill("20");
  await page.getByRole("button", { name: "Save settings" }).click();
  const saved = page.getByRole("status").filter({ hasText: "Saved to" });
  await expect(saved).toContainText("Applied now: backups.schedule, backups.keep_days");
  await expect(saved).toContainText("Needs a restart to take effect: storage.sample_interval_minutes");
  await expect(page.locator('tr[data-key="backups.keep_days"]')).toContainText("12");
  // The built-in backup job takes the new schedule at once.
  expect((await (await api.get("/api/v1/scheduler/jobs/system-backup")).json()).cron_expr).toBe("15 1 * * *");

  await page.getByLabel("Keep backups for (days)").fill("-1");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "backups" })).toContainText("Must be more than 0");
  // A refused save keeps what was typed, so it can be corrected rather than retyped.
  await expect(page.getByLabel("Keep backups for (days)")).toHaveValue("-1");
  // The problem is named by the setting's label, and shown beside its field.
  await expect(page.getByLabel("Keep backups for (days)")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByRole("alert").filter({ hasText: "Keep backups for: " })).toBeVisible();
  await expect(page.getByLabel("Backup schedule (cron)")).toHaveValue("15 1 * * *");
  const view = await (await api.get("/api/v1/config")).json();
  expect(view.values["backups.keep_days"]).toBe(12);
});

test("scheduled backups switched on the Settings page switch the built-in backup jobs with them", async ({ page, api }) => {
  const settings = new SettingsPage(page);
  await settings.goto();
  const field = page.getByLabel("Scheduled backups");
  await expect(field).toHaveValue("false");
  try {
    await field.selectOption("on");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Saved to" })).toContainText("Applied now: persistence.backup_enabled");
    await expect(page.locator('tr[data-key="persistence.backup_enabled"]')).toContainText("true");
    expect(await (await api.get("/api/v1/scheduler/jobs/system-backup")).json()).toMatchObject({ enabled: true });

    await field.selectOption("off");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect(page.locator('tr[data-key="persistence.backup_enabled"]')).toContainText("false");
    expect(await (await api.get("/api/v1/scheduler/jobs/system-backup")).json()).toMatchObject({ enabled: false });
  } finally {
    await api.put("/api/v1/backups/schedule", { data: { enabled: false } });
  }
});

test("a token is revoked only with the right password, and the audit log shows who did what", async ({ page, api }) => {
  const created = await api.post("/api/v1/tokens", { data: { name: "revoke-me", scope: "read" } });
  expect(created.status()).toBe(201);
  const { token } = await created.json();
  const settings = new SettingsPage(page);
  await settings.goto();
  const row = settings.tokenRow("revoke-me");
  await expect(row).toContainText("never");
  await row.getByRole("button", { name: "Revoke" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("Scripts using");
  await expect(dialog).toContainText("get 401 from their next request");
  await settings.confirm("not-my-password", "Revoke token");
  await expect(dialog.getByRole("alert")).toContainText("That password is not right");
  expect((await api.get("/api/v1/operations", { headers: { Authorization: `Bearer ${token}` } })).status()).toBe(200);
  await settings.confirm(E2E_ADMIN.password, "Revoke token");
  await expect(row).toHaveCount(0);
  expect((await api.get("/api/v1/operations", { headers: { Authorization: `Bearer ${token}` } })).status()).toBe(401);

  await page.reload();
  const audit = page.locator('tr[data-audit-action="token.revoke"]');
  await expect(audit.first()).toContainText("ok");
  await expect(audit.filter({ hasText: "denied" }).first()).toContainText(E2E_ADMIN.username);
});

test("the lists have empty states and pages", async ({ page, api }) => {
  for (let i = 0; i < 21; i++)
    expect((await api.post("/api/v1/tokens", { data: { name: `paged-${String(i).padStart(2, "0")}`, scope: "read" } })).status()).toBe(201);
  const settings = new SettingsPage(page);
  await settings.goto();
  const pager = page.getByRole("navigation", { name: "Tokens pages" });
  await expect(pager).toContainText("Page 1");
  await pager.getByRole("button", { name: "Next" }).click();
  await expect(pager).toContainText("Page 2");
  await expect(page.locator("tr[data-token]").first()).toBeVisible();
  await pager.getByRole("button", { name: "Previous" }).click();
  await expect(pager).toContainText("Page 1");
});

test("deleting a user names what is lost and needs their name typed and the admin's password", async ({ page, api }) => {
  const username = `leaver-${Date.now()}`;
  expect((await api.post("/api/v1/users", { data: { username, password: "leaver-password-1", role: "viewer" } })).status()).toBe(201);
  const settings = new SettingsPage(page);
  await settings.goto();
  const row = page.locator(`tr[data-user="${username}"]`);
  await row.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("deleted for good");
  await dialog.getByLabel("Your password, to confirm").fill(E2E_ADMIN.password);
  await expect(dialog.getByRole("button", { name: "Delete user" })).toBeDisabled();
  await dialog.getByLabel(`Type ${username} to confirm`).fill(username);
  await dialog.getByRole("button", { name: "Delete user" }).click();
  await expect(row).toHaveCount(0);
  const users = await (await api.get("/api/v1/users?limit=1000")).json();
  expect(users.items.map((u: { username: string }) => u.username)).not.toContain(username);
});
