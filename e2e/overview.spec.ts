import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { APIRequestContext } from "@playwright/test";
import { test, expect, removeAndMeasureAgain } from "./fixtures";
import { E2E_HOME } from "./env";

/**
 * "healthy", or the status with /health's reasons: when an earlier spec leaves the shared server
 * degraded (a full run once showed "degraded" here, and only then), the failure says by what.
 */
async function healthAnswer(api: APIRequestContext): Promise<string> {
  const report = (await (await api.get("/health")).json()) as { status: string; reasons?: string[] };
  return report.status === "healthy" ? "healthy" : `${report.status}: ${(report.reasons ?? []).join("; ")}`;
}

test.describe("Overview", () => {
  test("shows healthy status, refreshed live, and counts the adopted Mimir rows", async ({ page, api }) => {
    await expect.poll(() => healthAnswer(api)).toBe("healthy");
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

  test("when the session ends, the health poll's public answer sends the page to sign in instead of breaking the card", async ({ page, context, api }) => {
    await expect.poll(() => healthAnswer(api)).toBe("healthy");
    const pageErrors: Error[] = [];
    page.on("pageerror", (error) => pageErrors.push(error));
    await page.goto("/");
    await expect(page.getByTestId("health-status")).toHaveText("healthy");
    await context.clearCookies();
    // /health still answers 200, with the anonymous summary (no paths, no disk): not drawable as the full report.
    await expect(page).toHaveURL(/\/login/, { timeout: 30_000 });
    expect(pageErrors).toEqual([]);
  });

  test("every section is in the navigation", async ({ page }) => {
    await page.goto("/");
    const nav = page.getByRole("navigation", { name: "Sections" });
    for (const name of ["Overview", "Jobs", "Pipelines", "Executions", "Storage", "Backups", "Database", "Settings"]) {
      await expect(nav.getByRole("link", { name })).toBeVisible();
    }
  });

  test("the last backup card shows the newest set, and Back up now shows progress that survives a reload", async ({ page }) => {
    // Incompressible bytes under a name of this run's own, so the archive takes long enough for the running state to be seen.
    const plugin = path.join(E2E_HOME, "plugins", `e2e-overview-${crypto.randomUUID()}.bin`);
    fs.writeFileSync(plugin, crypto.randomBytes(32 * 1024 * 1024));
    try {
      await page.goto("/");
      const card = page.locator("section", { has: page.getByRole("heading", { name: "Last backup" }) });
      await expect(card).toBeVisible();
      await expect(card.getByTestId("last-backup-scheduled")).toHaveText(/^(on|off)$/);

      await card.getByRole("button", { name: "Back up now" }).click();
      await expect(card.getByRole("progressbar", { name: "Backup" })).toBeVisible();
      await page.reload();
      await expect(card.getByRole("progressbar", { name: "Backup" })).toBeVisible();

      await expect(card.getByTestId("operation-succeeded")).toContainText(/Backup \d{8}-\d{6} written .* and verified/, { timeout: 50_000 });
      await expect(card.getByTestId("last-backup-age")).toHaveText(/just now|min ago/);
      await expect(card.getByTestId("last-backup-verified")).toHaveText("verified");
    } finally {
      await removeAndMeasureAgain(plugin);
    }
  });
});
