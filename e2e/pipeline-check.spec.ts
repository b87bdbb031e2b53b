import { test, expect } from "./fixtures";
import { E2E_BASE_URL } from "./env";
import { JobsPage } from "./pages/jobs-page";
import { PipelineEditorPage } from "./pages/pipeline-editor-page";

const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

test.describe("Pipeline check, plugin help, test run and missing pipelines", () => {
  test("the editor refuses a misspelled plugin and a webhook without url, and lists the built-ins with their settings (B6)", async ({ page }) => {
    const name = `e2e-check-${unique()}`;
    const editor = new PipelineEditorPage(page);
    await editor.gotoNew();

    const help = page.getByRole("region", { name: "Plugins a step can use" });
    await help.getByText("System.webhook", { exact: true }).click();
    await expect(help).toContainText("url (URL, required)");
    await expect(help).toContainText('method ("POST" | "PUT" | "GET", default "POST")');

    await editor.replaceText(`name: ${name}\nsteps:\n  - name: call\n    plugin: Sytem.webhook\n`);
    await expect(editor.errors()).toContainText("Line 4");
    await expect(editor.errors()).toContainText("did you mean 'System.webhook'");

    await editor.replaceText(`name: ${name}\nsteps:\n  - name: call\n    plugin: System.webhook\n    config: {retries: 3}\n`);
    await expect(editor.errors()).toContainText("url: required");
    await expect(editor.errors()).toContainText("unknown setting 'retries'");
    await editor.create();
    await expect(page.getByText("Fix the problems above before saving")).toBeVisible();

    await editor.replaceText(`name: ${name}\nsteps:\n  - name: call\n    plugin: System.webhook\n    config: {url: "${E2E_BASE_URL}/health", method: GET}\n`);
    await expect(page.getByText("No problems found.")).toBeVisible();
    await editor.create();
    await expect(page.getByRole("heading", { name })).toBeVisible();

    // Test run from the pipeline's page, without making a job (item 6).
    await page.getByRole("button", { name: "Test run" }).click();
    const result = page.getByTestId("test-run-result");
    await expect(result.getByRole("status")).toContainText("success", { timeout: 20_000 });
    await expect(result).toContainText("System.webhook");
    await expect(page.getByLabel("Test run log")).toContainText("answered 200");
  });

  test("a job for a pipeline that does not exist is noticed while typing and on the Jobs page (B10)", async ({ page, api }) => {
    const jobs = new JobsPage(page);
    await jobs.goto();
    const missing = `nowhere-${unique()}`;
    await page.getByLabel("Pipeline").fill(missing);
    await expect(page.getByTestId("missing-pipeline-note")).toContainText(`No pipeline named ${missing} yet`);

    const created = await api.post("/api/v1/scheduler/jobs", {
      data: { name: `e2e missing ${missing}`, pipeline: `${missing}.yaml`, cron_expr: "0 3 1 1 *", enabled: false },
    });
    expect(created.status()).toBe(201);
    expect((await created.json()).warnings[0]).toContain("does not exist");
    await page.reload();
    await expect(page.getByTestId("jobs-missing-pipelines")).toContainText(/uses? a pipeline that does not exist/);
  });
});
