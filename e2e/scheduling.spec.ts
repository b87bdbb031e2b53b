import fs from "node:fs";
import path from "node:path";
import { test, expect } from "./fixtures";
import { E2E_ADMIN, E2E_BASE_URL, E2E_HOME } from "./env";
import { JobsPage } from "./pages/jobs-page";
import { PipelineEditorPage } from "./pages/pipeline-editor-page";

/** A plugin executable in the e2e server's plugins volume: echoes its input back as JSON. */
function installPlugin(name: string, script: string) {
  const file = path.join(E2E_HOME, "plugins", name);
  fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o700 });
}

const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

test.describe("Pipelines, jobs and history", () => {
  test("create a pipeline in the editor (YAML error shown at its line first), schedule it, run it now, watch the run with its steps and log", async ({
    page,
  }) => {
    installPlugin("E2e.echo", 'input=$(cat); echo "echo plugin got its input" >&2; printf \'{"echoed": %s}\' "$input"');
    const name = `e2e-flow-${unique()}`;
    const editor = new PipelineEditorPage(page);
    await editor.gotoNew();
    await expect(page.getByRole("heading", { name: "New pipeline" })).toBeVisible();

    await editor.replaceText(`name: ${name}\ndescription: made in the editor\nsteps:\n  - name: echo\n   plugin: [E2e.echo\n`);
    await expect(editor.errors()).toContainText("Line 5");
    await editor.create();
    await expect(page.getByText("Fix the problems above before saving")).toBeVisible();

    await editor.replaceText(
      `name: ${name}\ndescription: made in the editor\nsteps:\n  - name: echo\n    plugin: E2e.echo\n    config: {greeting: hello}\n    output: echoed\n  - name: ping\n    plugin: System.webhook\n    config: {url: "${E2E_BASE_URL}/health", method: GET}\n`,
    );
    await expect(page.getByText("No problems found.")).toBeVisible();
    await editor.create();
    await expect(page).toHaveURL(new RegExp(`/pipelines/${name}$`));
    await expect(page.getByRole("heading", { name })).toBeVisible();

    const jobs = new JobsPage(page);
    await jobs.goto();
    await jobs.create({ name: `job ${name}`, pipeline: name, cron: "0 25 * * *" });
    await expect(page.getByText("the hour field '25'")).toBeVisible();
    await page.getByLabel("Cron expression").fill("30 3 * * *");
    await page.getByRole("button", { name: "Create job" }).click();
    await expect(page.getByRole("heading", { name: `job ${name}` })).toBeVisible();
    await expect(page.getByText("at 03:30, every day")).toBeVisible();

    await page.getByRole("button", { name: `Run now for job ${name}` }).click();
    await page.getByRole("link", { name: "view run" }).click();
    await expect(page.getByTestId("run-status")).toHaveText("success", { timeout: 20_000 });
    // Jobs made in the console have UUIDs for ids: the run and the history name the job.
    await expect(page.getByRole("heading", { name: `Run of job ${name}` })).toBeVisible();
    const steps = page.getByRole("table", { name: "Steps" });
    await expect(steps.getByRole("row")).toHaveCount(3);
    await expect(steps).toContainText("E2e.echo");
    await expect(steps).toContainText("System.webhook");
    await expect(page.getByLabel("Run log")).toContainText("echo plugin got its input");
    await expect(page.getByLabel("Run log")).toContainText("answered 200");
    await expect(page.getByText("End of log.")).toBeVisible();

    await page.goto(`/executions?pipeline=${name}`);
    const history = page.getByRole("table", { name: "Executions" });
    await expect(history.getByRole("row")).toHaveCount(2);
    await expect(history).toContainText("manual");
    await expect(history).toContainText(`job ${name}`);
    await expect(page.getByTestId("runs-per-day-chart").getByRole("application")).toBeVisible();
    await expect(page.getByTestId("duration-chart").getByRole("application")).toBeVisible();

    await page.goto("/pipelines");
    const row = page.getByTestId(`pipeline-row-${name}`);
    await expect(row).toContainText("made in the editor");
    await expect(row.getByRole("cell").nth(3)).toHaveText("1");
    await expect(row).toContainText("success");
  });

  test("the jobs list flags a missing pipeline, toggles a job and runs it", async ({ page, api }) => {
    const id = `e2e-ghost-${unique()}`;
    const created = await api.post("/api/v1/scheduler/jobs", { data: { id, name: `Ghost ${id}`, pipeline: "nowhere.yaml", cron_expr: "0 2 * * *" } });
    expect(created.status()).toBe(201);
    const jobs = new JobsPage(page);
    await jobs.goto();
    const row = jobs.row(id);
    await expect(row).toContainText("missing pipeline");
    await expect(row).toContainText("At 02:00, every day");
    const toggle = row.getByRole("switch", { name: `Enabled: Ghost ${id}` });
    await expect(toggle).toHaveAttribute("aria-checked", "true");
    await toggle.click();
    await expect(toggle).toHaveAttribute("aria-checked", "false");
    expect((await (await api.get(`/api/v1/scheduler/jobs/${id}`)).json()).enabled).toBe(false);

    await row.getByRole("button", { name: `Run now for Ghost ${id}` }).click();
    await row.getByRole("link", { name: "view run" }).click();
    await expect(page.getByTestId("run-status")).toHaveText("failed");
    await expect(page.getByRole("status").filter({ hasText: "does not exist" })).toContainText("Pipeline 'nowhere.yaml' does not exist");
  });

  test("a list link with a mangled cursor opens the list's first page, filters kept, instead of an error page", async ({ page }) => {
    for (const list of ["/jobs", "/pipelines", "/backups", "/jobs/system-backup", "/pipelines/system-backup"]) {
      await page.goto(`${list}?cursor=not-a-cursor`);
      await expect(page).toHaveURL(new RegExp(`${list}$`));
      await expect(page.getByRole("navigation").first()).toBeVisible();
    }
    // Longer than any cursor the server issues: refused by the query schema rather than by the decoder.
    await page.goto(`/pipelines?cursor=${"x".repeat(600)}`);
    await expect(page).toHaveURL(/\/pipelines$/);
    await page.goto("/executions?status=success&cursor=eyJicm9rZW4iOnRydWV9");
    await expect(page).toHaveURL(/\/executions\?status=success$/);
    await expect(page.getByRole("heading", { name: "Executions" })).toBeVisible();
    // Dates the wrong way round say so, rather than only that nothing matches.
    await page.goto("/executions?from=2026-02-01&to=2026-01-01");
    await expect(page.getByRole("alert").filter({ hasText: "From (2026-02-01) is after To (2026-01-01)" })).toBeVisible();
  });

  test("a long run can be stopped from its page; a pipeline in use is deleted only when forced, naming its jobs", async ({ page, api }) => {
    installPlugin("E2e.sleep", "cat >/dev/null; echo 'going to sleep' >&2; sleep 120; echo '{}'");
    const name = `e2e-long-${unique()}`;
    expect(
      (
        await api.post("/api/v1/pipelines", {
          headers: { "Content-Type": "application/yaml" },
          data: `name: ${name}\nsteps:\n  - {name: nap, plugin: E2e.sleep}\n`,
        })
      ).status(),
    ).toBe(201);
    const id = `job-${name}`;
    expect((await api.post("/api/v1/scheduler/jobs", { data: { id, name: `Long ${name}`, pipeline: `${name}.yaml`, cron_expr: "0 4 * * *" } })).status()).toBe(
      201,
    );
    const run = await (await api.post(`/api/v1/scheduler/jobs/${id}/run`)).json();

    await page.goto(`/executions/${run.execution_id}`);
    await expect(page.getByTestId("run-status")).toHaveText("running");
    await expect(page.getByLabel("Run log")).toContainText("going to sleep");
    await page.getByRole("button", { name: "Stop run" }).click();
    await expect(page.getByTestId("run-status")).toHaveText("cancelled", { timeout: 15_000 });

    await page.goto(`/pipelines/${name}`);
    await page.getByRole("button", { name: "Delete pipeline" }).click();
    const dialog = page.getByRole("dialog", { name: `Delete pipeline “${name}”?` });
    await expect(dialog).toContainText(`1 job uses it (Long ${name})`);
    // Deleting asks for the password again; a wrong one is refused before anything is checked.
    await dialog.getByLabel("Your password, to confirm").fill("not-the-password");
    await dialog.getByRole("button", { name: "Delete pipeline" }).click();
    await expect(dialog.getByRole("alert")).toContainText("password is not right");
    await expect(dialog.getByLabel("Your password, to confirm")).toHaveValue("");
    await dialog.getByLabel("Your password, to confirm").fill(E2E_ADMIN.password);
    await dialog.getByRole("button", { name: "Delete pipeline" }).click();
    await expect(dialog.getByRole("alert")).toContainText("is used by 1 job:");
    await dialog.getByLabel("Delete even though jobs use it").check();
    // The form clears the password after each answer, as sign-in forms do.
    await dialog.getByLabel("Your password, to confirm").fill(E2E_ADMIN.password);
    await dialog.getByRole("button", { name: "Delete pipeline" }).click();
    await expect(page).toHaveURL(/\/pipelines$/);
    expect((await api.get(`/api/v1/pipelines/${name}`)).status()).toBe(404);
    expect(fs.existsSync(path.join(E2E_HOME, "pipelines", `${name}.yaml`))).toBe(false);
  });
});
