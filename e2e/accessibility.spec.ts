import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { test, expect } from "./fixtures";

/** WCAG 2.1 A and AA: what the console promises. */
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const BLOCKING = new Set(["serious", "critical"]);

/** The serious and critical violations on the page as it stands, each with the nodes it names. */
async function blockingViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  return results.violations
    .filter((violation) => BLOCKING.has(violation.impact ?? ""))
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}, ${violation.nodes.length} nodes): ${violation.help}\n  ${violation.nodes
          .slice(0, 5)
          .map((node) => `${node.target.join(" ")}: ${node.failureSummary?.split("\n").slice(1).join(" ")}`)
          .join("\n  ")}`,
    );
}

test.describe("accessibility (axe-core, WCAG 2.1 AA)", () => {
  test("every signed-in page, with demo-like data present, has no serious or critical violation", async ({ page, api }) => {
    test.setTimeout(180_000);
    // Demo-like data, made through the REST API: a pipeline, jobs (one failing, one never run), runs,
    // a storage sample and a backup set, so tables, badges, charts and lists all have rows.
    const name = `axe-${Date.now()}`;
    // A step that fails when it runs (nothing listens on the discard port), so the history has a failure.
    const yaml = `name: ${name}\ndescription: Pings nothing, for the accessibility check\nsteps:\n  - name: ping\n    plugin: System.webhook\n    config: { url: "http://127.0.0.1:9/axe" }\n`;
    expect((await api.post("/api/v1/pipelines", { headers: { "Content-Type": "application/yaml" }, data: yaml })).status()).toBe(201);
    const jobId = `${name}-job`;
    expect(
      (await api.post("/api/v1/scheduler/jobs", { data: { id: jobId, name: `Axe ${name}`, pipeline: `${name}.yaml`, cron_expr: "*/10 * * * *" } })).status(),
    ).toBe(201);
    expect(
      (
        await api.post("/api/v1/scheduler/jobs", { data: { id: `${jobId}-idle`, name: `Axe idle ${name}`, pipeline: `${name}.yaml`, cron_expr: "0 3 * * 1" } })
      ).status(),
    ).toBe(201);
    const run = await (await api.post(`/api/v1/scheduler/jobs/${jobId}/run`)).json();
    await expect.poll(async () => (await (await api.get(`/api/v1/jobs/${run.execution_id}`)).json()).status, { timeout: 30_000 }).not.toBe("running");
    expect((await api.post("/api/v1/storage/samples")).status()).toBe(201);
    const backup = await (await api.post("/api/v1/backups")).json();
    await expect.poll(async () => (await (await api.get(`/api/v1/operations/${backup.id}`)).json()).status, { timeout: 60_000 }).toBe("succeeded");

    const pages = [
      "/",
      "/jobs",
      `/jobs/${encodeURIComponent(jobId)}`,
      "/pipelines",
      `/pipelines/${encodeURIComponent(name)}`,
      "/pipelines/new",
      "/executions",
      `/executions/${encodeURIComponent(run.execution_id)}`,
      "/storage",
      "/backups",
      "/backups/recovery",
      "/database",
      "/settings",
    ];
    const found: string[] = [];
    for (const path of pages) {
      await page.goto(path);
      await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
      await page.waitForLoadState("load");
      for (const violation of await blockingViolations(page)) found.push(`${path}: ${violation}`);
    }
    // Leave the suite's data root as the Backups specs expect it: no sets.
    const setId = (await (await api.get(`/api/v1/operations/${backup.id}`)).json()).result.backup_id as string;
    expect((await api.delete(`/api/v1/backups/${setId}`)).status()).toBe(200);
    expect(found, found.join("\n")).toEqual([]);
  });
});
