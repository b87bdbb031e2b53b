import { test, expect } from "./fixtures";

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
