import crypto from "node:crypto";
import pg from "pg";
import { test, expect } from "./fixtures";
import { OwnServer } from "./own-server";
import { E2E_ADMIN, E2E_API_TOKEN } from "./env";
import { LoginPage } from "./pages/login-page";
import { DatabasePage } from "./pages/database-page";

/**
 * The Database page of a console running on PostgreSQL: its own server (E2E_PORT + 5) on a scratch
 * database of the test server (MIMIR_TEST_PG_URL), created here and dropped after.
 */
const server = new OwnServer("database-postgres", 5);
const ADMIN_URL = process.env.MIMIR_TEST_PG_URL || "postgres://root@127.0.0.1:5432/postgres";
const database = `mimir_t_e2e_db_${crypto.randomBytes(4).toString("hex")}`;

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function databaseUrl(): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

test.use({ baseURL: server.baseURL, storageState: { cookies: [], origins: [] } });
test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  await admin(`CREATE DATABASE ${database}`);
  await server.start({
    MIMIR_ADMIN_PASSWORD: E2E_ADMIN.password,
    MIMIR_API_TOKEN: E2E_API_TOKEN,
    MIMIR_PERSISTENCE_BACKEND: "postgres",
    MIMIR_CONNECTION_STRING: databaseUrl(),
  });
});

test.afterAll(async () => {
  await server.stop();
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  // The console's login role of this database (lib/maintenance/postgres-console.ts), if the spec made one.
  const role = `mimir_console_${crypto.createHash("sha256").update(database).digest("hex").slice(0, 12)}`;
  await admin(`DROP ROLE IF EXISTS ${role}`);
});

test("scripts: GET /api/v1/maintenance names the backend and its figures", async ({ api }) => {
  const overview = await (await api.get("/api/v1/maintenance")).json();
  expect(overview).toMatchObject({ backend: "postgres", database, schema: "public" });
  expect(overview.tables.map((table: { name: string }) => table.name)).toContain("scheduled_jobs");
  const checkpoint = await api.post("/api/v1/maintenance/checkpoint");
  expect(checkpoint.status()).toBe(501);
  expect((await checkpoint.json()).error.code).toBe("unavailable_on_postgres");
});

test("the page says PostgreSQL, shows its own cards and hides the SQLite-only ones; ANALYZE runs; the console reads as its own role", async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
  await expect(page).not.toHaveURL(/\/login/);
  const db = new DatabasePage(page);
  await db.goto();
  await expect(page.getByText("PostgreSQL", { exact: true }).first()).toBeVisible();
  await expect(page.getByTestId("database-bytes")).toBeVisible();
  await expect(db.maintenanceTile("vacuum")).toContainText("VACUUM (ANALYZE)");
  await expect(db.maintenanceTile("checkpoint")).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "Recovery" })).toHaveCount(0);
  await expect(page.getByRole("heading", { name: "Locks and long transactions" })).toBeVisible();

  await db.maintenanceTile("analyze").getByRole("button", { name: "Run ANALYZE" }).click();
  await expect(db.maintenanceTile("analyze").getByTestId("maintenance-result")).toContainText("Statistics refreshed");

  await db.runQuery("SELECT session_user");
  await expect(page.getByRole("cell", { name: /^mimir_console_/ })).toBeVisible();
  await db.runQuery("SELECT * FROM users");
  await expect(page.getByText(/may not read that/)).toBeVisible();
});
