import { defineConfig } from "@playwright/test";
import { E2E_ADMIN, E2E_ADMIN_STATE, E2E_API_TOKEN, E2E_BASE_URL as baseURL, E2E_HOME, E2E_PORT as port } from "./e2e/env";

export default defineConfig({
  testDir: "./e2e",
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  outputDir: "test-results/playwright",
  use: {
    baseURL,
    browserName: "chromium",
    headless: true,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "sign-in", testMatch: /auth\.setup\.ts/ },
    {
      name: "chromium",
      dependencies: ["sign-in"],
      use: { storageState: E2E_ADMIN_STATE },
    },
  ],
  webServer: {
    command: `node scripts/e2e-server.mjs`,
    url: `${baseURL}/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      E2E_PORT: String(port),
      E2E_HOME,
      MIMIR_ADMIN_PASSWORD: E2E_ADMIN.password,
      MIMIR_API_TOKEN: E2E_API_TOKEN,
      // A value set in the environment, so the Settings page can be checked to say where it came from.
      MIMIR_RETENTION_DAYS: "45",
      // The specs' own receivers (and the scheduling spec's webhook step, which calls this console's
      // /health) listen on loopback, which the outbound guard refuses unless allowed.
      MIMIR_ALLOWED_DESTINATIONS: "127.0.0.1",
      NEXT_TELEMETRY_DISABLED: "1",
    },
  },
});
