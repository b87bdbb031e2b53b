import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test, expect } from "@playwright/test";
import { OwnServer } from "./own-server";
import { BackupsPage } from "./pages/backups-page";
import { JobsPage } from "./pages/jobs-page";
import { LoginPage } from "./pages/login-page";
import { PipelineEditorPage } from "./pages/pipeline-editor-page";
import { SettingsPage } from "./pages/settings-page";
import { StoragePage } from "./pages/storage-page";
import { serverActionId } from "./server-actions";

/**
 * First run on a fresh data root, the way an operator meets the console: no MIMIR_ADMIN_PASSWORD, so
 * the first visit goes to setup. This spec starts its own server (next port up from the suite's).
 */
const server = new OwnServer("first-run", 2);
const OWNER = { username: "owner", password: "first-run-owner-password" };
const VIEWER = { username: "watcher", password: "first-run-viewer-password" };

test.use({ baseURL: server.baseURL, storageState: { cookies: [], origins: [] } });
test.describe.configure({ mode: "serial" });

// No admin password or token from the environment: this is the install that needs setup.
test.beforeAll(() => server.start({ MIMIR_ADMIN_PASSWORD: undefined, MIMIR_API_TOKEN: undefined }));
test.afterAll(() => server.stop());

test("setup, sign in, a token used from a script, sign out, and a viewer who cannot create tokens", async ({ page, context }) => {
  // First run: every page leads to setup while no account exists.
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/setup$/);
  const form = page.locator("form");
  await expect(form.getByText("At least 12 characters.")).toBeVisible();

  // A password too short is said once, beside the field, naming it: no hint repeated, no vague banner (B15).
  await page.getByLabel("User name").fill(OWNER.username);
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create admin and sign in" }).click();
  await expect(form.getByRole("alert")).toHaveText("Password: at least 12 characters");
  await expect(form.getByText(/at least 12 characters/i)).toHaveCount(1);
  await expect(page.getByText("Some fields are not valid")).toHaveCount(0);
  await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Password")).toHaveAccessibleDescription("Password: at least 12 characters");
  await expect(page.getByLabel("User name")).toHaveValue(OWNER.username);

  await page.getByLabel("Password").fill(OWNER.password);
  await page.getByRole("button", { name: "Create admin and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await expect(page.getByText(`Signed in as ${OWNER.username}`)).toBeVisible();

  // Setup is done for good.
  await page.goto("/setup");
  await expect(page).toHaveURL(/\/login$/);

  const settings = new SettingsPage(page);
  await settings.goto();
  const token = await settings.createToken("ci-script", "write", OWNER.password);
  expect(token).toMatch(/^mimir_/);
  await expect(settings.tokenRow("ci-script")).toContainText("write");
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId("new-token")).toHaveCount(0);

  // The token works from a script (curl), and only for what its scope allows.
  const curl = (...args: string[]) => execFileSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", ...args], { encoding: "utf8" });
  expect(curl("-H", `Authorization: Bearer ${token}`, `${server.baseURL}/api/v1/operations`)).toBe("200");
  expect(curl("-H", `Authorization: Bearer ${token}`, `${server.baseURL}/api/v1/tokens`)).toBe("403");
  expect(curl(`${server.baseURL}/api/v1/operations`)).toBe("401");
  expect(curl(`${server.baseURL}/health`)).toBe("200");

  // The new user's fields are checked as they are typed, before the confirmation asks for the owner's password.
  await page.getByLabel("New user name").fill(VIEWER.username);
  await page.getByLabel("Their password").fill("short");
  await expect(page.getByText("at least 12 characters", { exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: "Add user" })).toBeDisabled();
  await settings.addUser(VIEWER.username, VIEWER.password, "viewer", OWNER.password);
  await expect(page.locator(`tr[data-user="${VIEWER.username}"]`)).toContainText("viewer");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/login\?next=%2Fsettings$/);

  // Signing in goes back to the page asked for; the viewer sees settings but no admin control.
  const login = new LoginPage(page);
  await login.signIn(VIEWER.username, VIEWER.password);
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.locator('tr[data-key="persistence.retention_days"]')).toBeVisible();
  await expect(page.getByRole("button", { name: "Create token" })).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "API tokens" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Save settings" })).toHaveCount(0);

  // Posting directly, with the viewer's own session, is refused by the route and by the action.
  const viaApi = await page.evaluate(async () => {
    const response = await fetch("/api/v1/tokens", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "sneaky", scope: "admin" }),
    });
    return { status: response.status, body: await response.json() };
  });
  expect(viaApi).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
  const viaAction = await context.request.post(`${server.baseURL}/settings`, {
    headers: {
      "Next-Action": serverActionId("createTokenAction"),
      Origin: server.baseURL,
      "Content-Type": "text/plain;charset=UTF-8",
      Accept: "text/x-component",
    },
    data: JSON.stringify([{ name: "sneaky", scope: "admin", reauth_password: VIEWER.password }]),
  });
  expect(await viaAction.text()).toContain('"code":"forbidden"');

  // Nothing was created: the owner's token (admin-only list) still shows one token.
  const adminToken = token;
  expect(curl("-H", `Authorization: Bearer ${adminToken}`, `${server.baseURL}/api/v1/operations`)).toBe("200");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await login.signInToOverview(OWNER.username, OWNER.password);
  await settings.goto();
  await expect(page.locator("tr[data-token]")).toHaveCount(1);
});

