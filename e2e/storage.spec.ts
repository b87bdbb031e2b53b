import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test, expect, removeAndMeasureAgain } from "./fixtures";
import { E2E_HOME } from "./env";
import { StoragePage } from "./pages/storage-page";

const HOUR = 3_600_000;
const VOLUMES = ["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines", "backups", "database", "database_wal"];

/**
 * Past samples can only come from the past, so they are written straight into the app's database,
 * as a month of the sampler's work would have left them: every six hours, growing. The disk's free
 * space is today's, so no fill-rate alert comes out of the made-up history.
 */
function seedPastSamples(disk: { free_bytes: number; total_bytes: number }) {
  const now = Date.now();
  const rows: string[] = [];
  for (let t = now - 30 * 24 * HOUR; t < now - HOUR; t += 6 * HOUR) {
    const age = (now - t) / HOUR;
    VOLUMES.forEach((volume, i) => {
      const bytes = Math.round((i + 1) * 1e6 + (720 - age) * 1e4 * (i + 1));
      rows.push(`('${new Date(t).toISOString()}', '${volume}', ${bytes}, ${10 * (i + 1)}, ${disk.free_bytes}, ${disk.total_bytes})`);
    });
  }
  const sql = `INSERT INTO storage_samples (taken_at, volume, bytes, files, fs_free_bytes, fs_total_bytes) VALUES\n${rows.join(",\n")};`;
  execFileSync("sqlite3", ["-cmd", ".timeout 5000", path.join(E2E_HOME, "data", "mimir.db")], { input: sql });
}

test.describe("Storage", () => {
  test("shows sizes, the charts from stored samples, and switches ranges", async ({ page, api }) => {
    const usage = await (await api.get("/api/v1/storage")).json();
    seedPastSamples(usage.volumes[0].filesystem);
    expect((await api.post("/api/v1/storage/samples")).status()).toBe(201);

    const storage = new StoragePage(page);
    await storage.goto();
    await expect(page.getByRole("heading", { name: "Storage", level: 1 })).toBeVisible();
    await expect(storage.volumeSize("mimir_data")).toHaveText(/\d+(\.\d+)? (KB|MB)/);
    await expect(page.getByRole("cell", { name: "job_executions" })).toBeVisible();

    await expect(storage.growth).toHaveAttribute("data-range", "24h");
    await expect(storage.volumesChart.locator("svg.recharts-surface").first()).toBeVisible();
    await expect(storage.volumesChart.getByText("logs")).toBeVisible();
    await expect(storage.databaseChart.locator("svg.recharts-surface").first()).toBeVisible();

    for (const [label, range] of [
      ["7 d", "7d"],
      ["30 d", "30d"],
      ["90 d", "90d"],
      ["24 h", "24h"],
    ] as const) {
      await storage.chooseRange(label);
      await expect(storage.growth).toHaveAttribute("data-range", range);
      await expect(page.getByRole("button", { name: label })).toHaveAttribute("aria-pressed", "true");
      await expect(storage.volumesChart.locator("svg.recharts-surface").first()).toBeVisible();
    }
    // The month of seeded samples: the 30-day chart has a point per day.
    await storage.chooseRange("30 d");
    await expect(storage.growth).toHaveAttribute("data-range", "30d");
    expect(await storage.volumesChart.locator(".recharts-area").count()).toBeGreaterThanOrEqual(6);
  });

  test("Measure now walks the volumes again and shows what changed", async ({ page }) => {
    const storage = new StoragePage(page);
    await storage.goto();
    const before = await storage.volumeSize("mimir_pipelines").textContent();
    const file = path.join(E2E_HOME, "pipelines", "e2e-measure-now.yaml");
    fs.writeFileSync(file, Buffer.alloc(300 * 1024));
    try {
      await storage.measureNow();
      await expect(storage.volumeSize("mimir_pipelines")).not.toHaveText(before ?? "");
      await expect(page.getByRole("row", { name: /mimir_pipelines/ })).toContainText("e2e-measure-now.yaml");
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test("the storage API refuses bad input with the error envelope", async ({ api }) => {
    const bad = await api.get("/api/v1/storage/history?range=1y");
    expect(bad.status()).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: "invalid_input" });
    const future = await api.get("/api/v1/storage/history?since=2999-01-01T00:00:00Z");
    expect(future.status()).toBe(400);
    const tooOld = await api.get("/api/v1/storage/history?since=2020-01-01T00:00:00Z&volume=mimir_logs");
    expect(tooOld.status()).toBe(400); // more than 400 days back
    const usage = await api.get("/api/v1/storage");
    expect(usage.status()).toBe(200);
    expect((await usage.json()).volumes).toHaveLength(6);
  });

  test("/metrics answers a read token in the Prometheus text format and refuses anonymous scrapes", async ({ api, playwright, baseURL }) => {
    expect((await api.get("/api/v1/storage")).status()).toBe(200);
    const scrape = await api.get("/metrics");
    expect(scrape.status()).toBe(200);
    expect(scrape.headers()["content-type"]).toContain("text/plain; version=0.0.4");
    const text = await scrape.text();
    expect(text).toMatch(/^mimir_volume_bytes\{volume="mimir_data"\} \d+$/m);
    expect(text).toMatch(/^mimir_http_requests_total\{method="GET",route="\/api\/v1\/storage",status="200"\} \d+$/m);
    // The runner would hand a new context the signed-in project's cookies: start from none.
    const anonymous = await playwright.request.newContext({ baseURL, storageState: { cookies: [], origins: [] } });
    const refused = await anonymous.get("/metrics");
    expect(refused.status()).toBe(401);
    expect((await refused.json()).error.code).toBe("unauthorized");
    await anonymous.dispose();
  });
});

test.describe("Storage alerts", () => {
  // e2e-server.mjs sets storage.alerts.volume_bytes.mimir_plugins to raise above 5 MB and clear below 4 MB.
  const big = path.join(E2E_HOME, "plugins", "e2e-big-plugin.bin");
  test.afterEach(() => removeAndMeasureAgain(big));

  test("a crossed threshold shows a banner on the Overview and every page, and degrades /health", async ({ page, api }) => {
    fs.writeFileSync(big, Buffer.alloc(6 * 1024 * 1024));
    const sample = await api.post("/api/v1/storage/samples");
    expect((await sample.json()).active_alerts).toContain("volume:mimir_plugins");

    await page.goto("/");
    const banner = page.getByTestId("alert-banner");
    await expect(banner).toBeVisible();
    await expect(banner).toContainText("mimir_plugins is 6.00 MB, over its 5.00 MB threshold");
    await expect(banner).toContainText("storage.alerts.volume_bytes.mimir_plugins.raise");
    await expect(page.getByTestId("health-status")).toHaveText("degraded");
    // Once on the Overview: the banner says it; the Health card counts it instead of repeating it.
    await expect(page.getByText(/mimir_plugins is 6\.00 MB, over its 5\.00 MB threshold/)).toHaveCount(1);
    await expect(page.getByTestId("health-reasons")).toContainText("1 storage alert, shown at the top of the page");
    await page.goto("/settings");
    await expect(page.getByTestId("alert-banner")).toBeVisible();

    const health = await (await api.get("/health")).json();
    expect(health.status).toBe("degraded");
    expect(health.reasons.join(" ")).toContain("volume:mimir_plugins");

    fs.rmSync(big);
    await api.post("/api/v1/storage/samples");
    await page.goto("/");
    await expect(page.getByTestId("health-status")).toHaveText("healthy");
    await expect(page.getByTestId("alert-banner")).toHaveCount(0);
  });
});
