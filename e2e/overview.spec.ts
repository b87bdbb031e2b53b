import { test, expect } from "./fixtures";

test.describe("Overview", () => {
  test("shows healthy status, refreshed live, and counts the adopted Mimir rows", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
    await expect(page.getByTestId("health-status")).toHaveText("healthy");
    // The data root started as a database made by Mimir AIP's own schema (test/fixtures/mimir-rows.sql).
    await expect(page.getByTestId("count-jobs")).toHaveText(/^\d+$/);
    expect(Number(await page.getByTestId("count-jobs").textContent())).toBeGreaterThanOrEqual(2);
    expect(Number(await page.getByTestId("count-pipelines").textContent())).toBeGreaterThanOrEqual(2);
    expect(Number(await page.getByTestId("count-executions").textContent())).toBeGreaterThanOrEqual(3);
    // TanStack Query polls /health: the "checked" time moves on without a reload.
    const checked = page.getByText(/^checked /);
    const first = await checked.textContent();
    await expect(checked).not.toHaveText(first ?? "", { timeout: 15_000 });
  });

  test("every section is in the navigation and says plainly when it is not built yet", async ({ page }) => {
    await page.goto("/");
    const nav = page.getByRole("navigation", { name: "Sections" });
    for (const name of ["Overview", "Jobs", "Pipelines", "Executions", "Storage", "Backups", "Database", "Settings"]) {
      await expect(nav.getByRole("link", { name })).toBeVisible();
    }
  });
});
