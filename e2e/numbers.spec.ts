import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { OwnServer } from "./own-server";
import { E2E_ADMIN, E2E_API_TOKEN } from "./env";
import { LoginPage } from "./pages/login-page";

/**
 * Issue #12 (B1, B7, B8, B9) on a console of its own (E2E_PORT + 7, its own data root): the storage
 * history it writes and the runs it adds must not leak into the other specs' server.
 */
const server = new OwnServer("numbers", 7);
const MB = 1024 ** 2;
const GB = 1024 ** 3;
const VOLUMES = ["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines", "backups"];
/** A day's runs big enough for six-digit axis labels and a seven-character count ("120,005"). */
const RUNS = 120_000;

test.use({ baseURL: server.baseURL, storageState: { cookies: [], origins: [] } });
test.describe.configure({ mode: "serial" });

test.beforeAll(() => server.start({ MIMIR_ADMIN_PASSWORD: E2E_ADMIN.password, MIMIR_API_TOKEN: E2E_API_TOKEN }));
test.afterAll(() => server.stop());

function sqlite(sql: string) {
  execFileSync("sqlite3", ["-cmd", ".timeout 5000", path.join(server.home, "data", "mimir.db")], { input: sql });
}

async function signIn(page: Page) {
  const login = new LoginPage(page);
  await login.goto();
  await login.signInToOverview(E2E_ADMIN.username, E2E_ADMIN.password);
}

test("B1: minutes of another program's churn on the disk raise no disk-full alert; the Disk cards say how much history there is", async ({ page, api }) => {
  const usage = await (await api.get("/api/v1/storage")).json();
  const disk = usage.volumes.find((v: { volume: string }) => v.volume === "mimir_data").filesystem;
  // The walkthrough: 13 minutes of samples while the free space moved by GBs (other programs on a
  // shared disk) and backups grew 1.5 MB. Past samples can only be written straight into the database.
  const rows: string[] = [];
  const earlier: [minutesAgo: number, extraFree: number, backups: number][] = [
    [13, 5.7 * GB, 0],
    [9, 3.9 * GB, 0.5 * MB],
    [5, 1.9 * GB, 1 * MB],
  ];
  for (const [minutesAgo, extraFree, backups] of earlier) {
    const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
    for (const volume of VOLUMES) {
      rows.push(
        `('${at}', '${volume}', ${volume === "backups" ? Math.round(backups) : 4096}, 1, ${Math.round(disk.free_bytes + extraFree)}, ${disk.total_bytes})`,
      );
    }
  }
  sqlite(`INSERT INTO storage_samples (taken_at, volume, bytes, files, fs_free_bytes, fs_total_bytes) VALUES ${rows.join(",")};`);
  fs.writeFileSync(path.join(server.home, "backups", "e2e-numbers.bin"), Buffer.alloc(1.5 * MB));

  const sample = await (await api.post("/api/v1/storage/samples")).json();
  expect(sample.active_alerts).not.toContain("disk_full");
  const alerts = await (await api.get("/api/v1/alerts?state=raised")).json();
  expect(alerts.items.map((a: { key: string }) => a.key)).not.toContain("disk_full");
  const history = await (await api.get("/api/v1/storage/history")).json();
  expect(history.projection).toMatchObject({ enough_history: false, needed_hours: 6, hours_left: null });

  await signIn(page);
  await expect(page.getByTestId("alert-banner")).toHaveCount(0);
  await expect(page.getByTestId("overview-full-in")).toHaveText("—");
  await expect(page.getByText(/^not enough history yet \(0(\.\d)? of 6 hours\)$/)).toBeVisible();
  await page.goto("/storage");
  await expect(page.getByTestId("disk-full-in")).toHaveText("—");
  await expect(page.getByTestId("disk-full-hint")).toHaveText(/^not enough history yet \(0(\.\d)? of 6 hours\)$/);
  await expect(page.getByTestId("disk-our-growth")).toHaveText("—");
});

test("B9: the Overview, Storage and the Reset card show one measurement of each volume, and say when it was taken", async ({ page, api }) => {
  // A sample is the measurement the pages then reuse (for 30 s): the three must read alike.
  expect((await api.post("/api/v1/storage/samples")).status()).toBe(201);
  await signIn(page);
  const overviewData = await page.getByTestId("overview-size-mimir_data").textContent();
  const overviewLogs = await page.getByTestId("overview-size-mimir_logs").textContent();
  await expect(page.locator("section", { has: page.getByRole("heading", { name: "Volumes" }) }).getByTestId("measured-age")).toHaveText(
    /^measured (just now|\d+ min ago)$/,
  );
  // Disk free appears once on the Overview, in the Disk card.
  await expect(page.getByTestId("overview-disk-free")).toHaveText(/\d+(\.\d+)? (GB|TB|MB)/);
  await expect(page.getByText("Disk free", { exact: true })).toHaveCount(0);

  await page.goto("/storage");
  await expect(page.getByTestId("size-mimir_data")).toHaveText(overviewData ?? "");
  await expect(page.getByTestId("size-mimir_logs")).toHaveText(overviewLogs ?? "");
  await page.goto("/database");
  await expect(page.getByTestId("reset-size-mimir_data")).toHaveText(`(${overviewData})`);
  await expect(page.getByTestId("reset-size-mimir_logs")).toHaveText(`(${overviewLogs})`);
});