test("a viewer sees a backup set but no control to restore, delete or make one, and a direct restore is refused", async ({ page, playwright }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signInToOverview(OWNER.username, OWNER.password);
  const settings = new SettingsPage(page);
  await settings.goto();
  const adminToken = await settings.createToken("backup-script", "admin", OWNER.password);

  // A set must exist, or there is no row whose restore button could be missing.
  const api = await playwright.request.newContext({ baseURL: server.baseURL, extraHTTPHeaders: { Authorization: `Bearer ${adminToken}` } });
  let backupId: string;
  try {
    const started = await api.post("/api/v1/backups");
    expect(started.status()).toBe(202);
    const { id: operationId } = await started.json();
    await expect.poll(async () => (await (await api.get(`/api/v1/operations/${operationId}`)).json()).status, { timeout: 30_000 }).toBe("succeeded");
    backupId = (await (await api.get(`/api/v1/operations/${operationId}`)).json()).result.backup_id;
  } finally {
    await api.dispose();
  }

  // The admin has the controls the viewer must not.
  const backups = new BackupsPage(page);
  await backups.goto();
  await expect(backups.row(backupId).getByRole("button", { name: "Restore…" })).toBeVisible();
  await expect(backups.backUpNow).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);

  await login.signInToOverview(VIEWER.username, VIEWER.password);
  await backups.goto();
  await expect(backups.row(backupId)).toBeVisible();
  await expect(backups.scheduledBackupsState).toHaveText("off");
  for (const name of ["Restore…", "Delete…", "Back up now", "Verify", "Pin", "Prune…", "Turn scheduled backups on"]) {
    await expect(page.getByRole("button", { name })).toHaveCount(0);
  }
  await expect(page.getByRole("link", { name: "Download" })).toHaveCount(0);

  const restore = await page.evaluate(async (id) => {
    const response = await fetch(`/api/v1/backups/${id}/restore`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ confirm: id }),
    });
    return { status: response.status, body: await response.json() };
  }, backupId);
  expect(restore).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
});

