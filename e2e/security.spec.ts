import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "@playwright/test";
import { test, expect } from "./fixtures";
import { LoginPage } from "./pages/login-page";
import { E2E_ADMIN, E2E_BASE_URL } from "./env";

/** Records every CSP violation the page reports, from before its first script runs. */
async function watchPolicyViolations(page: Page): Promise<string[]> {
  const console: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Content-Security-Policy/i.test(message.text())) console.push(message.text());
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __violations: string[] }).__violations = seen;
    document.addEventListener("securitypolicyviolation", (event) =>
      seen.push(`${event.violatedDirective} ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}:${event.columnNumber}`),
    );
  });
  return console;
}

const violations = (page: Page) => page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);

test.describe("Content-Security-Policy with nonces (finding 12)", () => {
  test("every page loads, hydrates and runs with no policy violation", async ({ page }) => {
    const consoleErrors = await watchPolicyViolations(page);
    for (const path of [
      "/",
      "/jobs",
      "/pipelines",
      "/pipelines/new",
      "/pipelines/nightly-sync",
      "/executions",
      "/executions/exec-1",
      "/storage",
      "/backups",
      "/database",
      "/settings",
    ]) {
      await page.goto(path);
      await expect(page.getByRole("button", { name: "Sign out" }), path).toBeVisible();
      expect(await violations(page), path).toEqual([]);
    }
    // The nonce-loaded scripts hydrated the page: a link click navigates through the client router.
    await page.getByRole("link", { name: "Jobs" }).first().click();
    await expect(page).toHaveURL(/\/jobs$/);
    expect(await violations(page)).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  test("an inline script injected into the page without the nonce does not run", async ({ page }) => {
    await watchPolicyViolations(page);
    await page.route("**/storage", async (route) => {
      const response = await route.fetch();
      const html = (await response.text()).replace("</head>", "<script>window.__injected = true</script></head>");
      await route.fulfill({ response, body: html });
    });
    await page.goto("/storage");
    await expect(page.getByRole("heading", { name: "Storage" })).toBeVisible();
    expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).toBeUndefined();
    expect((await violations(page)).some((entry) => entry.startsWith("script-src"))).toBe(true);
  });
});

test.describe("sign-in's way back", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("a next address that normalises to another origin (/.//host) lands on this origin after sign-in (finding 4)", async ({ page }) => {
    const hits: string[] = [];
    const receiver = http.createServer((request, response) => {
      hits.push(request.url ?? "");
      response.end("pwned");
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const { port } = receiver.address() as AddressInfo;
    try {
      for (const next of [`/.//127.0.0.1:${port}/pwned-dot`, `/%2e%2e//127.0.0.1:${port}/pwned-dots`, `/./\\127.0.0.1:${port}/pwned-backslash`]) {
        await page.context().clearCookies();
        await page.goto(`/login?next=${encodeURIComponent(next)}`);
        await expect(page.getByText("Sign in to continue to")).toHaveCount(0);
        await new LoginPage(page).signInToOverview(E2E_ADMIN.username, E2E_ADMIN.password);
        expect(new URL(page.url()).origin).toBe(E2E_BASE_URL);
      }
      expect(hits).toEqual([]);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  test("a signed-out deep link with a query goes to sign in and comes back to it", async ({ page }) => {
    const login = new LoginPage(page);
    for (const [deepLink, heading] of [
      ["/executions/exec-1?tab=steps", "Run"],
      ["/pipelines/nightly-sync?view=history", "nightly-sync"],
    ] as const) {
      await page.context().clearCookies();
      await page.goto(deepLink);
      await expect(page).toHaveURL(`${E2E_BASE_URL}/login?next=${encodeURIComponent(deepLink)}`);
      await expect(page.getByText(`Sign in to continue to ${deepLink}`)).toBeVisible();
      await login.signIn(E2E_ADMIN.username, E2E_ADMIN.password);
      await expect(page).toHaveURL(`${E2E_BASE_URL}${deepLink}`);
      await expect(page.getByRole("heading", { level: 1 }).first(), deepLink).toContainText(heading);
    }
  });
});
