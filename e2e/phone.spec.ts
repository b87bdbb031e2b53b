import type { APIRequestContext, Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { BackupsPage } from "./pages/backups-page";

const PHONE = { width: 390, height: 844 };

/** Every section of the dashboard, with the h1 its page shows. */
const PAGES = [
  { path: "/", heading: "Overview" },
  { path: "/jobs", heading: "Jobs" },
  { path: "/pipelines", heading: "Pipelines" },
  { path: "/executions", heading: "Executions" },
  { path: "/storage", heading: "Storage" },
  { path: "/backups", heading: "Backups" },
  { path: "/database", heading: "Database" },
  { path: "/settings", heading: "Settings" },
];

/** How wide the page is against the viewport: no wider means no sideways page scroll (a table may still scroll inside its own frame). */
function pageWidth(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
}

async function createBackup(api: APIRequestContext): Promise<string> {
  const started = await api.post("/api/v1/backups");
  expect(started.status()).toBe(202);
  const { id } = await started.json();
  const operation = async () => (await api.get(`/api/v1/operations/${id}`)).json();
  await expect.poll(async () => (await operation()).status, { timeout: 50_000 }).toBe("succeeded");
  return (await operation()).result.backup_id;
}

test.describe("at phone width", () => {
  test.use({ viewport: PHONE });

  test("no dashboard page scrolls sideways", async ({ page }) => {
    for (const { path, heading } of PAGES) {
      await page.goto(path);
      await expect(page.getByRole("heading", { name: heading, level: 1, exact: true })).toBeVisible();
      await page.waitForLoadState("load");
      const { scrollWidth, innerWidth } = await pageWidth(page);
      expect(scrollWidth, `${path} is ${scrollWidth}px wide in a ${innerWidth}px viewport`).toBeLessThanOrEqual(innerWidth);
    }
  });

  test("the menu button opens the navigation, which closes on navigation and on Escape", async ({ page }) => {
    await page.goto("/");
    const menu = page.getByRole("button", { name: "Menu" });
    const nav = page.getByRole("navigation", { name: "Sections" });
    await expect(menu).toHaveAttribute("aria-expanded", "false");
    await expect(menu).toHaveAttribute("aria-controls", /.+/);
    await expect(nav).toBeHidden();

    await menu.click();
    await expect(menu).toHaveAttribute("aria-expanded", "true");
    await expect(nav).toBeVisible();
    // The signed-in user and Sign out are in the opened menu too.
    await expect(page.getByText("Signed in as admin")).toBeVisible();
    await expect(page.getByRole("button", { name: "Sign out" })).toBeInViewport();

    await nav.getByRole("link", { name: "Jobs" }).click();
    await expect(page).toHaveURL(/\/jobs$/);
    await expect(page.getByRole("heading", { name: "Jobs", level: 1 })).toBeVisible();
    await expect(menu).toHaveAttribute("aria-expanded", "false");
    await expect(nav).toBeHidden();

    await menu.click();
    await expect(nav).toBeVisible();
    await expect(nav.getByRole("link", { name: "Jobs" })).toHaveAttribute("aria-current", "page");
    await page.keyboard.press("Escape");
    await expect(nav).toBeHidden();
    await expect(menu).toHaveAttribute("aria-expanded", "false");
    await expect(menu).toBeFocused();
  });

  test("the Restore dialog fits the screen, with its confirm button in reach", async ({ page, api }) => {
    const backupId = await createBackup(api);
    const backups = new BackupsPage(page);
    await backups.goto();
    const dialog = await backups.restore(backupId);
    const confirm = dialog.getByRole("button", { name: "Replace and restore" });
    // Reachable: scrolled into view inside the dialog if it is taller than the screen.
    await confirm.scrollIntoViewIfNeeded();
    await expect(confirm).toBeInViewport({ ratio: 1 });
    const box = (await dialog.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await expect(dialog).toBeHidden();
  });
});

test.describe("tables at phone width", () => {
  test.use({ viewport: PHONE });

  /** Fully on screen sideways: not off to the right of a table that scrolls inside its frame. */
  async function expectReachable(page: Page, locator: ReturnType<Page["getByRole"]>) {
    await locator.scrollIntoViewIfNeeded();
    const box = (await locator.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width);
    await expect(locator).toBeInViewport({ ratio: 1 });
  }

  test("a job's Run now and Enabled switch are on screen, each value beside its column's name", async ({ page, api }) => {
    const id = `phone-${Date.now()}`;
    const name = `Phone job ${id}`;
    expect((await api.post("/api/v1/scheduler/jobs", { data: { id, name, pipeline: "phone.yaml", cron_expr: "*/10 * * * *" } })).status()).toBe(201);
    await page.goto("/jobs");
    const row = page.getByTestId(`job-row-${id}`);
    await expectReachable(page, row.getByRole("button", { name: `Run now for ${name}` }));
    await expectReachable(page, row.getByRole("switch", { name: `Enabled: ${name}` }));
    // No sideways scrolling inside the table's frame either.
    const frame = await page
      .getByRole("table", { name: "Jobs" })
      .evaluate((table) => ({ scroll: table.parentElement!.scrollWidth, client: table.parentElement!.clientWidth }));
    expect(frame.scroll).toBeLessThanOrEqual(frame.client);
    // The schedule reads as a line of words beside its label, not a word per line.
    const schedule = row.locator('td[data-label="Schedule"]');
    await expect(schedule).toContainText("Every 10 minutes");
    expect((await schedule.boundingBox())!.height).toBeLessThan(80);
  });

  test("the Database page's CSV links are on screen", async ({ page }) => {
    await page.goto("/database");
    await expectReachable(page, page.getByRole("link", { name: "Download scheduled_jobs as CSV" }));
  });
});

test.describe("at desktop width", () => {
  test.use({ viewport: { width: 1280, height: 800 } });

  test("the sidebar shows the navigation and the user, with no menu button", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("navigation", { name: "Sections" })).toBeVisible();
    await expect(page.getByText("Signed in as admin")).toBeVisible();
    await expect(page.getByRole("button", { name: "Menu" })).toBeHidden();
  });
});
