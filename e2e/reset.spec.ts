import { test, expect } from "./fixtures";
import { OwnServer } from "./own-server";
import { E2E_ADMIN, E2E_API_TOKEN } from "./env";
import { LoginPage } from "./pages/login-page";
import { ResetPanel } from "./pages/reset-panel";

/**
 * A reset wipes the data root, and the suite's specs share one server and run in order: this spec
 * starts its own server (E2E_PORT + 3, its own data root) so the specs after it keep their data.
 */
const server = new OwnServer("reset", 3);

test.use({ baseURL: server.baseURL, storageState: { cookies: [], origins: [] } });
test.describe.configure({ mode: "serial" });

test.beforeAll(() => server.start({ MIMIR_ADMIN_PASSWORD: E2E_ADMIN.password, MIMIR_API_TOKEN: E2E_API_TOKEN }));
test.afterAll(() => server.stop());

test("scripts: a wrong confirmation is refused with 400; anonymous 401; a browser session must send its password", async ({ api, playwright, page }) => {
  const refused = await api.post("/api/v1/reset", { data: { confirm: "mimir-00000000" } });
  expect(refused.status()).toBe(400);
  expect((await refused.json()).error.code).toBe("invalid_input");
  const preview = await (await api.get("/api/v1/reset")).json();
  expect(preview.instance_name).toMatch(/^mimir-[0-9a-f]{8}$/);
  const anonymous = await playwright.request.newContext({ baseURL: server.baseURL });
  expect((await anonymous.post("/api/v1/reset", { data: { confirm: preview.instance_name } })).status()).toBe(401);
  await anonymous.dispose();

  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
  await expect(page).not.toHaveURL(/\/login/);
  const withoutPassword = await page.request.post("/api/v1/reset", { data: { confirm: preview.instance_name }, headers: { Origin: server.baseURL } });
  expect(withoutPassword.status()).toBe(403);
  expect((await withoutPassword.json()).error.code).toBe("reauth_required");
  // Nothing was started by the refused calls.
  expect((await (await api.get("/api/v1/operations?kind=reset")).json()).items).toEqual([]);
});

test("reset from the Database page: see what is lost, type the instance name and password, follow it, jobs gone", async ({ page, api }) => {
  const ids = ["reset-e2e-one", "reset-e2e-two"];
  for (const id of ids) {
    expect((await api.post("/api/v1/scheduler/jobs", { data: { id, name: `Doomed ${id}`, pipeline: "nowhere.yaml", cron_expr: "0 3 * * *" } })).status()).toBe(
      201,
    );
  }

  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
  await expect(page).not.toHaveURL(/\/login/);

  const reset = new ResetPanel(page);
  await reset.goto();
  const instanceName = await reset.instanceName();
  const lost = await reset.open();
  await expect(lost.locator("[data-volume]")).toHaveCount(5);
  await expect(lost.locator('[data-volume="mimir_data"]')).toContainText(/\d+ jobs/);
  await expect(lost.locator('[data-volume="mimir_data"]')).toContainText(/\d+ executions/);
  await expect(lost).toContainText("Your users and API tokens are kept");

  await reset.confirm(instanceName, E2E_ADMIN.password);
  await expect(reset.result()).toContainText(/safety backup \d{8}-\d{6}/, { timeout: 45_000 });
  const backupId = /safety backup (\d{8}-\d{6})/.exec((await reset.result().textContent())!)![1];

  for (const id of ids) expect((await api.get(`/api/v1/scheduler/jobs/${id}`)).status()).toBe(404);
  const backups = await (await api.get("/api/v1/backups")).json();
  const listed = (backups.items ?? backups).find((backup: { id: string }) => backup.id === backupId);
  expect(listed).toMatchObject({ trigger: "pre-reset" });
  // The person who reset is still signed in: sessions are kept.
  await page.reload();
  await expect(page.getByTestId("instance-name")).toHaveText(instanceName);
});