test("a viewer reads jobs, pipelines, a run and storage but is offered no control to change them", async ({ page, playwright }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signInToOverview(OWNER.username, OWNER.password);
  const settings = new SettingsPage(page);
  await settings.goto();
  const adminToken = await settings.createToken("viewer-check-script", "admin", OWNER.password);

  // A run in progress, whose page offers a writer "Stop run": a plugin that naps, in a job of its own.
  fs.mkdirSync(path.join(server.home, "plugins"), { recursive: true });
  fs.writeFileSync(path.join(server.home, "plugins", "E2e.nap"), "#!/bin/sh\ncat >/dev/null; sleep 120; echo '{}'\n", { mode: 0o700 });
  const api = await playwright.request.newContext({ baseURL: server.baseURL, extraHTTPHeaders: { Authorization: `Bearer ${adminToken}` } });
  let executionId: string | null = null;
  try {
    expect(
      (
        await api.post("/api/v1/pipelines", {
          headers: { "Content-Type": "application/yaml" },
          data: "name: viewer-nap\nsteps:\n  - {name: nap, plugin: E2e.nap}\n",
        })
      ).status(),
    ).toBe(201);
    expect(
      (
        await api.post("/api/v1/scheduler/jobs", { data: { id: "job-viewer-nap", name: "Viewer nap", pipeline: "viewer-nap.yaml", cron_expr: "0 4 * * *" } })
      ).status(),
    ).toBe(201);
    executionId = (await (await api.post("/api/v1/scheduler/jobs/job-viewer-nap/run")).json()).execution_id as string;

    // The admin is offered the controls (the other specs use them) ...
    await page.goto(`/executions/${executionId}`);
    await expect(page.getByTestId("run-status")).toHaveText("running");
    await expect(page.getByRole("button", { name: "Stop run" })).toBeVisible();
    await page.goto("/jobs/job-nightly");
    await expect(page.getByRole("button", { name: "Run now for Nightly sync" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Delete job" })).toBeVisible();
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login$/);

    // ... the viewer, on the same pages, is not.
    await login.signInToOverview(VIEWER.username, VIEWER.password);

    const jobs = new JobsPage(page);
    await jobs.goto();
    await expect(jobs.row("job-nightly")).toContainText("Nightly sync");
    await expect(page.getByRole("button", { name: "Create job" })).toHaveCount(0);
    await expect(page.getByLabel("Cron expression")).toHaveCount(0);
    await expect(jobs.row("job-nightly").getByRole("switch", { name: "Enabled: Nightly sync" })).toBeDisabled();
    await expect(jobs.row("job-nightly").getByRole("switch", { name: "Enabled: Nightly sync" })).toHaveAttribute("aria-checked", "true");
    for (const toggle of await page.getByRole("switch").all()) await expect(toggle).toBeDisabled();
    await expect(page.getByRole("button", { name: /^Run now/ })).toHaveCount(0);
    await expect(page.getByText("Creating, switching or running jobs needs write access.")).toBeVisible();

    await page.goto("/jobs/job-nightly");
    await expect(page.getByRole("heading", { name: "Nightly sync", level: 1 })).toBeVisible();
    await expect(page.getByLabel("Cron expression")).toHaveValue("0 2 * * *");
    for (const field of ["Name", "Pipeline", "Cron expression", "Enabled"]) await expect(page.getByLabel(field, { exact: true })).toBeDisabled();
    await expect(page.getByText("Needs write access.")).toBeVisible();
    for (const name of ["Run now for Nightly sync", "Save changes", "Delete job"]) await expect(page.getByRole("button", { name })).toHaveCount(0);

    await page.goto("/pipelines");
    await expect(page.getByTestId("pipeline-row-nightly-sync")).toBeVisible();
    await expect(page.getByRole("link", { name: "New pipeline" })).toHaveCount(0);

    await page.goto("/pipelines/nightly-sync");
    const yaml = page.getByTestId("yaml-editor").locator(".cm-content");
    await expect(yaml).toContainText("description: Pull sources and index them");
    await expect(yaml).toHaveAttribute("aria-readonly", "true");
    await expect(page.getByText("Needs write access.")).toBeVisible();
    await expect(page.getByLabel("Clone as")).toHaveCount(0);
    for (const name of ["Save", "Clone", "Delete pipeline"]) await expect(page.getByRole("button", { name })).toHaveCount(0);

    await new PipelineEditorPage(page).gotoNew();
    await expect(page.getByRole("heading", { name: "New pipeline", level: 1 })).toBeVisible();
    await expect(page.getByTestId("needs-write")).toContainText("Creating a pipeline needs write access");
    await expect(page.getByTestId("yaml-editor")).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Create pipeline" })).toHaveCount(0);

    const storage = new StoragePage(page);
    await storage.goto();
    await expect(storage.volumeSize("mimir_data")).toBeVisible();
    await expect(page.getByRole("button", { name: "Measure now" })).toHaveCount(0);

    await page.goto(`/executions/${executionId}`);
    await expect(page.getByTestId("run-status")).toHaveText("running");
    await expect(page.getByRole("button", { name: "Stop run" })).toHaveCount(0);
  } finally {
    if (executionId) await api.post(`/api/v1/jobs/${executionId}/stop`);
    await api.dispose();
  }
});
