import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import pg from "pg";
import { test, expect } from "./fixtures";
import { OwnServer } from "./own-server";
import { E2E_ADMIN, E2E_API_TOKEN } from "./env";
import { LoginPage } from "./pages/login-page";
import { MigratePanel } from "./pages/migrate-panel";

/**
 * A migration leaves its server refusing changes until a restart: this spec starts its own server
 * (E2E_PORT + 6, its own data root with Mimir's rows) and an empty scratch PostgreSQL database.
 */
const server = new OwnServer("migrate-postgres", 6);
const PG_URL = process.env.MIMIR_TEST_PG_URL || "postgres://root@127.0.0.1:5432/postgres";
const database = `mimir_t_e2e_migrate_${crypto.randomBytes(4).toString("hex")}`;
const target = (() => {
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();

async function pgQuery<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

test.use({ baseURL: server.baseURL, storageState: { cookies: [], origins: [] } });
test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  await pgQuery(PG_URL, `CREATE DATABASE "${database}"`);
  await server.start({ MIMIR_ADMIN_PASSWORD: E2E_ADMIN.password, MIMIR_API_TOKEN: E2E_API_TOKEN });
});
test.afterAll(async () => {
  await server.stop();
  await pgQuery(PG_URL, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
});

test("scripts: bad input is a 400 naming the field, and nothing starts", async ({ api }) => {
  const refused = await api.post("/api/v1/maintenance/migrate-to-postgres", { data: { connection_string: "mysql://nope" } });
  expect(refused.status()).toBe(400);
  expect(JSON.stringify(await refused.json())).toContain("connection_string");
  expect((await (await api.get("/api/v1/operations?kind=migrate_to_postgres")).json()).items).toEqual([]);
});

test("migrate from the Database page: password again, progress, verified tables, then changes refused until the restart", async ({ page, api, browser }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
  await expect(page).not.toHaveURL(/\/login/);

  const panel = new MigratePanel(page);
  await panel.goto();
  await panel.migrate(target, E2E_ADMIN.password);
  await expect(panel.result()).toContainText("Restart the console to switch to PostgreSQL", { timeout: 60_000 });
  await expect(panel.result().locator('[data-table="job_executions"]')).toContainText("✓");
  // The connection string is a secret: not on the page once started.
  await expect(page.locator("body")).not.toContainText(target);

  const jobs = await pgQuery<{ n: string }>(target, "SELECT count(*) AS n FROM scheduled_jobs");
  expect(Number(jobs[0]!.n)).toBeGreaterThan(0);
  // config.yaml points at PostgreSQL for the next start; the running server still describes what it serves.
  const written = parse(fs.readFileSync(path.join(server.home, "config", "config.yaml"), "utf8"));
  expect(written.persistence).toMatchObject({ backend: "postgres", connection_string: target });
  const config = await (await api.get("/api/v1/config")).json();
  expect(config.values["persistence.backend"]).toBe("sqlite");
  expect(JSON.stringify(config)).not.toContain(target);

  // Until the restart, a change would land in SQLite only: refused.
  const change = await api.post("/api/v1/scheduler/jobs", { data: { id: "after-migration", name: "Late", pipeline: "x.yaml", cron_expr: "0 3 * * *" } });
  expect(change.status()).toBe(503);
  expect((await change.json()).error.code).toBe("migrating");
  await page.reload();
  await expect(page.getByTestId("writes-frozen")).toContainText("restart the console to switch");

  // Sign-in too: a session written to the SQLite file now would not exist after the switch.
  const other = await browser.newContext({ baseURL: server.baseURL, storageState: { cookies: [], origins: [] } });
  const stranger = new LoginPage(await other.newPage());
  await stranger.goto();
  await stranger.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
  await expect(other.pages()[0]!.getByRole("alert").filter({ hasText: "restart the console" })).toBeVisible();
  await expect(other.pages()[0]!).toHaveURL(/\/login/);
  await other.close();
});

test("after the restart the console serves PostgreSQL: the migration reads succeeded with its audit row, nothing refused is there", async ({ page, api }) => {
  await server.restart({ MIMIR_ADMIN_PASSWORD: E2E_ADMIN.password, MIMIR_API_TOKEN: E2E_API_TOKEN });
  expect((await (await api.get("/health")).json()).persistence.backend).toBe("postgres");
  const migrations = (await (await api.get("/api/v1/operations?kind=migrate_to_postgres")).json()).items;
  expect(migrations).toHaveLength(1);
  expect(migrations[0]).toMatchObject({ status: "succeeded", result: { restart_required: true } });
  // One ok row, committed with the copy (the first test's bad input left a refusal under the same action).
  const audit = await pgQuery<{ n: string }>(target, "SELECT count(*) AS n FROM audit_log WHERE action = 'data.migrate_to_postgres' AND result = 'ok'");
  expect(Number(audit[0]!.n)).toBe(1);
  // What was refused during the window is not there, and can be done now.
  expect(await pgQuery(target, "SELECT 1 FROM scheduled_jobs WHERE id = 'after-migration'")).toEqual([]);
  const login = new LoginPage(page);
  await login.goto();
  await login.signInToOverview(E2E_ADMIN.username, E2E_ADMIN.password);
  const sessions = await pgQuery<{ n: string }>(target, "SELECT count(*) AS n FROM sessions");
  expect(Number(sessions[0]!.n)).toBeGreaterThan(0);
});