test("B9: a job whose runs reached the history another way (an import, the seed) is not 'never run'", async ({ page, api }) => {
  expect(
    (await api.post("/api/v1/scheduler/jobs", { data: { id: "numbers-job", name: "Numbers job", pipeline: "numbers.yaml", cron_expr: "0 4 * * *" } })).status(),
  ).toBe(201);
  const at = new Date(Date.now() - 28 * 60_000).toISOString();
  sqlite(
    `INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES ('numbers-run', 'numbers-job', 'numbers', '${at}', 'success', 'scheduler');`,
  );
  await signIn(page);
  await page.goto("/jobs");
  const row = page.getByTestId("job-row-numbers-job");
  await expect(row).toContainText("success");
  await expect(row).toContainText("28 min ago");
  await expect(row).not.toContainText("never run");
});

test("B7, B8: counts keep their separators and their line, axis labels are whole, lines are straight between samples", async ({ page }) => {
  // A day of RUNS runs of the job above, started across today's hours so far (UTC).
  const dayStart = new Date(new Date().toISOString().slice(0, 10) + "T00:00:00.000Z").getTime();
  const span = Math.max(1, Date.now() - dayStart - 60_000);
  sqlite(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${RUNS})
    INSERT INTO job_executions (id, job_id, pipeline, start_time, end_time, duration, status, triggered_by)
    SELECT 'bulk-' || i, 'numbers-job', 'numbers',
      strftime('%Y-%m-%dT%H:%M:%fZ', (${dayStart} + (i * ${span}) / ${RUNS}) / 1000.0, 'unixepoch'),
      NULL, (i % 7) * 1000000000, CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'success' END, 'scheduler' FROM n;`);
  await page.setViewportSize({ width: 1280, height: 800 });
  await signIn(page);

  // The Stored card's count at 1280 px: separators, on one line, not cut.
  const executions = page.getByTestId("count-executions");
  await expect(executions).toHaveText(/^\d{3},\d{3}$/);
  const fit = await executions.evaluate((el) => {
    const figure = el.parentElement!;
    const lineHeight = parseFloat(getComputedStyle(figure).lineHeight);
    return { height: figure.getBoundingClientRect().height, lineHeight, cut: figure.scrollWidth > figure.clientWidth };
  });
  expect(fit.height).toBeLessThan(fit.lineHeight * 1.5);
  expect(fit.cut).toBe(false);

  // Runs per day: labels like "120,000", none cut at the chart's left edge.
  await page.goto(`/executions?job_id=numbers-job`);
  const chart = page.getByTestId("runs-per-day-chart");
  const ticks = chart.locator(".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value");
  await expect(ticks.first()).toBeVisible();
  const labels = await ticks.allTextContents();
  expect(labels.some((label) => /^\d{1,3}(,\d{3})+$/.test(label))).toBe(true);
  const chartLeft = (await chart.boundingBox())!.x;
  for (const tick of await ticks.all()) expect((await tick.boundingBox())!.x).toBeGreaterThanOrEqual(chartLeft);
  // The duration axis uses one unit for all its ticks.
  const durationTicks = await page.getByTestId("duration-chart").locator(".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value").allTextContents();
  expect(new Set(durationTicks.map((tick) => tick.split(" ")[1])).size).toBe(1);

  // The status filter narrows the window's figures too.
  await page.goto(`/executions?job_id=numbers-job&status=failed`);
  await expect(page.getByTestId("window-runs")).toHaveText(new Intl.NumberFormat("en-US").format(RUNS / 10));
  await expect(page.getByRole("combobox", { name: /^Job\b/ })).toHaveValue("numbers-job");
  await expect(page.getByRole("combobox", { name: /^Job\b/ }).locator("option:checked")).toHaveText("Numbers job");

  // Few samples: straight segments with a dot on each, no smoothed curve.
  await page.goto("/storage");
  const areas = page.getByTestId("chart-volumes").locator(".recharts-area-curve");
  await expect(areas.first()).toBeAttached();
  for (const d of await areas.evaluateAll((paths) => paths.map((p) => p.getAttribute("d") ?? ""))) expect(d).not.toMatch(/C/);
  await expect(page.getByTestId("chart-volumes").locator(".recharts-dot").first()).toBeAttached();
  await page.goto("/");
  const sparkline = page.getByTestId("trend-mimir_data").getByTestId("sparkline");
  await expect(sparkline.locator(".recharts-line-curve")).toBeAttached();
  expect(await sparkline.locator(".recharts-line-curve").getAttribute("d")).not.toMatch(/C/);
  await expect(sparkline.locator(".recharts-dot").first()).toBeAttached();
});
